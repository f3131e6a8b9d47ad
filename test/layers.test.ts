/**
 * The layers of shared/docs/style.md, checked on every import in agent/: `cli` on `service`;
 * `service` on `sources` and `sinks`; those on `pi`, `batch` and `store`; everything on the leaves
 * (`config`, `observe`, errors, version). A lower layer never imports a higher one, and sources and
 * sinks never import each other. oauth/ (client-credentials tokens) and pool.ts (N at once) are leaves
 * that pi, sources and sinks share. The one planned exception: a source's or sink's config section
 * (`sources/<name>/config.ts`, `sinks/<name>/config.ts`) and the lists of them (`sources/sections.ts`,
 * `sinks/sections.ts`) live with their components but belong to the config layer, so config may
 * import them, and they import only config; a section names its own component's code only through a
 * lazy `import()` of a file in its own folder (its `load`), which the config layer never calls.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const AGENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../agent');
const RANK: Record<string, number> = {
  cli: 4,
  service: 3,
  sources: 2,
  sinks: 2,
  pi: 1,
  batch: 1,
  store: 1,
  config: 0,
  observe: 0,
  oauth: 0,
  'pool.ts': 0,
  'errors.ts': 0,
  'version.ts': 0,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The layer of a file under agent/: a config section with its component counts as config. */
function layerOf(rel: string): string {
  if (/^(sources|sinks)\/([^/]+\/config|sections)\.ts$/.test(rel)) return 'config';
  return rel.split('/')[0]!;
}

/** Relative imports of a file; `lazy` for `import('...')`. */
function importsOf(file: string): { spec: string; lazy: boolean }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(from |import\()\s*'(\.[^']+)'/g)].map((m) => ({ spec: m[2]!, lazy: m[1] === 'import(' }));
}

/** A section's `load`: a lazy import from `sources|sinks/<name>/config.ts` of a file in the same folder. */
function isSectionLoad(rel: string, target: string, lazy: boolean): boolean {
  const m = /^((?:sources|sinks)\/[^/]+\/)config\.ts$/.exec(rel);
  return lazy && m !== null && target.startsWith(m[1]!) && !target.slice(m[1]!.length).includes('/');
}

t.test('every import in agent/ goes down the layers or stays in its own', async (t) => {
  const wrong: string[] = [];
  for (const file of files(AGENT)) {
    const rel = path.relative(AGENT, file).split(path.sep).join('/');
    const from = layerOf(rel);
    t.ok(from in RANK, `${rel}: layer ${from} is known`);
    for (const { spec, lazy } of importsOf(file)) {
      const target = path
        .relative(AGENT, path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')))
        .split(path.sep)
        .join('/');
      if (isSectionLoad(rel, target, lazy)) continue;
      const to = layerOf(target);
      const up = (RANK[to] ?? 99) > (RANK[from] ?? -1);
      const across = from !== to && RANK[from] === 2 && RANK[to] === 2;
      if (up || across) wrong.push(`${rel} imports ${target} (${from} → ${to})`);
    }
  }
  t.same(wrong, [], 'no import goes up a layer or across between sources and sinks');
});
