/**
 * SIGKILL of the agent at random points of time-series extraction and upload, then a restart, over
 * and over: the directory sink's change log applied in order equals the simulator's archive exactly,
 * with no insert of an event twice (applyChangeLog throws on a duplicate insert). New data arrives
 * between runs, so every run has extraction and upload work to be killed in.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { landedTable } from '../../helpers/landed.js';
import { applyChangeLog, readChangeLog, type LandedRow } from '../../helpers/landed.js';
import { compareWithArchive, expectedEvents, idOnly, landedEventsByTag, makeAgentEnv, runAgentOnce, simAgentYaml } from '../../helpers/agent-env.js';
import { prng } from '../../sim/piwebapi/af-util.js';
import { startSimulator } from '../../sim/piwebapi/server.js';
import { bundle } from '../../helpers/bundle.js';

const START = '2026-01-01T00:00:00Z';
const KILLS = 20;

/** `ms`: from `open` (the agent is open) to exit. */
interface ChildRun {
  code: number | null;
  signal: string | null;
  done: boolean;
  ms: number;
}

t.test('a tag left behind for longer than the lookback resumes exactly at its position (no re-insert of the event at it)', async (t) => {
  // What a killed run leaves: a tag whose last read ended at now = N0 is not read again until PI's
  // clock is well past N0 + lookback, so it resumes at its position N0 + 1 µs. PI's clock has a
  // coarser resolution than 1 µs (the simulator: ms), so that startTime may come back with the
  // event at exactly N0 again; it was sent already and must not be inserted twice.
  const sim = await startSimulator({ port: 0, tags: 3, seed: 7, historyStart: START, now: '2026-01-01T00:30:00Z' });
  const env = makeAgentEnv((paths) => simAgentYaml(paths, { piUrl: sim.url, timeseries: { lookback: '2m' } }));
  t.teardown(async () => {
    await sim.close();
    env.cleanup();
  });
  const once = () => runAgentOnce(env);
  sim.sim.insertEvent(0, { timestamp: sim.sim.nowIso(), value: 12.5 });
  t.same(await once(), { ok: true, problems: [] });
  sim.sim.advance('5m');
  t.same(await once(), { ok: true, problems: [] });
  const log = await readChangeLog(env.outDir, 'pi_timeseries');
  t.doesNotThrow(() => applyChangeLog('pi_timeseries', log), 'no duplicate insert');
  const landed = landedEventsByTag((await landedTable(env.outDir, 'pi_timeseries').catch(() => new Map<string, LandedRow>())).values());
  for (let i = 0; i < 3; i++) {
    const want = expectedEvents(sim.sim.truth(i, START, sim.sim.nowIso()));
    t.same(landed.get(idOnly(sim.sim.tagWebId(i))) ?? [], want, `${sim.sim.tagName(i)}: ${want.length} events equal the archive`);
  }
});

t.test(`SIGKILL ${KILLS} times during extraction and upload: the change log equals the archive, no duplicates`, async (t) => {
  // Each child needs a couple of seconds to start on a busy 2-core machine, 20+ times.
  t.setTimeout(480_000);
  // Bundled once (packages external): a child starts far faster than with `--import tsx`.
  const script = await bundle(t, fileURLToPath(new URL('./crash-child.ts', import.meta.url)));

  // 16 tags, one FAST (~200 events/min): 40 min of backlog, then 1-2 min of new data per run, so
  // kills land in extraction (paging by 200) and in the upload after it.
  const sim = await startSimulator({ port: 0, tags: 16, seed: 31, historyStart: START, now: '2026-01-01T00:40:00Z' });
  const yaml = (every: string) => (paths: { outDir: string; stateDir: string }) =>
    simAgentYaml(paths, {
      piUrl: sim.url,
      pi: { max_count: 200, tags_per_request: 4 },
      timeseries: { lookback: '2m', lookback_every: every },
    });
  const env = makeAgentEnv(yaml('4m'));
  // Runs alternate at random between re-reads every 4 minutes, every cycle (polled every cycle:
  // re-reads read ahead with their polls) and auto (the default: every cycle for tags with markers),
  // so kills land in each and in the switches between them.
  const setEvery = (every: string): void => writeFileSync(env.configFile, yaml(every)({ outDir: env.outDir, stateDir: env.stateDir }), { mode: 0o600 });
  t.teardown(async () => {
    await sim.close();
    env.cleanup();
  });

  const children = new Set<ReturnType<typeof spawn>>();
  t.teardown(() => {
    for (const c of children) c.kill('SIGKILL');
  });
  const runChild = (killAfterMs?: number): Promise<ChildRun> =>
    new Promise((resolve, reject) => {
      let openAt = 0;
      const child = spawn(process.execPath, [script, env.configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.add(child);
      let out = '';
      let timer: NodeJS.Timeout | undefined;
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (openAt === 0 && out.includes('open')) openAt = Date.now();
        if (killAfterMs !== undefined && timer === undefined && out.includes('open')) {
          timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        }
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        children.delete(child);
        if (timer) clearTimeout(timer);
        resolve({ code, signal, done: out.includes('done '), ms: openAt === 0 ? 0 : Date.now() - openAt });
      });
    });

  const seed = Number(process.env['TS_CRASH_SEED'] ?? Date.now() % 100000);
  t.comment(`seed ${seed} (TS_CRASH_SEED to repeat)`);
  const rnd = prng(seed);
  const OLD_MARK = 1e6;
  const iso = (ms: number): string => new Date(ms).toISOString();
  /**
   * One random change on a random tag around `at` (ms): an insert at `at` marked `mark` (values
   * ≥ OLD_MARK), or an edit or deletion of an unmarked event in [at + from, at + to], the
   * `pick`-th of those.
   */
  const change = (at: number, mark: number, from: number, to: number, pick: (n: number) => number): { inserted: number; deleted: number } => {
    const s = sim.sim;
    const tag = Math.floor(rnd() * s.tagCount());
    const kind = rnd();
    if (kind < 0.4) {
      s.insertEvent(tag, { timestamp: iso(at), value: mark });
      return { inserted: 1, deleted: 0 };
    }
    const candidates = s.truth(tag, iso(at + from), iso(at + to)).filter((e) => typeof e.Value !== 'number' || e.Value < OLD_MARK);
    const victim = candidates[pick(candidates.length)];
    if (victim && kind < 0.7 && typeof victim.Value === 'number') s.editEvent(tag, victim.Timestamp, { value: victim.Value + 1 });
    return { inserted: 0, deleted: victim && kind >= 0.7 ? s.deleteEvents(tag, victim.Timestamp, 0) : 0 };
  };
  // Changes 20-35 minutes back, far older than the 2-minute lookback: only stream updates find them,
  // sent as upserts and deletes.
  let oldInserts = 0;
  let oldDeletes = 0;
  const oldChange = (i: number): void => {
    const at = Date.parse(sim.sim.nowIso()) - (20 + Math.floor(rnd() * 15)) * 60_000;
    const c = change(at + 123, OLD_MARK + i, -123, 5 * 60_000, (n) => Math.floor(rnd() * n));
    oldInserts += c.inserted;
    oldDeletes += c.deleted;
  };
  // Changes 20-100 seconds back, inside the 2-minute lookback and mostly behind the agent's
  // watermark: found by the re-reads, which stream updates narrow to the oldest change reported.
  let recentDeletes = 0;
  let recentChanges = 0;
  const recentChange = (i: number): void => {
    const at = Date.parse(sim.sim.nowIso()) - (20 + Math.floor(rnd() * 80)) * 1000;
    recentChanges++;
    recentDeletes += change(at + 77, 2 * OLD_MARK + i, -20_077, 19_923, () => 0).deleted;
  };
  // Kill delays are uniform over [0, span): start with a guess, then learn a run's length (open to
  // exit, extraction and upload) from the runs that finish before their kill.
  let span = 2500;
  const deadline = Date.now() + 400_000;
  let kills = 0;
  let completed = 0;
  const delays: number[] = [];
  for (let i = 0; kills < KILLS && i < KILLS * 3 && Date.now() < deadline; i++) {
    const delay = Math.floor(rnd() * span);
    setEvery(['0s', '4m', 'auto'][Math.floor(rnd() * 3)]!);
    const r = await runChild(delay);
    if (r.signal === 'SIGKILL') {
      kills++;
      delays.push(delay);
    } else {
      // The run finished before the kill: new data makes the next one longer.
      completed++;
      t.equal(r.code, 0, `run ${i + 1} finished before its kill at ${delay} ms and was ok`);
      span = Math.max(300, r.ms);
    }
    if (rnd() < 0.7) oldChange(i);
    if (rnd() < 0.5) recentChange(i);
    sim.sim.advance(rnd() < 0.5 ? '2m' : '1m');
  }
  // The last changes are found by the stream-updates poll before the next re-read.
  sim.sim.advance('5m');
  t.equal(kills, KILLS, `${KILLS} runs killed by SIGKILL (delays ${delays.join(',')} ms after open; ${completed} runs completed before their kill)`);

  let final: ChildRun | undefined;
  for (let i = 0; i < 3; i++) {
    final = await runChild();
    if (final.code === 0) break;
  }
  t.equal(final?.code, 0, 'a complete run after the kills is ok');

  const log = await readChangeLog(env.outDir, 'pi_timeseries');
  // Count duplicate inserts (applyChangeLog would stop at the first) and show them when there are any.
  const seen = new Map<string, number>();
  const dups: string[] = [];
  log.forEach((r, i) => {
    const k = `${String(r.tag_webid)}|${String(r.timestamp)}|${String(r.ordinal)}`;
    if (r.op === 'delete') seen.delete(k);
    if (r.op !== 'insert') return;
    const prev = seen.get(k);
    if (prev !== undefined) dups.push(`${k} at log rows ${prev} and ${i} (ingested_at ${String(log[prev]!.ingested_at)} / ${String(r.ingested_at)})`);
    seen.set(k, i);
  });
  t.same(dups.slice(0, 5), [], `no duplicate insert (${dups.length} found)`);
  let table: Map<string, LandedRow> = new Map();
  if (dups.length === 0) table = applyChangeLog('pi_timeseries', log);
  const landed = landedEventsByTag(table.values());
  const { events, equal } = compareWithArchive(t, sim.sim, landed, { start: START });
  t.equal(equal, sim.sim.tagCount(), 'every tag equal');
  const inserts = log.filter((r) => r.op === 'insert').length;
  // An old insert is an upsert from stream updates, or an insert when a killed run left the tag's
  // lookback re-read pending long enough that the re-read's window still reaches it.
  // A recent deletion removes an event inserted before (or never read: then it was never inserted).
  t.ok(
    inserts >= events - oldInserts + oldDeletes && inserts <= events + oldDeletes + recentDeletes,
    `one insert per event (${inserts} for ${events} events, ${oldInserts} old inserts, ${oldDeletes} old deletes, ${recentDeletes} recent deletes): duplicates 0`,
  );
  t.comment(`old changes: ${oldInserts} inserts, ${oldDeletes} deletes (and edits); recent changes inside the lookback: ${recentChanges} (${recentDeletes} deletes)`);
  t.comment(`kills ${kills}, completed-before-kill ${completed}, change-log rows ${log.length}, inserts ${inserts}, events ${events}, duplicate inserts ${dups.length}`);
});
