/**
 * The directory sink: a local folder of Parquet files, `<path>/<table>/<unit name>.<store id>.parquet` (the
 * embedded default and the air-gapped option). A file appears complete or not at all (temp file in
 * the same folder, fsync, rename, fsync the folder), and writing a name again replaces the file, so
 * re-uploading a unit after a crash is idempotent.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { concatBatches } from '../../batch/concat.js';
import type { ParquetOptions } from '../../batch/write.js';
import { SinkError } from '../../errors.js';
import type { Sink, SinkUnit } from '../types.js';

export class DirectorySink implements Sink {
  readonly type = 'directory';
  readonly path: string;
  readonly label: string;

  constructor(
    dir: string,
    private readonly parquet: ParquetOptions = {},
  ) {
    this.path = path.resolve(dir);
    this.label = `directory sink ${dir}`;
  }

  /** Writes and removes a probe file in the folder. */
  async check(): Promise<string> {
    await mkdir(this.path, { recursive: true });
    const probe = path.join(this.path, `.pi-agent-check-${process.pid}`);
    await writeFile(probe, 'ok');
    await rm(probe);
    return `${this.label} writable`;
  }

  setupSql(): string[] {
    return [];
  }

  async setup(): Promise<string> {
    await mkdir(this.path, { recursive: true });
    return `directory sink ready: ${this.path}`;
  }

  /** Creates the folder and removes temp files a crash left between write and rename. */
  async prepare(): Promise<void> {
    try {
      await mkdir(this.path, { recursive: true });
      for (const entry of await readdir(this.path, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        const dir = path.join(this.path, entry.name);
        for (const f of await readdir(dir)) if (f.startsWith('.') && f.endsWith('.tmp')) await rm(path.join(dir, f), { force: true });
      }
    } catch (err) {
      throw this.failed(`cannot create the output folder ${this.path}`, err);
    }
  }

  /**
   * The file a unit lands in, `<unit name>.<store id>.parquet`: a store made after a lost state
   * directory numbers its batches anew, and without its id a name could meet an earlier store's file
   * and replace it (lost rows); with it the files only repeat rows, which the change log's keys absorb.
   */
  fileFor(unit: Pick<SinkUnit, 'name' | 'table' | 'store'>): string {
    return path.join(this.path, unit.table, `${unit.name}${unit.store === undefined ? '' : `.${unit.store}`}.parquet`);
  }

  async upload(unit: SinkUnit): Promise<void> {
    // Names come from the site in the config: never let one escape the folder.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(unit.name) || (unit.store !== undefined && !/^[0-9a-f]+$/.test(unit.store))) {
      throw new SinkError('SINK_FAILED', `upload name ${JSON.stringify(unit.name)} is not a safe file name (site names may use letters, digits, '.', '_' and '-')`, {
        retryable: false,
      });
    }
    const dir = path.join(this.path, unit.table);
    const final = this.fileFor(unit);
    const temp = path.join(dir, `.${unit.name}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(temp, 'w');
      try {
        // One file per unit, as consumers of the folder expect: coalesced batches are merged here.
        await fh.writeFile(
          unit.files.length === 1
            ? unit.files[0]!.read()
            : concatBatches(
                unit.files.map((f) => f.read()),
                this.parquet,
              ),
        );
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, final);
      await syncDir(dir);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw this.failed(`cannot write ${final}`, err);
    }
  }

  async close(): Promise<void> {
    // Nothing held open between uploads.
  }

  private failed(what: string, err: unknown): SinkError {
    const code = (err as { code?: unknown }).code;
    const permission = code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
    // A full disk or a vanished mount may come back; a permission problem needs an operator.
    return new SinkError(permission ? 'SINK_PERMISSION_DENIED' : 'SINK_FAILED', `${what}: ${(err as Error).message}`, {
      cause: err,
      retryable: !permission,
    });
  }
}

/** Makes a rename durable. Windows cannot open a directory for fsync; NTFS journals renames. */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
