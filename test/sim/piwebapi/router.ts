/**
 * The simulator's tiny router. Routes are registered by the modules that own them (data server and
 * streams, AF, event frames, control API) and dispatched both by the HTTP server and by `/batch`.
 */

export interface SimRequest {
  method: string;
  /** Path below `/piwebapi`, e.g. `/streams/F1DP.../recorded` (no query string, percent-decoded per segment). */
  path: string;
  /** Raw query; use `q`/`qAll`, which match names case-insensitively (fidelity §1). */
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (undefined when none). */
  body: unknown;
  /** Authenticated user name, when auth is on. */
  user?: string;
}

export interface SimResponse {
  status: number;
  /** JSON-serialisable body; `undefined` for none. */
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: SimRequest, params: Record<string, string>) => SimResponse | Promise<SimResponse>;

/** First value of a query parameter, name matched case-insensitively. */
export function q(req: SimRequest, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of req.query) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Every value of a repeated query parameter (e.g. `webId=A&webId=B`), case-insensitively. */
export function qAll(req: SimRequest, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [k, v] of req.query) if (k.toLowerCase() === lower) out.push(v);
  return out;
}

export function errors(status: number, ...messages: string[]): SimResponse {
  return { status, body: { Errors: messages } };
}

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  /** `pattern` like `/streams/{webId}/recorded`; literal segments match case-insensitively. */
  add(method: string, pattern: string, handler: Handler): void {
    this.routes.push({ method: method.toUpperCase(), parts: pattern.split('/').filter(Boolean), handler });
  }

  /** Literal routes win over parameter routes of the same length (`/streams/updates/{m}` vs `/streams/{webId}/value`). */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | undefined {
    const segs = path.split('/').filter(Boolean);
    let best: { handler: Handler; params: Record<string, string>; literals: number } | undefined;
    for (const r of this.routes) {
      if (r.method !== method.toUpperCase() || r.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let literals = 0;
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.parts[i]!;
        const s = segs[i]!;
        if (p.startsWith('{') && p.endsWith('}')) params[p.slice(1, -1)] = s;
        else if (p.toLowerCase() === s.toLowerCase()) literals++;
        else {
          ok = false;
          break;
        }
      }
      if (ok && (!best || literals > best.literals)) best = { handler: r.handler, params, literals };
    }
    return best && { handler: best.handler, params: best.params };
  }

  async dispatch(req: SimRequest): Promise<SimResponse> {
    const m = this.match(req.method, req.path);
    if (!m) {
      return { status: 404, body: { Message: `No HTTP resource was found that matches the request URI '${req.path}'.` } };
    }
    return m.handler(req, m.params);
  }
}
