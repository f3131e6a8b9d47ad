/**
 * Recorded values of simulated tags. Values are generated per fixed time bucket, seeded by
 * (seed, tag, bucket), so any range can be produced without generating history before it; only
 * control-API changes (late inserts, edits, deletions) are stored, as overlays per tag.
 */
import { hash32, Rng } from './prng.js';
import { formatUnits, UNITS_PER_SECOND } from './time.js';
import type { TagCatalog, TagKind, TagMeta } from './tags.js';

/** A PI digital state as served (fidelity §4). */
export interface DigitalValue { Name: string; Value: number; IsSystem: boolean }
export type PiValue = number | string | boolean | DigitalValue;

export interface EventData {
  value: PiValue;
  good: boolean;
  questionable: boolean;
  substituted: boolean;
  annotated: boolean;
}

export interface SimEvent extends EventData {
  /** Units (1/65536 s since epoch). */
  t: number;
  /** Stable identity: `g<t>:<k>` for generated (k-th at t), `i<seq>` for inserted. */
  id: string;
}

/** The JSON object the server serves for one recorded event. */
export interface TimedValueJson {
  Timestamp: string;
  Value: PiValue;
  UnitsAbbreviation: string;
  Good: boolean;
  Questionable: boolean;
  Substituted: boolean;
  Annotated: boolean;
}

export const SYSTEM_STATES: readonly DigitalValue[] = [
  { Name: 'I/O Timeout', Value: 246, IsSystem: true },
  { Name: 'No Data', Value: 248, IsSystem: true },
  { Name: 'Calc Failed', Value: 249, IsSystem: true },
  { Name: 'Over Range', Value: 252, IsSystem: true },
  { Name: 'Pt Created', Value: 253, IsSystem: true },
  { Name: 'Shutdown', Value: 254, IsSystem: true },
  { Name: 'Bad Input', Value: 255, IsSystem: true },
];

interface KindParams {
  bucketSec: number;
  /** Gap between events, in units. */
  gapMin: number;
  gapMax: number;
  /** Chance that an event gets 1–2 siblings at the same timestamp. */
  sibling: number;
  /** Chance that a whole bucket is empty (gaps in the data). */
  emptyBucket: number;
  /** Timestamps keep sub-second fractions (multiples of 1/65536 s). */
  subSecond: boolean;
}

const S = UNITS_PER_SECOND;
const PARAMS: Record<TagKind, KindParams> = {
  FLOAT32: { bucketSec: 3600, gapMin: 10 * S, gapMax: 180 * S, sibling: 0.01, emptyBucket: 0, subSecond: false },
  FLOAT64: { bucketSec: 3600, gapMin: 5 * S, gapMax: 120 * S, sibling: 0.01, emptyBucket: 0, subSecond: true },
  INT32: { bucketSec: 3600, gapMin: 30 * S, gapMax: 300 * S, sibling: 0.005, emptyBucket: 0, subSecond: false },
  DIGITAL: { bucketSec: 3600, gapMin: 120 * S, gapMax: 1200 * S, sibling: 0.01, emptyBucket: 0, subSecond: false },
  STRING: { bucketSec: 3600, gapMin: 300 * S, gapMax: 1800 * S, sibling: 0.01, emptyBucket: 0, subSecond: false },
  TIMESTAMP: { bucketSec: 3600, gapMin: 600 * S, gapMax: 1800 * S, sibling: 0, emptyBucket: 0, subSecond: false },
  // ~4 events/s at irregular 1/65536 s multiples.
  FAST: { bucketSec: 60, gapMin: S / 16, gapMax: S / 2, sibling: 0.002, emptyBucket: 0, subSecond: true },
  GAPPY: { bucketSec: 3600, gapMin: 10 * S, gapMax: 120 * S, sibling: 0.01, emptyBucket: 0.4, subSecond: false },
  BURST: { bucketSec: 3600, gapMin: 20 * S, gapMax: 200 * S, sibling: 0.15, emptyBucket: 0, subSecond: false },
};

const STRINGS = ['Batch started', 'Batch complete', 'Operator check OK', 'Température nominale', 'Valve V-101 opened',
  'Sample sent to lab', 'Filter changed', 'Shift handover: no issues', 'Cleaning in place', 'Ready'];

export function bucketUnits(kind: TagKind): number {
  return PARAMS[kind].bucketSec * S;
}

/** Small LRU of generated buckets: paging re-reads the same buckets. */
class BucketCache {
  private readonly map = new Map<string, SimEvent[]>();
  constructor(private readonly max: number) {}
  get(key: string): SimEvent[] | undefined {
    const v = this.map.get(key);
    if (v) { this.map.delete(key); this.map.set(key, v); }
    return v;
  }
  set(key: string, v: SimEvent[]): void {
    this.map.set(key, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
  clear(): void { this.map.clear(); }
}

interface Overlay {
  inserted: SimEvent[];
  edits: Map<string, Partial<EventData>>;
  deleted: Set<string>;
}

export class Series {
  private readonly cache = new BucketCache(512);
  private readonly overlays = new Map<number, Overlay>();
  private insertSeq = 0;

  constructor(private readonly seed: number, private readonly tags: TagCatalog, private readonly historyStart: number) {}

  /** Generated events of one bucket (before overlays), ascending, ids assigned. */
  private generated(i: number, meta: TagMeta, b: number): SimEvent[] {
    const key = `${i}:${b}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const p = PARAMS[meta.kind];
    const bu = p.bucketSec * S;
    const start = b * bu;
    const end = start + bu;
    const rng = new Rng(hash32(this.seed, i, b));
    const out: SimEvent[] = [];
    if (rng.next() >= p.emptyBucket) {
      let t = start + Math.floor(rng.next() * p.gapMin);
      if (!p.subSecond) t = Math.ceil(t / S) * S;
      let prevT = -1;
      let k = 0;
      while (t < end) {
        const n = rng.next() < p.sibling ? rng.int(2, 3) : 1;
        for (let j = 0; j < n; j++) {
          k = t === prevT ? k + 1 : 0;
          prevT = t;
          out.push({ t, id: `g${t}:${k}`, ...this.makeValue(meta, t, rng) });
        }
        let gap = rng.int(p.gapMin, p.gapMax);
        if (!p.subSecond) gap = Math.max(S, Math.round(gap / S) * S);
        t += gap;
      }
    }
    this.cache.set(key, out);
    return out;
  }

  private makeValue(meta: TagMeta, t: number, rng: Rng): EventData {
    const r = rng.next();
    const flags = rng.next();
    const noise = rng.next();
    const pick = rng.next();
    const d: EventData = {
      value: 0, good: true,
      questionable: flags < 0.01,
      annotated: flags >= 0.01 && flags < 0.015,
      substituted: flags >= 0.015 && flags < 0.018,
    };
    if (r < 0.005) {
      d.value = { ...SYSTEM_STATES[Math.floor(pick * SYSTEM_STATES.length)]! };
      d.good = false;
      return d;
    }
    const sec = t / S;
    const h = hash32(this.seed, meta.index, 5);
    switch (meta.pointType) {
      case 'Float32':
      case 'Float64': {
        const base = 20 + (h % 80);
        const amp = 5 + (h % 17);
        const period = 3600 * (2 + (h % 22));
        const phase = ((h >>> 8) % 628) / 100;
        const v = base + amp * Math.sin((2 * Math.PI * sec) / period + phase) + (noise - 0.5) * amp * 0.1;
        // Float32 values keep 4 decimals: what single precision shows, without float noise in JSON.
        d.value = meta.pointType === 'Float32' ? Math.round(v * 1e4) / 1e4 : v;
        break;
      }
      case 'Int32':
        d.value = (Math.floor(sec / 7) + (h % 100000)) % 2147483647;
        break;
      case 'Digital': {
        const set = meta.digitalSet!;
        const v = Math.floor(pick * set.states.length);
        d.value = { Name: set.states[v]!, Value: v, IsSystem: false };
        break;
      }
      case 'String':
        d.value = `${STRINGS[Math.floor(pick * STRINGS.length)]!} #${Math.floor(noise * 1000)}`;
        break;
      case 'Timestamp':
        d.value = formatUnits(Math.floor(sec - noise * 86400) * S);
        break;
    }
    return d;
  }

  private overlay(i: number): Overlay {
    let o = this.overlays.get(i);
    if (!o) { o = { inserted: [], edits: new Map(), deleted: new Set() }; this.overlays.set(i, o); }
    return o;
  }

  /**
   * Events of bucket `b` after overlays, within [from, to] and inside the tag's life
   * ([created, now]), ascending by (timestamp, ordinal).
   */
  private bucketEvents(i: number, meta: TagMeta, b: number, from: number, to: number, now: number): SimEvent[] {
    const bu = bucketUnits(meta.kind);
    const lo = Math.max(from, meta.createdAt ?? this.historyStart);
    const hi = Math.min(to, now);
    const o = this.overlays.get(i);
    let evs = this.generated(i, meta, b).filter((e) => e.t >= lo && e.t <= hi);
    if (meta.createdAt !== undefined && meta.createdAt >= b * bu && meta.createdAt < (b + 1) * bu && meta.createdAt >= from && meta.createdAt <= hi) {
      // A point created by the control API starts with the `Pt Created` system state.
      evs.unshift({ t: meta.createdAt, id: `c${meta.createdAt}`, value: { ...SYSTEM_STATES[4]! }, good: false, questionable: false, substituted: false, annotated: false });
    }
    if (!o) return evs;
    const start = b * bu;
    const ins = o.inserted.filter((e) => e.t >= start && e.t < start + bu && e.t >= from && e.t <= Math.min(to, now));
    if (ins.length) {
      // Stable sort: at one timestamp, generated events come first, then inserts in insert order.
      evs = [...evs, ...ins].sort((a, c) => a.t - c.t);
    }
    if (o.deleted.size) evs = evs.filter((e) => !o.deleted.has(e.id));
    if (o.edits.size) evs = evs.map((e) => { const ed = o.edits.get(e.id); return ed ? { ...e, ...ed } : e; });
    return evs;
  }

  /** Ascending events in [from, to] (inclusive), lazily, bucket by bucket. */
  *ascending(i: number, from: number, to: number, now: number): Generator<SimEvent> {
    const meta = this.tags.meta(i);
    const lo = Math.max(from, meta.createdAt ?? this.historyStart);
    const hi = Math.min(to, now);
    if (hi < lo) return;
    const bu = bucketUnits(meta.kind);
    for (let b = Math.floor(lo / bu); b <= Math.floor(hi / bu); b++) yield* this.bucketEvents(i, meta, b, lo, hi, now);
  }

  /** Descending events in [from, to] (inclusive): reverse of `ascending`. */
  *descending(i: number, from: number, to: number, now: number): Generator<SimEvent> {
    const meta = this.tags.meta(i);
    const lo = Math.max(from, meta.createdAt ?? this.historyStart);
    const hi = Math.min(to, now);
    if (hi < lo) return;
    const bu = bucketUnits(meta.kind);
    for (let b = Math.floor(hi / bu); b >= Math.floor(lo / bu); b--) {
      const evs = this.bucketEvents(i, meta, b, lo, hi, now);
      for (let k = evs.length - 1; k >= 0; k--) yield evs[k]!;
    }
  }

  /** Last event at or before `t`, or undefined. */
  before(i: number, t: number, now: number, strict = false): SimEvent | undefined {
    const start = this.tags.meta(i).createdAt ?? this.historyStart;
    for (const e of this.descending(i, start, t, now)) if (!strict || e.t < t) return e;
    return undefined;
  }

  /** First event at or after `t`, or undefined. */
  after(i: number, t: number, now: number, strict = false): SimEvent | undefined {
    for (const e of this.ascending(i, t, now, now)) if (!strict || e.t > t) return e;
    return undefined;
  }

  /** Events at exactly `t`, in ordinal order. */
  at(i: number, t: number, now: number): SimEvent[] {
    return [...this.ascending(i, t, t, now)];
  }

  // --- control-API changes -------------------------------------------------------------------

  insert(i: number, t: number, data: EventData): SimEvent {
    const e: SimEvent = { t, id: `i${++this.insertSeq}`, ...data };
    const o = this.overlay(i);
    o.inserted.push(e);
    return e;
  }

  edit(i: number, e: SimEvent, change: Partial<EventData>): SimEvent {
    const o = this.overlay(i);
    if (e.id.startsWith('i')) {
      const k = o.inserted.findIndex((x) => x.id === e.id);
      o.inserted[k] = { ...o.inserted[k]!, ...change };
    } else {
      o.edits.set(e.id, { ...(o.edits.get(e.id) ?? {}), ...change });
    }
    return { ...e, ...change };
  }

  remove(i: number, e: SimEvent): void {
    const o = this.overlay(i);
    if (e.id.startsWith('i')) o.inserted = o.inserted.filter((x) => x.id !== e.id);
    else o.deleted.add(e.id);
  }
}

export function toJson(e: EventData & { t: number }, units: string): TimedValueJson {
  return {
    Timestamp: formatUnits(e.t),
    Value: typeof e.value === 'object' ? { ...e.value } : e.value,
    UnitsAbbreviation: units,
    Good: e.good,
    Questionable: e.questionable,
    Substituted: e.substituted,
    Annotated: e.annotated,
  };
}
