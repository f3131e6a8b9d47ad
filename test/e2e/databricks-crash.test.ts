/**
 * Issue 4, exactly once across crashes: a child agent (`run --once` in a loop, test/e2e/crash-worker.ts,
 * bundled with esbuild so a restart costs little) is SIGKILLed at random points of extraction,
 * buffering, upload and commit, 50+ times, with emulator faults "fail after upload before COPY" and
 * "fail after COPY before the reply" in some iterations; then it finishes. The warehouse table must
 * hold every truth row exactly once: nothing lost, nothing duplicated.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { compareWarehouse, startRig, warehouseRows } from './dbx-env.js';
import { bundle } from '../helpers/bundle.js';

const worker = await bundle(t, fileURLToPath(new URL('./crash-worker.ts', import.meta.url)));

// Deterministic "random" kill points (mulberry32), so a failure can be replayed.
let seed = 0x5eed4;
const rnd = () => {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
};

/** Where a kill landed, from the last log line the worker wrote before it. */
function phase(out: string): string {
  const lines = out.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  if (out === '') return 'startup';
  if (/worker started/.test(last)) return 'opening';
  if (/tag discovery done/.test(last)) return 'extracting';
  if (/timeseries cycle/.test(last)) return 'uploading';
  if (/unit committed/.test(last)) return 'after a commit';
  if (/uploaded|"ok":/.test(last)) return 'between runs';
  return 'other';
}

/**
 * Runs the worker; with `killAfterMs`, SIGKILLs it that long after it reports it started (process
 * start-up alone takes seconds on a loaded machine, so a timer from spawn would only kill start-ups).
 */
function runWorker(configFile: string, killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '';
    let started = 0;
    let timer: NodeJS.Timeout | undefined;
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!started && out.includes('worker started')) {
        started = Date.now();
        if (killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, out, ms: started ? Date.now() - started : 0 });
    });
  });
}

// 50+ process start-ups: on a loaded machine this outlasts tap's default 30 s per file.
t.setTimeout(1_800_000);

t.test('50+ SIGKILLs across extraction, buffering, upload and commit: zero lost, zero duplicated', async (t) => {
  const { sim, w, env } = await startRig(t, { tags: 4, now: '2026-01-01T00:20:00Z', tagsPerRequest: 2, piConcurrency: 1 });
  let kills = 0;
  let finished = 0;
  let faults = 0;
  const phases: Record<string, number> = {};
  // Calibrate: a full first load, then one incremental cycle (what each iteration below does) sets
  // the range of kill points: from just after start-up to a bit past the end of a run.
  t.equal((await runWorker(env.configFile)).code, 0, 'the first load finishes');
  sim.sim.advance('5m');
  const cal = await runWorker(env.configFile);
  t.equal(cal.code, 0, `an incremental run finishes (${cal.ms} ms after start-up)`);
  const span = Math.max(300, cal.ms);
  const landedDuring: number[] = [];
  // Until 50 kills (a run that ends before its kill point just finishes; the next one continues).
  for (let i = 0; kills < 52 && i < 110; i++) {
    if (i % 4 === 0) sim.sim.advance('5m');
    if (i % 5 === 1) {
      w.faults.failNextCommit('before');
      faults++;
    }
    if (i % 5 === 3) {
      w.faults.failNextCommit('after');
      faults++;
    }
    // pino writes asynchronously: a line can be lost at the kill, so phases are approximate.
    const r = await runWorker(env.configFile, Math.floor(rnd() * span * 0.9));
    if (r.signal === 'SIGKILL') {
      kills++;
      const p = phase(r.out);
      phases[p] = (phases[p] ?? 0) + 1;
    } else if (r.code === 0) finished++;
    else t.fail(`worker exited ${r.code}: ${r.out.slice(-500)}`);
    if (i % 8 === 7) landedDuring.push((await warehouseRows(w, 'pi_timeseries')).length);
  }
  t.comment(`kills by phase: ${JSON.stringify(phases)}; warehouse rows during the kills: ${landedDuring.join(', ')}`);
  // Where kills land depends on timing (and pino may lose the last line), so it is reported, not asserted.
  w.faults.reset();
  const last = await runWorker(env.configFile);
  t.equal(last.code, 0, 'after the kills, a run finishes ok');
  t.ok(kills >= 50, `${kills} SIGKILLs (${finished} runs finished before their kill, ${faults} commit faults injected)`);
  const c = await compareWarehouse(sim, w, sim.sim.nowIso());
  t.comment(`truth ${c.expected} rows, warehouse ${c.landed} rows, missing ${c.missing}, extra ${c.extra}, duplicated keys ${c.duplicates}`);
  t.same(
    { missing: c.missing, extra: c.extra, duplicates: c.duplicates, mismatchedTags: c.mismatchedTags },
    { missing: 0, extra: 0, duplicates: 0, mismatchedTags: [] },
    'zero lost, zero duplicated, every value equal',
  );
  t.equal(c.landed, c.expected);
});
