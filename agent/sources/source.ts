/**
 * What a source is (design.md "Data flow": PI Web API → sources → batch → store). Each folder under
 * `sources/` exports one `Source`, and `sources/index.ts` lists them: the service runs, run-once,
 * reset, check and status loop over that list and never name a source themselves (the Telegraf and
 * Vector pattern: adding a source is one folder and one line).
 */
import type { AgentConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { PiClient } from '../pi/client.js';
import type { ProgressCell, ProgressSpace } from '../store/progress.js';
import type { Store } from '../store/store.js';
import type { PiPointDirectory } from './pi.js';

/** What a source's cycle runs against: the agent's store, PI client and logger. */
export interface SourceContext {
  config: AgentConfig;
  store: Store;
  client: PiClient;
  directory: PiPointDirectory;
  logger: Logger;
}

/** How a cycle ended when it did not throw. */
export interface CycleReport {
  /**
   * What kept the cycle from finishing everything (some tags failed, the buffer is full), one line
   * each; empty when it did. `run --once` reports them; the service has logged them already.
   */
  problems: string[];
  /** Values read from PI in the cycle (metrics). */
  values?: number;
}

/** What `pi-agent check` writes, one line per finding. */
export interface CheckReport {
  ok(message: string): void;
  warn(message: string): void;
  fail(what: string, err: unknown): void;
}

/** A check against PI: the client, and a tag to read a sample from (found by the tags source). */
export interface CheckContext extends CheckReport {
  config: AgentConfig;
  client: PiClient;
  /** WebID of one selected point, set by the first source that finds one. */
  sample?: string;
}

/** What `pi-agent reset` asks of a source. */
export interface ResetRequest {
  /** Tag paths to rewind (sources with `resetsTags`); empty = all. */
  tags: string[];
  /** ISO 8601 UTC to rewind to; undefined = the configured start. */
  to?: string;
}

/**
 * A source's way back after a lost or new state directory while the destination already holds rows
 * of this site (service/recovery.ts): without it, it would read history again from its start and
 * send it as plain inserts, duplicating what the tables hold.
 */
export interface SourceRecovery {
  /** true when the store holds no progress of the source and has not asked the destination yet. */
  needed(store: Store): boolean;
  /**
   * Seeds the source's progress, in one commit, from what the destination holds of this site:
   * `heads`, the latest event timestamp (µs) per tag WebID (empty: nothing held). What it re-reads
   * of that is sent as upserts, never as inserts. Resolves to the line logged.
   */
  seed(store: Store, config: AgentConfig, heads: ReadonlyMap<string, number>, at: Date): string;
  /**
   * The destination cannot say now (an outage at first start): extraction goes ahead, and what it
   * reads up to `at` goes out as upserts, never as inserts. Resolves to the line logged, or
   * undefined when that is not safe yet (then the cycle waits for the destination).
   */
  blind(store: Store, at: Date): string | undefined;
}

/** What `pi-agent status` shows of a source beside its recorded success and error. */
export interface SourceStatusDetail {
  tags?: number;
  notes?: string[];
  /** Tags skipped because PI cannot serve them (observe/status.ts SourceStatus.unreadable_tags). */
  unreadable_tags?: { tag: string; reason: string; since: string }[];
}

export interface Source {
  /** The name in status, logs and `reset --source`. */
  readonly name: string;
  /** Whether the config enables it (its section is present). */
  enabled(config: AgentConfig): boolean;
  /** When the service runs a cycle (node-cron expression). */
  schedule(config: AgentConfig): string;
  /** One cycle. Throws when nothing could be done; records its success or error in the store. */
  runCycle(ctx: SourceContext, signal?: AbortSignal): Promise<CycleReport>;
  /** The progress it owns (every key it writes is in one of these). */
  readonly progress: readonly (ProgressSpace<unknown> | ProgressCell<unknown>)[];
  /** Pauses while the buffer is full (backpressure); tag discovery does not. */
  readonly pausesWhenFull: boolean;
  /** `reset --tag` applies (per-tag progress). */
  readonly resetsTags: boolean;
  /** Rewinds its progress; resolves to the line printed for the operator. */
  reset(store: Store, config: AgentConfig, request: ResetRequest): Promise<string>;
  /** What status shows of it (offline: the store only). */
  status?(store: Store, config: AgentConfig): SourceStatusDetail;
  /** Its part of `pi-agent check`. */
  check?(ctx: CheckContext): Promise<void>;
  /** How it resumes from what the destination holds when its progress was lost (SourceRecovery). */
  readonly recovery?: SourceRecovery;
}

/** Deletes every key of a source's progress; the count of entries removed. */
export function clearProgress(store: Store, source: Pick<Source, 'progress'>): number {
  const keys: string[] = [];
  for (const p of source.progress) {
    if ('prefix' in p) keys.push(...p.keys(store));
    else if (p.get(store) !== undefined) keys.push(p.key);
  }
  store.commitStep([], [], keys);
  return keys.length;
}

/** Runs `fn`, recording a thrown failure as the source's last error (status, heartbeat) before rethrowing. */
export async function recordingFailure<T>(store: Store, source: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    store.recordSourceError(source, describeError(err));
    throw err;
  }
}
