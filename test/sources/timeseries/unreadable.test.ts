/**
 * Points that can never be read (issue 18 item 5): a Blob point PI Web API answers 501 for, and a
 * point whose values all carry a per-value error. Each is reported once (status, with PI's reason)
 * and skipped until its metadata changes; the other tags land exactly as the archive holds them.
 * Simulator → agent → store → directory sink → Parquet read back.
 */
import t from 'tap';
import { bareLogger } from '../../../agent/observe/log.js';
import { backfill } from '../../../agent/service/backfill.js';
import { buildStatus } from '../../../agent/service/status.js';
import { UNREADABLE, type UnreadableTag } from '../../../agent/sources/timeseries/progress.js';
import { VALUE_ERROR_STRIKES } from '../../../agent/sources/timeseries/unreadable.js';
import { Store } from '../../../agent/store/store.js';
import { landedTable } from '../../helpers/landed.js';
import { expectedEvents, idOnly, landedEventsByTag, makeAgentEnv, runAgentOnce, simAgentYaml } from '../../helpers/agent-env.js';
import { startSimulator } from '../../sim/piwebapi/server.js';

const START = '2026-01-01T00:00:00Z';
const BLOB = 2;
const BAD_VALUES = 4;

t.test('a Blob point and a point with a repeating per-value error: reported once, skipped, read again after a metadata change', async (t) => {
  const sim = await startSimulator({ port: 0, tags: 6, seed: 5, historyStart: START, now: '2026-01-01T02:00:00Z' });
  const s = sim.sim;
  s.setPointType(BLOB, 'Blob');
  s.setValueError(BAD_VALUES, 'Unable to read the value from the archive.');
  const env = makeAgentEnv((paths) =>
    simAgentYaml(paths, { piUrl: sim.url, pi: { tags_per_request: 4 }, timeseries: { lookback: '10m', lookback_every: '0s', stream_updates: 'off' } }),
  );
  t.teardown(async () => {
    await sim.close();
    env.cleanup();
  });
  const reads = (i: number): number => s.recordedReads.get(i) ?? 0;
  const entries = () => {
    const st = Store.openReadonly({ stateDir: env.stateDir, maxBufferBytes: 1 << 30 });
    try {
      return [...UNREADABLE.entries(st).values()];
    } finally {
      st.close();
    }
  };
  const exact = async (tags: number[]) => {
    const landed = landedEventsByTag((await landedTable(env.outDir, 'pi_timeseries')).values());
    for (const i of tags) {
      const want = expectedEvents(s.truth(i, START, s.nowIso()));
      t.same(landed.get(idOnly(s.tagWebId(i))) ?? [], want, `${s.tagName(i)}: ${want.length} events equal the archive`);
    }
    return landed;
  };

  // Cycle 1: the Blob point is known unreadable at once; the bad values count one strike.
  t.same(await runAgentOnce(env), { ok: false, problems: ['timeseries: PI_BAD_RESPONSE: 1 tag(s) could not be read'] }, 'only the per-value error fails the cycle');
  t.equal(reads(BLOB), 1, 'the Blob point read once');
  t.match(entries(), [
    { reason: /PI Web API cannot serve .*\(501\).*Reading values of a point of type 'Blob' is not supported/, status: 501, strikes: 0, since: /^2026|^20\d\d-/ },
    { reason: /Unable to read the value from the archive/, strikes: 1 },
  ]);
  // Until the strikes are up, the bad-values tag is read (and fails) each cycle.
  for (let k = 2; k <= VALUE_ERROR_STRIKES; k++) {
    s.advance('1m');
    const res = await runAgentOnce(env);
    t.same(
      res,
      k < VALUE_ERROR_STRIKES ? { ok: false, problems: ['timeseries: PI_BAD_RESPONSE: 1 tag(s) could not be read'] } : { ok: true, problems: [] },
      `cycle ${k}`,
    );
  }
  const badReads = reads(BAD_VALUES);
  t.equal(badReads, VALUE_ERROR_STRIKES, 'the bad-values tag read once per cycle until skipped');
  t.equal(reads(BLOB), 1, 'the Blob point not asked again');
  const status = (await buildStatus(env.config())).sources.find((x) => x.name === 'timeseries')!;
  t.match(status.notes, [
    /^2 tag\(s\) cannot be read and are skipped until their metadata changes: \\\\SIMPI\\.*: PI Web API cannot serve .*\(501\).* \(and 1 more: see status --json\)$/,
  ]);
  t.match(status.unreadable_tags, [
    { tag: s.tagPath(BLOB), reason: /501/ },
    { tag: s.tagPath(BAD_VALUES), reason: /Unable to read the value from the archive/ },
  ]);
  t.equal(status.last_error, null, 'the source is not failing');

  // Skipped: no request for either, the others exact.
  s.advance('1m');
  t.same(await runAgentOnce(env), { ok: true, problems: [] });
  t.same([reads(BLOB), reads(BAD_VALUES)], [1, badReads], 'neither is read while skipped');
  const landed = await exact([0, 1, 3, 5]);
  t.same([landed.has(idOnly(s.tagWebId(BLOB))), landed.has(idOnly(s.tagWebId(BAD_VALUES)))], [false, false], 'nothing landed for them');

  // A backfill leaves them out too, and completes.
  let printed = '';
  const io = { logger: bareLogger('silent'), print: (x: string) => (printed += x), signal: new AbortController().signal };
  t.equal(await backfill(env.config(), { ...io, tags: [], start: START, end: '2026-01-01T00:30:00Z' }), 'ok');
  t.match(printed, /^backfill: 2 tag\(s\) skipped: PI cannot read them \(see pi-agent status\)\nbackfill: 4 tag\(s\), /);
  t.same([reads(BLOB), reads(BAD_VALUES)], [1, badReads], 'neither read by the backfill');

  // Their metadata changes (a PI admin retypes the point; the other is renamed after its archive
  // was fixed): read again from where they were, exactly.
  s.setPointType(BLOB, 'Float32');
  s.setValueError(BAD_VALUES, undefined);
  s.renameTag(BAD_VALUES, 'FIXED.BAD');
  s.advance('1m');
  t.same(await runAgentOnce(env), { ok: true, problems: [] });
  t.ok(reads(BLOB) > 1 && reads(BAD_VALUES) > badReads, 'both read again');
  t.same(entries(), [] as UnreadableTag[], 'their entries are gone');
  await exact([0, 1, 2, 3, 4, 5]);
  const after = (await buildStatus(env.config())).sources.find((x) => x.name === 'timeseries')!;
  t.equal(after.unreadable_tags, undefined);
});
