import { readFileSync } from 'node:fs';

/** The package version; the single binary defines PI_AGENT_VERSION at bundle time. */
declare const PI_AGENT_VERSION: string | undefined;

function readVersion(): string {
  if (typeof PI_AGENT_VERSION === 'string') return PI_AGENT_VERSION;
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pi-agent' && pkg.version) return pkg.version;
    } catch {
      /* try the next location */
    }
  }
  return '0.0.0-unknown';
}

export const VERSION = readVersion();

/** Whether this is the single binary (scripts/build-binary.ts), which carries its native addons. */
export const SINGLE_BINARY = typeof PI_AGENT_VERSION === 'string';
