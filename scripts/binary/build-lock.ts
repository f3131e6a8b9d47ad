/**
 * One binary build at a time per checkout: test/binary/sea.test.ts and glibc.test.ts may build at
 * once (tap runs two files in parallel), and both use build/sea and the caches in build/cache. The
 * lock is a directory holding the owner's pid; a lock whose owner is gone is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits (up to timeoutMs) for the lock in dir; returns its release. */
export function acquireBuildLock(dir: string, log: (msg: string) => void, timeoutMs = 1_200_000): () => void {
  const lock = join(dir, '.build-binary.lock');
  mkdirSync(dir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      const release = (): void => rmSync(lock, { recursive: true, force: true });
      process.once('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    } catch {
      /* being written or removed: look again */
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another binary build (pid ${owner}) still holds ${lock}`);
    if (!told) log(`waiting for another binary build (pid ${owner}) to finish`);
    told = true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
}
