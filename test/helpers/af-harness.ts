/**
 * Shared setup of the AF and event frame source tests: the simulator, a PI client, a store on a temp
 * state directory, and a "destination" that applies the store's batches in order like the tables
 * would (update upserts by key, delete removes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeBatch } from '../../agent/batch/decode.js';
import { TABLES, type Row, type TableName } from '../../agent/batch/tables.js';
import { createPiAuth } from '../../agent/pi/auth/index.js';
import { PiClient } from '../../agent/pi/client.js';
import { Store } from '../../agent/store/store.js';
import type { AfModel } from '../sim/piwebapi/af.js';
import { startSimulator, type RunningSim } from '../sim/piwebapi/server.js';
import type { Test } from 'tap';

export const SITE = 'plant-t';
export const PLANT = '\\\\SIMAF\\Plant';
export const UTILITIES = '\\\\SIMAF\\Utilities';

/** A PI client as the agent opens one; `store` keeps a WebID 1.0 server's ids across processes (service/agent.ts does the same). */
export async function newClient(baseUrl: string, store?: Store): Promise<PiClient> {
  const opts: ConstructorParameters<typeof PiClient>[0] = {
    baseUrl,
    auth: await createPiAuth({ type: 'anonymous' }, { baseUrl }),
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 50,
  };
  if (store) opts.webIdAliases = store.webIdAliases();
  return new PiClient(opts);
}

export interface Env {
  sim: RunningSim;
  af: AfModel;
  client: PiClient;
  stateDir: string;
  openStore(opts?: { maxBufferBytes?: number }): Store;
  close(): Promise<void>;
}

export async function setup(opts: { tags?: number; seed?: number } = {}): Promise<Env> {
  const sim = await startSimulator({ port: 0, tags: opts.tags ?? 40, seed: opts.seed ?? 11 });
  const client = await newClient(sim.url);
  const stateDir = mkdtempSync(path.join(tmpdir(), 'pi-agent-af-'));
  return {
    sim,
    af: sim.sim.af as unknown as AfModel,
    client,
    stateDir,
    openStore: (o = {}) => Store.open({ stateDir, site: SITE, ...o }),
    async close() {
      await client.close();
      await sim.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** The destination: rows by table and key after applying every op in order. */
export class Destination {
  readonly tables = new Map<TableName, Map<string, Row>>();
  /** Rows received per table in the last drain, by op. */
  last = new Map<TableName, { update: number; insert: number; delete: number }>();

  table(name: TableName): Map<string, Row> {
    let m = this.tables.get(name);
    if (!m) this.tables.set(name, (m = new Map()));
    return m;
  }

  /** Takes every sealed batch out of the store (marking it committed) and applies it. */
  drain(store: Store): number {
    this.last = new Map();
    let n = 0;
    for (;;) {
      const u = store.nextUploadUnit(undefined, { maxBytes: 1 << 30, maxBatches: 10_000 });
      if (!u) return n;
      const rows = decodeBatch(store.unitData(u));
      const def = TABLES[u.table];
      const t = this.table(u.table);
      const counts = this.last.get(u.table) ?? { update: 0, insert: 0, delete: 0 };
      for (const r of rows) {
        const key = def.key.map((k) => String(r[k])).join('|');
        const op = r['op'] as 'insert' | 'update' | 'delete';
        counts[op]++;
        if (op === 'delete') t.delete(key);
        else t.set(key, r);
        n++;
      }
      this.last.set(u.table, counts);
      store.markUnitCommitted(u.name);
    }
  }

  received(name: TableName): number {
    const c = this.last.get(name);
    return c ? c.update + c.insert + c.delete : 0;
  }
}

/** The agent's key of a simulator object (test/helpers/agent-env.ts). */
export { idOnly } from './agent-env.js';

/** Keys missing, extra or different (at most 5 of each, so a failure stays readable and cheap). */
export function differences(act: Map<string, Record<string, unknown>>, exp: Map<string, Record<string, unknown>>): unknown[] {
  const out: unknown[] = [];
  for (const [k, e] of exp) {
    const a = act.get(k);
    if (!a) out.push({ missing: k, expected: e });
    else if (JSON.stringify(a) !== JSON.stringify(e)) out.push({ key: k, actual: a, expected: e });
    if (out.length >= 5) return out;
  }
  for (const k of act.keys()) {
    if (!exp.has(k)) out.push({ extra: k, actual: act.get(k) });
    if (out.length >= 10) break;
  }
  return out;
}

/**
 * setup() for one tap test: the environment, its AF model and simulator, a store and a destination;
 * the store and the environment close when the test ends.
 */
export async function scenario(t: Test, opts: { tags?: number; seed?: number } = {}) {
  const env = await setup(opts);
  t.teardown(() => env.close());
  const store = env.openStore();
  t.teardown(() => store.close());
  return { env, af: env.af, sim: env.sim.sim, store, dest: new Destination() };
}
