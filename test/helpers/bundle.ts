/**
 * A test's child process (a worker script, the CLI) bundled with esbuild, so that each of its many
 * starts costs a fraction of what `--import tsx` needs to compile the sources. Only our TypeScript
 * is bundled: packages stay external, and the bundle is written inside node_modules/.cache so that
 * its bare imports (better-sqlite3, parquet-wasm, @databricks/sql...) resolve from the repo's
 * node_modules.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'pi-agent-tests');

/**
 * Bundles `entry` (a .ts file of the repo) into one .mjs file, named after its path and this
 * process (tests running at once never share one), removed when `t` ends. Returns its path.
 */
export async function bundle(t: { teardown(fn: () => void): void }, entry: string): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  const name = path.relative(ROOT, entry).replace(/\.ts$/, '').split(path.sep).join('-');
  const outfile = path.join(CACHE, `${name}-${process.pid}.mjs`);
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning' });
  t.teardown(() => rmSync(outfile, { force: true }));
  return outfile;
}
