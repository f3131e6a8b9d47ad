/**
 * Peak RSS of the agent's timeseries cycle as the tag count grows (issue 7: ≤ 250 MB whatever the
 * number of tags). For each tag count: a simulator (`intervalSec: 5, mix: 'plant'`), one child
 * process for tag discovery, then one for a catch-up cycle over MINUTES of data (tags already in
 * the store), then one steady cycle one minute later. Each child is an esbuild bundle (no tsx
 * loader in the measured process) and reports its maxRSS and sampled heap.
 *
 *   npx tsx scripts/bench-rss.ts [--tags 5000,15000,30000] [--minutes 5] [--node-args "--max-semi-space-size=2"]
 *     --before SRC=FILE[,SRC=FILE]  also run a bundle with FILE's text in place of the repo file SRC
 *                     (e.g. `git show HEAD:agent/sources/timeseries/source.ts > /tmp/source.ts`,
 *                     `--before agent/sources/timeseries/source.ts=/tmp/source.ts`): before/after in one run
 *     --cached-get    also run the working tree with Store.getProgress reusing one prepared statement
 *     --v8-flags=F    also run the working tree with v8.setFlagsFromString(F) at the child's start
 *                     (e.g. --v8-flags=--heap-growing-percent=50)
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { startSimulator } from '../test/sim/piwebapi/server.js';

const { values: argv } = parseArgs({
  options: {
    tags: { type: 'string' },
    minutes: { type: 'string' },
    'node-args': { type: 'string' },
    keep: { type: 'boolean' },
    before: { type: 'string' },
    'cached-get': { type: 'boolean' },
    'v8-flags': { type: 'string' },
  },
});
const TAGS = (argv.tags ?? '5000,15000,30000').split(',').map(Number);
const MINUTES = Number(argv.minutes ?? 5);
const NODE_ARGS = (argv['node-args'] ?? '').split(' ').filter(Boolean);
const here = path.dirname(fileURLToPath(import.meta.url));
const OUT_DIR = path.join(here, '..', 'node_modules', '.cache', 'pi-agent-bench-rss');
const ROOT = path.join(here, '..');

interface Variant {
  name: string;
  child: string;
  env: Record<string, string>;
}

/** The child bundle; `replace` maps repo files to files whose text stands in for them (imports resolve as the repo file's). */
async function bundle(name: string, replace?: string): Promise<string> {
  const swap = new Map(
    (replace ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => {
        const [src, file] = kv.split('=') as [string, string];
        return [path.resolve(ROOT, src), path.resolve(file)] as const;
      }),
  );
  const outdir = path.join(OUT_DIR, name);
  await build({
    entryPoints: [path.join(here, 'bench-rss', 'child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir,
    logLevel: 'warning',
    plugins:
      swap.size > 0
        ? [
            {
              name: 'swap',
              setup(b) {
                b.onLoad({ filter: /\.ts$/ }, (args) => {
                  const file = swap.get(args.path);
                  return file ? { contents: readFileSync(file, 'utf8'), loader: 'ts', resolveDir: path.dirname(args.path) } : undefined;
                });
              },
            },
          ]
        : [],
  });
  writeFileSync(path.join(outdir, 'package.json'), '{"type":"module"}\n');
  return path.join(outdir, 'child.js');
}
const NOW_MS = Date.parse('2026-01-02T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const log = (s: string): void => {
  process.stderr.write(`[bench-rss ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};

function runChild(v: Variant, mode: string, cfg: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...NODE_ARGS, '--expose-gc', v.child, mode, cfg], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...v.env } });
    let out = '';
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>) : reject(new Error(`child ${mode} exited ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  const variants: Variant[] = [];
  if (argv.before) variants.push({ name: 'before', child: await bundle('before', argv.before), env: {} });
  const after = await bundle('after');
  variants.push({ name: 'after', child: after, env: {} });
  if (argv['cached-get']) variants.push({ name: 'after+cached-get', child: after, env: { BENCH_RSS_CACHED_GET: '1' } });
  if (argv['v8-flags']) variants.push({ name: `after+${argv['v8-flags']}`, child: after, env: { BENCH_RSS_V8_FLAGS: argv['v8-flags'] } });
  const work = mkdtempSync(path.join(os.tmpdir(), 'pi-agent-bench-rss-'));
  const rows: Record<string, unknown>[] = [];
  try {
    for (const tags of TAGS) {
      // Variants alternate per tag count, each with a fresh simulator and store: same data, same load.
      for (const v of variants) {
        const startMs = NOW_MS - MINUTES * 60_000;
        const sim = await startSimulator({ port: 0, tags, seed: 7, historyStart: iso(startMs - 3600_000), now: iso(NOW_MS), intervalSec: 5, mix: 'plant' });
        try {
          const dir = path.join(work, `${tags}-${v.name}`);
          mkdirSync(dir, { recursive: true });
          const cfg = path.join(dir, 'agent.yaml');
          writeFileSync(
            cfg,
            `site: bench
state_dir: ${JSON.stringify(path.join(dir, 'state'))}
log: { level: warn }
pi: { url: ${sim.url}, auth: { type: anonymous }, concurrency: 4, max_count: 10000, tags_per_request: 200 }
tags:
  - { dataserver: SIMPI, name_filter: "*" }
timeseries: { start: ${JSON.stringify(iso(startMs))}, lookback: 10m, lookback_every: 15m, schedule: "*/1 * * * *" }
buffer: { max_bytes: 50GB }
sink: { type: directory, path: ${JSON.stringify(path.join(dir, 'out'))} }
`,
          );
          chmodSync(cfg, 0o600);
          log(`${tags} tags, ${v.name}: discovery`);
          const d = await runChild(v, 'discover', cfg);
          log(`${tags} tags, ${v.name}: catch-up of ${MINUTES} min`);
          const c = await runChild(v, 'extract', cfg);
          sim.sim.advance(60_000);
          log(`${tags} tags, ${v.name}: steady cycle (+1 min)`);
          const s = await runChild(v, 'extract', cfg);
          const row = { tags, variant: v.name, discover_rss_mb: d.peak_rss_mb, catchup_rss_mb: c.peak_rss_mb, steady_rss_mb: s.peak_rss_mb, catchup: c, steady: s };
          rows.push(row);
          log(`${tags} tags, ${v.name}: discovery ${d.peak_rss_mb} MB, catch-up ${c.peak_rss_mb} MB, steady ${s.peak_rss_mb} MB peak RSS`);
        } finally {
          await sim.close();
        }
      }
    }
  } finally {
    if (!argv.keep) rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify({ minutes: MINUTES, node_args: NODE_ARGS, rows }, null, 1) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
