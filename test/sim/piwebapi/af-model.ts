/**
 * The simulated PI Asset Framework (fidelity §6, §7, §9): one asset server `SIMAF` with the databases
 * `Plant` (deep hierarchy, event frames) and `Utilities` (small). Everything is derived from the seed;
 * children and attributes are created on first access so a level with thousands of children costs
 * nothing until read. Control methods change the model (rename, move, delete, open/close frames) and
 * `truth*()` lists what a connector should end up with.
 */

import type { WebIdMarker, WebIdParts, WebIdType } from '../../../agent/pi/webid.js';
import {
  DOWNTIME_REASONS,
  FRAMES_START,
  PHASES,
  TEMPLATE_ATTRIBUTES,
  TEMPLATES,
  elementName,
  planFrame,
  templateForDepth,
  type AfValueType,
  type AttrSpec,
  type PlannedFrame,
} from './af-gen.js';
import { BadRequest, sameName, seededGuid, seededInt } from './af-util.js';
import { objectGuid, onServer, webIds2, type SimObjectId, type SimWebIds } from './webids.js';

export interface AfTags {
  count(): number;
  name(i: number): string;
  path(i: number): string;
  webId(i: number): string;
}

export interface AfModelOptions {
  seed: number;
  /** Simulated clock, ms since epoch. */
  now: () => number;
  tags: AfTags;
  /** Children per level of `Plant`: enterprises, sites, areas, units, equipment. Default [1, 2, 3, 3, 3]. */
  fanOut?: number[];
  /**
   * Wide levels of `Plant`: depth → number of children of the first node one level up (depth 1 = the
   * database itself). Children beyond the normal fan-out are leaves, so `{ 4: 1200 }` adds 1,198
   * units under the first area and nothing else.
   */
  wide?: Record<number, number>;
  /** Event frame schedule of `Plant`; `false` for none. Default: from 2026-01-01, one every 2–10 h. */
  eventFrames?: false | { start?: number };
  /** Base of `Links` URLs (e.g. `http://127.0.0.1:PORT/piwebapi`); default `/piwebapi`. */
  baseUrl?: () => string;
  /** Server time zone for `t`, `y` and naive times in queries (fidelity §4); default UTC. */
  timeZone?: string;
  /** How this server writes WebIDs (webids.ts); default WebID 2.0, Full by default. */
  webIds?: SimWebIds;
}

/** EndTime of a frame still in progress (fidelity §7). */
export const OPEN_END = Number.POSITIVE_INFINITY;

export interface AfServer {
  kind: 'server';
  guid: string;
  name: string;
  description: string;
  databases: AfDatabase[];
}

export interface AfDatabase {
  kind: 'database';
  guid: string;
  name: string;
  description: string;
  server: AfServer;
  fanOut: number[];
  wide: Map<number, number>;
  roots?: AfElement[];
  templates: AfTemplate[];
  /** Top-level event frames. */
  frames: AfFrame[];
  framePlan?: { nextK: number; nextStart: number };
}

export interface AfTemplate {
  kind: 'template';
  guid: string;
  name: string;
  description: string;
  db: AfDatabase;
  base?: AfTemplate;
  instanceType: 'Element' | 'EventFrame';
  categories: string[];
  canBeAcknowledged: boolean;
  severity: string;
}

export interface AfElement {
  kind: 'element';
  guid: string;
  name: string;
  description: string;
  db: AfDatabase;
  parent?: AfElement;
  template?: AfTemplate;
  categories: string[];
  /** Generator position (index at each level) for generated elements; children come from it. */
  gen?: { indexes: number[]; leaf: boolean };
  children?: AfElement[];
  attrs?: AfAttribute[];
  deleted: boolean;
}

export interface AfAttribute {
  kind: 'attribute';
  guid: string;
  name: string;
  description: string;
  owner: AfElement | AfFrame;
  parent?: AfAttribute;
  children: AfAttribute[];
  type: AfValueType;
  units?: [string, string];
  /** Tag index for PI Point data references. */
  tagIndex?: number;
  value?: unknown;
  /** Live value (event frame attributes evaluated until captured). */
  compute?: (now: number) => unknown;
  isConfig: boolean;
  isHidden: boolean;
  isExcluded: boolean;
  categories: string[];
  deleted: boolean;
}

export interface AfFrame {
  kind: 'frame';
  guid: string;
  name: string;
  description: string;
  db: AfDatabase;
  parent?: AfFrame;
  template: AfTemplate;
  categories: string[];
  start: number;
  /** Set when closed explicitly. */
  end?: number;
  /** Closes on its own when the clock passes this. */
  plannedEnd?: number;
  severity: string;
  refs: AfElement[];
  children: AfFrame[];
  attrs?: AfAttribute[];
  plan?: PlannedFrame;
  phase?: number;
  deleted: boolean;
}

export type AfObject = AfServer | AfDatabase | AfTemplate | AfElement | AfAttribute | AfFrame;

export interface TruthElement {
  webId: string;
  id: string;
  name: string;
  path: string;
  parentWebId: string | null;
  depth: number;
  databasePath: string;
  templateName: string;
  categoryNames: string[];
  description: string;
  hasChildren: boolean;
}
export interface TruthAttribute {
  webId: string;
  id: string;
  name: string;
  path: string;
  ownerWebId: string;
  ownerKind: 'element' | 'eventframe';
  parentAttributeWebId: string | null;
  type: string;
  dataReference: string;
  configString: string;
  pointIndex: number | null;
  pointWebId: string | null;
  value: unknown;
  isHidden: boolean;
  isExcluded: boolean;
  isConfigurationItem: boolean;
}
export interface TruthEventFrame {
  webId: string;
  id: string;
  name: string;
  path: string;
  parentWebId: string | null;
  databasePath: string;
  templateName: string;
  categoryNames: string[];
  startTime: number;
  endTime: number | null;
  severity: string;
  refElementWebIds: string[];
  attributes: Array<{ webId: string; name: string; path: string; value: unknown }>;
}

const MARKER: Record<AfObject['kind'], WebIdMarker> = {
  server: 'RS',
  database: 'RD',
  template: 'ET',
  element: 'Em',
  attribute: 'Ab',
  frame: 'Fm',
};

export class AfModel {
  readonly seed: number;
  readonly now: () => number;
  readonly tags: AfTags;
  readonly server: AfServer;
  private readonly byGuid = new Map<string, AfObject>();
  private allMaterialized = false;
  private created = 0;
  private readonly frameStart: number | undefined;
  readonly baseUrl: () => string;
  readonly timeZone: string;
  readonly webIds: SimWebIds;

  constructor(opts: AfModelOptions) {
    this.webIds = opts.webIds ?? webIds2();
    this.seed = opts.seed;
    this.baseUrl = opts.baseUrl ?? (() => '/piwebapi');
    this.timeZone = opts.timeZone ?? 'UTC';
    this.now = opts.now;
    this.tags = opts.tags;
    this.frameStart = opts.eventFrames === false ? undefined : (opts.eventFrames?.start ?? FRAMES_START);
    this.server = { kind: 'server', guid: seededGuid(this.seed, 'server:SIMAF'), name: 'SIMAF', description: 'Simulated PI AF Server', databases: [] };
    this.register(this.server);
    const plant = this.addDatabase('Plant', 'Simulated plant asset model', opts.fanOut ?? [1, 2, 3, 3, 3], opts.wide ?? {});
    if (this.frameStart !== undefined) plant.framePlan = { nextK: 0, nextStart: this.frameStart };
    this.addDatabase('Utilities', 'Utilities asset model', [1, 1, 1, 1, 2], {});
  }

  private register(o: AfObject): void {
    this.byGuid.set(o.guid, o);
  }

  private addDatabase(name: string, description: string, fanOut: number[], wide: Record<number, number>): AfDatabase {
    const db: AfDatabase = {
      kind: 'database',
      guid: seededGuid(this.seed, `db:${name}`),
      name,
      description,
      server: this.server,
      fanOut,
      wide: new Map(Object.entries(wide).map(([k, v]) => [Number(k), v])),
      templates: [],
      frames: [],
    };
    this.register(db);
    this.server.databases.push(db);
    for (const t of TEMPLATES) {
      const tpl: AfTemplate = {
        kind: 'template',
        guid: seededGuid(this.seed, `tpl:${name}:${t.name}`),
        name: t.name,
        description: t.description,
        db,
        instanceType: t.instanceType,
        categories: t.categories,
        canBeAcknowledged: t.canBeAcknowledged ?? false,
        severity: t.severity ?? 'None',
      };
      db.templates.push(tpl);
      this.register(tpl);
    }
    for (const t of TEMPLATES) if (t.base) this.template(db, t.name)!.base = this.template(db, t.base);
    return db;
  }

  template(db: AfDatabase, name: string): AfTemplate | undefined {
    return db.templates.find((t) => sameName(t.name, name));
  }

  /** Does `t` equal `name` or derive from it (templateName filters, fidelity §6)? */
  static derivesFrom(t: AfTemplate | undefined, name: string): boolean {
    for (let x = t; x; x = x.base) if (sameName(x.name, name)) return true;
    return false;
  }

  // ---------- paths and WebIDs ----------

  pathOf(o: AfObject): string {
    switch (o.kind) {
      case 'server':
        return `\\\\${o.name}`;
      case 'database':
        return `\\\\${o.server.name}\\${o.name}`;
      case 'template':
        return `${this.pathOf(o.db)}\\ElementTemplates[${o.name}]`;
      case 'element':
        return `${o.parent ? this.pathOf(o.parent) : this.pathOf(o.db)}\\${o.name}`;
      case 'frame':
        return `${o.parent ? this.pathOf(o.parent) : this.pathOf(o.db)}\\EventFrames[${o.name}]`;
      case 'attribute':
        return `${o.parent ? this.pathOf(o.parent) : this.pathOf(o.owner)}|${o.name}`;
    }
  }

  /** WebIDs are rendered thousands of times per page; cache them per object until its path changes. */
  private readonly widCache = new WeakMap<AfObject, Map<WebIdType, [path: string, webId: string]>>();

  webIdOf(o: AfObject, type: WebIdType = 'Full'): string {
    const path = this.pathOf(o);
    let m = this.widCache.get(o);
    const hit = m?.get(type);
    if (hit && hit[0] === path) return hit[1];
    const w = this.encodeFor(o, type, path);
    if (!m) this.widCache.set(o, (m = new Map()));
    m.set(type, [path, w]);
    return w;
  }

  /**
   * What identifies an object in its WebID: every AF object's id starts with its AF server's GUID
   * (the PISystem ID), an attribute's carries its owner's GUID and owner marker (`E` element, `F`
   * event frame) before its own (webid-encoded-datatypes.html; the swagger's `I1Em`, `I1RD`,
   * `I1ET`, `I1Fm` examples hold 2 GUIDs, `I1AbE` 3).
   */
  private idOf(o: AfObject): SimObjectId {
    const server = this.server.guid;
    switch (o.kind) {
      case 'server':
        return { marker: 'RS', guids: [server] };
      case 'attribute':
        return { marker: 'Ab', owner: o.owner.kind === 'element' ? 'E' : 'F', guids: [server, o.owner.guid, o.guid] };
      default:
        return { marker: MARKER[o.kind], guids: [server, o.guid] };
    }
  }

  private encodeFor(o: AfObject, type: WebIdType, path: string): string {
    return this.webIds.encode(this.idOf(o), type, path);
  }

  private decodeSafe(webId: string): WebIdParts | undefined {
    try {
      return this.webIds.decode(webId);
    } catch {
      return undefined;
    }
  }

  /**
   * Resolve a WebID of any accepted type (Full, IDOnly, PathOnly; fidelity §9). Throws BadRequest on a
   * malformed id or one for another kind of object; returns undefined when nothing has that id.
   */
  resolve<K extends AfObject['kind']>(webId: string, kind: K): Extract<AfObject, { kind: K }> | undefined {
    let parts: WebIdParts;
    try {
      parts = this.webIds.decode(webId);
    } catch {
      throw new BadRequest(`Unknown or invalid WebID format: '${webId}'.`);
    }
    if (parts.marker !== MARKER[kind]) throw new BadRequest(`The WebID '${webId}' does not identify an object of type ${kind}.`);
    const found = this.lookup(parts, kind);
    return found as Extract<AfObject, { kind: K }> | undefined;
  }

  private lookup(parts: WebIdParts, kind: AfObject['kind']): AfObject | undefined {
    this.syncFrames();
    const guid = objectGuid(parts);
    // An id naming another AF server's object (its first GUID) is nothing here.
    if (guid !== undefined && !onServer(parts, this.server.guid)) return undefined;
    const fromGuid = (): AfObject | undefined => {
      const o = guid ? this.byGuid.get(guid) : undefined;
      return o && o.kind === kind && !('deleted' in o && o.deleted) ? o : undefined;
    };
    let o = fromGuid();
    if (o) return o;
    if (parts.name !== undefined) {
      const p = this.findByPath(`\\\\${parts.name}`);
      // A Full id names its object by GUID; the path only helps find it when not yet created.
      if (p && p.kind === kind && (guid === undefined || p.guid === guid)) return p;
    }
    if (guid && !this.allMaterialized) {
      this.materializeAll();
      o = fromGuid();
    }
    return o;
  }

  /** Any AF object by path: `\\SIMAF`, `\\SIMAF\Plant`, elements, `|attributes`, `EventFrames[..]`, `ElementTemplates[..]`. */
  findByPath(path: string): AfObject | undefined {
    if (!path.startsWith('\\\\')) return undefined;
    this.syncFrames();
    const bar = path.indexOf('|');
    const objPath = bar < 0 ? path : path.slice(0, bar);
    const segs = objPath.slice(2).split('\\');
    if (segs.length === 0 || !sameName(segs[0]!, this.server.name)) return undefined;
    let cur: AfObject = this.server;
    if (segs.length > 1) {
      const db = this.server.databases.find((d) => sameName(d.name, segs[1]!));
      if (!db) return undefined;
      cur = db;
      for (let i = 2; i < segs.length; i++) {
        const s = segs[i]!;
        const ef = /^EventFrames\[(.*)\]$/i.exec(s);
        const et = /^ElementTemplates\[(.*)\]$/i.exec(s);
        let next: AfObject | undefined;
        if (ef) {
          const list: AfFrame[] = cur.kind === 'database' ? cur.frames : cur.kind === 'frame' ? cur.children : [];
          if (cur.kind !== 'database' && cur.kind !== 'frame') return undefined;
          next = list.find((f) => !f.deleted && this.frameVisible(f) && sameName(f.name, ef[1]!));
        } else if (et && cur.kind === 'database' && i === 2) {
          next = this.template(cur, et[1]!);
        } else if (cur.kind === 'database' || cur.kind === 'element') {
          const list: AfElement[] = cur.kind === 'database' ? this.rootsOf(cur) : this.childrenOf(cur);
          next = list.find((e) => sameName(e.name, s));
        }
        if (!next) return undefined;
        cur = next;
      }
    }
    if (bar < 0) return cur;
    if (cur.kind !== 'element' && cur.kind !== 'frame') return undefined;
    let attrs = this.attributesOf(cur);
    let a: AfAttribute | undefined;
    for (const name of path.slice(bar + 1).split('|')) {
      a = attrs.find((x) => sameName(x.name, name));
      if (!a) return undefined;
      attrs = a.children.filter((c) => !c.deleted);
    }
    return a;
  }

  // ---------- elements ----------

  private genCount(db: AfDatabase, indexes: number[], leaf: boolean): { count: number; base: number } {
    const d = indexes.length;
    if (leaf || d >= 5) return { count: 0, base: 0 };
    const base = db.fanOut[d] ?? 0;
    const wide = db.wide.get(d + 1);
    if (wide !== undefined && indexes.every((i) => i === 0)) return { count: wide, base };
    return { count: base, base };
  }

  private makeChildren(db: AfDatabase, parent: AfElement | undefined): AfElement[] {
    const indexes = parent?.gen?.indexes ?? [];
    const { count, base } = parent && !parent.gen ? { count: 0, base: 0 } : this.genCount(db, indexes, parent?.gen?.leaf ?? false);
    const out: AfElement[] = [];
    const depth = indexes.length + 1;
    for (let i = 0; i < count; i++) {
      const ix = [...indexes, i];
      const template = this.template(db, templateForDepth(depth, i))!;
      const name = elementName(depth, i, count);
      const el: AfElement = {
        kind: 'element',
        guid: seededGuid(this.seed, `el:${db.name}:${ix.join('.')}`),
        name,
        description: parent ? `${template.description} in ${parent.name}` : template.description,
        db,
        template,
        categories: [...template.categories],
        gen: { indexes: ix, leaf: (parent?.gen?.leaf ?? false) || i >= base },
        deleted: false,
      };
      if (parent) el.parent = parent;
      this.register(el);
      out.push(el);
    }
    return out;
  }

  rootsOf(db: AfDatabase): AfElement[] {
    if (!db.roots) db.roots = this.makeChildren(db, undefined);
    return db.roots;
  }

  childrenOf(el: AfElement): AfElement[] {
    if (!el.children) el.children = this.makeChildren(el.db, el);
    return el.children;
  }

  hasChildren(el: AfElement): boolean {
    if (el.children) return el.children.length > 0;
    return el.gen ? this.genCount(el.db, el.gen.indexes, el.gen.leaf).count > 0 : false;
  }

  depthOf(el: AfElement): number {
    let d = 1;
    for (let p = el.parent; p; p = p.parent) d++;
    return d;
  }

  /** Elements below a database or element: direct children, or the whole subtree (pre-order). */
  descendants(root: AfDatabase | AfElement, full: boolean): AfElement[] {
    const top = root.kind === 'database' ? this.rootsOf(root) : this.childrenOf(root);
    if (!full) return [...top];
    const out: AfElement[] = [];
    const walk = (list: AfElement[]): void => {
      for (const e of list) {
        out.push(e);
        if (this.hasChildren(e)) walk(this.childrenOf(e));
      }
    };
    walk(top);
    return out;
  }

  // ---------- attributes ----------

  private pickTag(key: string): number | undefined {
    const n = this.tags.count();
    return n > 0 ? seededInt(this.seed, `tag:${key}`) % n : undefined;
  }

  private makeAttribute(owner: AfElement | AfFrame, parent: AfAttribute | undefined, spec: AttrSpec, guid?: string): AfAttribute {
    const rel = parent ? `${parent.guid}|${spec.name}` : spec.name;
    const a: AfAttribute = {
      kind: 'attribute',
      guid: guid ?? seededGuid(this.seed, `attr:${owner.guid}:${rel}`),
      name: spec.name,
      description: spec.description ?? '',
      owner,
      children: [],
      type: spec.type,
      isConfig: spec.config ?? false,
      isHidden: spec.hidden ?? false,
      isExcluded: spec.excluded ?? false,
      categories: spec.pi ? ['Process Data'] : spec.config ? ['Nameplate'] : [],
      deleted: false,
    };
    if (parent) a.parent = parent;
    if (spec.units) a.units = spec.units;
    if (spec.pi) {
      const t = this.pickTag(`${owner.guid}:${rel}`);
      if (t !== undefined) a.tagIndex = t;
    } else if (spec.value) {
      a.value = spec.value({ seed: this.seed, key: owner.guid, ownerName: owner.name });
    }
    this.register(a);
    a.children = (spec.children ?? []).map((c) => this.makeAttribute(owner, a, c));
    return a;
  }

  /** Top-level attributes of an element or frame (including hidden and excluded ones). */
  attributesOf(owner: AfElement | AfFrame): AfAttribute[] {
    if (!owner.attrs) {
      const specs: AttrSpec[] = [];
      if (owner.kind === 'element') {
        const chain: AfTemplate[] = [];
        if (owner.gen) for (let t = owner.template; t; t = t.base) chain.unshift(t);
        for (const t of chain) specs.push(...(TEMPLATE_ATTRIBUTES[t.name] ?? []));
        owner.attrs = specs.map((s) => this.makeAttribute(owner, undefined, s));
      } else {
        owner.attrs = this.frameAttributes(owner);
      }
    }
    return owner.attrs.filter((a) => !a.deleted);
  }

  /** Attributes below an owner or attribute; `full` adds child attributes at every depth. */
  attributesBelow(root: AfElement | AfFrame | AfAttribute, full: boolean): AfAttribute[] {
    const top = root.kind === 'attribute' ? root.children.filter((c) => !c.deleted) : this.attributesOf(root);
    if (!full) return top;
    const out: AfAttribute[] = [];
    const walk = (list: AfAttribute[]): void => {
      for (const a of list) {
        out.push(a);
        walk(a.children.filter((c) => !c.deleted));
      }
    };
    walk(top);
    return out;
  }

  attributeValue(a: AfAttribute): unknown {
    return a.compute ? a.compute(this.now()) : (a.value ?? null);
  }

  // ---------- event frames ----------

  /** Create the scheduled frames whose start the clock has passed (fidelity §7). */
  syncFrames(): void {
    const now = this.now();
    for (const db of this.server.databases) {
      const plan = db.framePlan;
      if (!plan) continue;
      while (plan.nextStart <= now) {
        const { frame, gap } = planFrame(this.seed, plan.nextK, plan.nextStart);
        db.frames.push(this.makePlannedFrame(db, frame));
        plan.nextK++;
        plan.nextStart += gap;
      }
    }
  }

  private pickRefElement(db: AfDatabase, picks: number[], depth: number): AfElement | undefined {
    let list = this.rootsOf(db).slice(0, db.fanOut[0] ?? 0);
    let el: AfElement | undefined;
    for (let d = 0; d < depth && list.length > 0; d++) {
      el = list[Math.floor(picks[d]! * list.length)]!;
      list = this.childrenOf(el).slice(0, db.fanOut[d + 1] ?? 0);
    }
    return el && !el.deleted ? el : undefined;
  }

  private makePlannedFrame(db: AfDatabase, p: PlannedFrame): AfFrame {
    const template = this.template(db, p.template)!;
    const ref = this.pickRefElement(db, p.refPicks, p.template === 'Downtime' ? 5 : 4);
    const f: AfFrame = {
      kind: 'frame',
      guid: seededGuid(this.seed, `ef:${db.name}:${p.k}`),
      name: p.name,
      description: p.template === 'Downtime' ? `${p.reason}${ref ? ` on ${ref.name}` : ''}` : `Batch of ${p.product}`,
      db,
      template,
      categories: [...template.categories],
      start: p.start,
      plannedEnd: p.plannedEnd,
      severity: p.severity,
      refs: ref ? [ref] : [],
      children: [],
      plan: p,
      deleted: false,
    };
    this.register(f);
    if (p.template === 'Batch') {
      const dur = p.plannedEnd - p.start;
      PHASES.forEach(([name, from, to], i) => {
        const phase = this.template(db, 'Phase')!;
        const c: AfFrame = {
          kind: 'frame',
          guid: seededGuid(this.seed, `ef:${db.name}:${p.k}:${name}`),
          name,
          description: `${name} phase of ${p.name}`,
          db,
          parent: f,
          template: phase,
          categories: [...phase.categories],
          start: p.start + Math.round((dur * from) / 1000) * 1000,
          plannedEnd: p.start + Math.round((dur * to) / 1000) * 1000,
          severity: 'None',
          refs: [...f.refs],
          children: [],
          plan: p,
          phase: i,
          deleted: false,
        };
        this.register(c);
        f.children.push(c);
      });
    }
    return f;
  }

  /** Children of scheduled frames appear once the clock reaches their start. */
  frameVisible(f: AfFrame): boolean {
    return !f.deleted && f.start <= this.now();
  }

  /** Effective end: explicit close, else the planned end once passed, else OPEN_END. */
  frameEnd(f: AfFrame): number {
    if (f.end !== undefined) return f.end;
    if (f.plannedEnd !== undefined && f.plannedEnd <= this.now()) return f.plannedEnd;
    return OPEN_END;
  }

  frameChildren(f: AfFrame): AfFrame[] {
    return f.children.filter((c) => this.frameVisible(c));
  }

  framesBelow(root: AfDatabase | AfFrame, full: boolean): AfFrame[] {
    this.syncFrames();
    const top = (root.kind === 'database' ? root.frames : root.children).filter((f) => this.frameVisible(f));
    if (!full) return top;
    const out: AfFrame[] = [];
    const walk = (list: AfFrame[]): void => {
      for (const f of list) {
        out.push(f);
        walk(this.frameChildren(f));
      }
    };
    walk(top);
    return out;
  }

  /** Acknowledgement of scheduled Downtime frames: every third, 30 min after it closed. */
  frameAck(f: AfFrame): { by: string; at: number } | undefined {
    if (!f.template.canBeAcknowledged || !f.plan || f.parent || f.plan.k % 3 !== 0) return undefined;
    const end = this.frameEnd(f);
    if (end === OPEN_END || end + 1_800_000 > this.now()) return undefined;
    return { by: 'SIMAF\\operator', at: end + 1_800_000 };
  }

  private frameAttributes(f: AfFrame): AfAttribute[] {
    const p = f.plan;
    const minutes = (now: number): number => {
      const end = Math.min(this.frameEnd(f), now);
      return Math.round(((end - f.start) / 60_000) * 100) / 100;
    };
    const specs: Array<[AttrSpec, ((now: number) => unknown) | undefined]> = [];
    const tname = f.template.name;
    if (tname === 'Downtime') {
      specs.push([{ name: 'Reason', type: 'String', value: () => p?.reason ?? DOWNTIME_REASONS[0] }, undefined]);
      specs.push([{ name: 'Duration', type: 'Double', units: ['minute', 'min'] }, minutes]);
      specs.push([{ name: 'Lost Production', type: 'Double', units: ['metric ton', 't'] }, (now) => Math.round((minutes(now) / 60) * (p?.rate ?? 10) * 100) / 100]);
    } else if (tname === 'Batch') {
      specs.push([{ name: 'Product', type: 'String', value: () => p?.product ?? 'Grade A' }, undefined]);
      specs.push([{ name: 'Batch ID', type: 'String', value: () => `B${String((p?.k ?? 0) + 1).padStart(6, '0')}` }, undefined]);
      specs.push([{ name: 'Yield', type: 'Double', units: ['percent', '%'] }, () => (this.frameEnd(f) === OPEN_END ? null : (p?.yieldPct ?? 95))]);
      specs.push([{ name: 'Duration', type: 'Double', units: ['minute', 'min'] }, minutes]);
    } else if (tname === 'Phase') {
      specs.push([{ name: 'Setpoint', type: 'Double', units: ['degree Celsius', '°C'], value: () => PHASES[f.phase ?? 0]![3] }, undefined]);
    }
    return specs.map(([s, compute]) => {
      const a = this.makeAttribute(f, undefined, s);
      if (compute) a.compute = compute;
      return a;
    });
  }

  // ---------- everything (for IDOnly lookups and ground truth) ----------

  materializeAll(): void {
    this.syncFrames();
    for (const db of this.server.databases) {
      for (const el of this.descendants(db, true)) this.attributesBelow(el, true);
      for (const f of this.framesBelow(db, true)) this.attributesOf(f);
    }
    this.allMaterialized = true;
  }

  // ---------- contract with the streams module ----------

  /** Tag index serving a PI Point data reference attribute; undefined for anything else. */
  pointIndexForAttribute(webId: string): number | undefined {
    try {
      return this.resolve(webId, 'attribute')?.tagIndex;
    } catch {
      return undefined;
    }
  }

  /** WebIDs of the attributes `/streamsets/{webId}/*` reads for an element or event frame (visible, top level). */
  attributesOfElement(webId: string): string[] | undefined {
    let owner: AfElement | AfFrame | undefined;
    try {
      const kind = this.webIds.decode(webId).marker === 'Fm' ? 'frame' : 'element';
      owner = this.resolve(webId, kind);
    } catch {
      return undefined;
    }
    if (!owner) return undefined;
    return this.attributesOf(owner)
      .filter((a) => !a.isHidden && !a.isExcluded)
      .map((a) => this.webIdOf(a));
  }

  /** Name and Path of an attribute, for streamset items. */
  describeAttribute(webId: string): { Name: string; Path: string } | undefined {
    let a: AfAttribute | undefined;
    try {
      a = this.resolve(webId, 'attribute');
    } catch {
      return undefined;
    }
    return a && { Name: a.name, Path: this.pathOf(a) };
  }

  /** Value of a static (non PI Point) attribute, for stream reads of static attributes; undefined otherwise. */
  staticValue(webId: string): { value: unknown; unitsAbbreviation: string } | undefined {
    let a: AfAttribute | undefined;
    try {
      a = this.resolve(webId, 'attribute');
    } catch {
      return undefined;
    }
    if (!a || a.tagIndex !== undefined) return undefined;
    return { value: this.attributeValue(a), unitsAbbreviation: a.units?.[1] ?? '' };
  }

  // ---------- control API ----------

  private newGuid(what: string): string {
    return seededGuid(this.seed, `new:${what}:${++this.created}`);
  }

  private mustResolve<K extends AfObject['kind']>(webIdOrPath: string, kind: K): Extract<AfObject, { kind: K }> {
    const o = webIdOrPath.startsWith('\\\\') ? this.findByPath(webIdOrPath) : this.resolve(webIdOrPath, kind);
    if (!o || o.kind !== kind) throw new BadRequest(`No ${kind} '${webIdOrPath}'.`, 404);
    return o as Extract<AfObject, { kind: K }>;
  }

  /** Parent given by WebID or path: a database (top level) or an element. */
  private resolveParent(ref: string): AfDatabase | AfElement {
    if (ref.startsWith('\\\\')) {
      const o = this.findByPath(ref);
      if (o && (o.kind === 'database' || o.kind === 'element')) return o;
      throw new BadRequest(`No database or element '${ref}'.`, 404);
    }
    return this.decodeSafe(ref)?.marker === 'RD' ? this.mustResolve(ref, 'database') : this.mustResolve(ref, 'element');
  }

  private siblingsOf(parent: AfDatabase | AfElement): AfElement[] {
    return parent.kind === 'database' ? this.rootsOf(parent) : this.childrenOf(parent);
  }

  /** A new element template in a database (by WebID or path); 409 when the name is taken. */
  addTemplate(o: { database: string; name: string; description?: string }): AfTemplate {
    const db = this.mustResolve(o.database, 'database');
    if (this.template(db, o.name)) throw new BadRequest(`An element template named '${o.name}' already exists.`, 409);
    const tpl: AfTemplate = {
      kind: 'template',
      guid: this.newGuid('tpl'),
      name: o.name,
      description: o.description ?? '',
      db,
      instanceType: 'Element',
      categories: [],
      canBeAcknowledged: false,
      severity: 'None',
    };
    db.templates.push(tpl);
    this.register(tpl);
    return tpl;
  }

  addElement(o: { parent: string; name: string; templateName?: string; description?: string; categoryNames?: string[] }): AfElement {
    const parent = this.resolveParent(o.parent);
    const db = parent.kind === 'database' ? parent : parent.db;
    if (!o.name || /[\\|]/.test(o.name)) throw new BadRequest(`Invalid element name '${o.name}'.`);
    const siblings = this.siblingsOf(parent);
    if (siblings.some((s) => sameName(s.name, o.name))) throw new BadRequest(`An element named '${o.name}' already exists.`, 409);
    const template = o.templateName ? this.template(db, o.templateName) : undefined;
    if (o.templateName && !template) throw new BadRequest(`Unknown element template '${o.templateName}'.`);
    const el: AfElement = {
      kind: 'element',
      guid: this.newGuid('el'),
      name: o.name,
      description: o.description ?? '',
      db,
      categories: o.categoryNames ?? [...(template?.categories ?? [])],
      children: [],
      deleted: false,
    };
    if (template) el.template = template;
    if (parent.kind === 'element') el.parent = parent;
    // Elements added by hand get their template's attributes, like AF does.
    const specs: AttrSpec[] = [];
    for (let t = template; t; t = t.base) specs.unshift(...(TEMPLATE_ATTRIBUTES[t.name] ?? []));
    el.attrs = specs.map((s) => this.makeAttribute(el, undefined, s));
    this.register(el);
    siblings.push(el);
    return el;
  }

  renameElement(ref: string, name: string, description?: string): AfElement {
    const el = this.mustResolve(ref, 'element');
    if (!name || /[\\|]/.test(name)) throw new BadRequest(`Invalid element name '${name}'.`);
    const siblings = this.siblingsOf(el.parent ?? el.db);
    if (siblings.some((s) => s !== el && sameName(s.name, name))) throw new BadRequest(`An element named '${name}' already exists.`, 409);
    el.name = name;
    if (description !== undefined) el.description = description;
    return el;
  }

  moveElement(ref: string, newParentRef: string): AfElement {
    const el = this.mustResolve(ref, 'element');
    const np = this.resolveParent(newParentRef);
    if ((np.kind === 'database' ? np : np.db) !== el.db) throw new BadRequest('Elements can only move within their database.');
    for (let p: AfElement | undefined = np.kind === 'element' ? np : undefined; p; p = p.parent) {
      if (p === el) throw new BadRequest('Cannot move an element below itself.');
    }
    const siblings = this.siblingsOf(np);
    if (siblings.some((s) => s !== el && sameName(s.name, el.name))) throw new BadRequest(`An element named '${el.name}' already exists there.`, 409);
    const old = this.siblingsOf(el.parent ?? el.db);
    old.splice(old.indexOf(el), 1);
    siblings.push(el);
    if (np.kind === 'element') el.parent = np;
    else delete el.parent;
    return el;
  }

  deleteElement(ref: string): void {
    const el = this.mustResolve(ref, 'element');
    const list = this.siblingsOf(el.parent ?? el.db);
    list.splice(list.indexOf(el), 1);
    const drop = (e: AfElement): void => {
      e.deleted = true;
      this.byGuid.delete(e.guid);
      for (const a of e.attrs ?? []) this.dropAttribute(a);
      for (const c of e.children ?? []) drop(c);
    };
    drop(el);
  }

  private dropAttribute(a: AfAttribute): void {
    a.deleted = true;
    this.byGuid.delete(a.guid);
    for (const c of a.children) this.dropAttribute(c);
  }

  /** Add a static attribute (`value`) or a PI Point reference (`tagIndex`) to an element, frame or attribute. */
  addAttribute(o: {
    owner: string;
    name: string;
    type?: AfValueType;
    value?: unknown;
    tagIndex?: number;
    units?: [string, string];
    isHidden?: boolean;
    isExcluded?: boolean;
  }): AfAttribute {
    const parts = this.decodeSafe(o.owner);
    let owner: AfElement | AfFrame;
    let parent: AfAttribute | undefined;
    if (o.owner.startsWith('\\\\')) {
      const x = this.findByPath(o.owner);
      if (!x || (x.kind !== 'element' && x.kind !== 'frame' && x.kind !== 'attribute')) throw new BadRequest(`No owner '${o.owner}'.`, 404);
      if (x.kind === 'attribute') {
        parent = x;
        owner = x.owner;
      } else owner = x;
    } else if (parts?.marker === 'Ab') {
      parent = this.mustResolve(o.owner, 'attribute');
      owner = parent.owner;
    } else {
      owner = parts?.marker === 'Fm' ? this.mustResolve(o.owner, 'frame') : this.mustResolve(o.owner, 'element');
    }
    const siblings = parent ? parent.children : (this.attributesOf(owner), owner.attrs!);
    if (siblings.some((s) => !s.deleted && sameName(s.name, o.name))) throw new BadRequest(`An attribute named '${o.name}' already exists.`, 409);
    if (o.tagIndex !== undefined && (o.tagIndex < 0 || o.tagIndex >= this.tags.count())) throw new BadRequest(`No tag ${o.tagIndex}.`);
    const spec: AttrSpec = {
      name: o.name,
      type: o.type ?? (typeof o.value === 'string' ? 'String' : 'Double'),
      pi: false,
      hidden: o.isHidden ?? false,
      excluded: o.isExcluded ?? false,
    };
    if (o.units) spec.units = o.units;
    const a = this.makeAttribute(owner, parent, spec, this.newGuid('attr'));
    if (o.tagIndex !== undefined) {
      a.tagIndex = o.tagIndex;
      a.categories = ['Process Data'];
    } else a.value = o.value ?? null;
    siblings.push(a);
    return a;
  }

  renameAttribute(ref: string, name: string): AfAttribute {
    const a = this.mustResolve(ref, 'attribute');
    const siblings = a.parent ? a.parent.children : (a.owner.attrs ?? []);
    if (siblings.some((s) => s !== a && !s.deleted && sameName(s.name, name))) throw new BadRequest(`An attribute named '${name}' already exists.`, 409);
    a.name = name;
    return a;
  }

  /** Set a static or captured value (also on event frame attributes); stops any live evaluation. */
  setAttributeValue(ref: string, value: unknown): AfAttribute {
    const a = this.mustResolve(ref, 'attribute');
    if (a.tagIndex !== undefined) throw new BadRequest('PI Point attributes take their values from the tag.');
    delete a.compute;
    a.value = value;
    return a;
  }

  deleteAttribute(ref: string): void {
    this.dropAttribute(this.mustResolve(ref, 'attribute'));
  }

  /** Open a frame now (or at `startTime`); it stays in progress until closed. */
  openEventFrame(o: {
    database?: string;
    parent?: string;
    name: string;
    templateName: string;
    startTime?: number;
    refElements?: string[];
    severity?: string;
    description?: string;
    attributes?: Record<string, unknown>;
  }): AfFrame {
    const parent = o.parent ? this.mustResolve(o.parent, 'frame') : undefined;
    const db = parent ? parent.db : this.mustResolve(o.database ?? this.webIdOf(this.server.databases[0]!), 'database');
    const template = this.template(db, o.templateName);
    if (!template || template.instanceType !== 'EventFrame') throw new BadRequest(`Unknown event frame template '${o.templateName}'.`);
    const refs = (o.refElements ?? []).map((r) => this.mustResolve(r, 'element'));
    const f: AfFrame = {
      kind: 'frame',
      guid: this.newGuid('ef'),
      name: o.name,
      description: o.description ?? '',
      db,
      template,
      categories: [...template.categories],
      start: o.startTime ?? this.now(),
      severity: o.severity ?? template.severity,
      refs,
      children: [],
      deleted: false,
    };
    if (parent) f.parent = parent;
    this.register(f);
    f.attrs = this.frameAttributes(f);
    for (const [name, value] of Object.entries(o.attributes ?? {})) {
      const a = f.attrs.find((x) => sameName(x.name, name));
      if (a) {
        delete a.compute;
        a.value = value;
      } else this.addAttribute({ owner: this.webIdOf(f), name, value });
    }
    (parent ? parent.children : db.frames).push(f);
    return f;
  }

  closeEventFrame(ref: string, endTime?: number): AfFrame {
    const f = this.mustResolve(ref, 'frame');
    const end = endTime ?? this.now();
    if (end < f.start) throw new BadRequest('EndTime is before StartTime.');
    f.end = end;
    return f;
  }

  updateEventFrame(ref: string, o: { name?: string; templateName?: string; severity?: string; description?: string }): AfFrame {
    const f = this.mustResolve(ref, 'frame');
    if (o.templateName !== undefined) {
      const t = this.template(f.db, o.templateName);
      if (!t || t.instanceType !== 'EventFrame') throw new BadRequest(`Unknown event frame template '${o.templateName}'.`);
      f.template = t;
      f.categories = [...t.categories];
    }
    if (o.name !== undefined) f.name = o.name;
    if (o.severity !== undefined) f.severity = o.severity;
    if (o.description !== undefined) f.description = o.description;
    return f;
  }

  deleteEventFrame(ref: string): void {
    const f = this.mustResolve(ref, 'frame');
    const list = f.parent ? f.parent.children : f.db.frames;
    list.splice(list.indexOf(f), 1);
    const drop = (x: AfFrame): void => {
      x.deleted = true;
      this.byGuid.delete(x.guid);
      for (const a of x.attrs ?? []) this.dropAttribute(a);
      for (const c of x.children) drop(c);
    };
    drop(f);
  }

  // ---------- ground truth ----------

  truthElements(): TruthElement[] {
    const out: TruthElement[] = [];
    for (const db of this.server.databases) {
      for (const e of this.descendants(db, true)) {
        out.push({
          webId: this.webIdOf(e),
          id: e.guid,
          name: e.name,
          path: this.pathOf(e),
          parentWebId: e.parent ? this.webIdOf(e.parent) : null,
          depth: this.depthOf(e),
          databasePath: this.pathOf(db),
          templateName: e.template?.name ?? '',
          categoryNames: e.categories,
          description: e.description,
          hasChildren: this.hasChildren(e),
        });
      }
    }
    return out;
  }

  private truthAttribute(a: AfAttribute): TruthAttribute {
    return {
      webId: this.webIdOf(a),
      id: a.guid,
      name: a.name,
      path: this.pathOf(a),
      ownerWebId: this.webIdOf(a.owner),
      ownerKind: a.owner.kind === 'element' ? 'element' : 'eventframe',
      parentAttributeWebId: a.parent ? this.webIdOf(a.parent) : null,
      type: a.type,
      dataReference: a.tagIndex !== undefined ? 'PI Point' : '',
      configString: a.tagIndex !== undefined ? this.tags.path(a.tagIndex) : '',
      pointIndex: a.tagIndex ?? null,
      pointWebId: a.tagIndex !== undefined ? this.tags.webId(a.tagIndex) : null,
      value: a.tagIndex !== undefined ? null : this.attributeValue(a),
      isHidden: a.isHidden,
      isExcluded: a.isExcluded,
      isConfigurationItem: a.isConfig,
    };
  }

  /** Every element attribute at every depth (hidden and excluded included; filter on the flags). */
  truthAttributes(): TruthAttribute[] {
    const out: TruthAttribute[] = [];
    for (const db of this.server.databases) {
      for (const e of this.descendants(db, true)) for (const a of this.attributesBelow(e, true)) out.push(this.truthAttribute(a));
    }
    return out;
  }

  truthEventFrames(): TruthEventFrame[] {
    const out: TruthEventFrame[] = [];
    for (const db of this.server.databases) {
      for (const f of this.framesBelow(db, true)) {
        const end = this.frameEnd(f);
        out.push({
          webId: this.webIdOf(f),
          id: f.guid,
          name: f.name,
          path: this.pathOf(f),
          parentWebId: f.parent ? this.webIdOf(f.parent) : null,
          databasePath: this.pathOf(db),
          templateName: f.template.name,
          categoryNames: f.categories,
          startTime: f.start,
          endTime: end === OPEN_END ? null : end,
          severity: f.severity,
          refElementWebIds: f.refs.filter((r) => !r.deleted).map((r) => this.webIdOf(r)),
          attributes: this.attributesBelow(f, true).map((a) => ({ webId: this.webIdOf(a), name: a.name, path: this.pathOf(a), value: this.attributeValue(a) })),
        });
      }
    }
    return out;
  }
}
