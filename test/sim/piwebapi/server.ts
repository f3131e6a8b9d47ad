/**
 * The PI Web API simulator's HTTP(S) server: auth, CSRF check, rate limit and faults in front of
 * the router; JSON out. The control API (`/sim/...`) bypasses auth and CSRF.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SimAuth } from './auth-types.js';
import { registerBatchRoute } from './batch.js';
import { registerControlRoutes } from './control.js';
import { registerDiscoveryRoutes } from './discovery.js';
import { dispatchShaped } from './fields.js';
import { requestCost, requestWork } from './latency.js';
import { Router, type SimRequest, type SimResponse } from './router.js';
import { Simulator, type AfHooks, type SimulatorOptions } from './simulator.js';
import { registerStreamRoutes } from './streams.js';
import { registerUpdateRoutes } from './updates.js';

export interface SimOptions extends SimulatorOptions {
  /** 0 (default) = a free port. */
  port?: number;
  /** None = anonymous. */
  auth?: SimAuth;
  /** HTTPS when given (PEM strings). */
  tls?: { cert: string; key: string };
}

export interface RunningSim {
  /** `http(s)://127.0.0.1:PORT/piwebapi` */
  url: string;
  port: number;
  sim: Simulator;
  close(): Promise<void>;
}

/** MaxRequestContentLength (fidelity §5). */
const MAX_BODY = 4 * 1024 * 1024;

/** The AF model contract (helper-owned `af.ts`); loaded dynamically so the server runs without it. */
interface AfModule {
  AfModel: new (opts: {
    seed: number;
    now: () => number;
    tags: { count(): number; name(i: number): string; path(i: number): string; webId(i: number): string };
    baseUrl?: () => string;
    webIds?: Simulator['webIds'];
  }) => AfHooks;
  registerAfRoutes(router: Router, af: AfHooks): void;
}

async function loadAf(): Promise<AfModule | undefined> {
  const spec = './af.js';
  try {
    const mod = (await import(spec)) as Partial<AfModule>;
    if (typeof mod.AfModel === 'function' && typeof mod.registerAfRoutes === 'function') return mod as AfModule;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND') process.stderr.write(`simulator: AF model not loaded: ${(err as Error).message}\n`);
  }
  return undefined;
}

/** Build the simulator, its routes and (when available) the AF model, without a server. */
export async function createSimulator(opts: SimulatorOptions = {}): Promise<{ sim: Simulator; router: Router; control: Router }> {
  const sim = new Simulator(opts);
  const router = new Router();
  registerDiscoveryRoutes(router, sim);
  registerStreamRoutes(router, sim);
  // Before 2018 there are no stream-updates routes (versions.ts).
  if (opts.streamUpdates !== false && sim.version.streamUpdates !== 'absent') registerUpdateRoutes(router, sim);
  registerBatchRoute(router, sim);
  const af = await loadAf();
  if (af) {
    const model = new af.AfModel({
      seed: sim.seed,
      now: () => sim.nowMs(),
      tags: {
        count: () => sim.tags.size(),
        name: (i) => sim.tagName(i),
        path: (i) => sim.tagPath(i),
        webId: (i) => sim.tagWebId(i),
      },
      baseUrl: () => sim.baseUrl,
      webIds: sim.webIds,
    });
    af.registerAfRoutes(router, model);
    sim.af = model;
  }
  const control = new Router();
  registerControlRoutes(control, sim);
  return { sim, router, control };
}

function sendJson(res: ServerResponse, r: SimResponse, truncate = false): void {
  const headers: Record<string, string | number> = { ...(r.headers ?? {}) };
  if (r.body === undefined) {
    res.writeHead(r.status, headers);
    res.end();
    return;
  }
  let text = JSON.stringify(r.body);
  if (truncate) text = text.slice(0, Math.floor(text.length / 2));
  const buf = Buffer.from(text, 'utf8');
  headers['Content-Type'] = 'application/json; charset=utf-8';
  headers['Content-Length'] = buf.length;
  res.writeHead(r.status, headers);
  res.end(buf);
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Split the path, percent-decode each segment (router contract). */
function decodePath(raw: string): string {
  return raw
    .split('/')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    })
    .join('/');
}

export async function startSimulator(opts: SimOptions = {}): Promise<RunningSim> {
  const { sim, router, control } = await createSimulator(opts);
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const sleep = (ms: number): Promise<void> =>
    new Promise((r) => {
      const t = setTimeout(() => {
        timers.delete(t);
        r();
      }, ms);
      timers.add(t);
    });

  /**
   * Send a PI Web API response no earlier than its modelled cost after the request arrived
   * (latency.ts); counts what was served.
   */
  async function serve(res: ServerResponse, r: SimResponse, path: string, arrived: number, truncate = false): Promise<void> {
    sim.served.requests++;
    const model = sim.latency;
    if (model) {
      const work = requestWork(path, r.status < 300 ? r.body : undefined, model);
      const cost = requestCost(work, model);
      const s = sim.served;
      s.subRequests += work.subRequests;
      s.streams += work.streams;
      s.values += work.values;
      s.chargedMs += cost;
      const wait = cost - (performance.now() - arrived);
      if (wait > 0) {
        s.delayedMs += wait;
        await sleep(wait);
      }
    }
    sendJson(res, r, truncate);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = performance.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path = url.pathname;
    const isControl = /^\/(piwebapi\/)?sim(\/|$)/i.test(path);
    if (isControl) path = path.replace(/^\/piwebapi/i, '');

    if (!isControl && opts.auth) {
      if (await opts.auth.handlePublic(req, res)) return;
      const user = await opts.auth.authenticate(req, res);
      if (user === undefined) {
        if (!res.headersSent && !res.writableEnded) sendJson(res, { status: 401, body: { Errors: ['Authentication failed.'] } });
        return;
      }
      (req as IncomingMessage & { simUser?: string }).simUser = user;
    }

    if (!isControl) {
      if (!/^\/piwebapi(\/|$)/i.test(path)) {
        sendJson(res, { status: 404, body: { Message: `No HTTP resource was found that matches the request URI '${req.url}'.` } });
        return;
      }
      path = path.replace(/^\/piwebapi/i, '') || '/';
      if (sim.faults.overRateLimit(req.socket.remoteAddress ?? '?', Date.now())) {
        await readBody(req);
        sendJson(res, { status: 429, headers: { 'Retry-After': '1' }, body: { Errors: ['Rate limit was reached'] } });
        return;
      }
    }

    const body = await readBody(req);
    if (body === 'too-large') {
      sendJson(res, { status: 413, body: { Errors: [`The request content is larger than the maximum allowed (${MAX_BODY} bytes).`] } });
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    if (!isControl && method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS' && req.headers['x-requested-with'] === undefined) {
      // CSRF defence (fidelity §5; AVEVA PI Web API User Guide, "Other security settings":
      // EnableCSRFDefense, default true, checks X-Requested-With on POST, PUT, PATCH and DELETE).
      sendJson(res, { status: 403, body: { Errors: ["The request requires the 'X-Requested-With' header (CSRF defence)."] } });
      return;
    }
    let parsed: unknown;
    if (body.length > 0) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        sendJson(res, { status: 400, body: { Errors: ['The request body is not valid JSON.'] } });
        return;
      }
    }
    const simReq: SimRequest = { method, path: decodePath(path), query: url.searchParams, headers: req.headers, body: parsed };
    const user = (req as IncomingMessage & { simUser?: string }).simUser;
    if (user !== undefined) simReq.user = user;

    if (isControl) {
      // Core control routes live on `control`; the AF model registers `/sim/af/...` on `router`.
      const target = control.match(method, simReq.path) ? control : router;
      sendJson(res, await target.dispatch(simReq));
      return;
    }

    const fault = sim.faults.decide(method, simReq.path);
    if (fault) {
      switch (fault.kind) {
        case 'reset':
          req.socket.destroy();
          return;
        case 'timeout':
          await sleep(fault.delayMs ?? 30000);
          req.socket.destroy();
          return;
        case 'status': {
          const status = fault.status ?? 500;
          const headers: Record<string, string> = {};
          if (status === 429 || status === 503) headers['Retry-After'] = String(fault.retryAfter ?? 1);
          const msg = fault.message ?? (status === 429 ? 'Rate limit was reached' : `Simulated failure (HTTP ${status}).`);
          sendJson(res, { status, headers, body: { Errors: [msg] } });
          return;
        }
        case 'webexception':
          sendJson(res, {
            status: 200,
            body: { WebException: { Errors: [fault.message ?? 'An error occurred while streaming the response.'], StatusCode: fault.status ?? 500 } },
          });
          return;
        case 'slow':
          await sleep(fault.delayMs ?? 1000);
          break;
        case 'truncate':
          await serve(res, await dispatchShaped(router, simReq), simReq.path, arrived, true);
          return;
      }
    }
    await serve(res, await dispatchShaped(router, simReq), simReq.path, arrived);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      process.stderr.write(`simulator: ${(err as Error).stack ?? String(err)}\n`);
      if (!res.headersSent) sendJson(res, { status: 500, body: { Errors: [`Internal error: ${(err as Error).message}`] } });
      else res.destroy();
    });
  };
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : http.createServer(listener);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/piwebapi`;
  sim.baseUrl = url;
  let closed = false;
  return {
    url,
    port,
    sim,
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const done = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await done;
      await opts.auth?.close();
    },
  };
}
