/**
 * Release archives: each single executable with its installer folder, the example config, README
 * and LICENSE, in dist/pi-agent-<version>-linux-x64.tar.gz and dist/pi-agent-<version>-win-x64.zip,
 * and dist/SHA256SUMS over the archives (`sha256sum -c SHA256SUMS`; on Windows `Get-FileHash`).
 *
 * The executables come from `npm run build:binary -- --platform linux|win`; `--build` runs those
 * first. Signing the Windows executable is a release step before this one (installer/windows/README.md).
 *
 * Usage: npm run release [-- --platform linux|win|all] [--build]
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeZip, type ZipEntry } from './binary/zip.js';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const { values: args } = parseArgs({ options: { platform: { type: 'string', default: 'all' }, build: { type: 'boolean', default: false } } });
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const dist = join(root, 'dist');

type Platform = 'linux' | 'win';
const BINARY: Record<Platform, string> = { linux: 'pi-agent-linux-x64', win: 'pi-agent-win-x64.exe' };

function step(msg: string): void {
  process.stdout.write(`release: ${msg}\n`);
}

/** Every file under `dir`, relative, `/`-separated, sorted. */
function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? filesUnder(join(dir, d.name), base) : [relative(base, join(dir, d.name)).split('\\').join('/')]))
    .sort();
}

/** Lays out pi-agent-<version>-<platform>/ in build/release and returns its path. */
function stage(platform: Platform, name: string): string {
  const dir = join(root, 'build', 'release', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'installer'), { recursive: true });
  cpSync(join(dist, BINARY[platform]), join(dir, BINARY[platform]));
  chmodSync(join(dir, BINARY[platform]), 0o755);
  cpSync(join(root, 'installer', platform === 'win' ? 'windows' : 'linux'), join(dir, 'installer'), { recursive: true });
  cpSync(join(root, 'conf', 'pi-agent.example.yaml'), join(dir, 'pi-agent.example.yaml'));
  cpSync(join(root, 'conf', 'pi-agent.schema.json'), join(dir, 'pi-agent.schema.json'));
  cpSync(join(root, 'README.md'), join(dir, 'README.md'));
  cpSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  return dir;
}

function archive(platform: Platform): string {
  const name = `pi-agent-${pkg.version}-${platform === 'win' ? 'win' : 'linux'}-x64`;
  const dir = stage(platform, name);
  if (platform === 'linux') {
    const file = `${name}.tar.gz`;
    execFileSync('tar', ['czf', join(dist, file), '--owner=0', '--group=0', '--sort=name', '-C', dirname(dir), name], { stdio: 'inherit' });
    return file;
  }
  const file = `${name}.zip`;
  const entries: ZipEntry[] = filesUnder(dir).map((f) => ({ name: `${name}/${f}`, data: readFileSync(join(dir, f)), mode: statSync(join(dir, f)).mode & 0o777 }));
  writeZip(join(dist, file), entries);
  return file;
}

function main(): void {
  const platforms: Platform[] = args.platform === 'all' ? ['linux', 'win'] : args.platform === 'linux' || args.platform === 'win' ? [args.platform] : [];
  if (platforms.length === 0) throw new Error(`--platform must be linux, win or all, not '${args.platform}'`);
  for (const p of platforms) {
    if (args.build) execFileSync('npm', ['run', 'build:binary', '--', '--platform', p], { cwd: root, stdio: 'inherit' });
    if (!existsSync(join(dist, BINARY[p]))) throw new Error(`dist/${BINARY[p]} is missing: run npm run build:binary -- --platform ${p} (or npm run release -- --build)`);
  }
  const made = platforms.map((p) => {
    const file = archive(p);
    step(`wrote dist/${file}`);
    return file;
  });
  // SHA256SUMS covers every release archive of this version in dist/ (a later run for the other platform keeps the first).
  const all = readdirSync(dist)
    .filter((f) => f.startsWith(`pi-agent-${pkg.version}-`) && (f.endsWith('.zip') || f.endsWith('.tar.gz')))
    .sort();
  const sums = all
    .map(
      (f) =>
        `${createHash('sha256')
          .update(readFileSync(join(dist, f)))
          .digest('hex')}  ${f}\n`,
    )
    .join('');
  writeFileSync(join(dist, 'SHA256SUMS'), sums);
  step(`wrote dist/SHA256SUMS (${all.length} archive(s): ${all.join(', ')}); made now: ${made.join(', ')}`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`release: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
