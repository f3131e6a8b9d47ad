/**
 * The simulated PI point catalog. Point metadata is a pure function of (seed, index) so 100,000
 * tags cost no memory; only what the control API changes (renames, deletions, added tags) is stored.
 */
import type { WebIdType } from '../../../agent/pi/webid.js';
import { onServer, webIds2, type SimWebIds } from './webids.js';
import { hash32 } from './prng.js';

export const SERVER_NAME = 'SIMPI';

/** Generation behaviour of a tag; its PointType follows from it. */
export type TagKind = 'FLOAT32' | 'FLOAT64' | 'INT32' | 'DIGITAL' | 'STRING' | 'TIMESTAMP' | 'FAST' | 'GAPPY' | 'BURST' | 'INT16';
/** Blob: a point type PI Web API does not read (fidelity §2 lists it; §10 "501 unsupported value type"). */
export type PointType = 'Float32' | 'Float64' | 'Int32' | 'Int16' | 'Digital' | 'String' | 'Timestamp' | 'Blob';

/**
 * Which tags a simulator has: `test` (default) every kind early and often, for the tests;
 * `plant` the point-type mix of a real plant, with values from smooth processes (series.ts).
 */
export type TagMix = 'test' | 'plant';

/** Tag index i has kind KIND_PATTERN[i % 20]: every kind appears within the first nine tags. */
export const KIND_PATTERN: readonly TagKind[] = [
  'FLOAT32',
  'FLOAT64',
  'INT32',
  'DIGITAL',
  'STRING',
  'TIMESTAMP',
  'FAST',
  'GAPPY',
  'BURST',
  'FLOAT32',
  'FLOAT32',
  'FLOAT64',
  'INT32',
  'FLOAT32',
  'DIGITAL',
  'FLOAT32',
  'FLOAT64',
  'FLOAT32',
  'FLOAT32',
  'STRING',
];

/**
 * The `plant` mix, tag index i has kind PLANT_PATTERN[i % 20]: Float32 (PI's default point type)
 * 70%, Float64 5% (calculations), Int32 5% (totalisers), Int16 5% (raw counts), Digital 10%,
 * String 5%. Any 20 consecutive tags carry the whole mix.
 */
export const PLANT_PATTERN: readonly TagKind[] = [
  'FLOAT32',
  'FLOAT32',
  'DIGITAL',
  'FLOAT32',
  'FLOAT32',
  'FLOAT64',
  'FLOAT32',
  'FLOAT32',
  'INT32',
  'FLOAT32',
  'FLOAT32',
  'STRING',
  'FLOAT32',
  'FLOAT32',
  'DIGITAL',
  'FLOAT32',
  'FLOAT32',
  'INT16',
  'FLOAT32',
  'FLOAT32',
];

export const POINT_TYPE: Record<TagKind, PointType> = {
  FLOAT32: 'Float32',
  FLOAT64: 'Float64',
  INT32: 'Int32',
  DIGITAL: 'Digital',
  STRING: 'String',
  TIMESTAMP: 'Timestamp',
  FAST: 'Float64',
  GAPPY: 'Float32',
  BURST: 'Float64',
  INT16: 'Int16',
};

/**
 * What a `plant` analog tag measures: its units, its range (zero, span) and the resolution of the
 * instrument, to which the served values are quantised (a 0.1 °C transmitter never reports 0.0137).
 */
export interface Measurement {
  name: string;
  units: string;
  zero: number;
  span: number;
  resolution: number;
}
export const MEASUREMENTS: readonly Measurement[] = [
  { name: 'temperature', units: '°C', zero: 0, span: 400, resolution: 0.1 },
  { name: 'pressure', units: 'bar', zero: 0, span: 40, resolution: 0.01 },
  { name: 'flow', units: 'm3/h', zero: 0, span: 500, resolution: 0.1 },
  { name: 'mass flow', units: 'kg/h', zero: 0, span: 20000, resolution: 1 },
  { name: 'level', units: '%', zero: 0, span: 100, resolution: 0.1 },
  { name: 'differential pressure', units: 'kPa', zero: 0, span: 250, resolution: 0.01 },
  { name: 'speed', units: 'rpm', zero: 0, span: 3600, resolution: 1 },
  { name: 'motor current', units: 'A', zero: 0, span: 200, resolution: 0.01 },
];

/** The measurement of a `plant` tag (analog tags only use it). */
export function measurementOf(seed: number, i: number): Measurement {
  return MEASUREMENTS[hash32(seed, i, 78) % MEASUREMENTS.length]!;
}

export interface DigitalSet {
  name: string;
  states: string[];
}
export const DIGITAL_SETS: readonly DigitalSet[] = [
  { name: 'Modes', states: ['Manual', 'Auto', 'Cascade', 'Off'] },
  { name: 'OnOff', states: ['Off', 'On'] },
  { name: 'AlarmState', states: ['Normal', 'Warning', 'Alarm', 'Trip'] },
];

const UNITS = ['°C', 'bar', 'm3/h', 'kg/h', '%', 'kPa', 'rpm', 'A'];
const UNIT_NAMES: Record<string, string> = {
  '°C': 'degree Celsius',
  bar: 'bar',
  'm3/h': 'cubic meter per hour',
  'kg/h': 'kilogram per hour',
  '%': 'percent',
  kPa: 'kilopascal',
  rpm: 'revolutions per minute',
  A: 'ampere',
  count: 'count',
};
const POINT_SOURCES = ['OPC', 'OPC', 'MODBUS', 'CALC', 'OPC', 'MANUAL', 'MODBUS'];
const AREAS = ['Reactor', 'Boiler', 'Compressor', 'Pump', 'Dryer', 'Mixer', 'Kiln', 'Furnace'];
const MEASURES: Record<TagKind, string> = {
  FLOAT32: 'temperature',
  FLOAT64: 'flow',
  INT32: 'cycle counter',
  DIGITAL: 'mode',
  STRING: 'operator note',
  TIMESTAMP: 'last maintenance',
  FAST: 'vibration',
  GAPPY: 'lab sample',
  BURST: 'batch weight',
  INT16: 'raw counts',
};

export interface TagMeta {
  index: number;
  /** PI point id (int32), stable across renames. */
  id: number;
  name: string;
  kind: TagKind;
  pointType: PointType;
  pointClass: 'classic';
  digitalSet?: DigitalSet;
  /** UnitsAbbreviation; '' when none. */
  units: string;
  engineeringUnits: string;
  descriptor: string;
  pointSource: string;
  span: number;
  zero: number;
  step: boolean;
  future: false;
  displayDigits: number;
  /** Earliest simulated data, in units (1/65536 s); undefined = the simulator's history start. */
  createdAt?: number;
}

interface AddedTag {
  name: string;
  kind: TagKind;
  createdAt: number;
}

export class TagCatalog {
  readonly serverGuid: string;
  private readonly pad: number;
  private readonly renamed = new Map<number, string>();
  /** Point types changed by the control API (a PI admin retyping a point). */
  private readonly retyped = new Map<number, PointType>();
  /** Upper-cased custom name → index, for renamed and added tags. */
  private readonly byCustomName = new Map<string, number>();
  private readonly deleted = new Set<number>();
  private readonly added: AddedTag[] = [];

  constructor(
    private readonly seed: number,
    readonly baseCount: number,
    serverGuid: string,
    readonly mix: TagMix = 'test',
    /** How the server writes WebIDs (webids.ts). */
    readonly webIds: SimWebIds = webIds2(),
  ) {
    this.serverGuid = serverGuid;
    this.pad = Math.max(5, String(Math.max(0, baseCount - 1)).length);
  }

  /** Every index ever issued (including deleted ones), so callers loop `0..size()-1`. */
  size(): number {
    return this.baseCount + this.added.length;
  }

  exists(i: number): boolean {
    return Number.isInteger(i) && i >= 0 && i < this.size() && !this.deleted.has(i);
  }

  /** Live tags in index order. */
  *live(): Generator<number> {
    for (let i = 0; i < this.size(); i++) if (!this.deleted.has(i)) yield i;
  }

  liveCount(): number {
    return this.size() - this.deleted.size;
  }

  kind(i: number): TagKind {
    if (i >= this.baseCount) return this.added[i - this.baseCount]!.kind;
    const pattern = this.mix === 'plant' ? PLANT_PATTERN : KIND_PATTERN;
    return pattern[i % pattern.length]!;
  }

  /** Generated names read `SIM.<KIND>.<index>`, e.g. `SIM.FLOAT32.00000`. */
  defaultName(i: number): string {
    return `SIM.${this.kind(i)}.${String(i).padStart(this.pad, '0')}`;
  }

  name(i: number): string {
    const r = this.renamed.get(i);
    if (r !== undefined) return r;
    if (i >= this.baseCount) return this.added[i - this.baseCount]!.name;
    return this.defaultName(i);
  }

  path(i: number): string {
    return `\\\\${SERVER_NAME}\\${this.name(i)}`;
  }

  /** A point's id is its data server's GUID and its point id (the spec's `I1DP` example: 32 characters). */
  webId(i: number, type: WebIdType = 'Full'): string {
    return this.webIds.encode({ marker: 'DP', guids: [this.serverGuid], pointId: i + 1 }, type, this.path(i));
  }

  meta(i: number): TagMeta {
    const kind = this.kind(i);
    const pointType = this.retyped.get(i) ?? POINT_TYPE[kind];
    const h = hash32(this.seed, i, 77);
    let units = '';
    if (pointType === 'Float32' || pointType === 'Float64') units = UNITS[h % UNITS.length]!;
    else if (pointType === 'Int32' || pointType === 'Int16') units = 'count';
    const area = `${AREAS[Math.floor(i / 20) % AREAS.length]} ${1 + (Math.floor(i / 160) % 50)}`;
    const m: TagMeta = {
      index: i,
      id: i + 1,
      name: this.name(i),
      kind,
      pointType,
      pointClass: 'classic',
      units,
      engineeringUnits: units === '' ? '' : (UNIT_NAMES[units] ?? units),
      descriptor: `${area} ${MEASURES[kind]}`,
      pointSource: POINT_SOURCES[i % POINT_SOURCES.length]!,
      span: pointType === 'Int32' ? 1000000 : pointType === 'Digital' || pointType === 'String' || pointType === 'Timestamp' ? 0 : 200,
      zero: 0,
      step: pointType !== 'Float32' && pointType !== 'Float64',
      future: false,
      displayDigits: -5,
    };
    if (pointType === 'Digital') m.digitalSet = DIGITAL_SETS[Math.floor(i / 20) % DIGITAL_SETS.length]!;
    if (this.mix === 'plant') plantMeta(m, this.seed, area);
    if (i >= this.baseCount) m.createdAt = this.added[i - this.baseCount]!.createdAt;
    return m;
  }

  /** Case-insensitive lookup by tag name (PI names are case-insensitive). */
  indexByName(name: string): number | undefined {
    const up = name.toUpperCase();
    const custom = this.byCustomName.get(up);
    if (custom !== undefined) return this.exists(custom) ? custom : undefined;
    const m = /^SIM\.[A-Z0-9]+\.(\d+)$/.exec(up);
    if (!m) return undefined;
    const i = Number(m[1]);
    if (i >= this.baseCount || this.renamed.has(i) || !this.exists(i)) return undefined;
    return this.defaultName(i).toUpperCase() === up ? i : undefined;
  }

  /** `\\SIMPI\TAG` (or `SIMPI\TAG`) → index. */
  indexByPath(path: string): number | undefined {
    const p = path.replace(/^\\\\/, '');
    const cut = p.indexOf('\\');
    if (cut < 0) return undefined;
    if (p.slice(0, cut).toUpperCase() !== SERVER_NAME) return undefined;
    return this.indexByName(p.slice(cut + 1));
  }

  /**
   * Full and IDOnly ids resolve by point id (they survive renames), PathOnly by path
   * (fidelity §9). Returns undefined for a well-formed id of no live point; throws on garbage.
   */
  indexByWebId(webId: string): number | undefined {
    const p = this.webIds.decode(webId);
    if (p.marker !== 'DP') return undefined;
    if (p.type === 'PathOnly') return p.name === undefined ? undefined : this.indexByPath(p.name);
    if (!onServer(p, this.serverGuid) || p.pointId === undefined) return undefined;
    const i = p.pointId - 1;
    return this.exists(i) ? i : undefined;
  }

  add(name: string, kind: TagKind, createdAt: number): number {
    if (this.indexByName(name) !== undefined) throw new Error(`A point named '${name}' already exists.`);
    const i = this.size();
    this.added.push({ name, kind, createdAt });
    this.byCustomName.set(name.toUpperCase(), i);
    return i;
  }

  rename(i: number, newName: string): void {
    if (!this.exists(i)) throw new Error(`No point with index ${i}.`);
    const other = this.indexByName(newName);
    if (other !== undefined && other !== i) throw new Error(`A point named '${newName}' already exists.`);
    this.byCustomName.delete(this.name(i).toUpperCase());
    this.renamed.set(i, newName);
    this.byCustomName.set(newName.toUpperCase(), i);
  }

  /** Change a point's PointType (its values are generated as before: only the type PI reports changes). */
  setPointType(i: number, type: PointType): void {
    if (!this.exists(i)) throw new Error(`No point with index ${i}.`);
    this.retyped.set(i, type);
  }

  remove(i: number): void {
    if (!this.exists(i)) throw new Error(`No point with index ${i}.`);
    this.byCustomName.delete(this.name(i).toUpperCase());
    this.deleted.add(i);
  }
}

/** A `plant` tag's units, range and descriptor follow its measurement (analog) or its role. */
function plantMeta(m: TagMeta, seed: number, area: string): void {
  if (m.pointType === 'Float32' || m.pointType === 'Float64') {
    const ms = measurementOf(seed, m.index);
    m.units = ms.units;
    m.engineeringUnits = UNIT_NAMES[ms.units] ?? ms.units;
    m.zero = ms.zero;
    m.span = ms.span;
    m.descriptor = `${area} ${m.pointType === 'Float64' ? 'calculated ' : ''}${ms.name}`;
  } else if (m.pointType === 'Int32') {
    m.descriptor = `${area} totaliser`;
  } else if (m.pointType === 'Int16') {
    m.span = 32767;
    m.descriptor = `${area} raw transmitter counts`;
  }
}
