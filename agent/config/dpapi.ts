/**
 * `dpapi:` secret references (Windows): a secret encrypted with the Windows Data Protection API,
 * written into the config as base64. Only the machine (LocalMachine scope) or the service account
 * (CurrentUser scope) that protected it can decrypt it, so a copied config file reveals nothing.
 *
 * Node has no DPAPI binding; Windows PowerShell 5.1 (present on every supported Windows Server) does,
 * through System.Security.Cryptography.ProtectedData. The blob goes in on stdin and the plaintext
 * comes back base64-encoded on stdout, so neither appears on a command line or in an error message.
 * How to make a blob: installer/windows/README.md.
 */
import { execFileSync } from 'node:child_process';

/** Runs PowerShell with a script and stdin; returns stdout. Replaceable in tests. */
export type PowerShellRunner = (script: string, stdin: string) => string;

const UNPROTECT = [
  '$ErrorActionPreference = "Stop"',
  'Add-Type -AssemblyName System.Security',
  '$blob = [Convert]::FromBase64String([Console]::In.ReadToEnd().Trim())',
  // Unprotect decrypts blobs of either scope; the scope argument only matters when protecting.
  '$plain = [System.Security.Cryptography.ProtectedData]::Unprotect($blob, $null, [System.Security.Cryptography.DataProtectionScope]::CurrentUser)',
  '[Console]::Out.Write([Convert]::ToBase64String($plain))',
].join('; ');

const runPowerShell: PowerShellRunner = (script, stdin) =>
  execFileSync('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', script], {
    input: stdin,
    encoding: 'utf8',
    windowsHide: true,
    timeout: 30_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });

export interface DpapiOptions {
  platform?: NodeJS.Platform;
  run?: PowerShellRunner;
}

/** The decrypted secret, or a problem text (never containing the blob or the secret). */
export function unprotectDpapi(blob: string, opts: DpapiOptions = {}): { value: string } | { problem: string; hint: string } {
  const platform = opts.platform ?? process.platform;
  if (platform !== 'win32') {
    return { problem: 'dpapi: secrets can only be decrypted on Windows', hint: 'on this machine use ${ENV_VAR} or file:/path (a file readable only by the service)' };
  }
  const b64 = blob.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    return { problem: 'dpapi: value is not base64', hint: 'paste the whole output of the protect command in installer/windows/README.md after dpapi:' };
  }
  let out: string;
  try {
    out = (opts.run ?? runPowerShell)(UNPROTECT, b64);
  } catch {
    // PowerShell's message can echo input; say what to check instead.
    return {
      problem: 'dpapi: the secret could not be decrypted',
      hint: 'it must be protected on this machine (LocalMachine scope) or by the account the service runs as (CurrentUser scope); protect it again as installer/windows/README.md shows',
    };
  }
  const value = Buffer.from(out.trim(), 'base64').toString('utf8');
  if (!value) return { problem: 'dpapi: the decrypted secret is empty', hint: 'protect the secret again' };
  return { value };
}
