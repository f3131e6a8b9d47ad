/**
 * Windows: the agent's own check of who can get at the config, `file:` secrets and the state
 * directory reads their ACLs (SDDL), not POSIX modes, and names the icacls command that fixes it.
 * Get-Acl is replaced at the module boundary (AclOptions.readAcl); the SDDL strings are the shapes
 * Windows gives: ProgramData's inherited ACL, and the ACL install.ps1 sets.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { broadPrincipals, icaclsFix, windowsAclProblem } from '../../agent/config/acl.js';
import { loadConfig } from '../../agent/config/index.js';
import { ConfigError } from '../../agent/errors.js';

const SVC = 'S-1-5-21-1004336348-1177238915-682003330-1105';
/** A file created under %ProgramData%: inherits SYSTEM, Administrators full, Users read+execute. */
const INHERITED_FILE = 'O:BAG:DUD:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;0x1200a9;;;BU)';
/** %ProgramData% itself: Users may also create files and folders (CI). */
const PROGRAMDATA = 'O:SYG:SYD:PAI(A;OICIIO;FA;;;CO)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;CI;0x100116;;;BU)';
/** After install.ps1: `icacls /inheritance:r /grant:r SYSTEM Administrators <account>`. */
const LOCKED_DIR = `O:BAG:DUD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;${SVC})`;
const LOCKED_FILE = `O:BAG:DUD:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;0x1301bf;;;${SVC})`;

t.test('the principals that stand for other users, by SID, whatever the language', async (t) => {
  t.same(broadPrincipals(INHERITED_FILE, 'file'), [['S-1-5-32-545', 'Users']]);
  t.same(broadPrincipals(PROGRAMDATA, 'dir'), [['S-1-5-32-545', 'Users']]);
  t.same(broadPrincipals(LOCKED_DIR, 'dir'), []);
  t.same(broadPrincipals(LOCKED_FILE, 'file'), []);
  t.same(broadPrincipals('O:BAG:DUD:(A;;FA;;;SY)(A;;FR;;;WD)(A;;FR;;;S-1-5-11)', 'file'), [
    ['S-1-1-0', 'Everyone'],
    ['S-1-5-11', 'Authenticated Users'],
  ]);
  t.same(broadPrincipals('D:(A;;FR;;;S-1-5-21-1-2-3-513)', 'file'), [['S-1-5-21-1-2-3-513', 'Domain Users']], 'Domain Users of any domain');
  t.same(broadPrincipals('D:(D;;FA;;;WD)(A;;FA;;;SY)', 'file'), [], 'a deny ACE lets nobody in');
  t.same(broadPrincipals('D:(A;OICIIO;FR;;;BU)(A;;FA;;;SY)', 'file'), [], 'inherit-only does not apply to a file');
  t.same(broadPrincipals('D:(A;OICIIO;FR;;;BU)(A;;FA;;;SY)', 'dir'), [['S-1-5-32-545', 'Users']], '…but to what a folder holds');
  t.same(broadPrincipals('O:BAG:DUD:NO_ACCESS_CONTROL', 'file'), [['S-1-1-0', 'Everyone']], 'no DACL: everyone');
  t.same(broadPrincipals(`${LOCKED_FILE}S:AI(AU;SAFA;FA;;;WD)`, 'file'), [], 'the SACL (auditing) is not access');
});

t.test('the problem names who gets in and the icacls command that fixes it', async (t) => {
  const seen: string[] = [];
  const readAcl = (p: string) => {
    seen.push(p);
    return INHERITED_FILE;
  };
  const p = windowsAclProblem('C:\\ProgramData\\pi-agent\\pi-agent.yaml', 'file', 'C:\\ProgramData\\pi-agent\\pi-agent.yaml', {
    platform: 'win32',
    readAcl,
    account: 'PLANT\\svc-pi-agent$',
  });
  t.equal(
    p,
    'C:\\ProgramData\\pi-agent\\pi-agent.yaml: accessible to Users — run: icacls "C:\\ProgramData\\pi-agent\\pi-agent.yaml" /inheritance:r /grant:r *S-1-5-18:F *S-1-5-32-544:F "PLANT\\svc-pi-agent$":R /remove:g *S-1-5-32-545',
  );
  t.same(seen, ['C:\\ProgramData\\pi-agent\\pi-agent.yaml']);
  t.equal(
    icaclsFix('C:\\ProgramData\\pi-agent\\state', 'dir', ['S-1-1-0'], undefined),
    'icacls "C:\\ProgramData\\pi-agent\\state" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F /remove:g *S-1-1-0',
    'a folder: inherited by what it holds; no account when running as LocalSystem',
  );
  t.equal(windowsAclProblem('x', 'file', 'x', { platform: 'win32', readAcl: () => LOCKED_FILE }), undefined, 'locked: no problem');
  t.equal(windowsAclProblem('x', 'file', 'x', { platform: 'linux', readAcl: () => INHERITED_FILE }), undefined, 'off Windows: POSIX modes apply instead');
  t.equal(
    windowsAclProblem('x', 'file', 'x', {
      platform: 'win32',
      readAcl: () => {
        throw new Error('powershell.exe not found');
      },
    }),
    undefined,
    'ACL unreadable (no PowerShell): the installer ACLs stand alone',
  );
});

t.test('loadConfig on Windows refuses a config, a secret file or a state directory others can read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pi-agent-acl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const secret = join(dir, 'pi-password');
  writeFileSync(secret, 'hunter2\n', { mode: 0o644 });
  const file = join(dir, 'pi-agent.yaml');
  // POSIX mode 0644 everywhere: on Windows only the ACLs count.
  writeFileSync(
    file,
    `site: plant-a
state_dir: ${stateDir}
pi:
  url: http://127.0.0.1:8443/piwebapi
  auth: { type: basic, username: pi, password: file:${secret} }
tags:
  - { dataserver: SIMPI, name_filter: "*" }
sink:
  type: directory
  path: ${join(dir, 'out')}
`,
    { mode: 0o644 },
  );
  const acls = new Map<string, string>();
  const load = () => {
    try {
      loadConfig(file, { env: {}, acl: { platform: 'win32', readAcl: (p) => acls.get(p) ?? LOCKED_FILE, account: 'PLANT\\svc' } });
      return { code: 'ok', problems: [] as string[] };
    } catch (err) {
      if (err instanceof ConfigError) return { code: err.code, problems: err.problems };
      throw err;
    }
  };
  t.same(load(), { code: 'ok', problems: [] }, 'everything locked (mode 0644 does not matter on Windows)');

  acls.set(file, INHERITED_FILE);
  const r1 = load();
  t.equal(r1.code, 'CONFIG_INSECURE');
  t.match(r1.problems[0], `${file}: accessible to Users — run: icacls "${file}" /inheritance:r`);
  acls.delete(file);

  acls.set(secret, 'D:(A;;FA;;;SY)(A;;FR;;;WD)');
  const r2 = load();
  t.equal(r2.code, 'CONFIG_INSECURE', 'a file: secret others can read');
  t.match(r2.problems.join('\n'), `secret file ${secret}: accessible to Everyone — run: icacls "${secret}"`);
  t.notMatch(r2.problems.join('\n'), /hunter2/, 'the secret never appears');
  acls.delete(secret);

  acls.set(stateDir, PROGRAMDATA);
  const r3 = load();
  t.equal(r3.code, 'CONFIG_INSECURE');
  t.same(r3.problems, [
    `${stateDir}: state directory accessible to Users — run: icacls "${stateDir}" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F "PLANT\\svc":(OI)(CI)M /remove:g *S-1-5-32-545`,
  ]);
});
