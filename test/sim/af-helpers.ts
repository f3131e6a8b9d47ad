/** Shared setup of the AF simulator tests (af-*.test.ts): a model on a fake tag list and a router. */
import { encodeWebId } from '../../agent/pi/webid.js';
import { AfModel, registerAfRoutes, type AfModelOptions, type AfTags } from './piwebapi/af.js';
import { Router, type SimResponse } from './piwebapi/router.js';

export const PI_SERVER_GUID = '6f40df05-d9cd-44f7-8d4a-3cb826d0f97d';

/** `n` tags named TAG0..; WebIDs as the core would issue them. */
export function fakeTags(n: number): AfTags {
  return {
    count: () => n,
    name: (i) => `TAG${i}`,
    path: (i) => `\\\\SIMPI\\TAG${i}`,
    webId: (i) => encodeWebId({ type: 'Full', marker: 'DP', guids: [PI_SERVER_GUID], pointId: i + 1, name: `SIMPI\\TAG${i}` }),
  };
}

export interface AfHarness {
  af: AfModel;
  router: Router;
  clock: { now: number };
  get(path: string, query?: string | Record<string, string>): Promise<SimResponse & { body: any }>;
  post(path: string, body: unknown): Promise<SimResponse & { body: any }>;
}

export const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

export function harness(opts: Partial<Omit<AfModelOptions, 'now'>> & { now?: number } = {}): AfHarness {
  const clock = { now: opts.now ?? NOW };
  const { now: _n, ...rest } = opts;
  const af = new AfModel({ seed: 7, tags: fakeTags(200), ...rest, now: () => clock.now });
  const router = new Router();
  registerAfRoutes(router, af);
  return {
    af,
    router,
    clock,
    get: async (path, query = '') =>
      router.dispatch({
        method: 'GET',
        path,
        query: new URLSearchParams(query),
        headers: {},
        body: undefined,
      }) as Promise<SimResponse & { body: any }>,
    post: async (path, body) =>
      router.dispatch({
        method: 'POST',
        path,
        query: new URLSearchParams(),
        headers: {},
        body,
      }) as Promise<SimResponse & { body: any }>,
  };
}

/** Page through a collection with `startIndex`/`maxCount` until a short page. */
export async function pageAll(h: AfHarness, path: string, query: Record<string, string>, maxCount: number): Promise<{ items: any[]; calls: number }> {
  const items: any[] = [];
  let calls = 0;
  for (let start = 0; ; start += maxCount) {
    const r = await h.get(path, { ...query, startIndex: String(start), maxCount: String(maxCount) });
    calls++;
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    items.push(...r.body.Items);
    if (r.body.Items.length < maxCount) return { items, calls };
  }
}
