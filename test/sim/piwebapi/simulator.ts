/**
 * The simulated PI Data Archive behind the HTTP server: one data server `SIMPI`, its points, their
 * recorded values, a simulated clock, and the control API (late data, edits, deletions, tag changes,
 * faults) used by tests in-process and over `/sim/...`.
 */
import type { WebIdType } from '../../../agent/pi/webid.js';
import { FaultInjector, type FaultRule } from './faults.js';
import { newServedStats, type LatencyOptions, type ServedStats } from './latency.js';
import { seededGuid } from './prng.js';
import { webIds1, webIds2, type SimWebIds } from './webids.js';
import { defaultSimVersion, SIM_VERSIONS, type SimVersionName, type SimVersionProfile } from './versions.js';
import { Series, SYSTEM_STATES, toJson, type EventData, type PiValue, type SimEvent, type TimedValueJson } from './series.js';
import { SERVER_NAME, TagCatalog, type PointType, type TagKind, type TagMeta, type TagMix } from './tags.js';
import { formatUnits, msToUnits, parsePiTime, unitsToMs, UNITS_PER_SECOND } from './time.js';

export interface SimulatorOptions {
  tags?: number;
  seed?: number;
  timeZone?: string;
  maxReturnedItemsPerCall?: number;
  historyStart?: string;
  now?: string;
  realtime?: boolean;
  rateLimit?: number;
  /**
   * Regular series: every tag has one event every `intervalSec` seconds exactly, on multiples of
   * the interval since the epoch (e.g. 5 for "5-second data"). Default: each kind's own irregular,
   * exception-reported timing.
   */
  intervalSec?: number;
  /** `plant`: a real plant's point-type mix and values (tags.ts PLANT_PATTERN, series.ts); default `test`. */
  mix?: TagMix;
  /** Serving cost added to every PI Web API response (latency.ts); default none. */
  latency?: LatencyOptions;
  /** `false`: no stream-updates routes, like PI Web API before 2018 SP1 (fidelity §8); default true. */
  streamUpdates?: boolean;
  /** How the server writes WebIDs (webids.ts); default WebID 2.0 with Full as the configured default type. */
  webIds?: SimWebIds;
  /** The PI Web API release to behave as (versions.ts); default `PI_SIM_VERSION` from the environment, else the newest. */
  version?: SimVersionName;
}

/**
 * One control-API change, kept for stream updates (fidelity §8). `action` is the AF SDK data pipe
 * action PI Web API reports (AVEVA AF SDK reference, `AFDataPipeAction` Enumeration; PIDataPipe
 * constructor remarks on the TimeSeries pipe): `Add` a new value at the end of the series, `Insert`
 * one before the last event, `Update` an edit of an existing value, `Delete` a removal.
 */
export interface ChangeRecord {
  seq: number;
  tag: number;
  action: 'Add' | 'Insert' | 'Update' | 'Delete';
  t: number;
  event: TimedValueJson;
}

/** How the control API names a tag: index, WebID (any form), path or name. */
export type TagRef = number | string;

export interface EventInput {
  timestamp: string;
  value: PiValue;
  good?: boolean;
  questionable?: boolean;
  substituted?: boolean;
  annotated?: boolean;
}

/** Hooks into the AF model (helper-owned `af.ts`), when present. */
export interface AfHooks {
  pointIndexForAttribute(webId: string): number | undefined;
  attributesOfElement(webId: string): string[] | undefined;
  describeAttribute?(webId: string): { Name: string; Path: string } | undefined;
  /** Value of a static (non PI Point) attribute; undefined otherwise. */
  staticValue?(webId: string): { value: unknown; unitsAbbreviation: string } | undefined;
}

export class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class Simulator {
  readonly seed: number;
  readonly timeZone: string;
  readonly maxReturnedItemsPerCall: number;
  readonly historyStart: number;
  readonly serverGuid: string;
  /** How this server writes and reads WebIDs (webids.ts). */
  readonly webIds: SimWebIds;
  /** The PI Web API release this server behaves as (versions.ts). */
  readonly version: SimVersionProfile;
  readonly serverName = SERVER_NAME;
  readonly tags: TagCatalog;
  readonly series: Series;
  readonly faults: FaultInjector;
  readonly realtime: boolean;
  /** `http(s)://host:port/piwebapi`, for `Links`; set by the server once listening. */
  baseUrl = 'http://127.0.0.1/piwebapi';
  af: AfHooks | undefined;
  /** Stream-updates cache (set by the update routes); `expireAll` simulates a restart. */
  updates: { expireAll(): void; endSignup(tag: number, message?: string): void; readonly renamedActions: Map<string, string> } | undefined;
  readonly changes: ChangeRecord[] = [];
  /** Tag index → the per-value error its recorded values carry (setValueError). */
  readonly valueErrors = new Map<number, string>();
  /** Tag index → recorded reads served for it (tests count what a client asks). */
  readonly recordedReads = new Map<number, number>();
  /** Serving cost model (latency.ts); may be changed while running; undefined = none. */
  latency: LatencyOptions | undefined;
  /** What the server served and charged (requests always; the rest while latency is on). */
  readonly served: ServedStats = newServedStats();
  /** When set (tests), every `/batch` body received is appended here as sent. */
  batchBodies?: Record<string, unknown>[];
  private changeSeq = 0;
  private readonly startMs: number;
  private readonly wallStart = Date.now();
  private advancedMs = 0;

  constructor(opts: SimulatorOptions = {}) {
    this.seed = opts.seed ?? 1;
    this.timeZone = opts.timeZone ?? 'UTC';
    this.maxReturnedItemsPerCall = opts.maxReturnedItemsPerCall ?? 150000;
    this.historyStart = msToUnits(Date.parse(opts.historyStart ?? '2026-01-01T00:00:00Z'));
    this.startMs = Date.parse(opts.now ?? '2026-01-02T00:00:00Z');
    if (!Number.isFinite(this.startMs) || !Number.isFinite(this.historyStart)) throw new Error('invalid now/historyStart');
    this.realtime = opts.realtime ?? false;
    this.serverGuid = seededGuid(this.seed, 0x5e7e7);
    this.version = SIM_VERSIONS[opts.version ?? defaultSimVersion()];
    // The release's WebID format (versions.ts); a test may hand in another scheme.
    this.webIds = opts.webIds ?? (this.version.webIdVersion === '1.0' ? webIds1() : webIds2());
    this.tags = new TagCatalog(this.seed, opts.tags ?? 300, this.serverGuid, opts.mix ?? 'test', this.webIds);
    this.series = new Series(this.seed, this.tags, this.historyStart, opts.intervalSec === undefined ? {} : { intervalSec: opts.intervalSec });
    this.latency = opts.latency;
    this.faults = new FaultInjector(this.seed, opts.rateLimit);
  }

  // --- clock ------------------------------------------------------------------------------------

  /** Simulated time in ms since the epoch. */
  nowMs(): number {
    return this.startMs + this.advancedMs + (this.realtime ? Date.now() - this.wallStart : 0);
  }

  /** Simulated time in units (1/65536 s). */
  nowUnits(): number {
    return msToUnits(this.nowMs());
  }

  nowIso(): string {
    return formatUnits(Math.floor(this.nowUnits() / UNITS_PER_SECOND) * UNITS_PER_SECOND);
  }

  /** Move the clock forward (ms or a duration like `2h`); newly covered data appears. */
  advance(by: number | string): string {
    const ms = typeof by === 'number' ? by : unitsToMs(parsePiTime('*+' + by, 0, 'UTC'));
    if (!(ms >= 0)) throw new SimError(400, 'The clock only moves forward.');
    this.advancedMs += ms;
    return this.nowIso();
  }

  /** Set the clock to an absolute time (not earlier than now). */
  setNow(iso: string): string {
    const target = Date.parse(iso);
    if (!Number.isFinite(target)) throw new SimError(400, `Cannot parse time '${iso}'.`);
    return this.advance(Math.max(0, target - this.nowMs()));
  }

  /** Parse a PI time string against the simulated clock. */
  parseTime(s: string, zone?: string): number {
    return parsePiTime(s, this.nowMs(), zone ?? this.timeZone);
  }

  // --- tags -------------------------------------------------------------------------------------

  /** Number of live tags (deleted ones excluded; indexes of added tags continue after the base count). */
  tagCount(): number {
    return this.tags.liveCount();
  }
  /** Indexes of the live tags, ascending. */
  liveTags(): number[] {
    return [...this.tags.live()];
  }
  tagName(i: number): string {
    return this.tags.name(i);
  }
  tagPath(i: number): string {
    return this.tags.path(i);
  }
  tagWebId(i: number, type: WebIdType = 'Full'): string {
    return this.tags.webId(i, type);
  }
  tagMeta(i: number): TagMeta {
    return this.tags.meta(i);
  }

  /** Index of a tag named by index, WebID, path or name; throws SimError(404) when unknown. */
  resolveTag(ref: TagRef): number {
    if (typeof ref === 'number') {
      if (this.tags.exists(ref)) return ref;
    } else {
      let i: number | undefined;
      if (ref.startsWith('\\')) i = this.tags.indexByPath(ref);
      else {
        try {
          if (/^[FIP]1DP/.test(ref)) i = this.tags.indexByWebId(ref);
        } catch {
          /* not a WebID: try a name */
        }
        if (i === undefined) i = this.tags.indexByName(ref);
      }
      if (i !== undefined) return i;
    }
    throw new SimError(404, `No such tag: ${String(ref)}`);
  }

  /**
   * Stream source for a WebID: a PI point, or an AF attribute backed by one.
   * Errors carry the status the real server would give.
   */
  resolveStream(webId: string): { index: number; attribute: boolean } {
    let parts;
    try {
      parts = this.webIds.decode(webId);
    } catch {
      throw new SimError(400, `Unknown or invalid WebID format: '${webId}'.`);
    }
    if (parts.marker === 'DP') {
      const i = this.tags.indexByWebId(webId);
      if (i === undefined) throw new SimError(404, `The specified point was not found. WebId: '${webId}'.`);
      return { index: i, attribute: false };
    }
    if (parts.marker === 'Ab' && this.af) {
      const i = this.af.pointIndexForAttribute(webId);
      if (i !== undefined && this.tags.exists(i)) return { index: i, attribute: true };
      throw new SimError(404, `The specified attribute was not found or has no recorded data. WebId: '${webId}'.`);
    }
    throw new SimError(404, `The specified stream was not found. WebId: '${webId}'.`);
  }

  // --- values -----------------------------------------------------------------------------------

  /** Events in [lo, hi] ascending, or descending when `descending`. */
  events(i: number, lo: number, hi: number, descending = false): Generator<SimEvent> {
    const now = this.nowUnits();
    return descending ? this.series.descending(i, lo, hi, now) : this.series.ascending(i, lo, hi, now);
  }

  json(i: number, e: EventData & { t: number }): TimedValueJson {
    // Metadata is computed, not stored: remember the last tag's units (reads go tag by tag).
    if (this.unitsCache?.[0] !== i) this.unitsCache = [i, this.tags.meta(i).units];
    return toJson(e, this.unitsCache[1]);
  }
  private unitsCache: [number, string] | undefined;

  /**
   * Ground truth: every event the server would serve for the tag in [start, end] (inclusive),
   * ascending, after overlays, as the same JSON objects.
   */
  truth(tag: TagRef, startIso: string, endIso: string): TimedValueJson[] {
    const i = this.resolveTag(tag);
    const lo = this.parseTime(startIso);
    const hi = this.parseTime(endIso);
    const out: TimedValueJson[] = [];
    for (const e of this.events(i, lo, hi)) out.push(this.json(i, e));
    return out;
  }

  /** Value at `t`: the recorded event there, else interpolated (numeric, non-step) or the previous one. */
  interpolate(i: number, t: number): EventData & { t: number } {
    const now = this.nowUnits();
    const prev = this.series.before(i, t, now);
    if (!prev) return { t, value: { ...SYSTEM_STATES[1]! }, good: false, questionable: false, substituted: false, annotated: false };
    if (prev.t === t) return { ...prev, t };
    const meta = this.tags.meta(i);
    const next = this.series.after(i, t, now, true);
    if (!meta.step && next && typeof prev.value === 'number' && typeof next.value === 'number' && prev.good && next.good) {
      const f = (t - prev.t) / (next.t - prev.t);
      let v = prev.value + (next.value - prev.value) * f;
      if (meta.pointType === 'Float32') v = Math.round(v * 1e4) / 1e4;
      return { t, value: v, good: true, questionable: prev.questionable || next.questionable, substituted: false, annotated: false };
    }
    return {
      t,
      value: typeof prev.value === 'object' ? { ...prev.value } : prev.value,
      good: prev.good,
      questionable: prev.questionable,
      substituted: prev.substituted,
      annotated: false,
    };
  }

  // --- control API ------------------------------------------------------------------------------

  private record(tag: number, action: ChangeRecord['action'], e: EventData & { t: number }): void {
    this.changes.push({ seq: ++this.changeSeq, tag, action, t: e.t, event: this.json(tag, e) });
  }

  /** Current change sequence number (stream updates remember it per marker). */
  changeMark(): number {
    return this.changeSeq;
  }

  private eventAt(i: number, timestamp: string, ordinal = 0): SimEvent {
    const t = this.parseTime(timestamp);
    const evs = this.series.at(i, t, this.nowUnits());
    const e = evs[ordinal];
    if (!e) throw new SimError(404, `No event of ${this.tags.name(i)} at ${formatUnits(t)} with ordinal ${ordinal}.`);
    return e;
  }

  /** Insert a late (out-of-order) event behind the clock. */
  insertEvent(tag: TagRef, ev: EventInput): TimedValueJson {
    const i = this.resolveTag(tag);
    const t = this.parseTime(ev.timestamp);
    if (t > this.nowUnits()) throw new SimError(400, 'Late events must be at or before the simulated clock.');
    const e = this.series.insert(i, t, {
      value: ev.value,
      good: ev.good ?? !isSystemState(ev.value),
      questionable: ev.questionable ?? false,
      substituted: ev.substituted ?? false,
      annotated: ev.annotated ?? false,
    });
    // AFDataPipeAction: Add at the end of the series, Insert before its last event.
    const later = this.events(i, t + 1, this.nowUnits()).next();
    this.record(i, later.done ? 'Add' : 'Insert', e);
    return this.json(i, e);
  }

  /** Edit the value of an archived event: it becomes Substituted (fidelity §4). */
  editEvent(tag: TagRef, timestamp: string, change: { value: PiValue; ordinal?: number; good?: boolean; questionable?: boolean; annotated?: boolean }): TimedValueJson {
    const i = this.resolveTag(tag);
    const e = this.eventAt(i, timestamp, change.ordinal ?? 0);
    const patch: Partial<EventData> = { value: change.value, substituted: true, good: change.good ?? !isSystemState(change.value) };
    if (change.questionable !== undefined) patch.questionable = change.questionable;
    if (change.annotated !== undefined) patch.annotated = change.annotated;
    const edited = this.series.edit(i, e, patch);
    this.record(i, 'Update', edited);
    return this.json(i, edited);
  }

  /** Delete the event at (timestamp, ordinal), or every event at the timestamp when no ordinal. */
  deleteEvents(tag: TagRef, timestamp: string, ordinal?: number): number {
    const i = this.resolveTag(tag);
    const evs = ordinal === undefined ? this.series.at(i, this.parseTime(timestamp), this.nowUnits()) : [this.eventAt(i, timestamp, ordinal)];
    for (const e of evs) {
      this.series.remove(i, e);
      this.record(i, 'Delete', e);
    }
    return evs.length;
  }

  /** Delete every event in [start, end]. */
  deleteRange(tag: TagRef, start: string, end: string): number {
    const i = this.resolveTag(tag);
    const evs = [...this.events(i, this.parseTime(start), this.parseTime(end))];
    for (const e of evs) {
      this.series.remove(i, e);
      this.record(i, 'Delete', e);
    }
    return evs.length;
  }

  addTag(name: string, kind: TagKind = 'FLOAT32'): number {
    try {
      return this.tags.add(name, kind, this.nowUnits());
    } catch (err) {
      throw new SimError(409, (err as Error).message);
    }
  }

  renameTag(tag: TagRef, newName: string): void {
    const i = this.resolveTag(tag);
    try {
      this.tags.rename(i, newName);
    } catch (err) {
      throw new SimError(409, (err as Error).message);
    }
  }

  deleteTag(tag: TagRef): void {
    this.tags.remove(this.resolveTag(tag));
  }

  /** Change a point's PointType, as a PI admin would (e.g. to `Blob`, which PI Web API cannot read). */
  setPointType(tag: TagRef, type: PointType): void {
    this.tags.setPointType(this.resolveTag(tag), type);
  }

  /**
   * Every recorded value of `tag` carries this per-value error (swagger TimedValue.Errors, a
   * PropertyError list; fidelity §4), until cleared with undefined.
   */
  setValueError(tag: TagRef, message: string | undefined): void {
    const i = this.resolveTag(tag);
    if (message === undefined) this.valueErrors.delete(i);
    else this.valueErrors.set(i, message);
  }

  /** Drop every stream-updates registration, as a PI Web API restart would (fidelity §8). */
  expireUpdates(): void {
    this.updates?.expireAll();
  }

  setFaults(rules: FaultRule[]): void {
    try {
      this.faults.set(rules);
    } catch (err) {
      throw new SimError(400, (err as Error).message);
    }
  }
}

function isSystemState(v: PiValue): boolean {
  return typeof v === 'object' && v !== null && v.IsSystem === true;
}
