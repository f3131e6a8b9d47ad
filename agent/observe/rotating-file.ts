/**
 * An append-only log file rotated by size: `pi-agent.log` → `.1` → `.2`... up to `maxFiles`. Writes
 * are synchronous (pino's default for files too): a crash never loses the lines just before it.
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export class RotatingFile {
  private fd: number;
  private size: number;

  constructor(
    readonly file: string,
    private readonly maxSize: number,
    private readonly maxFiles: number,
  ) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.fd = openSync(file, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  write(text: string): void {
    if (this.fd < 0) return; // closed: late lines from a finishing command are dropped
    const buf = Buffer.from(text);
    if (this.size > 0 && this.size + buf.length > this.maxSize) this.rotate();
    writeSync(this.fd, buf);
    this.size += buf.length;
  }

  private rotate(): void {
    closeSync(this.fd);
    // Another process (a CLI command next to the service) may have rotated already: ENOENT is fine.
    for (let i = this.maxFiles - 1; i >= 1; i--) tryRename(`${this.file}.${i}`, `${this.file}.${i + 1}`);
    tryRename(this.file, `${this.file}.1`);
    this.fd = openSync(this.file, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}

function tryRename(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
