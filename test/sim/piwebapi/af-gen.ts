/**
 * What the simulated AF database contains: element and event frame templates, the attributes each
 * template gives its elements, and the deterministic schedule of event frames. Pure data plus small
 * functions of (seed, key); af-model.ts turns it into objects lazily.
 */

import { prng, seededInt } from './af-util.js';

export type AfValueType = 'Double' | 'Int32' | 'String' | 'Boolean' | 'DateTime';

export interface TemplateSpec {
  name: string;
  base?: string;
  instanceType: 'Element' | 'EventFrame';
  description: string;
  categories: string[];
  canBeAcknowledged?: boolean;
  severity?: string;
}

/** Element templates (with base templates) and event frame templates of the Plant and Utilities databases. */
export const TEMPLATES: TemplateSpec[] = [
  { name: 'Asset', instanceType: 'Element', description: 'Base template of physical assets', categories: ['Asset'] },
  { name: 'Enterprise', instanceType: 'Element', description: 'Company', categories: ['Organization'] },
  { name: 'Site', instanceType: 'Element', description: 'Plant site', categories: ['Organization', 'Geography'] },
  { name: 'Area', instanceType: 'Element', description: 'Production area', categories: ['Organization'] },
  { name: 'ProcessUnit', base: 'Asset', instanceType: 'Element', description: 'Process unit', categories: ['Production'] },
  { name: 'Equipment', base: 'Asset', instanceType: 'Element', description: 'Base template of equipment', categories: ['Equipment'] },
  { name: 'Pump', base: 'Equipment', instanceType: 'Element', description: 'Centrifugal pump', categories: ['Equipment', 'Rotating Equipment'] },
  { name: 'Compressor', base: 'Equipment', instanceType: 'Element', description: 'Gas compressor', categories: ['Equipment', 'Rotating Equipment'] },
  { name: 'Downtime', instanceType: 'EventFrame', description: 'Equipment downtime', categories: ['Downtime'], canBeAcknowledged: true, severity: 'Minor' },
  { name: 'Batch', instanceType: 'EventFrame', description: 'Production batch', categories: ['Production'] },
  { name: 'Phase', instanceType: 'EventFrame', description: 'Batch phase', categories: ['Production'] },
];

/** Template of a generated element by depth (1 = top of the database) and sibling index. */
export function templateForDepth(depth: number, index: number): string {
  switch (depth) {
    case 1:
      return 'Enterprise';
    case 2:
      return 'Site';
    case 3:
      return 'Area';
    case 4:
      return 'ProcessUnit';
    default:
      return index % 2 === 0 ? 'Pump' : 'Compressor';
  }
}

/** Name of a generated element: word by level and 1-based number padded to the sibling count. */
export function elementName(depth: number, index: number, siblings: number): string {
  const word = depth === 1 ? 'Enterprise' : depth === 2 ? 'Site' : depth === 3 ? 'Area' : depth === 4 ? 'Unit' : templateForDepth(depth, index);
  const width = Math.max(2, String(siblings).length);
  return `${word} ${String(index + 1).padStart(width, '0')}`;
}

/** Context a static attribute value is computed from. */
export interface ValueCtx {
  seed: number;
  /** Stable key of the owner (its GUID). */
  key: string;
  ownerName: string;
}

export interface AttrSpec {
  name: string;
  type: AfValueType;
  description?: string;
  units?: [name: string, abbreviation: string];
  /** PI Point data reference (value comes from a simulator tag through the streams routes). */
  pi?: boolean;
  value?: (c: ValueCtx) => unknown;
  config?: boolean;
  hidden?: boolean;
  excluded?: boolean;
  children?: AttrSpec[];
}

const h = (c: ValueCtx, k: string): number => seededInt(c.seed, `${c.key}:${k}`);

/** Attributes a template gives its elements (base templates' attributes come first). */
export const TEMPLATE_ATTRIBUTES: Record<string, AttrSpec[]> = {
  Asset: [
    { name: 'Asset Id', type: 'String', hidden: true, description: 'Internal asset register id', value: (c) => `A-${(h(c, 'id') % 1e6).toString().padStart(6, '0')}` },
  ],
  Enterprise: [{ name: 'Company Code', type: 'String', config: true, value: () => 'SIMCO' }],
  Site: [
    { name: 'Location', type: 'String', config: true, value: (c) => `${c.ownerName}, ${h(c, 'lat') % 90}N ${h(c, 'lon') % 180}E` },
    { name: 'Time Zone', type: 'String', config: true, value: () => 'UTC' },
  ],
  Area: [
    { name: 'Area Code', type: 'String', config: true, value: (c) => `AR-${h(c, 'code') % 1000}` },
    { name: 'Power', type: 'Double', pi: true, units: ['kilowatt', 'kW'] },
  ],
  ProcessUnit: [
    { name: 'Rated Capacity', type: 'Double', config: true, units: ['metric ton per hour', 't/h'], value: (c) => 10 + (h(c, 'cap') % 191) },
    { name: 'Throughput', type: 'Double', pi: true, units: ['metric ton per hour', 't/h'] },
    { name: 'Status', type: 'String', pi: true },
  ],
  Equipment: [
    {
      name: 'Temperature',
      type: 'Double',
      pi: true,
      units: ['degree Celsius', '°C'],
      children: [
        { name: 'High Limit', type: 'Double', config: true, units: ['degree Celsius', '°C'], value: () => 90 },
        { name: 'Low Limit', type: 'Double', config: true, units: ['degree Celsius', '°C'], value: () => 5 },
      ],
    },
    { name: 'Pressure', type: 'Double', pi: true, units: ['bar', 'bar'] },
    { name: 'Vibration', type: 'Double', pi: true, excluded: true, units: ['millimeter per second', 'mm/s'] },
    { name: 'Serial Number', type: 'String', config: true, value: (c) => `SN-${(h(c, 'sn') % 1e6).toString().padStart(6, '0')}` },
    { name: 'Rated Power', type: 'Double', config: true, units: ['kilowatt', 'kW'], value: (c) => 50 + (h(c, 'kw') % 451) },
    { name: 'Commissioned', type: 'DateTime', config: true, value: (c) => `${2010 + (h(c, 'yr') % 15)}-0${1 + (h(c, 'mo') % 9)}-15T00:00:00Z` },
  ],
  Pump: [{ name: 'Flow', type: 'Double', pi: true, units: ['cubic meter per hour', 'm3/h'] }],
  Compressor: [{ name: 'Speed', type: 'Double', pi: true, units: ['revolution per minute', 'rpm'] }],
};

/** Default search start of the generated event frames: 2026-01-01T00:00:00Z. */
export const FRAMES_START = Date.UTC(2026, 0, 1);

export const DOWNTIME_REASONS = ['Planned maintenance', 'Mechanical failure', 'Electrical fault', 'No feed', 'Blocked discharge', 'Operator break'];
export const SEVERITIES = ['Information', 'Warning', 'Minor', 'Major', 'Critical'];
export const PRODUCTS = ['Grade A', 'Grade B', 'Grade C'];

/** One planned event frame of the schedule (k = 0, 1, 2, ...). */
export interface PlannedFrame {
  k: number;
  template: 'Downtime' | 'Batch';
  name: string;
  start: number;
  /** When the frame closes on its own (the simulated clock passing it). */
  plannedEnd: number;
  severity: string;
  reason: string;
  product: string;
  /** Random picks in [0,1) for the referenced element, walked down the base fan-out. */
  refPicks: number[];
  yieldPct: number;
  rate: number;
}

const H = 3_600_000;

/**
 * Frame k of the schedule, given the start of frame k (the schedule is cumulative: gap to the next
 * frame is `gap`). Every 40th frame runs for days, so some frame is usually in progress.
 */
export function planFrame(seed: number, k: number, start: number): { frame: PlannedFrame; gap: number } {
  const r = prng(seededInt(seed, `ef:${k}`));
  const template = r() < 0.6 ? 'Downtime' : 'Batch';
  let duration = template === 'Downtime' ? 10 * 60_000 + r() * 3.8 * H : 2 * H + r() * 6 * H;
  if (k % 40 === 39) duration = 48 * H + r() * 72 * H;
  duration = Math.round(duration / 1000) * 1000;
  const gap = Math.round((2 * H + r() * 8 * H) / 1000) * 1000;
  const frame: PlannedFrame = {
    k,
    template,
    name: `${template}_${String(k + 1).padStart(5, '0')}`,
    start,
    plannedEnd: start + duration,
    severity: template === 'Downtime' ? SEVERITIES[2 + Math.floor(r() * 3)]! : 'None',
    reason: DOWNTIME_REASONS[Math.floor(r() * DOWNTIME_REASONS.length)]!,
    product: PRODUCTS[Math.floor(r() * PRODUCTS.length)]!,
    refPicks: [r(), r(), r(), r(), r()],
    yieldPct: Math.round((85 + r() * 14) * 100) / 100,
    rate: Math.round((5 + r() * 45) * 10) / 10,
  };
  return { frame, gap };
}

/** Batch phases: name and share of the batch duration at which each starts/ends. */
export const PHASES: Array<[name: string, from: number, to: number, setpoint: number]> = [
  ['Charge', 0, 0.2, 25],
  ['React', 0.2, 0.7, 80],
  ['Discharge', 0.7, 1, 40],
];
