/**
 * The single-writer guard of a state directory. Two processes writing one store would break the
 * ledger (one uploader, design.md "Process model"), so a writer holds an exclusive lock for its
 * lifetime.
 *
 * The lock is a tiny SQLite file in `locking_mode = EXCLUSIVE`: SQLite's own OS locks (fcntl on
 * POSIX, LockFileEx on Windows) are released by the kernel when the process dies, even on SIGKILL,
 * so a crash never leaves a stale lock behind (a pid file would, and pids get re-used).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../errors.js';

export interface WriterLock {
  release(): void;
}

export function acquireWriterLock(stateDir: string, nativeBinding?: string | object): WriterLock {
  const file = path.join(stateDir, 'pi-agent.lock');
  const ownerFile = path.join(stateDir, 'pi-agent.lock.owner');
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: 0, ...(nativeBinding === undefined ? {} : { nativeBinding: nativeBinding as string }) });
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the EXCLUSIVE lock, and exclusive locking mode keeps it until close.
    db.exec(`BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); COMMIT;`);
  } catch (err) {
    db?.close();
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      let owner = '';
      try {
        owner = readFileSync(ownerFile, 'utf8').trim();
      } catch {
        // informative only
      }
      throw new StoreError(
        'STORE_LOCKED',
        `another pi-agent process${owner ? ` (${owner})` : ''} is using the state directory ${stateDir}; stop it (or use \`pi-agent flush\` to ask it to upload) and try again`,
        { cause: err },
      );
    }
    throw new StoreError('STORE_FAILED', `cannot lock the state directory ${stateDir}: ${(err as Error).message}`, { cause: err });
  }
  try {
    writeFileSync(ownerFile, `pid ${process.pid} since ${new Date().toISOString()}\n`);
  } catch {
    // informative only
  }
  const held = db;
  return {
    release: () => {
      if (held.open) held.close();
    },
  };
}
