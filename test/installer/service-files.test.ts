/** The service definitions: the systemd unit verifies and is hardened; the Windows files are consistent. */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const unit = readFileSync(new URL('../../installer/linux/pi-agent.service', import.meta.url), 'utf8');
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

t.test('the unit has the hardening Node tolerates, and not MemoryDenyWriteExecute', async (t) => {
  for (const line of [
    'Restart=on-failure',
    'User=pi-agent',
    'StateDirectory=pi-agent',
    'ProtectSystem=strict',
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'CapabilityBoundingSet=',
  ]) {
    t.match(unit, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'), line);
  }
  t.notMatch(unit, /^MemoryDenyWriteExecute/m, 'V8 needs writable executable memory');
});

t.test("the unit's environment: glibc malloc with two arenas and a fixed mmap threshold (the benchmarks run the agent with it)", async (t) => {
  // scripts/bench.ts reads these lines too: the agent is measured in the environment it runs in.
  const env = [...unit.matchAll(/^Environment=(.*)$/gm)].map((m) => m[1]);
  t.same(env, ['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=131072']);
});

t.test('systemd-analyze verify passes and the exposure is low', { skip: hasSystemdAnalyze ? false : 'systemd-analyze not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pi-agent-unit-'));
  const file = join(dir, 'pi-agent.service');
  // verify checks that ExecStart exists: point it at a binary that does.
  writeFileSync(file, unit.replace('/opt/pi-agent/pi-agent', '/bin/true'));
  const v = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  t.equal(v.status, 0, v.stderr);
  t.equal(v.stderr.trim(), '', 'no warnings');
  const s = execFileSync('systemd-analyze', ['security', '--offline=true', file], { encoding: 'utf8' });
  const m = /Overall exposure level for pi-agent\.service: ([\d.]+)/.exec(s);
  t.ok(m, 'exposure reported');
  const exposure = Number(m![1]);
  t.comment(`systemd-analyze security exposure: ${exposure}`);
  t.ok(exposure <= 2.0, `exposure ${exposure} <= 2.0`);
});

t.test('the Windows service definition runs the agent with restart on failure', async (t) => {
  const xml = readFileSync(new URL('../../installer/windows/pi-agent.xml', import.meta.url), 'utf8');
  t.match(xml, /<executable>%BASE%\\pi-agent\.exe<\/executable>/);
  t.match(xml, /<arguments>run --config /);
  t.match(xml, /<onfailure action="restart"/);
  const ps = readFileSync(new URL('../../installer/windows/install.ps1', import.meta.url), 'utf8');
  t.match(ps, /pi-agent-service\.xml/, 'install.ps1 names the XML after the WinSW executable');
});
