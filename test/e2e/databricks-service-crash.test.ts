/**
 * Issue 4, exactly once across crashes of the long-running service (`pi-agent run`, not `--once`):
 * the service (test/e2e/service-crash-worker.ts, bundled with esbuild) is SIGKILLed at random points
 * after it started (its first cycles extract, buffer and upload at once), with the emulator's
 * "fail after the upload, before COPY" and "cut after COPY, before the reply" faults in some rounds.
 * Then one clean run: the warehouse must hold every truth row exactly once.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildStatus } from '../../agent/service/status.js';
import { compareWarehouse, once, startRig } from './dbx-env.js';
import { bundle } from '../helpers/bundle.js';

const worker = await bundle(t, fileURLToPath(new URL('./service-crash-worker.ts', import.meta.url)));

// Deterministic kill points (mulberry32), so a failure can be replayed.
let seed = 0x5e41c;
const rnd = () => {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
};

/**
 * Starts the service; `stopAfterMs` after it logged "pi-agent started" it gets `signal`, or, with
 * `until`, SIGTERM once `until()` holds (polled). Resolves with how it ended and its log.
 */
function runService(
  configFile: string,
  stop: { signal: NodeJS.Signals; afterMs?: number; until?: () => Promise<boolean> },
): Promise<{ signal: NodeJS.Signals | null; code: number | null; log: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, configFile], { stdio: ['ignore', 'ignore', 'pipe'], env: process.env });
    let log = '';
    let started = 0;
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      if (started || !log.includes('pi-agent started')) return;
      started = Date.now();
      if (stop.afterMs !== undefined) timer = setTimeout(() => child.kill(stop.signal), stop.afterMs);
      else if (stop.until) {
        const poll = async (): Promise<void> => {
          if (child.exitCode !== null) return;
          if (await stop.until!()) child.kill(stop.signal);
          else timer = setTimeout(() => void poll(), 200);
        };
        void poll();
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, log, ms: started ? Date.now() - started : 0 });
    });
  });
}

t.setTimeout(120_000);

t.test('SIGKILLs of `pi-agent run` while it extracts and uploads: zero lost, zero duplicated', async (t) => {
  const { sim, w, env } = await startRig(t, { tags: 4, now: '2026-01-01T00:20:00Z', tagsPerRequest: 2, piConcurrency: 1 });
  // Calibrate: a clean service start until the buffer is empty, then SIGTERM (a clean stop).
  const drained = async () => {
    const st = await buildStatus(env.config());
    const ts = st.sources.find((s) => s.name === 'timeseries');
    return ts?.last_success != null && st.buffer.sealed_batches === 0 && st.sink.last_commit !== null;
  };
  const cal = await runService(env.configFile, { signal: 'SIGTERM', until: drained });
  t.equal(cal.code, 0, `a clean service run drains the first load and stops on SIGTERM (${cal.ms} ms after start-up)`);
  const span = Math.max(300, cal.ms);
  let kills = 0;
  let faults = 0;
  for (let i = 0; i < 6; i++) {
    sim.sim.advance('5m');
    if (i % 3 === 1) {
      w.faults.failNextCommit('before');
      faults++;
    }
    if (i % 3 === 2) {
      w.faults.failNextCommit('after');
      faults++;
    }
    const r = await runService(env.configFile, { signal: 'SIGKILL', afterMs: Math.floor(rnd() * span) });
    if (r.signal === 'SIGKILL') kills++;
    else t.fail(`service ended by itself: ${r.code} ${r.log.slice(-400)}`);
  }
  w.faults.reset();
  t.equal(kills, 6, `6 SIGKILLs (${faults} commit faults armed)`);
  const last = await runService(env.configFile, { signal: 'SIGTERM', until: drained });
  t.equal(last.code, 0, 'after the kills, the service drains the buffer and stops cleanly');
  // The service's cycles ran at its start; one run --once catches up whatever the last kill cut short.
  t.same(await once(env), { ok: true, problems: [] }, 'a final run --once is ok');
  const c = await compareWarehouse(sim, w, sim.sim.nowIso());
  t.comment(`truth ${c.expected} rows, warehouse ${c.landed} rows, missing ${c.missing}, extra ${c.extra}, duplicated keys ${c.duplicates}`);
  t.same(
    { missing: c.missing, extra: c.extra, duplicates: c.duplicates, mismatchedTags: c.mismatchedTags, landed: c.landed },
    { missing: 0, extra: 0, duplicates: 0, mismatchedTags: [], landed: c.expected },
    'zero lost, zero duplicated, every value equal',
  );
});
