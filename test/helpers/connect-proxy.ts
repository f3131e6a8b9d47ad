/**
 * A real HTTP CONNECT proxy on 127.0.0.1 for tests (RFC 9110 §9.3.6): it opens a TCP tunnel to the
 * requested host:port and counts the tunnels per target host. Like a plant proxy it may require a
 * login (`Proxy-Authorization: Basic`, else 407 with `Proxy-Authenticate`, RFC 9110 §11.7.1), and it
 * resolves names itself: `map` sends names the machine cannot resolve (`*.invalid`, RFC 6761 §6.4)
 * to loopback, so a client that bypasses the proxy cannot reach them. Only CONNECT is served (every
 * connection the agent makes is HTTPS); anything else gets 405.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ConnectProxyOptions {
  /** Required login; none when undefined. */
  login?: { username: string; password: string };
  /** Host name → address the proxy connects to instead (e.g. `{ 'files.emulator.invalid': '127.0.0.1' }`); `*.x` matches subdomains. */
  map?: Record<string, string>;
  /** Target host names the proxy's policy refuses (403, as a plant proxy answers a host not on its allow list). */
  deny?: string[];
}

export interface ConnectProxy {
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Tunnels opened (CONNECT answered 200), per target host name as the client wrote it. */
  tunnels: Map<string, number>;
  /** CONNECT requests refused (407), and those with a wrong login among them. */
  refused: { missing: number; wrong: number };
  /** Every CONNECT request's Proxy-Authorization header, as sent (tests check what went over the wire). */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

export async function startConnectProxy(opts: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const tunnels = new Map<string, number>();
  const refused = { missing: 0, wrong: 0 };
  const authorizations: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  const expected = opts.login && `Basic ${Buffer.from(`${opts.login.username}:${opts.login.password}`).toString('base64')}`;

  const resolveHost = (host: string): string => {
    for (const [name, addr] of Object.entries(opts.map ?? {})) {
      if (name === host || (name.startsWith('*.') && host.endsWith(name.slice(1)))) return addr;
    }
    return host;
  };

  const server: Server = createServer((_req, res) => {
    res.writeHead(405, { allow: 'CONNECT' });
    res.end();
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const auth = req.headers['proxy-authorization'];
    authorizations.push(auth);
    if (expected && auth !== expected) {
      if (auth === undefined) refused.missing++;
      else refused.wrong++;
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="plant"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(req.url ?? '');
    if (!m) {
      client.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const host = m[1]!.replace(/^\[|\]$/g, '');
    if (opts.deny?.includes(host)) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = connect({ host: resolveHost(host), port: Number(m[2]) });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.once('connect', () => {
      tunnels.set(host, (tunnels.get(host) ?? 0) + 1);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n'));
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    tunnels,
    refused,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
