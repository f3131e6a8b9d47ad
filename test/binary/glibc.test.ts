/**
 * The Linux binary loads on glibc 2.28 with GCC 8's libstdc++ (RHEL 8, Debian 10; Node 22's own
 * floor): every native file it embeds, and Node itself, ask for no symbol version above the floors of
 * scripts/binary/elf-versions.ts. Builds the binary to build/glibc-test/ (the natives come from the
 * cache sea.test.ts fills, or are compiled here: a few minutes the first time). Needs binutils'
 * objdump. PI_AGENT_SKIP_BINARY=1 skips it, like sea.test.ts.
 */
import t from 'tap';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { dynamicSymbols, embeddedSharedObjects, FLOORS, neededLibraries, newestRequired, referencesAboveFloor } from '../../scripts/binary/elf-versions.js';
import { glibcCompat, symverPins } from '../../scripts/binary/linux-natives.js';
import { startSimulator } from '../sim/piwebapi/server.js';

const run = promisify(execFile);

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const binary = path.join(root, 'build', 'glibc-test', 'pi-agent-linux-x64');
const skip = process.env.PI_AGENT_SKIP_BINARY === '1' ? 'PI_AGENT_SKIP_BINARY=1' : process.platform !== 'linux' || process.arch !== 'x64' ? 'linux-x64 only' : false;

t.setTimeout(1_500_000);

t.test('the compat flags pin a new-glibc build to 2.28 (and the check sees the difference)', { skip }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-glibc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // What the addons call: threads, dlopen, stat, libm, and a C++ shared_ptr and new[].
  writeFileSync(
    path.join(dir, 'probe.cc'),
    `#include <pthread.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <cmath>
#include <memory>
#include <string>
static void *run(void *) { return nullptr; }
extern "C" int probe(const char *p, double x, unsigned n) {
  pthread_t th; pthread_create(&th, nullptr, run, nullptr); pthread_join(th, nullptr);
  void *h = dlopen(p, RTLD_NOW); if (h) dlclose(h);
  struct stat st; int r = stat(p, &st);
  auto s = std::make_shared<std::string>(p);
  int *a = new int[n]; delete[] a;
  return r + (int)std::exp(x) + (int)std::log(x) + (int)std::pow(x, 2.0) + (int)s->size();
}
`,
  );
  const compile = (out: string, env: Record<string, string>): string => {
    const so = path.join(dir, out);
    const cmd = `g++ -O2 -fPIC -shared ${env.CXXFLAGS ?? ''} probe.cc -o ${so} ${env.LDFLAGS ?? ''}`;
    execFileSync('sh', ['-c', cmd], { cwd: dir, stdio: 'pipe' });
    return so;
  };
  const plain = compile('plain.so', {});
  const pinned = compile('pinned.so', glibcCompat(path.join(root, 'build', 'cache')).env);
  const plainAbove = referencesAboveFloor(plain);
  t.comment(`plain build on this machine: ${JSON.stringify(newestRequired(plain))}; above the floors: ${plainAbove.join(' ') || 'none'}`);
  const libc = execFileSync('gcc', ['-print-file-name=libc.so.6'], { encoding: 'utf8' }).trim();
  if (symverPins([libc]).size > 0) t.ok(plainAbove.length > 0, 'a plain build on this newer glibc asks for more than the floors');
  t.same(referencesAboveFloor(pinned), [], `pinned build: ${JSON.stringify(newestRequired(pinned))}`);
  const names = new Set(
    dynamicSymbols(pinned)
      .filter((s) => !s.defined)
      .map((s) => `${s.name}@${s.version}`),
  );
  t.ok(names.has('pthread_create@GLIBC_2.2.5'), 'pthread_create pinned to the version glibc 2.28 has');
  t.ok(names.has('__xstat64@GLIBC_2.2.5'), 'stat goes through __xstat64 as glibc 2.28 headers had it');
});

t.test('every native file in the built binary needs at most glibc 2.28 and GCC 8 libstdc++', { skip, timeout: 1_200_000 }, async (t) => {
  const build = spawnSync('npm', ['run', 'build:binary', '--', '--out', binary], { cwd: root, encoding: 'utf8', timeout: 1_100_000 });
  t.equal(build.status, 0, `build:binary: ${build.stderr.slice(-2000)}`);
  t.ok(existsSync(binary), binary);

  t.comment(`Node itself: ${JSON.stringify(newestRequired(binary))}`);
  t.same(referencesAboveFloor(binary), [], 'the embedded Node asks for nothing above the floors');

  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-glibc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = embeddedSharedObjects(readFileSync(binary)).map((bytes, i) => {
    const f = path.join(dir, `embedded-${i}.node`);
    writeFileSync(f, bytes);
    return f;
  });
  const exported = (f: string): string[] =>
    dynamicSymbols(f)
      .filter((s) => s.defined)
      .map((s) => s.name);
  const sqlite = files.filter((f) => exported(f).some((n) => /^node_register_module_v\d+$/.test(n)));
  const krb = files.filter((f) => exported(f).includes('napi_register_module_v1'));
  t.equal(sqlite.length, 1, 'better-sqlite3 found in the binary');
  // build-binary embeds kerberos when the package's addon was built here (libkrb5-dev installed).
  const krbBuilt = existsSync(path.join(root, 'node_modules', 'kerberos', 'build', 'Release', 'kerberos.node'));
  t.equal(krb.length, krbBuilt ? 1 : 0, `kerberos ${krbBuilt ? '' : 'not '}found in the binary`);
  t.equal(files.length, sqlite.length + krb.length, 'no other native file embedded');
  for (const [name, f] of [...sqlite.map((f) => ['better_sqlite3.node', f]), ...krb.map((f) => ['kerberos.node', f])] as [string, string][]) {
    t.comment(`${name}: ${JSON.stringify(newestRequired(f))}`);
    t.same(referencesAboveFloor(f), [], `${name} asks for nothing above ${JSON.stringify(FLOORS)}`);
  }
  // Without the MIT Kerberos libraries the binary still loads its kerberos addon: the addon opens
  // libgssapi_krb5 itself when Kerberos is first used (and says which package to install).
  for (const f of krb)
    t.same(
      neededLibraries(f).filter((l) => /krb5|gssapi|com_err/.test(l)),
      [],
      'kerberos.node does not link libkrb5',
    );
});

// scripts/binary/old-glibc.sh unpacks an older Debian's runtime here; without it (or without root,
// for chroot) this part is skipped.
const oldRoot = path.join(root, 'build', 'old-glibc', 'root');
const oldSkip =
  skip ||
  (!existsSync(path.join(oldRoot, 'lib', 'x86_64-linux-gnu', 'libc.so.6'))
    ? 'no older glibc unpacked (bash scripts/binary/old-glibc.sh)'
    : process.getuid?.() !== 0 || !existsSync('/usr/sbin/chroot')
      ? 'chroot needs root'
      : false);

const config = (url: string, auth: string): string =>
  `site: old-glibc\nstate_dir: ./state\npi:\n  url: ${url}\n  auth: { type: ${auth} }\ntags:\n  - { dataserver: SIMPI, name_filter: "*" }\n` +
  `timeseries:\n  start: "2026-01-01T00:00:00Z"\n  lookback: 1h\nsink:\n  type: directory\n  path: ./out\n`;

t.test("the built binary runs in a chroot of an older Debian's glibc and libstdc++, without Kerberos libraries", { skip: oldSkip }, async (t) => {
  t.ok(existsSync(binary), 'built by the test above');
  // A chroot holding only that runtime (libc6, libstdc++6, libgcc-s1) and the binary: nothing of
  // this machine's newer libraries can be found.
  const jail = mkdtempSync(path.join(tmpdir(), 'pi-agent-oldglibc-'));
  const sim = await startSimulator({ port: 0, tags: 5, seed: 3, historyStart: '2026-01-01T00:00:00Z', now: '2026-01-01T01:00:00Z' });
  t.teardown(async () => {
    await sim.close();
    rmSync(jail, { recursive: true, force: true });
  });
  cpSync(oldRoot, jail, { recursive: true, verbatimSymlinks: true });
  mkdirSync(path.join(jail, 'tmp'));
  chmodSync(path.join(jail, 'tmp'), 0o1777);
  mkdirSync(path.join(jail, 'work'));
  copyFileSync(binary, path.join(jail, 'pi-agent'));
  chmodSync(path.join(jail, 'pi-agent'), 0o755);
  t.comment(`runtime: ${readdirSync(path.join(jail, 'lib', 'x86_64-linux-gnu')).find((f) => /^libc-\d/.test(f)) ?? 'libc.so.6'}`);
  const agent = (...argv: string[]) => run('/usr/sbin/chroot', [jail, '/pi-agent', ...argv], { cwd: '/', env: { PATH: '/usr/bin:/bin', HOME: '/work' } });

  writeFileSync(path.join(jail, 'work', 'pi-agent.yaml'), config(sim.url, 'anonymous'), { mode: 0o600 });
  t.equal((await agent('version')).stdout.trim(), JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version, 'version');
  t.match((await agent('check', '--config', '/work/pi-agent.yaml')).stdout, /all checks passed/, 'check (opens the SQLite store)');
  await agent('run', '--once', '--config', '/work/pi-agent.yaml');
  const status = JSON.parse((await agent('status', '--json', '--config', '/work/pi-agent.yaml')).stdout) as { buffer: { sealed_batches: number } };
  t.equal(status.buffer.sealed_batches, 0, 'run --once committed everything');
  t.ok(
    readdirSync(path.join(jail, 'work', 'out', 'pi_timeseries')).some((f) => f.endsWith('.parquet')),
    'Parquet landed',
  );

  // No MIT Kerberos libraries in the chroot: Kerberos fails with the packages to install, no crash.
  writeFileSync(path.join(jail, 'work', 'krb.yaml'), config(sim.url, 'kerberos'), { mode: 0o600 });
  const krb = await agent('check', '--config', '/work/krb.yaml').then(
    () => ({ code: 0, stdout: '' }),
    (e: { code?: number; signal?: string; stdout?: string }) => ({ code: e.code ?? e.signal, stdout: e.stdout ?? '' }),
  );
  t.equal(krb.code, 1, 'check fails with exit code 1 (not a crash)');
  t.match(krb.stdout, /PI_KERBEROS_UNAVAILABLE: .*libgssapi_krb5\.so\.2.*dnf install krb5-libs.*apt-get install libgssapi-krb5-2/);
});
