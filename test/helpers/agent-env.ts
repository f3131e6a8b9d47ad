/**
 * A throw-away agent installation for end-to-end tests: a temp directory with a config file
 * (mode 0600), a state directory and a directory sink, pointed at a simulator on loopback.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../agent/config/load.js';
import type { AgentConfig } from '../../agent/config/types.js';
import { bareLogger } from '../../agent/observe/log.js';
import { openAgent, type Agent } from '../../agent/service/agent.js';
import { runOnce, type OnceResult } from '../../agent/service/once.js';
import { parsePiTimestamp } from '../../agent/pi/time.js';
import { decodeWebId, decodeWebId1, encodeWebId, isWebId1, type WebIdParts } from '../../agent/pi/webid.js';
import type { Test } from 'tap';
import type { TimedValueJson } from '../sim/piwebapi/series.js';
import type { Simulator } from '../sim/piwebapi/simulator.js';
import type { LandedRow } from './landed.js';

export interface AgentEnv {
  dir: string;
  configFile: string;
  outDir: string;
  stateDir: string;
  config(): AgentConfig;
  cleanup(): void;
}

export function makeAgentEnv(yamlBody: (paths: { outDir: string; stateDir: string }) => string): AgentEnv {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-e2e-'));
  chmodSync(dir, 0o700);
  const outDir = path.join(dir, 'out');
  const stateDir = path.join(dir, 'state');
  mkdirSync(stateDir, { mode: 0o700 });
  const configFile = path.join(dir, 'pi-agent.yaml');
  writeFileSync(configFile, yamlBody({ outDir, stateDir }), { mode: 0o600 });
  return {
    dir,
    configFile,
    outDir,
    stateDir,
    config: () => loadConfig(configFile),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The key the agent gives a simulator object: the IDOnly form of its WebID. A WebID 1.0 (the 2016 R2
 * and 2017 profiles) of a layout agent/pi/webid.ts knows becomes its IDOnly 2.0 id; an id that is
 * not Full stays as written. Decoded and encoded in full, not by agent/pi/webid.ts idOnlyWebId.
 */
export function idOnly(webId: string): string {
  let p: WebIdParts;
  if (isWebId1(webId)) {
    try {
      p = decodeWebId1(webId);
    } catch {
      return webId;
    }
  } else {
    p = decodeWebId(webId);
  }
  if (p.type !== 'Full') return webId;
  const { name: _n, ...rest } = p;
  return encodeWebId({ ...rest, type: 'IDOnly' });
}

/** Simulator ground truth → the value a landed row must carry, in one comparable shape. */
export function expectedEvents(truth: TimedValueJson[]): unknown[] {
  let prev = '';
  let ord = 0;
  return truth.map((e) => {
    ord = e.Timestamp === prev ? ord + 1 : 0;
    prev = e.Timestamp;
    return [parsePiTimestamp(e.Timestamp).us, ord, comparableValue(e.Value), e.Good, e.Questionable, e.Substituted, e.Annotated, e.UnitsAbbreviation || null];
  });
}

function comparableValue(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const s = v as { Name: string; Value: number; IsSystem?: boolean };
    return { name: s.Name, code: s.Value, system: s.IsSystem === true };
  }
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(v)) return parsePiTimestamp(v).us;
  return v;
}

/** A landed pi_timeseries row in the same shape as expectedEvents. */
export function landedEvent(r: LandedRow): unknown {
  const value =
    r.digital_name !== null
      ? { name: r.digital_name, code: r.digital_code, system: r.is_system_state === true }
      : (r.value_double ?? r.value_int ?? r.value_string ?? r.value_bool ?? r.value_timestamp ?? null);
  return [r.timestamp, r.ordinal, value, r.good, r.questionable, r.substituted, r.annotated, r.units];
}

export function landedEventsByTag(rows: Iterable<LandedRow>): Map<string, unknown[]> {
  const by = new Map<string, LandedRow[]>();
  for (const r of rows) {
    const k = String(r.tag_webid);
    if (!by.has(k)) by.set(k, []);
    by.get(k)!.push(r);
  }
  const out = new Map<string, unknown[]>();
  for (const [k, list] of by) {
    list.sort((a, b) => (a.timestamp as number) - (b.timestamp as number) || (a.ordinal as number) - (b.ordinal as number));
    out.set(k, list.map(landedEvent));
  }
  return out;
}

/**
 * Each simulator tag's (or each of `tags`) landed events (`landed`, by key: landedEventsByTag)
 * against its archive from `start` to `end` (default the simulator's now), one exact assertion a
 * tag, `label` before its name. Returns the archive's event count and how many tags were equal.
 */
export function compareWithArchive(
  t: Test,
  sim: Simulator,
  landed: Map<string, unknown[]>,
  o: { start: string; end?: string; label?: string; tags?: number[] },
): { events: number; equal: number } {
  const end = o.end ?? sim.nowIso();
  let events = 0;
  let equal = 0;
  for (const i of o.tags ?? Array.from({ length: sim.tagCount() }, (_, k) => k)) {
    const want = expectedEvents(sim.truth(i, o.start, end));
    const got = landed.get(idOnly(sim.tagWebId(i))) ?? [];
    events += want.length;
    if (t.same(got, want, `${o.label ? `${o.label}: ` : ''}${sim.tagName(i)}: ${want.length} events equal the archive`)) equal++;
  }
  return { events, equal };
}

type YamlFields = Record<string, string | number | boolean>;

/**
 * `key: value` lines at an indent: a string in `{}`/`[]` is YAML flow as is, other strings with
 * YAML-significant characters are quoted (JSON is YAML).
 */
function yamlLines(fields: YamlFields, indent: string): string {
  const value = (v: string | number | boolean): string => (typeof v !== 'string' || /^[\w./${}-]*$/.test(v) || /^[[{].*[\]}]$/.test(v) ? String(v) : JSON.stringify(v));
  return Object.entries(fields)
    .map(([k, v]) => `${indent}${k}: ${value(v)}`)
    .join('\n');
}

export interface SimAgentOptions {
  /** The simulator's PI Web API URL. */
  piUrl: string;
  /** Under `pi:` besides url (auth defaults to anonymous); e.g. `{ max_count: 200, tags_per_request: 4 }`. */
  pi?: YamlFields;
  /** Under `timeseries:`; `false` leaves the section out. */
  timeseries?: YamlFields | false;
  /** The `tags:` list items (YAML flow mappings); default every tag of the simulator's data server. */
  tags?: string[];
  /** Default `plant-a`. */
  site?: string;
  /** Default `silent`. */
  logLevel?: string;
  /** A log file besides the level. */
  logFile?: string;
  /** More top-level YAML, appended as is. */
  extra?: string;
}

/** The config of an agent that reads the simulator into a directory sink (the tests' usual installation). */
export function simAgentYaml(paths: { outDir: string; stateDir: string }, o: SimAgentOptions): string {
  const ts = o.timeseries === false ? '' : `timeseries:\n${yamlLines({ start: '2026-01-01T00:00:00Z', ...(o.timeseries ?? {}) }, '  ')}\n`;
  return `site: ${o.site ?? 'plant-a'}
state_dir: ${paths.stateDir}
log: { level: ${o.logLevel ?? 'silent'}${o.logFile ? `, file: ${o.logFile}` : ''} }
pi:
  url: ${o.piUrl}
${yamlLines({ auth: '{ type: anonymous }', ...(o.pi ?? {}) }, '  ')}
tags:
${(o.tags ?? ['{ dataserver: SIMPI, name_filter: "*" }']).map((s) => `  - ${s}`).join('\n')}
${ts}sink:
  type: directory
  path: ${paths.outDir}
${o.extra ?? ''}`;
}

/** Open the agent of `env`, run `fn` with it, close it whatever happens. */
export async function withAgent<T>(env: AgentEnv, fn: (agent: Agent) => Promise<T>, logLevel: Parameters<typeof bareLogger>[0] = 'silent'): Promise<T> {
  const agent = await openAgent(env.config(), bareLogger(logLevel));
  try {
    return await fn(agent);
  } finally {
    await agent.close();
  }
}

/** One `run --once` of the agent of `env`. */
export function runAgentOnce(env: AgentEnv): Promise<OnceResult> {
  return withAgent(env, (agent) => runOnce(agent));
}
