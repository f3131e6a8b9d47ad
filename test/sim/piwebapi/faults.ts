/**
 * Fault injection for the simulator (fidelity §10): rules by route pattern and rate, decided
 * deterministically from the seed, plus a per-client request rate limit.
 */
import { hash32 } from './prng.js';

export type FaultKind =
  | 'status' // answer `status` (429 gets Retry-After) with {"Errors":[...]}
  | 'slow' // delay `delayMs`, then answer normally
  | 'timeout' // hang `delayMs` (default 30 s), then close the socket without answering
  | 'reset' // destroy the socket at once
  | 'truncate' // send the normal body cut in half
  | 'webexception'; // 200 whose body is {"WebException":{"Errors":[...],"StatusCode":500}}

export interface FaultRule {
  kind: FaultKind;
  /**
   * Path below /piwebapi to match: `*` matches within one segment, `**` any number of characters;
   * matched case-insensitively. Default `**` (every route).
   */
  route?: string;
  /** HTTP method; default any. */
  method?: string;
  /** Chance per matching request, 0..1 (default 1). */
  rate?: number;
  /** Stop after this many injections (default unlimited). */
  count?: number;
  status?: number;
  /** Retry-After seconds for 429/503 (default 1). */
  retryAfter?: number;
  delayMs?: number;
  message?: string;
}

export interface FaultDecision extends FaultRule {
  kind: FaultKind;
}

interface ActiveRule {
  rule: FaultRule;
  re: RegExp;
  seen: number;
  fired: number;
  salt: number;
}

function routeRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$', 'i');
}

export class FaultInjector {
  private rules: ActiveRule[] = [];
  private salt = 0;
  /** client → [window start ms, count] */
  private readonly windows = new Map<string, [number, number]>();

  constructor(
    private readonly seed: number,
    public rateLimit: number | undefined,
  ) {}

  set(rules: FaultRule[]): void {
    for (const r of rules) {
      if (!['status', 'slow', 'timeout', 'reset', 'truncate', 'webexception'].includes(r.kind)) {
        throw new Error(`unknown fault kind '${String(r.kind)}'`);
      }
    }
    this.rules = rules.map((rule) => ({ rule, re: routeRegExp(rule.route ?? '**'), seen: 0, fired: 0, salt: ++this.salt }));
  }

  add(rule: FaultRule): void {
    const all = [...this.rules.map((r) => r.rule), rule];
    const kept = this.rules;
    this.set(all);
    // Keep counters of the rules that were already there.
    for (let k = 0; k < kept.length; k++) this.rules[k] = kept[k]!;
  }

  list(): Array<FaultRule & { fired: number }> {
    return this.rules.map((r) => ({ ...r.rule, fired: r.fired }));
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault to inject for this request, if any (first matching rule that fires). */
  decide(method: string, path: string): FaultDecision | undefined {
    for (const r of this.rules) {
      if (r.rule.method && r.rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (!r.re.test(path)) continue;
      if (r.rule.count !== undefined && r.fired >= r.rule.count) continue;
      const n = r.seen++;
      const rate = r.rule.rate ?? 1;
      if (rate >= 1 || hash32(this.seed, r.salt, n) / 4294967296 < rate) {
        r.fired++;
        return { ...r.rule };
      }
    }
    return undefined;
  }

  /** true when `client` is over `rateLimit` requests in the current second. */
  overRateLimit(client: string, nowMs: number): boolean {
    if (!this.rateLimit) return false;
    const w = this.windows.get(client);
    if (!w || nowMs - w[0] >= 1000) {
      this.windows.set(client, [nowMs, 1]);
      return false;
    }
    w[1]++;
    return w[1] > this.rateLimit;
  }
}
