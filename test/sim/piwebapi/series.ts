/**
 * Recorded values of simulated tags. Values are generated per fixed time bucket, seeded by
 * (seed, tag, bucket), so any range can be produced without generating history before it; only
 * control-API changes (late inserts, edits, deletions) are stored, as overlays per tag.
 *
 * Two options (SeriesOptions): a regular interval (one event every N seconds exactly, on multiples
 * of N since the epoch, no siblings) instead of each kind's exception-reported timing, and the
 * `plant` values (smooth processes quantised to the instrument's resolution, mostly good quality,
 * outages as runs of system states) instead of the test values.
 */
import { hash32, Rng } from './prng.js';
import { formatUnits, UNITS_PER_SECOND } from './time.js';
import { measurementOf, type TagCatalog, type TagKind, type TagMeta } from './tags.js';

export interface SeriesOptions {
  /** Every tag has one event every `intervalSec` seconds exactly (a multiple of 1/65536 s; > 0). */
  intervalSec?: number;
}

/** A PI digital state as served (fidelity §4). */
export interface DigitalValue {
  Name: string;
  Value: number;
  IsSystem: boolean;
}
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
  INT16: { bucketSec: 3600, gapMin: 30 * S, gapMax: 300 * S, sibling: 0.005, emptyBucket: 0, subSecond: false },
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

const STRINGS = [
  'Batch started',
  'Batch complete',
  'Operator check OK',
  'Température nominale',
  'Valve V-101 opened',
  'Sample sent to lab',
  'Filter changed',
  'Shift handover: no issues',
  'Cleaning in place',
  'Ready',
];

export function bucketUnits(kind: TagKind): number {
  return PARAMS[kind].bucketSec * S;
}

/** Small LRU of generated buckets: paging re-reads the same buckets. */
class BucketCache {
  private readonly map = new Map<string, SimEvent[]>();
  constructor(private readonly max: number) {}
  get(key: string): SimEvent[] | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: SimEvent[]): void {
    this.map.set(key, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
  clear(): void {
    this.map.clear();
  }
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
  /** Regular interval in units, or 0 (each kind's own timing). */
  readonly intervalUnits: number;

  constructor(
    private readonly seed: number,
    private readonly tags: TagCatalog,
    private readonly historyStart: number,
    opts: SeriesOptions = {},
  ) {
    this.intervalUnits = 0;
    if (opts.intervalSec !== undefined) {
      const u = Math.round(opts.intervalSec * S);
      if (!(u >= 1) || Math.abs(u - opts.intervalSec * S) > 1e-6) throw new Error(`intervalSec must be a positive multiple of 1/65536 s, not ${opts.intervalSec}`);
      this.intervalUnits = u;
    }
  }

  /**
   * Bucket length of a tag, in units. A regular series: 5 minutes, at least 60 events, so a
   * steady-state read of the last minute of 30,000 tags does not generate an hour per tag.
   */
  bucketOf(meta: TagMeta): number {
    if (this.intervalUnits > 0) return this.intervalUnits * Math.max(60, Math.floor((300 * S) / this.intervalUnits));
    return bucketUnits(meta.kind);
  }

  /** Generated events of one bucket (before overlays), ascending, ids assigned. */
  private generated(i: number, meta: TagMeta, b: number): SimEvent[] {
    const key = `${i}:${b}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const p = PARAMS[meta.kind];
    const bu = this.bucketOf(meta);
    const start = b * bu;
    const end = start + bu;
    const rng = new Rng(hash32(this.seed, i, b));
    const out: SimEvent[] = [];
    const plant = this.tags.mix === 'plant' ? plantValues(this.seed, meta, start, end) : undefined;
    const value = plant ?? ((t: number, r: Rng): EventData => this.makeValue(meta, t, r));
    if (this.intervalUnits > 0) {
      // Bucket starts are multiples of the interval: events at every multiple, one each.
      if (plant) for (let t = start; t < end; t += this.intervalUnits) out.push(plant(t, rng, `g${t}:0`));
      else for (let t = start; t < end; t += this.intervalUnits) out.push({ t, id: `g${t}:0`, ...value(t, rng) });
    } else if (rng.next() >= p.emptyBucket) {
      let t = start + Math.floor(rng.next() * p.gapMin);
      if (!p.subSecond) t = Math.ceil(t / S) * S;
      let prevT = -1;
      let k = 0;
      while (t < end) {
        const n = rng.next() < p.sibling ? rng.int(2, 3) : 1;
        for (let j = 0; j < n; j++) {
          k = t === prevT ? k + 1 : 0;
          prevT = t;
          out.push(plant ? plant(t, rng, `g${t}:${k}`) : { t, id: `g${t}:${k}`, ...value(t, rng) });
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
      value: 0,
      good: true,
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
      case 'Int16':
        d.value = (Math.floor(sec / 7) + (h % 100000)) % (meta.pointType === 'Int16' ? 32768 : 2147483647);
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
    if (!o) {
      o = { inserted: [], edits: new Map(), deleted: new Set() };
      this.overlays.set(i, o);
    }
    return o;
  }

  /**
   * Events of bucket `b` after overlays, within [from, to] and inside the tag's life
   * ([created, now]), ascending by (timestamp, ordinal).
   */
  private bucketEvents(i: number, meta: TagMeta, b: number, from: number, to: number, now: number): SimEvent[] {
    const bu = this.bucketOf(meta);
    const lo = Math.max(from, meta.createdAt ?? this.historyStart);
    const hi = Math.min(to, now);
    const o = this.overlays.get(i);
    const gen = this.generated(i, meta, b);
    // A whole bucket in range is served as cached (never mutated below: every change makes a new array).
    let evs = gen.length === 0 || (gen[0]!.t >= lo && gen[gen.length - 1]!.t <= hi) ? gen : gen.filter((e) => e.t >= lo && e.t <= hi);
    if (meta.createdAt !== undefined && meta.createdAt >= b * bu && meta.createdAt < (b + 1) * bu && meta.createdAt >= from && meta.createdAt <= hi) {
      // A point created by the control API starts with the `Pt Created` system state.
      evs = [
        { t: meta.createdAt, id: `c${meta.createdAt}`, value: { ...SYSTEM_STATES[4]! }, good: false, questionable: false, substituted: false, annotated: false },
        ...evs,
      ];
    }
    if (!o) return evs;
    const start = b * bu;
    const ins = o.inserted.filter((e) => e.t >= start && e.t < start + bu && e.t >= from && e.t <= Math.min(to, now));
    if (ins.length) {
      // Stable sort: at one timestamp, generated events come first, then inserts in insert order.
      evs = [...evs, ...ins].sort((a, c) => a.t - c.t);
    }
    if (o.deleted.size) evs = evs.filter((e) => !o.deleted.has(e.id));
    if (o.edits.size)
      evs = evs.map((e) => {
        const ed = o.edits.get(e.id);
        return ed ? { ...e, ...ed } : e;
      });
    return evs;
  }

  /** Ascending events in [from, to] (inclusive), lazily, bucket by bucket. */
  *ascending(i: number, from: number, to: number, now: number): Generator<SimEvent> {
    const meta = this.tags.meta(i);
    const lo = Math.max(from, meta.createdAt ?? this.historyStart);
    const hi = Math.min(to, now);
    if (hi < lo) return;
    const bu = this.bucketOf(meta);
    for (let b = Math.floor(lo / bu); b <= Math.floor(hi / bu); b++) yield* this.bucketEvents(i, meta, b, lo, hi, now);
  }

  /** Descending events in [from, to] (inclusive): reverse of `ascending`. */
  *descending(i: number, from: number, to: number, now: number): Generator<SimEvent> {
    const meta = this.tags.meta(i);
    const lo = Math.max(from, meta.createdAt ?? this.historyStart);
    const hi = Math.min(to, now);
    if (hi < lo) return;
    const bu = this.bucketOf(meta);
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

// --- the `plant` mix ------------------------------------------------------------------------------

const PLANT_STRINGS = [
  'Batch started',
  'Batch complete',
  'Operator check OK',
  'Cleaning in place',
  'Ready',
  'Grade change',
  'Température nominale',
  'Sample sent to lab',
  'Maintenance mode',
  'Running',
];

/** System states an interface writes when it loses its instrument (fidelity §4): mostly I/O Timeout. */
const OUTAGE_STATES = [SYSTEM_STATES[0]!, SYSTEM_STATES[0]!, SYSTEM_STATES[6]!, SYSTEM_STATES[3]!];

/** An outage: [from, to) in seconds, served as one system state. */
interface Outage {
  from: number;
  to: number;
  state: DigitalValue;
}

/**
 * Interface outages overlapping [startSec, endSec): 0.8% of a tag's hours start one, 1–15 min long,
 * so ~0.1% of the values are system states, in runs as on a real archive.
 */
function outages(seed: number, i: number, startSec: number, endSec: number): Outage[] {
  const out: Outage[] = [];
  for (let h = Math.floor(startSec / 3600) - 1; h <= Math.floor(endSec / 3600); h++) {
    const x = hash32(seed, i, h, 0x0a7a6e);
    if (x % 1000 >= 8) continue;
    const from = h * 3600 + ((x >>> 10) % 3600);
    const to = from + 60 + ((x >>> 20) % 841);
    if (to > startSec && from < endSec) out.push({ from, to, state: OUTAGE_STATES[(x >>> 4) % OUTAGE_STATES.length]! });
  }
  return out;
}

/** Uniform in [0, 1) from a hash: the per-tag constants of a process. */
const unit = (seed: number, i: number, salt: number): number => hash32(seed, i, salt) / 4294967296;

/**
 * Values of a `plant` tag for events in [start, end) units: a pure function of (seed, tag, t) and
 * the bucket's generator (noise, quality), so any range is generated lazily.
 *   analog (Float32): two slow sines (hours, minutes) plus a few counts of noise, clamped to the
 *     range and quantised to the instrument resolution (values like 231.4, not random mantissas);
 *   Float64: a calculation of the same kind of process, not quantised (full mantissas);
 *   Int32: a totaliser counting up; Int16: raw transmitter counts (0–32767) with noise;
 *   Digital: a state held for 10–120 min, mostly the first state of its set; String: a message
 *     held for 1–4 h.
 * Quality: 0.2% Questionable, 0.05% Substituted, 0.05% Annotated, the rest good; outages (above).
 */
function plantValues(seed: number, meta: TagMeta, start: number, end: number): (t: number, rng: Rng, id?: string) => SimEvent {
  const i = meta.index;
  const outs = outages(seed, i, start / S, end / S);
  const ms = measurementOf(seed, i);
  const span = meta.pointType === 'Int16' ? 32767 : ms.span;
  const zero = meta.pointType === 'Int16' ? 0 : ms.zero;
  const base = zero + span * (0.3 + 0.4 * unit(seed, i, 1));
  const a1 = span * (0.02 + 0.08 * unit(seed, i, 2));
  const w1 = (2 * Math.PI) / (3600 * (2 + 22 * unit(seed, i, 3)));
  const ph1 = 2 * Math.PI * unit(seed, i, 4);
  const a2 = span * (0.002 + 0.01 * unit(seed, i, 5));
  const w2 = (2 * Math.PI) / (60 * (5 + 55 * unit(seed, i, 6)));
  const ph2 = 2 * Math.PI * unit(seed, i, 7);
  const res = meta.pointType === 'Int16' ? 1 : ms.resolution;
  const inv = Math.round(1 / res);
  const noiseAmp = res * (1 + 4 * unit(seed, i, 8));
  const rate = 0.05 + 5 * unit(seed, i, 9);
  const offset = hash32(seed, i, 10) % 1_000_000;
  const holdSec = meta.pointType === 'String' ? 3600 * (1 + (hash32(seed, i, 11) % 4)) : 600 * (1 + (hash32(seed, i, 11) % 12));
  const states = meta.digitalSet?.states ?? ['Off', 'On'];
  // Held values change every holdSec: remember the last segment's hash (one hash per segment, not per event).
  let seg = NaN;
  let segHash = 0;
  const held = (sec: number, salt: number): number => {
    const s = Math.floor(sec / holdSec);
    if (s !== seg) {
      seg = s;
      segHash = hash32(seed, i, s, salt);
    }
    return segHash;
  };

  let sec = 0;
  let noise = 0;
  const level = (): number => base + a1 * Math.sin(w1 * sec + ph1) + a2 * Math.sin(w2 * sec + ph2) + noiseAmp * noise;

  return (t: number, rng: Rng, id = ''): SimEvent => {
    const flags = rng.next();
    noise = rng.next() + rng.next() - 1;
    sec = t / S;
    // One object literal per event (the hot path of large reads): t and id first, as SimEvent.
    const d: SimEvent = {
      t,
      id,
      value: 0,
      good: true,
      questionable: flags < 0.002,
      substituted: flags >= 0.002 && flags < 0.0025,
      annotated: flags >= 0.0025 && flags < 0.003,
    };
    for (const o of outs) {
      if (sec >= o.from && sec < o.to) {
        d.value = { ...o.state };
        d.good = false;
        return d;
      }
    }
    switch (meta.pointType) {
      case 'Float32': {
        const v = Math.min(zero + span, Math.max(zero, level()));
        d.value = Math.round(v * inv) / inv;
        break;
      }
      case 'Float64':
        d.value = level();
        break;
      case 'Int32':
        d.value = (offset + Math.floor(rate * sec)) % 2147483647;
        break;
      case 'Int16':
        d.value = Math.min(32767, Math.max(0, Math.round(level())));
        break;
      case 'Digital': {
        const x = held(sec, 12) % 100;
        const k = x < 75 || states.length === 1 ? 0 : 1 + (x % (states.length - 1));
        d.value = { Name: states[k]!, Value: k, IsSystem: false };
        break;
      }
      case 'String':
        d.value = PLANT_STRINGS[held(sec, 13) % PLANT_STRINGS.length]!;
        break;
      case 'Timestamp':
        d.value = formatUnits(Math.floor(sec / 86400) * 86400 * S);
        break;
    }
    return d;
  };
}
