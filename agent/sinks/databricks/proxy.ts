/**
 * The plant's HTTP proxy (`sink.proxy`) for every connection the Databricks sink makes: the SQL
 * warehouse (Thrift over HTTPS), the OAuth token endpoint and the presigned uploads to cloud storage
 * (the driver PUTs staged files itself, with its connection's agent). One tunnel implementation
 * (HTTP CONNECT, RFC 9110 §9.3.6, login by `Proxy-Authorization: Basic`, RFC 9110 §11.7.2 and
 * RFC 7617) and one `no_proxy` rule serve all three, so they cannot disagree about a host.
 *
 * TLS runs end to end inside the tunnel with the sink's own trust (bundled roots plus `sink.ca`);
 * the proxy sees only host names and ports. The password is sent only to the proxy and never
 * appears in an error: errors name the proxy as `host:port`.
 *
 * Why not the driver's own `proxy` option (@databricks/sql 2.x, HttpConnection.createProxyAgent):
 * it hands the login to proxy-agent inside a URL without encoding it, it applies to every host
 * (no `no_proxy`), and its tunnelled TLS drops `customCaCert` (https-proxy-agent connects with the
 * request's options only), so a workspace behind a private CA fails through it.
 */
import type { RequestOptions } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import { BlockList, connect as netConnect, isIP, isIPv6, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { DBSQLClient } from '@databricks/sql';
import { Agent as UndiciAgent, buildConnector, type Dispatcher } from 'undici';
import { SinkError } from '../../errors.js';
import type { ProxyConfig } from './config.js';

/** How long a proxy may take to answer CONNECT before the connection counts as failed. */
const CONNECT_TIMEOUT_MS = 30_000;

/** Error codes of tunnel failures (on the error, and on node-fetch's FetchError that wraps it). */
type TunnelCode = 'EPROXYUNREACHABLE' | 'EPROXYAUTH' | 'EPROXYDENIED' | 'EPROXYFAILED';

export class ProxyTunnelError extends Error {
  constructor(
    readonly code: TunnelCode,
    message: string,
    readonly sinkError: SinkError,
  ) {
    super(message);
    this.name = 'ProxyTunnelError';
  }
}

/**
 * Whether `host` is reached directly. Entries (case-insensitive): `*` (every host); a host name,
 * which also matches its subdomains (`plant.local` matches `pi.plant.local`), with or without a
 * leading `.` or `*.`; an IP address; an IPv4 or IPv6 range in CIDR form (`10.0.0.0/8`), which
 * matches hosts written as addresses (names are not resolved to decide). Ports are not compared.
 */
export function noProxyMatcher(entries: readonly string[]): (host: string) => boolean {
  const names: string[] = [];
  const ranges = new BlockList();
  let all = false;
  for (const raw of entries) {
    const e = raw.trim().toLowerCase();
    const cidr = /^([0-9a-f.:]+)\/(\d{1,3})$/.exec(e);
    if (e === '*') all = true;
    else if (cidr && isIP(cidr[1]!)) ranges.addSubnet(cidr[1]!, Number(cidr[2]), isIPv6(cidr[1]!) ? 'ipv6' : 'ipv4');
    else if (isIP(e.replace(/^\[|\]$/g, ''))) ranges.addAddress(e.replace(/^\[|\]$/g, ''), isIPv6(e.replace(/^\[|\]$/g, '')) ? 'ipv6' : 'ipv4');
    else if (e) names.push(e.replace(/^\*?\./, ''));
  }
  return (hostIn) => {
    if (all) return true;
    const host = hostIn
      .toLowerCase()
      .replace(/^\[|\]$/g, '')
      .replace(/\.$/, '');
    const ip = isIP(host);
    if (ip) return ranges.check(host, ip === 6 ? 'ipv6' : 'ipv4');
    return names.some((n) => host === n || host.endsWith(`.${n}`));
  };
}

/** The sink's proxy: where it is, its login, and which hosts bypass it. */
export class SinkProxy {
  readonly host: string;
  readonly port: number;
  /** `host:port`, the proxy's name in messages. */
  readonly name: string;
  readonly bypass: (host: string) => boolean;
  private readonly authorization: string | undefined;

  constructor(private readonly config: ProxyConfig) {
    const u = new URL(config.url);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = u.port ? Number(u.port) : 80;
    this.name = `${u.hostname}:${this.port}`;
    this.bypass = noProxyMatcher(config.no_proxy ?? []);
    this.authorization = config.username === undefined ? undefined : `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}`;
  }

  /** For `pi-agent check`: the proxy, its login name and the bypass list; never the password. */
  describe(): string {
    const login = this.config.username === undefined ? '' : ` as ${this.config.username}`;
    const bypass = this.config.no_proxy?.length ? `, not for ${this.config.no_proxy.join(', ')}` : '';
    return `through proxy ${this.config.url}${login}${bypass}`;
  }

  /** A TCP connection to `host:port` through the proxy (CONNECT answered 200), ready for TLS. */
  tunnel(host: string, port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const target = `${isIPv6(host) ? `[${host}]` : host}:${port}`;
      const socket = netConnect({ host: this.host, port: this.port });
      let head = Buffer.alloc(0);
      let done = false;
      const fail = (err: ProxyTunnelError): void => {
        if (done) return;
        done = true;
        socket.destroy();
        reject(err);
      };
      socket.setTimeout(CONNECT_TIMEOUT_MS, () =>
        fail(this.error('EPROXYUNREACHABLE', `proxy ${this.name} did not answer CONNECT ${target} within ${CONNECT_TIMEOUT_MS / 1000}s`)),
      );
      socket.once('error', (err: NodeJS.ErrnoException) =>
        fail(this.error('EPROXYUNREACHABLE', `cannot reach proxy ${this.name} (${err.code ?? err.message}); check sink.proxy`)),
      );
      socket.once('end', () => fail(this.error('EPROXYFAILED', `proxy ${this.name} closed the connection during CONNECT ${target}`)));
      socket.once('connect', () => {
        const headers = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
        if (this.authorization) headers.push(`Proxy-Authorization: ${this.authorization}`);
        socket.write(`${headers.join('\r\n')}\r\n\r\n`);
      });
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > 16_384) fail(this.error('EPROXYFAILED', `proxy ${this.name} sent an oversized answer to CONNECT ${target}`));
          return;
        }
        socket.off('data', onData);
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? NaN);
        if (status !== 200) {
          fail(this.statusError(status, target));
          return;
        }
        done = true;
        socket.setTimeout(0);
        socket.removeAllListeners('error');
        socket.removeAllListeners('end');
        const rest = head.subarray(end + 4);
        if (rest.length) socket.unshift(rest);
        resolve(socket);
      };
      socket.on('data', onData);
    });
  }

  private statusError(status: number, target: string): ProxyTunnelError {
    if (status === 407)
      return this.error('EPROXYAUTH', `proxy ${this.name} refused the login (HTTP 407 Proxy Authentication Required); check sink.proxy.username and password`);
    if (status === 403) return this.error('EPROXYDENIED', `proxy ${this.name} does not allow CONNECT ${target} (HTTP 403); ask its administrators to allow it`);
    const what = Number.isNaN(status) ? 'an answer that is not HTTP' : `HTTP ${status}`;
    return this.error('EPROXYFAILED', `proxy ${this.name} could not open a tunnel to ${target} (${what})`);
  }

  private error(code: TunnelCode, message: string): ProxyTunnelError {
    const sink =
      code === 'EPROXYAUTH'
        ? new SinkError('SINK_AUTH_FAILED', message, { retryable: false })
        : code === 'EPROXYDENIED'
          ? new SinkError('SINK_PERMISSION_DENIED', message, { retryable: false })
          : new SinkError('SINK_UNREACHABLE', message);
    return new ProxyTunnelError(code, message, sink);
  }

  /** The tunnel failure behind a driver or fetch error (matched by its code), as a SinkError. */
  failure(err: unknown, what: string): SinkError | undefined {
    for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
      if (e instanceof ProxyTunnelError) return withContext(e.sinkError, what, err);
      const code = (e as { code?: unknown }).code;
      // node-fetch (the driver's HTTP client) wraps the agent's error, keeping only its code and message.
      if (typeof code === 'string' && code.startsWith('EPROXY')) {
        const msg = String((e as { message?: unknown }).message ?? '');
        const own = /reason: (.*)$/.exec(msg)?.[1] ?? msg;
        return withContext(this.error(code as TunnelCode, own).sinkError, what, err);
      }
    }
    return undefined;
  }

  /** An agent for Node's https (the driver's Thrift connection and presigned uploads). */
  httpsAgent(tls: Pick<ConnectionOptions, 'ca'>): HttpsAgent {
    return new TunnelAgent(this, { keepAlive: true, keepAliveMsecs: 10_000, minVersion: 'TLSv1.2', rejectUnauthorized: true, ...tls });
  }

  /** An undici dispatcher (the OAuth token endpoint) with the same tunnel and bypass rule. */
  dispatcher(tls: Pick<ConnectionOptions, 'ca'>): Dispatcher {
    const direct = buildConnector({ ...(tls.ca !== undefined ? { ca: tls.ca as string[] } : {}) });
    return new UndiciAgent({
      connect: (opts, cb) => {
        if (this.bypass(opts.hostname)) return direct(opts, cb);
        const port = Number(opts.port) || (opts.protocol === 'http:' ? 80 : 443);
        this.tunnel(opts.hostname, port).then(
          (socket) => {
            if (opts.protocol === 'http:') return cb(null, socket);
            // `host` is the name the certificate is checked against; SNI only for names (RFC 6066 §3).
            const servername = opts.servername || (isIP(opts.hostname) ? undefined : opts.hostname);
            const t = tlsConnect({ ...tls, socket, host: opts.hostname, ...(servername ? { servername } : {}), ALPNProtocols: ['http/1.1'] });
            t.once('secureConnect', () => cb(null, t));
            t.once('error', (err: Error) => cb(err, null));
          },
          (err: Error) => cb(err, null),
        );
      },
    });
  }

  /** A @databricks/sql client whose every connection (Thrift and staging) uses `agent`. */
  static client(agent: HttpsAgent): DBSQLClient {
    return new ProxiedClient(agent);
  }
}

function withContext(e: SinkError, what: string, cause: unknown): SinkError {
  return new SinkError(e.code as ConstructorParameters<typeof SinkError>[0], `Databricks ${what} failed: ${e.message}`, { cause, retryable: e.retryable });
}

type Created = (err: Error | null, stream: Duplex) => void;

/** Node https agent: tunnels through the proxy unless the host bypasses it; TLS inside the tunnel. */
class TunnelAgent extends HttpsAgent {
  constructor(
    private readonly proxy: SinkProxy,
    opts: AgentOptions,
  ) {
    super(opts);
  }

  // Node's Agent accepts an asynchronous createConnection that calls back (`_http_agent.js`
  // createSocket); https.Agent's own is the direct TLS connection.
  override createConnection(options: RequestOptions, cb?: Created): Duplex | null | undefined {
    const host = options.host ?? 'localhost';
    if (this.proxy.bypass(host)) return super.createConnection(options, cb);
    this.proxy.tunnel(host, Number(options.port) || 443).then(
      (socket) => cb?.(null, tlsConnect({ ...(options as ConnectionOptions), socket })),
      (err: Error) => cb?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/**
 * The driver takes its agent from the connection provider (`IClientContext.getConnectionProvider()`,
 * then `getAgent()`), for Thrift, staging PUT/GET/REMOVE and CloudFetch alike: the provider's
 * `getAgent` is replaced before anything uses it.
 */
class ProxiedClient extends DBSQLClient {
  constructor(private readonly agent: HttpsAgent) {
    super({ logger: { log: () => undefined } });
  }

  override async getConnectionProvider(): ReturnType<DBSQLClient['getConnectionProvider']> {
    const provider = await super.getConnectionProvider();
    provider.getAgent = () => Promise.resolve(this.agent);
    return provider;
  }

  override async close(): Promise<void> {
    await super.close();
    this.agent.destroy();
  }
}
