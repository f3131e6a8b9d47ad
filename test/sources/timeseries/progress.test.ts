/**
 * The time-series progress spaces (progress.ts): the key strings are the store's on-disk format and
 * are pinned here; rewindTimeseries (`pi-agent reset`) and dropBackfillProgress (a backfill's end)
 * against an in-memory store that records every write and deletion, and rewindTimeseries against
 * the real Store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  backfillSpace,
  bucketKey,
  bucketKeysOf,
  DIGEST_BUCKETS,
  dropBackfillProgress,
  headSpace,
  LIVE,
  MARKERS,
  OWNER,
  rewindTimeseries,
  UPDATES_STATE,
} from '../../../agent/sources/timeseries/progress.js';
import { Store } from '../../../agent/store/store.js';
import { MemTimeseriesStore } from './harness.js';

/** The in-memory store with `entries` stored, counting commits. */
function memStore(entries: Record<string, unknown>) {
  const store = new MemTimeseriesStore();
  for (const [k, v] of Object.entries(entries)) store.progress.set(k, JSON.stringify(v));
  let commits = 0;
  const commitStep = store.commitStep.bind(store);
  store.commitStep = (...args) => {
    commits++;
    commitStep(...args);
  };
  return { store, commits: () => commits, all: () => Object.fromEntries([...store.progress].map(([k, v]) => [k, JSON.parse(v) as unknown])) };
}

t.test('the key strings as stored', async (t) => {
  t.equal(LIVE.key('W1'), 'ts:W1');
  t.equal(backfillSpace(1767225600000000, 1767312000000000 - 1).key('W1'), 'bf:1767225600000000-1767311999999999:W1');
  t.equal(bucketKey('ts:W1', 2945376), 'dg:ts:W1@2945376');
  t.equal(bucketKey('bf:1-2:W1', 7), 'dg:bf:1-2:W1@7');
  t.equal(DIGEST_BUCKETS.prefix, 'dg:');
  t.equal(MARKERS.key('W1'), 'su:W1');
  t.equal(UPDATES_STATE.key, 'updates:state');
  t.equal(UPDATES_STATE.key, 'updates:state', 'the former UPDATES_STATE_KEY');
  t.equal(headSpace('ts:').key('W1'), 'ts:W1', 'the former progressKey helper');
  t.equal(headSpace('bf:1-2:').key('W1'), 'bf:1-2:W1');
  t.equal(headSpace(undefined), LIVE, 'no prefix: the live heads');
  t.equal(headSpace('ts:'), LIVE);
  t.equal(headSpace('bf:1-2:').key('W1'), 'bf:1-2:W1');
  t.same(
    [LIVE, DIGEST_BUCKETS, MARKERS, UPDATES_STATE, backfillSpace(1, 2)].map((s) => [s.owner, s.version]),
    Array(5).fill([OWNER, 1]),
  );
  t.equal(OWNER, 'timeseries');
  t.same(bucketKeysOf('ts:W1', { pos: 1, w: 600, b: [10, 1, 3] }), ['dg:ts:W1@10', 'dg:ts:W1@11', 'dg:ts:W1@14'], 'delta-encoded bucket list');
  t.same(bucketKeysOf('ts:W1', undefined), []);
});

t.test('rewindTimeseries: heads past the target move back to it, replaying as upserts; their buckets go', async (t) => {
  const { store, commits, all } = memStore({
    'ts:A': { pos: 500, lr: 400, lf: 300, vr: 2, w: 100, b: [3, 1] },
    'dg:ts:A@3': 'AAAA',
    'dg:ts:A@4': 'BBBB',
    'ts:B': { pos: 500, r: 900 },
    'ts:C': { pos: 150, w: 100, b: [1] },
    'dg:ts:C@1': 'CCCC',
    'ts:E': { pos: 200 },
    'ts:F': { pos: 800, r: 600, d: 'embedded' },
    'su:A': { m: 'A_1', a: 450 },
    'bf:1-2:A': { pos: 700 },
    'updates:state': { late_changes: 3 },
  });
  const n = rewindTimeseries(store, ['A', 'B', 'C', 'D', 'E', 'F'], 200);
  t.equal(n, 3, 'A, B and F rewound');
  t.equal(commits(), 1, 'one commit');
  t.same(
    store.writes.map((w) => w.key),
    ['ts:A', 'ts:B', 'ts:F'],
  );
  t.same(store.deletes, ['dg:ts:A@3', 'dg:ts:A@4']);
  t.same(
    all(),
    {
      'ts:A': { pos: 200, r: 500 },
      'ts:B': { pos: 200, r: 900 },
      'ts:C': { pos: 150, w: 100, b: [1] },
      'dg:ts:C@1': 'CCCC',
      'ts:E': { pos: 200 },
      'ts:F': { pos: 200, r: 800 },
      'su:A': { m: 'A_1', a: 450 },
      'bf:1-2:A': { pos: 700 },
      'updates:state': { late_changes: 3 },
    },
    'not past the target (C, E) or never read (D): untouched; markers, backfills and state too',
  );

  const none = memStore({ 'ts:A': { pos: 100 } });
  t.equal(rewindTimeseries(none.store, ['A', 'Z'], 200), 0);
  t.same([none.commits(), none.store.writes, none.store.deletes], [1, [], []], 'nothing to rewind: an empty commit');
});

t.test('rewindTimeseries against the real Store: the same effect', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-rewind-'));
  const store = Store.open({ stateDir: dir, site: 'plant-a' });
  t.teardown(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  store.commitStep(
    [],
    [
      { key: 'ts:A', value: { pos: 500, lr: 400, w: 100, b: [3, 1] } },
      { key: 'dg:ts:A@3', value: 'AAAA' },
      { key: 'dg:ts:A@4', value: 'BBBB' },
      { key: 'ts:B', value: { pos: 100 } },
    ],
  );
  t.equal(rewindTimeseries(store, ['A', 'B'], 200), 1);
  t.same(
    [...store.getProgressByPrefix('ts:')],
    [
      ['ts:A', { pos: 200, r: 500 }],
      ['ts:B', { pos: 100 }],
    ],
  );
  t.same(store.getProgressByPrefix('dg:').size, 0);
});

t.test("dropBackfillProgress: the backfill's heads and their buckets, nothing else", async (t) => {
  const { store, commits, all } = memStore({
    'bf:10-20:A': { pos: 21, w: 100, b: [0] },
    'dg:bf:10-20:A@0': 'AAAA',
    'bf:10-20:B': { pos: 21 },
    'bf:10-30:A': { pos: 15 },
    'ts:A': { pos: 99, w: 100, b: [0] },
    'dg:ts:A@0': 'LIVE',
  });
  dropBackfillProgress(store, 10, 20, ['A', 'B', 'C']);
  t.equal(commits(), 1);
  t.same(store.deletes, ['bf:10-20:A', 'dg:bf:10-20:A@0', 'bf:10-20:B', 'bf:10-20:C']);
  t.same(store.writes, []);
  t.same(all(), { 'bf:10-30:A': { pos: 15 }, 'ts:A': { pos: 99, w: 100, b: [0] }, 'dg:ts:A@0': 'LIVE' }, 'other backfills and live progress untouched');
});

t.test('rewindTimeseries does what `pi-agent reset --source timeseries` did by hand (the former service/commands.ts)', async (t) => {
  const { reset } = await import('../../../agent/service/reset.js');
  const { openStore } = await import('../../../agent/service/agent.js');
  const { makeAgentEnv, simAgentYaml } = await import('../../helpers/agent-env.js');
  const to = Date.UTC(2026, 0, 1, 2) * 1000;
  const seeded = [
    ...['A', 'B', 'C', 'D'].map((w) => ({ key: `tag:${w}`, value: { webId: w, name: w, path: `\\\\SIMPI\\${w}`, pointType: 'Float64', hash: '' } })),
    { key: 'ts:A', value: { pos: to + 500, lr: to + 400, lf: to + 300, vr: 2, w: 100, b: [3, 1] } },
    { key: 'dg:ts:A@3', value: 'AAAA' },
    { key: 'dg:ts:A@4', value: 'BBBB' },
    { key: 'ts:B', value: { pos: to + 5, r: to + 900 } },
    { key: 'ts:C', value: { pos: to - 5, w: 100, b: [1] } },
    { key: 'dg:ts:C@1', value: 'CCCC' },
    { key: 'su:A', value: { m: 'A_1', a: to } },
  ];
  const after: Record<string, unknown>[] = [];
  for (const how of ['service', 'progress.ts'] as const) {
    const env = makeAgentEnv((paths) => simAgentYaml(paths, { piUrl: 'http://127.0.0.1:9', logLevel: 'warn', timeseries: { lookback: '1h' } }));
    t.teardown(() => env.cleanup());
    let store = openStore(env.config());
    store.commitStep([], seeded);
    if (how === 'progress.ts') t.equal(rewindTimeseries(store, ['A', 'B', 'C', 'D'], to), 2);
    store.close();
    if (how === 'service') t.equal(await reset(env.config(), { print: () => undefined, source: 'timeseries', tags: [], to: new Date(to / 1000).toISOString() }), 'ok');
    store = openStore(env.config());
    after.push(Object.fromEntries(store.getProgressByPrefix('')));
    store.close();
  }
  t.same(after[1], after[0]);
  t.same(after[0]!['ts:A'], { pos: to, r: to + 500 });
  t.notOk('dg:ts:A@3' in after[0]!);
});
