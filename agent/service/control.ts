/**
 * The local control endpoint of a running agent (design.md "Process model"): a Unix socket in the
 * state directory (a named pipe on Windows). `pi-agent flush` asks the service to upload now and
 * waits; `status` asks whether a service is running. One JSON object per line each way.
 */
import { createHash } from 'node:crypto';
import { existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export type ControlRequest = { cmd: 'ping' } | { cmd: 'flush' };
export type ControlReply =
  | { type: 'pong'; pid: number }
  | { type: 'progress'; units: number; rows: number; remaining_batches: number }
  | { type: 'done'; ok: true; units: number; rows: number }
  /** `retryable`: the sink may take it later (unreachable, busy); the data stays buffered. */
  | { type: 'done'; ok: false; error: string; retryable?: boolean; remaining_batches?: number };

/** The running agent did not finish answering within the caller's time limit (it carries on). */
export class ControlTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the running agent did not answer within ${Math.round(timeoutMs / 1000)} s`);
    this.name = 'ControlTimeout';
  }
}

export function controlPath(stateDir: string): string {
  if (process.platform === 'win32') {
    return `\\\\.\\pipe\\pi-agent-${createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 16)}`;
  }
  const p = path.join(stateDir, 'control.sock');
  // sun_path holds ~108 bytes: a deep state directory gets a socket named after it in the temp dir.
  return Buffer.byteLength(p) < 100 ? p : path.join(tmpdir(), `pi-agent-${createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 16)}.sock`);
}

/** Calls `onLine` with each newline-terminated line the socket sends, until it returns false. */
function readLines(sock: Socket, onLine: (line: string) => boolean): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!onLine(line)) return;
    }
  });
}

export type ControlHandler = (req: ControlRequest, reply: (r: ControlReply) => void) => Promise<void>;

export async function startControlServer(stateDir: string, handler: ControlHandler): Promise<{ close(): Promise<void> }> {
  const file = controlPath(stateDir);
  // The writer lock guarantees we are the only agent on this state dir: a socket left by a
  // killed process is stale.
  if (process.platform !== 'win32' && existsSync(file)) unlinkSync(file);
  const server: Server = createServer((sock: Socket) => {
    sock.on('error', () => sock.destroy());
    readLines(sock, (line) => {
      let req: ControlRequest;
      try {
        req = JSON.parse(line) as ControlRequest;
      } catch {
        sock.end(`${JSON.stringify({ type: 'done', ok: false, error: 'bad request' })}\n`);
        return false;
      }
      const reply = (r: ControlReply) => {
        if (!sock.destroyed) sock.write(`${JSON.stringify(r)}\n`);
      };
      handler(req, reply).then(
        () => sock.end(),
        (err: unknown) => {
          reply({ type: 'done', ok: false, error: err instanceof Error ? err.message : String(err) });
          sock.end();
        },
      );
      return true;
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (process.platform !== 'win32') {
          try {
            unlinkSync(file);
          } catch {
            /* already gone */
          }
        }
      }),
  };
}

/**
 * Sends one request to a running agent; calls `onReply` for each line. Resolves false when no
 * agent is listening (nothing at the path, or a stale socket).
 */
export function sendControl(stateDir: string, req: ControlRequest, onReply: (r: ControlReply) => void, timeoutMs = 0): Promise<boolean> {
  const file = controlPath(stateDir);
  return new Promise((resolve, reject) => {
    const sock = connect(file);
    let connected = false;
    let timer: NodeJS.Timeout | undefined;
    sock.on('connect', () => {
      connected = true;
      sock.write(`${JSON.stringify(req)}\n`);
      if (timeoutMs > 0)
        timer = setTimeout(() => {
          sock.destroy();
          reject(new ControlTimeout(timeoutMs));
        }, timeoutMs);
    });
    readLines(sock, (line) => {
      try {
        onReply(JSON.parse(line) as ControlReply);
      } catch {
        /* ignore a garbled line */
      }
      return true;
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) resolve(false);
      else reject(err);
    });
    sock.on('close', () => {
      if (timer) clearTimeout(timer);
      if (connected) resolve(true);
    });
  });
}

export async function isServiceRunning(stateDir: string): Promise<{ running: boolean; pid?: number }> {
  let pid: number | undefined;
  try {
    const ok = await sendControl(
      stateDir,
      { cmd: 'ping' },
      (r) => {
        if (r.type === 'pong') pid = r.pid;
      },
      3000,
    );
    return ok && pid !== undefined ? { running: true, pid } : { running: false };
  } catch {
    return { running: false };
  }
}
