/**
 * Crash safety end to end: a producer (crash-child.ts) that loops commitStep + forwardAll into a
 * directory sink is SIGKILLed at random points, again and again, then restarted to drain. DuckDB
 * must then find every generated row exactly once in the Parquet files.
 *
 * The child is bundled with esbuild (test/helpers/bundle.ts) so that each of the many restarts
 * starts in a fraction of the time tsx needs.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { Store } from '../../agent/store/store.js';
import { bundle } from '../helpers/bundle.js';

const KILLS = 20;

interface Run {
  out: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Starts the child and SIGKILLs it `killAfterMs` after it printed `killAt` ('ready': store open;
 * 'step': first step committed), or lets it finish when `killAfterMs` is undefined.
 */
function runChild(script: string, args: string[], killAfterMs: number | undefined, killAt = 'step', env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== undefined && timer === undefined && out.includes(`${killAt}\n`)) {
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child exited ${code}: ${err}`));
      else resolve({ out, code, signal });
    });
  });
}

t.test(`SIGKILLed ${KILLS} times, the directory holds every row exactly once`, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-crash-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stateDir = path.join(dir, 'state');
  const outDir = path.join(dir, 'out');
  const script = await bundle(t, fileURLToPath(new URL('./crash-child.ts', import.meta.url)));

  let killed = 0;
  let unitsBeforeKill = 0;
  for (let i = 0; i < KILLS; i++) {
    // Mostly mid-work, sometimes right at start-up (recovery of a pending unit, open during WAL replay).
    const atStart = i % 5 === 4;
    const r = await runChild(script, [stateDir, outDir], atStart ? 0 : Math.floor(Math.random() * 600), atStart ? 'ready' : 'step');
    if (r.signal === 'SIGKILL') killed++;
    unitsBeforeKill += [...r.out.matchAll(/units (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
  }
  t.equal(killed, KILLS, 'every run was killed');

  const fin = await runChild(script, [stateDir, outDir], undefined, 'step', { PI_AGENT_CRASH_FINISH: '1' });
  t.match(fin.out, /done \{"pending_rows":0,"sealed_batches":0,"bytes":0,"oldest_batch_at":null\}/);

  const reader = Store.openReadonly({ stateDir });
  const gen = reader.getProgress<number>('gen') ?? 0;
  const units = reader.pendingUnits().length;
  reader.close();
  t.equal(units, 0, 'no pending unit left');
  t.ok(gen > 0, 'rows were produced');

  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.teardown(() => {
    conn.closeSync();
    db.closeSync();
  });
  const files = path.join(outDir, 'pi_timeseries', '*.parquet');
  const [c] = (
    await conn.runAndReadAll(
      `SELECT count(*)::INTEGER AS rows, count(DISTINCT value_int)::INTEGER AS seqs,
            count(DISTINCT (tag_webid, "timestamp", ordinal))::INTEGER AS keys,
            min(value_int)::INTEGER AS lo, max(value_int)::INTEGER AS hi,
            count(DISTINCT filename)::INTEGER AS files
     FROM read_parquet('${files}', filename = true)`,
    )
  ).getRowObjectsJS();
  t.ok(unitsBeforeKill > 0, 'units were committed between kills');
  t.comment(
    `kills=${killed} units_committed_before_kills=${unitsBeforeKill} produced=${gen} rows_in_files=${String(c!.rows)} distinct=${String(c!.seqs)} files=${String(c!.files)}`,
  );
  t.same(c, { rows: gen, seqs: gen, keys: gen, lo: 0, hi: gen - 1, files: c!.files }, 'every row exactly once');
  const [bad] = (
    await conn.runAndReadAll(
      `SELECT count(*)::INTEGER AS n FROM read_parquet('${files}')
     WHERE tag_webid <> 'T' || (value_int % 7) OR epoch_us("timestamp") <> 1780000000000000 + value_int * 1000 OR value_double <> value_int / 3`,
    )
  ).getRowObjectsJS();
  t.equal(bad!.n, 0, 'values intact');
});
