/**
 * Loopback plumbing for the auth tests: a node:http server that runs a SimAuth in front of a
 * trivial handler (it echoes the user and the client's port, to tell connections apart), and a
 * SendOnce on undici `request`, the way the PI client uses PiAuth.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import type { RawResponse, SendOnce } from '../../../agent/pi/auth/types.js';
import type { SimAuth } from '../../sim/piwebapi/auth-types.js';

export interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  remotePort: number | undefined;
}

export interface AuthServer {
  port: number;
  /** `http://127.0.0.1:<port>/piwebapi` */
  baseUrl: string;
  /** Every request that reached the server, in order. */
  seen: Seen[];
  /**
   * Closes every open client connection (as an idle timeout or a restart would) and gives the
   * client's event loop a moment to see the FIN, so the next request opens a new socket.
   */
  dropConnections(): Promise<void>;
  close(): Promise<void>;
}

export async function startAuthServer(auth: SimAuth, opts: { tls?: { cert: string; key: string } } = {}): Promise<AuthServer> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, remotePort: req.socket.remotePort });
    void (async () => {
      if (await auth.handlePublic(req, res)) return;
      const user = await auth.authenticate(req, res);
      if (user === undefined) return;
      const body = JSON.stringify({ user, remotePort: req.socket.remotePort });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(body);
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  };
  const server: Server = opts.tls ? createTlsServer(opts.tls, handler) : createServer(handler);
  // TLS servers report the TLS socket on 'secureConnection'; 'connection' gives the TCP one.
  server.on(opts.tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    baseUrl: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/piwebapi`,
    seen,
    dropConnections: async () => {
      const closed = [...sockets].map(
        (s) =>
          new Promise<void>((resolve) => {
            s.once('close', () => resolve());
            s.destroy();
          }),
      );
      await Promise.all(closed);
      await new Promise((resolve) => setTimeout(resolve, 100));
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await auth.close();
    },
  };
}

/** A SendOnce for `GET url` over `pool` unless the scheme passes its own dispatcher. */
export function sendOnceFor(url: string, pool: Dispatcher): SendOnce {
  return async (extraHeaders, dispatcher) => {
    const r = await request(url, { method: 'GET', headers: extraHeaders, dispatcher: dispatcher ?? pool });
    const body = Buffer.from(await r.body.arrayBuffer());
    return { status: r.statusCode, headers: r.headers, body };
  };
}

export function newPool(): Agent {
  return new Agent({ connections: 4 });
}

export function json(res: RawResponse): { user: string; remotePort: number } {
  return JSON.parse(res.body.toString('utf8')) as { user: string; remotePort: number };
}

/** Every string an error carries: message, code, and the whole cause chain. */
export function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 10; depth++) {
    if (e instanceof Error) {
      parts.push(e.name, e.message, e.stack ?? '', JSON.stringify(e));
      e = e.cause;
    } else {
      parts.push(String(e));
      e = undefined;
    }
  }
  return parts.join('\n');
}
