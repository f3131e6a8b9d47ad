/**
 * File permission rules. POSIX: group read is allowed so a root-owned file can be shared with the
 * service's group (`root:pi-agent 0640`); anything for others, or group write, is refused. Windows:
 * the ACL must not let in Everyone, Users, Authenticated Users and the like (acl.ts).
 */
import { mkdirSync, statSync } from 'node:fs';
import { windowsAclProblem, type AclOptions } from './acl.js';

const INSECURE_MASK = 0o027;

const octal = (mode: number): string => (mode & 0o777).toString(8).padStart(4, '0');
const quote = (p: string): string => (/^[A-Za-z0-9_./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);

/** A problem line for a file others can read or a group can write, or undefined when it is safe. */
export function insecureFileProblem(file: string, label = file, acl: AclOptions = {}): string | undefined {
  if ((acl.platform ?? process.platform) === 'win32') return windowsAclProblem(file, 'file', label, acl);
  const mode = statSync(file).mode;
  if ((mode & INSECURE_MASK) === 0) return undefined;
  return `${label}: accessible to other users (mode ${octal(mode)}) — run: chmod 600 ${quote(file)} (or 640 to share it with the service's group)`;
}

/** Same rule for the state directory (it holds the buffered plant data); absent is fine. */
export function insecureDirProblem(dir: string, acl: AclOptions = {}): string | undefined {
  if ((acl.platform ?? process.platform) === 'win32') return windowsAclProblem(dir, 'dir', dir, acl);
  let mode: number;
  try {
    mode = statSync(dir).mode;
  } catch {
    return undefined;
  }
  if ((mode & INSECURE_MASK) === 0) return undefined;
  return `${dir}: state directory accessible to other users (mode ${octal(mode)}) — run: chmod 700 ${quote(dir)} (or 750 to share it with the service's group)`;
}

/** Creates the state directory (and its logs folder) private to the service account. */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}
