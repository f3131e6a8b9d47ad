/**
 * A loopback HTTP server whose answers a test scripts request by request, to drive the PI client
 * through faults the simulator does not reproduce on demand (exact retry counts, odd bodies).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { PiAuth } from '../../agent/pi/auth/types.js';

export interface SeenRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Script = (req: SeenRequest, res: ServerResponse, n: number) => void | Promise<void>;

export interface ScriptedServer {
  /** `http://127.0.0.1:PORT/piwebapi` */
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startScripted(script: Script): Promise<ScriptedServer> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(r);
      Promise.resolve(script(r, res, seen.length)).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/piwebapi`,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Anonymous PiAuth: sends the request once, as is. */
export const anonymousAuth: PiAuth = {
  scheme: 'none',
  send: (sendOnce) => sendOnce({}),
  close: async () => {},
};

/** A `sleep` for PiClient that records the requested delays and does not wait. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms) => {
      delays.push(ms);
    },
  };
}
