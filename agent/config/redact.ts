/** Keeps resolved secrets out of any text the agent writes (logs, errors, status). */
import type { AgentConfig } from './types.js';

/** Config keys whose values are credentials (the `secret` kind in spec.ts). */
export const SECRET_KEYS = ['password', 'token', 'client_secret'] as const;

/** Every secret string in the config, plus the encodings that travel in headers (Basic). */
export function secretValues(config: AgentConfig): string[] {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const [k, x] of Object.entries(o)) {
        if ((SECRET_KEYS as readonly string[]).includes(k) && typeof x === 'string' && x) found.add(x);
        else visit(x);
      }
      if (typeof o.username === 'string' && typeof o.password === 'string' && o.password) {
        found.add(Buffer.from(`${o.username}:${o.password}`).toString('base64'));
        if (typeof o.domain === 'string') found.add(Buffer.from(`${o.domain}\\${o.username}:${o.password}`).toString('base64'));
      }
    }
  };
  visit(config);
  return [...found];
}

/**
 * Below this length a secret is replaced only where it stands alone, not inside a longer run of
 * letters and digits: a one-letter test password would otherwise turn every such letter of every
 * line into `***`. Real credentials are far longer (a PAT is 36+ characters).
 */
const SHORT = 8;

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A function that replaces every secret value of `config` in a text with `***`. */
export function redactor(config: AgentConfig): (text: string) => string {
  // Longest first, so a secret that contains another is replaced whole.
  const secrets = secretValues(config).sort((a, b) => b.length - a.length);
  if (!secrets.length) return (text) => text;
  const escaped = secrets.flatMap((s) => {
    const json = JSON.stringify(s).slice(1, -1); // as it appears inside a JSON log line
    return json === s ? [s] : [s, json];
  });
  const pattern = escaped.map((s) => (s.length < SHORT ? `(?<![A-Za-z0-9])${escapeRe(s)}(?![A-Za-z0-9])` : escapeRe(s)));
  const re = new RegExp(pattern.join('|'), 'g');
  return (text) => text.replace(re, '***');
}
