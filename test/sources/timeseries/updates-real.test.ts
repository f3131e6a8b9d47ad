/**
 * Stream updates as real servers send them (issue 18 item 3): an action the agent does not know is
 * read back at its timestamp; a signup PI ended (`Exception`) is registered again and later changes
 * are found through it. Simulator → agent → store → directory sink → Parquet read back, compared
 * with the simulator's ground truth event by event. (Deletions older than the window, sent with
 * the real action name `Delete`, are in updates.test.ts's first test.)
 */
import t, { type Test } from 'tap';
import { parsePiTimestamp } from '../../../agent/pi/time.js';
import { buildStatus } from '../../../agent/service/status.js';
import { UPDATES_STATE, type UpdatesState } from '../../../agent/sources/timeseries/progress.js';
import { runTimeseriesSource } from '../../../agent/sources/timeseries/source.js';
import { Store } from '../../../agent/store/store.js';
import { changeOpsAt, landedTable } from '../../helpers/landed.js';
import { compareWithArchive, idOnly, landedEventsByTag, makeAgentEnv, runAgentOnce, simAgentYaml, withAgent } from '../../helpers/agent-env.js';
import { SIGNUP_REMOVED, SIGNUP_UPDATED } from '../../sim/piwebapi/updates.js';
import { startSimulator } from '../../sim/piwebapi/server.js';

const START = '2026-01-01T00:00:00Z';
const us = (iso: string): number => parsePiTimestamp(iso).us;
const isoOf = (iso: string): string => new Date(us(iso) / 1000).toISOString();

async function setup(t: Test) {
  const sim = await startSimulator({ port: 0, tags: 6, seed: 17, historyStart: START, now: '2026-01-01T03:00:00Z' });
  const env = makeAgentEnv((paths) =>
    simAgentYaml(paths, {
      piUrl: sim.url,
      pi: { tags_per_request: 4 },
      timeseries: { lookback: '30m', lookback_every: '0s', stream_updates: 'auto' },
    }),
  );
  t.teardown(async () => {
    await sim.close();
    env.cleanup();
  });
  const s = sim.sim;
  const compare = async (t: Test, tags: number[]) => {
    compareWithArchive(t, s, landedEventsByTag((await landedTable(env.outDir, 'pi_timeseries')).values()), { start: START, tags });
  };
  const opsAt = (tag: number, isos: string[]) => changeOpsAt(env.outDir, idOnly(s.tagWebId(tag)), isos.map(us));
  const state = () => {
    const st = Store.openReadonly({ stateDir: env.stateDir, maxBufferBytes: 1 << 30 });
    try {
      return st.getProgress<UpdatesState>(UPDATES_STATE.key);
    } finally {
      st.close();
    }
  };
  const notes = async () => (await buildStatus(env.config())).sources.find((x) => x.name === 'timeseries')?.notes ?? [];
  const tsCycle = () => withAgent(env, (agent) => runTimeseriesSource(agent));
  return { s, env, compare, opsAt, state, notes, tsCycle, once: () => runAgentOnce(env) };
}

t.test('an action the agent does not know: its timestamp read back, the edit landed once, counted in status', async (t) => {
  const { s, compare, opsAt, state, notes, once } = await setup(t);
  t.same(await once(), { ok: true, problems: [] });
  // A later server's name for an edit (the simulator renames its Update): older than the window.
  s.updates!.renamedActions.set('Update', 'Replace');
  const old = s.truth(1, '2026-01-01T01:00:00Z', '2026-01-01T01:10:00Z').filter((e) => typeof e.Value === 'number');
  t.ok(old.length > 1);
  s.editEvent(1, old[0]!.Timestamp, { value: -12.5 });
  s.advance('2m');
  t.same(await once(), { ok: true, problems: [] });
  t.same(await opsAt(1, [old[0]!.Timestamp]), [`insert@${isoOf(old[0]!.Timestamp)}#0`, `update@${isoOf(old[0]!.Timestamp)}#0`], 'read back: one upsert');
  await compare(t, [0, 1, 2, 3, 4, 5]);
  t.match(state()!.unknown_actions, { count: 1, last: 'Replace' });
  t.match(await notes(), [
    /^1 change\(s\) older than/,
    /^1 stream-update event\(s\) with an action this agent does not know \(last: Replace, .*\): their timestamps were read back from PI$/,
  ]);
});

t.test("a signup PI ended (Exception) or removed with its point: registered again, later changes found, status says PI's reason", async (t) => {
  const { s, compare, opsAt, state, notes, once, tsCycle } = await setup(t);
  t.same(await once(), { ok: true, problems: [] });
  s.updates!.endSignup(2, SIGNUP_UPDATED);
  s.advance('1m');
  const r = await tsCycle();
  t.same([r.streamUpdates?.lost, r.streamUpdates?.registered, r.streamUpdates?.errors.size], [1, 1, 0], 'tag 2 registered again, no error');
  t.match(state()!.lost, { count: 1, reason: new RegExp(`PI ended the stream-updates signup of .*: ${SIGNUP_UPDATED.replace(/\./g, '\\.')}$`) });
  t.match(await notes(), [new RegExp(`^stream-update markers lost 1 time\\(s\\), last .* \\(PI ended .*could be invalid\\.\\): `)]);
  // Through the new signup: an old change is found again.
  const old = s.truth(2, '2026-01-01T01:00:00Z', '2026-01-01T01:10:00Z');
  s.insertEvent(2, { timestamp: '2026-01-01T01:05:00.25Z', value: old.length });
  s.advance('1m');
  t.same(await once(), { ok: true, problems: [] });
  t.same(await opsAt(2, ['2026-01-01T01:05:00.25Z']), ['update@2026-01-01T01:05:00.250Z#0'], 'the old insert found through the new signup');
  // A deleted point: PI answers its poll with "signup removed"; the tag is dropped by the tags source.
  s.deleteTag(5);
  s.advance('1m');
  const gone = await tsCycle();
  t.equal(gone.streamUpdates?.lost, 1, 'the removed signup seen as such');
  t.match(state()!.lost, { count: 2, reason: new RegExp(SIGNUP_REMOVED.replace(/\./g, '\\.')) });
  t.same(await once(), { ok: true, problems: [] });
  await compare(t, [0, 1, 2, 3, 4]);
});
