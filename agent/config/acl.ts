/**
 * Who can get at the config, `file:` secrets and the state directory on Windows: the object's
 * discretionary ACL (not POSIX modes, which Windows does not have). Read as SDDL, so well-known
 * principals are compared by SID and a German or French Windows reads the same:
 * https://learn.microsoft.com/windows/win32/secauthz/security-descriptor-string-format and
 * https://learn.microsoft.com/windows/win32/secauthz/ace-strings (ACE fields, SID abbreviations).
 * The SDDL comes from Windows PowerShell 5.1's Get-Acl (present on every supported Windows Server);
 * tests replace the reader.
 */
import { execFileSync } from 'node:child_process';

/** Returns the SDDL of a file or folder. Replaceable in tests. */
export type AclReader = (path: string) => string;

export interface AclOptions {
  /** Default process.platform: the ACL check runs on win32 only. */
  platform?: NodeJS.Platform;
  readAcl?: AclReader;
  /** The account the fix grants access to; default the account running this process. */
  account?: string;
}

// The path travels in an environment variable: no quoting, nothing of it on a command line.
const GET_SDDL = '$ErrorActionPreference = "Stop"; [Console]::Out.Write((Get-Acl -LiteralPath $env:PI_AGENT_ACL_PATH).Sddl)';

const readWithPowerShell: AclReader = (path) =>
  execFileSync('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', GET_SDDL], {
    env: { ...process.env, PI_AGENT_ACL_PATH: path },
    encoding: 'utf8',
    windowsHide: true,
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

/** Principals that stand for "other users" (SDDL abbreviation or SID → name). */
const BROAD: Record<string, string> = {
  WD: 'Everyone',
  'S-1-1-0': 'Everyone',
  AU: 'Authenticated Users',
  'S-1-5-11': 'Authenticated Users',
  BU: 'Users',
  'S-1-5-32-545': 'Users',
  BG: 'Guests',
  'S-1-5-32-546': 'Guests',
  IU: 'Interactive',
  'S-1-5-4': 'Interactive',
  NU: 'Network',
  'S-1-5-2': 'Network',
  AN: 'Anonymous Logon',
  'S-1-5-7': 'Anonymous Logon',
  DU: 'Domain Users',
  DG: 'Domain Guests',
};

/** SID in icacls' `*SID` form for the fix command. */
const SID_OF: Record<string, string> = {
  WD: 'S-1-1-0',
  AU: 'S-1-5-11',
  BU: 'S-1-5-32-545',
  BG: 'S-1-5-32-546',
  IU: 'S-1-5-4',
  NU: 'S-1-5-2',
  AN: 'S-1-5-7',
};

function broadName(sid: string): string | undefined {
  if (BROAD[sid]) return BROAD[sid];
  // Domain Users / Domain Guests of any domain: S-1-5-21-<domain>-513 / -514.
  if (/^S-1-5-21-\d+-\d+-\d+-513$/.test(sid)) return 'Domain Users';
  if (/^S-1-5-21-\d+-\d+-\d+-514$/.test(sid)) return 'Domain Guests';
  return undefined;
}

/**
 * The "other users" an SDDL's DACL lets in, as `[sid, name]` pairs. For a file, inherit-only ACEs do
 * not apply to it; for a folder they apply to what it holds, so they count. A missing DACL (`D:NO_ACCESS_CONTROL`)
 * lets everyone in. Deny ACEs never count.
 */
export function broadPrincipals(sddl: string, kind: 'file' | 'dir'): [string, string][] {
  const d = sddl.indexOf('D:');
  if (d < 0) return [];
  const dacl = sddl.slice(d + 2).split('S:')[0]!;
  if (/^[A-Z_]*NO_ACCESS_CONTROL/.test(dacl)) return [['S-1-1-0', 'Everyone']];
  const found = new Map<string, string>();
  for (const m of dacl.matchAll(/\(([^;()]*);([^;()]*);([^;()]*);[^;()]*;[^;()]*;([^;()]*)[^()]*\)/g)) {
    const [, type, flags, , sid] = m as unknown as [string, string, string, string, string];
    if (!/^(A|OA|XA|ZA)$/.test(type)) continue;
    if (kind === 'file' && /IO/.test(flags)) continue;
    const name = broadName(sid);
    if (name) found.set(SID_OF[sid] ?? sid, name);
  }
  return [...found];
}

function runningAccount(): string | undefined {
  const user = process.env.USERNAME;
  if (!user) return undefined;
  // LocalSystem runs as MACHINE$: SYSTEM is granted anyway.
  if (process.env.COMPUTERNAME && user.toUpperCase() === `${process.env.COMPUTERNAME.toUpperCase()}$`) return undefined;
  return process.env.USERDOMAIN ? `${process.env.USERDOMAIN}\\${user}` : user;
}

/** The icacls command that leaves SYSTEM, Administrators and the account, and removes the others. */
export function icaclsFix(path: string, kind: 'file' | 'dir', remove: string[], account: string | undefined): string {
  const inh = kind === 'dir' ? '(OI)(CI)' : '';
  const grants = [`*S-1-5-18:${inh}F`, `*S-1-5-32-544:${inh}F`, ...(account ? [`"${account}":${inh}${kind === 'dir' ? 'M' : 'R'}`] : [])];
  return `icacls "${path}" /inheritance:r /grant:r ${grants.join(' ')}${remove.length ? ` /remove:g ${remove.map((s) => `*${s}`).join(' ')}` : ''}`;
}

/**
 * A problem line when other users can get at `path` on Windows, naming them and the icacls command
 * that fixes it; undefined when only trusted principals can, off Windows, or when the ACL cannot
 * be read (no PowerShell): the installer's ACLs then stand alone.
 */
export function windowsAclProblem(path: string, kind: 'file' | 'dir', label: string, opts: AclOptions = {}): string | undefined {
  if ((opts.platform ?? process.platform) !== 'win32') return undefined;
  let sddl: string;
  try {
    sddl = (opts.readAcl ?? readWithPowerShell)(path);
  } catch {
    return undefined;
  }
  const broad = broadPrincipals(sddl, kind);
  if (broad.length === 0) return undefined;
  const who = [...new Set(broad.map(([, n]) => n))].join(', ');
  const what = kind === 'dir' ? 'state directory accessible to' : 'accessible to';
  return `${label}: ${what} ${who} — run: ${icaclsFix(
    path,
    kind,
    broad.map(([s]) => s),
    opts.account ?? runningAccount(),
  )}`;
}
