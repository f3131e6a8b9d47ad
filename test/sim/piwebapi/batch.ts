/**
 * `POST /batch` (fidelity §5): always 207; each entry `{Status, Headers, Content}`; ParentIds order
 * execution; Resource and Parameters may be JsonPaths into parent results; RequestTemplate fans
 * out over the tokens a Parameter selects.
 *
 * Inferred where no source is explicit: a child of a failed (status ≥ 400) parent is not executed
 * and gets 409 (the Response.Status enum has no 424); a templated entry's Content is
 * `{"Items":[{Status, Headers, Content}...]}` and its own Status is 200 when every item succeeded,
 * else 207; a Parameter selecting several tokens outside a template repeats a `name={n}` query
 * parameter once per token, or is joined with `,` elsewhere.
 */
import { dispatchShaped } from './fields.js';
import type { Router, SimRequest, SimResponse } from './router.js';
import type { Simulator } from './simulator.js';

interface BatchEntry {
  Method?: string;
  Resource?: string;
  Content?: string;
  Headers?: Record<string, string>;
  Parameters?: string[];
  ParentIds?: string[];
  RequestTemplate?: { Resource?: string };
}

interface BatchResult {
  Status: number;
  Headers: Record<string, string>;
  Content: unknown;
}

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

/** Minimal JsonPath: `$`, `.name`, `['name']`, `[n]`, `[*]`, `.*`. Names match exactly, then case-insensitively. */
export function jsonPath(root: unknown, path: string): unknown[] {
  if (!path.startsWith('$')) throw new Error(`not a JsonPath: ${path}`);
  let nodes: unknown[] = [root];
  const re = /\.([^.[\]]+)|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]|\[\s*(\d+)\s*\]|\[\s*\*\s*\]/gy;
  re.lastIndex = 1;
  let pos = 1;
  while (pos < path.length) {
    re.lastIndex = pos;
    const m = re.exec(path);
    if (!m) throw new Error(`unsupported JsonPath: ${path}`);
    pos = re.lastIndex;
    const name = m[1] ?? m[2] ?? m[3];
    const next: unknown[] = [];
    for (const n of nodes) {
      if (n === null || typeof n !== 'object') continue;
      if (name === '*' || (name === undefined && m[4] === undefined)) {
        next.push(...(Array.isArray(n) ? n : Object.values(n as Record<string, unknown>)));
      } else if (m[4] !== undefined) {
        if (Array.isArray(n) && Number(m[4]) < n.length) next.push(n[Number(m[4])]);
      } else if (name !== undefined) {
        const o = n as Record<string, unknown>;
        if (name in o) next.push(o[name]);
        else {
          const k = Object.keys(o).find((x) => x.toLowerCase() === name.toLowerCase());
          if (k !== undefined) next.push(o[k]);
        }
      }
    }
    nodes = next;
  }
  return nodes;
}

function tokenString(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Fill `{k}` placeholders; several tokens repeat a `name={k}` query parameter. */
function fill(template: string, values: string[][], pick?: number): string {
  return template.replace(/([?&][^=&?]+=)?\{(\d+)\}/g, (whole, prefix: string | undefined, k: string) => {
    const vals = values[Number(k)];
    if (!vals) return whole;
    const pre = prefix ?? '';
    if (pick !== undefined) return pre + encodeURIComponent(vals.length === 1 ? vals[0]! : (vals[pick] ?? ''));
    if (vals.length > 1 && prefix) return vals.map((v, j) => (j === 0 ? pre : '&' + pre.slice(1)) + encodeURIComponent(v)).join('');
    return pre + vals.map((v) => encodeURIComponent(v)).join(',');
  });
}

function toSubRequest(resource: string, method: string, entry: BatchEntry, parent: SimRequest): SimRequest {
  const u = new URL(resource, 'http://localhost/piwebapi/');
  let path = u.pathname.replace(/^\/piwebapi/i, '') || '/';
  path = path
    .split('/')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    })
    .join('/');
  let body: unknown;
  if (entry.Content !== undefined && entry.Content !== '') body = JSON.parse(entry.Content);
  const headers: SimRequest['headers'] = { ...parent.headers };
  // The outer POST's X-Requested-With does not vouch for a sub-request: it needs its own (run()).
  delete headers['x-requested-with'];
  for (const [k, v] of Object.entries(entry.Headers ?? {})) headers[k.toLowerCase()] = v;
  const req: SimRequest = { method: method.toUpperCase(), path, query: u.searchParams, headers, body };
  if (parent.user !== undefined) req.user = parent.user;
  return req;
}

/**
 * EnableCSRFDefense (AVEVA PI Web API User Guide, "Other security settings"; default true): PI Web
 * API checks that a POST, PUT, PATCH or DELETE request carries X-Requested-With. Strict here for
 * sub-requests too (issue 18): each needs the header in its own Headers, else 403 like the outer call.
 */
const CSRF_CHECKED = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function run(router: Router, req: SimRequest): Promise<BatchResult> {
  if (req.path.toLowerCase() === '/batch') return { Status: 400, Headers: JSON_HEADERS, Content: { Errors: ['A batch request cannot contain a batch request.'] } };
  if (CSRF_CHECKED.has(req.method) && req.headers['x-requested-with'] === undefined) {
    return { Status: 403, Headers: JSON_HEADERS, Content: { Errors: ["The request requires the 'X-Requested-With' header (CSRF defence)."] } };
  }
  let res: SimResponse;
  try {
    res = await dispatchShaped(router, req);
  } catch (err) {
    res = { status: 500, body: { Errors: [`Internal error: ${(err as Error).message}`] } };
  }
  return { Status: res.status, Headers: { ...JSON_HEADERS, ...(res.headers ?? {}) }, Content: res.body ?? null };
}

export function registerBatchRoute(router: Router, sim: Simulator): void {
  router.add('POST', '/batch', async (req) => {
    const body = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return { status: 400, body: { Errors: ['The batch request must be a JSON object keyed by request id.'] } };
    }
    const entries = body as Record<string, BatchEntry>;
    sim.batchBodies?.push(entries);
    const results: Record<string, BatchResult> = {};
    const state = new Map<string, 'running' | 'done'>();

    const exec = async (id: string): Promise<BatchResult> => {
      const done = results[id];
      if (done) return done;
      if (state.get(id) === 'running') return { Status: 400, Headers: JSON_HEADERS, Content: { Errors: [`Request '${id}' has a circular ParentIds dependency.`] } };
      state.set(id, 'running');
      const e = entries[id]!;
      const r = await execEntry(id, e);
      state.set(id, 'done');
      results[id] = r;
      return r;
    };

    const execEntry = async (id: string, e: BatchEntry): Promise<BatchResult> => {
      if (e === null || typeof e !== 'object') return bad(`Request '${id}' is not an object.`);
      for (const p of e.ParentIds ?? []) {
        if (!(p in entries)) return bad(`Request '${id}' names an unknown parent '${p}'.`);
        const pr = await exec(p);
        if (pr.Status >= 400) return { Status: 409, Headers: JSON_HEADERS, Content: { Errors: [`Parent request '${p}' failed; request '${id}' was not executed.`] } };
      }
      const parentView: Record<string, unknown> = {};
      for (const p of e.ParentIds ?? []) parentView[p] = results[p];
      const resolve = (expr: string): string[] => {
        if (!expr.startsWith('$')) return [expr];
        const rootId = /^\$\.?(?:\[?['"]?)([^.[\]'"]+)/.exec(expr)?.[1];
        if (rootId !== undefined && !(rootId in parentView)) throw new Error(`JsonPath '${expr}' refers to '${rootId}', which is not in ParentIds.`);
        return jsonPath(parentView, expr).map(tokenString);
      };
      try {
        const params = (e.Parameters ?? []).map(resolve);
        const method = e.Method ?? 'GET';
        if (e.RequestTemplate) {
          const tpl = e.RequestTemplate.Resource;
          if (!tpl) return bad(`Request '${id}': RequestTemplate needs a Resource.`);
          const n = Math.max(0, ...params.map((p) => p.length));
          const items: BatchResult[] = [];
          for (let j = 0; j < n; j++) items.push(await run(router, toSubRequest(fill(tpl, params, j), method, e, req)));
          const ok = items.every((x) => x.Status < 400);
          return { Status: ok ? 200 : 207, Headers: JSON_HEADERS, Content: { Items: items } };
        }
        if (!e.Resource) return bad(`Request '${id}' has no Resource.`);
        let resource = e.Resource;
        if (resource.startsWith('$')) {
          const v = resolve(resource);
          if (v.length !== 1) return bad(`Request '${id}': Resource JsonPath selected ${v.length} values.`);
          resource = v[0]!;
        }
        return await run(router, toSubRequest(fill(resource, params), method, e, req));
      } catch (err) {
        return bad(`Request '${id}': ${(err as Error).message}`);
      }
    };

    for (const id of Object.keys(entries)) await exec(id);
    const out: Record<string, BatchResult> = {};
    for (const id of Object.keys(entries)) out[id] = results[id]!;
    return { status: 207, body: out };
  });
}

function bad(message: string): BatchResult {
  return { Status: 400, Headers: JSON_HEADERS, Content: { Errors: [message] } };
}
