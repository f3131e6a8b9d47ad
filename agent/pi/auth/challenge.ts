/**
 * Reading `WWW-Authenticate`: a 401 from PI Web API lists each enabled scheme, one header each or
 * comma-separated in one (fidelity §10); Negotiate/NTLM carry a base64 token, Basic/Bearer params.
 */
import type { RawResponse } from './types.js';

export interface Challenge {
  /** As sent, e.g. `Negotiate`, `NTLM`, `Basic`, `Bearer`. */
  scheme: string;
  /** A token68 (Negotiate/NTLM handshake data), if any. */
  token?: string;
  /** Auth params (`realm`, `error`...), names lower-cased. */
  params: Record<string, string>;
}

/** Splits on commas outside quoted strings. */
function splitOutsideQuotes(s: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '"' && s[i - 1] !== '\\') quoted = !quoted;
    if (ch === ',' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

const PARAM = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*$/;
const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;
const SCHEME = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s+(.*))?$/;

function unquote(v: string): string {
  return v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const value of values) {
    for (const part of splitOutsideQuotes(value)) {
      if (!part.trim()) continue;
      const param = PARAM.exec(part);
      // A bare `name=value` continues the previous challenge's params (`Bearer realm="x", error="y"`).
      if (param && out.length > 0 && !SCHEME.exec(part)?.[2]) {
        out[out.length - 1]!.params[param[1]!.toLowerCase()] = unquote(param[2]!);
        continue;
      }
      const m = SCHEME.exec(part);
      if (!m) continue;
      const c: Challenge = { scheme: m[1]!, params: {} };
      const rest = m[2]?.trim();
      if (rest) {
        const p = TOKEN68.test(rest) ? null : PARAM.exec(rest);
        if (p) c.params[p[1]!.toLowerCase()] = unquote(p[2]!);
        else c.token = rest;
      }
      out.push(c);
    }
  }
  return out;
}

export function challengesOf(res: RawResponse): Challenge[] {
  return parseChallenges(res.headers['www-authenticate']);
}

export function findChallenge(res: RawResponse, scheme: string): Challenge | undefined {
  const s = scheme.toLowerCase();
  return challengesOf(res).find((c) => c.scheme.toLowerCase() === s);
}

/** `Negotiate, NTLM, Basic` — for error messages telling the operator what the server accepts. */
export function offeredSchemes(res: RawResponse): string {
  const names = [...new Set(challengesOf(res).map((c) => c.scheme))];
  return names.length ? names.join(', ') : 'none listed';
}
