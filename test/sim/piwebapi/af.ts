/**
 * PI Web API routes of the Asset Framework and event frames (fidelity §6, §7), rendered from the
 * AfModel, plus the simulator's AF control routes under `/sim/af/...`. Response fields and query
 * parameter defaults follow the 2018 SP1 swagger.
 */

import type { WebIdType } from '../../../agent/pi/webid.js';
import { AfModel, OPEN_END, type AfAttribute, type AfDatabase, type AfElement, type AfFrame, type AfObject, type AfServer, type AfTemplate } from './af-model.js';
import { BadRequest, compareNames, guarded, nameMatcher, page, qBool, qInt, sameName } from './af-util.js';
import { webIdTypeOf } from './fields.js';
import { q, qAll, type Router, type SimRequest, type SimResponse } from './router.js';
import { TimeParseError, formatUnits, msToUnits, parsePiTime, unitsToMs } from './time.js';

export { AfModel, OPEN_END } from './af-model.js';
export type { AfModelOptions, AfTags, TruthAttribute, TruthElement, TruthEventFrame } from './af-model.js';

const OPEN_END_TEXT = '9999-12-31T23:59:59Z';
const STATIC_TIME = '1970-01-01T00:00:00Z';

const SEARCH_MODES = [
  'None',
  'StartInclusive',
  'EndInclusive',
  'Inclusive',
  'Overlapped',
  'InProgress',
  'BackwardFromStartTime',
  'ForwardFromStartTime',
  'BackwardFromEndTime',
  'ForwardFromEndTime',
  'BackwardInProgress',
  'ForwardInProgress',
] as const;
type SearchMode = (typeof SEARCH_MODES)[number];

export function formatTime(ms: number): string {
  return ms === OPEN_END ? OPEN_END_TEXT : formatUnits(msToUnits(ms));
}

/** Everything a handler needs to render: the model and the request's `webIdType`. */
class View {
  readonly type: WebIdType;

  constructor(
    readonly af: AfModel,
    readonly req: SimRequest,
  ) {
    // Same reading as the core routes (unknown → Full; none → the server's configured default).
    this.type = webIdTypeOf(req, af.webIds.defaultType);
  }

  wid(o: AfObject): string {
    return this.af.webIdOf(o, this.type);
  }

  link(o: AfObject, collection: string, sub = ''): string {
    return `${this.af.baseUrl()}/${collection}/${this.wid(o)}${sub}`;
  }

  time(name: string, dflt: string): number {
    const s = q(this.req, name) ?? dflt;
    const zone = q(this.req, 'timeZone') ?? this.af.timeZone;
    try {
      return unitsToMs(parsePiTime(s, this.af.now(), zone));
    } catch (e) {
      if (e instanceof TimeParseError || e instanceof RangeError) throw new BadRequest(`The value '${s}' is not valid for ${name}.`);
      throw e;
    }
  }

  server(s: AfServer): Record<string, unknown> {
    return {
      WebId: this.wid(s),
      Id: s.guid,
      Name: s.name,
      Description: s.description,
      Path: this.af.pathOf(s),
      IsConnected: true,
      ServerVersion: '2.10.9.593',
      ServerTime: formatTime(this.af.now()),
      ExtendedProperties: {},
      Links: {
        Self: this.link(s, 'assetservers'),
        Databases: this.link(s, 'assetservers', '/assetdatabases'),
        Security: this.link(s, 'assetservers', '/security'),
        SecurityEntries: this.link(s, 'assetservers', '/securityentries'),
        UnitClasses: this.link(s, 'assetservers', '/unitclasses'),
      },
    };
  }

  database(d: AfDatabase): Record<string, unknown> {
    const piServer = this.af.tags.count() > 0 ? this.af.tags.path(0).replace(/^\\\\/, '').split('\\')[0] : 'SIMPI';
    return {
      WebId: this.wid(d),
      Id: d.guid,
      Name: d.name,
      Description: d.description,
      Path: this.af.pathOf(d),
      ExtendedProperties: { DefaultPIServer: { Value: piServer } },
      Links: {
        Self: this.link(d, 'assetdatabases'),
        Elements: this.link(d, 'assetdatabases', '/elements'),
        ElementTemplates: this.link(d, 'assetdatabases', '/elementtemplates'),
        EventFrames: this.link(d, 'assetdatabases', '/eventframes'),
        AssetServer: this.link(d.server, 'assetservers'),
        ElementCategories: this.link(d, 'assetdatabases', '/elementcategories'),
        AttributeCategories: this.link(d, 'assetdatabases', '/attributecategories'),
        EnumerationSets: this.link(d, 'assetdatabases', '/enumerationsets'),
        Tables: this.link(d, 'assetdatabases', '/tables'),
        Security: this.link(d, 'assetdatabases', '/security'),
      },
    };
  }

  template(t: AfTemplate): Record<string, unknown> {
    const links: Record<string, string> = {
      Self: this.link(t, 'elementtemplates'),
      Database: this.link(t.db, 'assetdatabases'),
      AttributeTemplates: this.link(t, 'elementtemplates', '/attributetemplates'),
      Categories: this.link(t, 'elementtemplates', '/categories'),
    };
    if (t.base) links['BaseTemplate'] = this.link(t.base, 'elementtemplates');
    return {
      WebId: this.wid(t),
      Id: t.guid,
      Name: t.name,
      Description: t.description,
      Path: this.af.pathOf(t),
      AllowElementToExtend: true,
      BaseTemplate: t.base?.name ?? '',
      InstanceType: t.instanceType,
      NamingPattern: '',
      CategoryNames: t.categories,
      ExtendedProperties: {},
      Severity: t.severity,
      CanBeAcknowledged: t.canBeAcknowledged,
      Links: links,
    };
  }

  element(e: AfElement): Record<string, unknown> {
    const links: Record<string, string> = {
      Self: this.link(e, 'elements'),
      Analyses: this.link(e, 'elements', '/analyses'),
      Attributes: this.link(e, 'elements', '/attributes'),
      Elements: this.link(e, 'elements', '/elements'),
      Database: this.link(e.db, 'assetdatabases'),
    };
    if (e.parent) links['Parent'] = this.link(e.parent, 'elements');
    if (e.template) links['Template'] = this.link(e.template, 'elementtemplates');
    Object.assign(links, {
      Categories: this.link(e, 'elements', '/categories'),
      EventFrames: this.link(e, 'elements', '/eventframes'),
      InterpolatedData: this.link(e, 'streamsets', '/interpolated'),
      RecordedData: this.link(e, 'streamsets', '/recorded'),
      PlotData: this.link(e, 'streamsets', '/plot'),
      SummaryData: this.link(e, 'streamsets', '/summary'),
      Value: this.link(e, 'streamsets', '/value'),
      EndValue: this.link(e, 'streamsets', '/end'),
      Security: this.link(e, 'elements', '/security'),
      SecurityEntries: this.link(e, 'elements', '/securityentries'),
    });
    return {
      WebId: this.wid(e),
      Id: e.guid,
      Name: e.name,
      Description: e.description,
      Path: this.af.pathOf(e),
      TemplateName: e.template?.name ?? '',
      HasChildren: this.af.hasChildren(e),
      CategoryNames: e.categories,
      ExtendedProperties: {},
      Links: links,
    };
  }

  attribute(a: AfAttribute): Record<string, unknown> {
    const pi = a.tagIndex !== undefined;
    const links: Record<string, string> = { Self: this.link(a, 'attributes'), Attributes: this.link(a, 'attributes', '/attributes') };
    if (a.owner.kind === 'element') links['Element'] = this.link(a.owner, 'elements');
    else links['EventFrame'] = this.link(a.owner, 'eventframes');
    if (a.parent) links['Parent'] = this.link(a.parent, 'attributes');
    if (pi) links['Point'] = `${this.af.baseUrl()}/points/${this.af.tags.webId(a.tagIndex!)}`;
    Object.assign(links, {
      InterpolatedData: this.link(a, 'streams', '/interpolated'),
      RecordedData: this.link(a, 'streams', '/recorded'),
      PlotData: this.link(a, 'streams', '/plot'),
      SummaryData: this.link(a, 'streams', '/summary'),
      Value: this.link(a, 'streams', '/value'),
      EndValue: this.link(a, 'streams', '/end'),
      Categories: this.link(a, 'attributes', '/categories'),
    });
    return {
      WebId: this.wid(a),
      Id: a.guid,
      Name: a.name,
      Description: a.description,
      Path: this.af.pathOf(a),
      Type: a.type,
      TypeQualifier: '',
      DefaultUnitsName: a.units?.[0] ?? '',
      DefaultUnitsNameAbbreviation: a.units?.[1] ?? '',
      DisplayDigits: -5,
      DataReferencePlugIn: pi ? 'PI Point' : '',
      ConfigString: pi ? this.af.tags.path(a.tagIndex!) : '',
      IsConfigurationItem: a.isConfig,
      IsExcluded: a.isExcluded,
      IsHidden: a.isHidden,
      IsManualDataEntry: false,
      HasChildren: a.children.some((c) => !c.deleted),
      CategoryNames: a.categories,
      Step: false,
      TraitName: '',
      Links: links,
    };
  }

  frame(f: AfFrame): Record<string, unknown> {
    const end = this.af.frameEnd(f);
    const ack = this.af.frameAck(f);
    const refs = f.refs.filter((r) => !r.deleted);
    const links: Record<string, string> = {
      Self: this.link(f, 'eventframes'),
      Attributes: this.link(f, 'eventframes', '/attributes'),
      EventFrames: this.link(f, 'eventframes', '/eventframes'),
      Database: this.link(f.db, 'assetdatabases'),
      ReferencedElements: this.link(f, 'eventframes', '/referencedelements'),
    };
    if (refs[0]) links['PrimaryReferencedElement'] = this.link(refs[0], 'elements');
    if (f.parent) links['Parent'] = this.link(f.parent, 'eventframes');
    Object.assign(links, {
      Template: this.link(f.template, 'elementtemplates'),
      Categories: this.link(f, 'eventframes', '/categories'),
      Annotations: this.link(f, 'eventframes', '/annotations'),
      InterpolatedData: this.link(f, 'streamsets', '/interpolated'),
      RecordedData: this.link(f, 'streamsets', '/recorded'),
      PlotData: this.link(f, 'streamsets', '/plot'),
      SummaryData: this.link(f, 'streamsets', '/summary'),
      Value: this.link(f, 'streamsets', '/value'),
      EndValue: this.link(f, 'streamsets', '/end'),
      Security: this.link(f, 'eventframes', '/security'),
    });
    return {
      WebId: this.wid(f),
      Id: f.guid,
      Name: f.name,
      Description: f.description,
      Path: this.af.pathOf(f),
      TemplateName: f.template.name,
      HasChildren: this.af.frameChildren(f).length > 0,
      CategoryNames: f.categories,
      ExtendedProperties: {},
      StartTime: formatTime(f.start),
      EndTime: formatTime(end),
      Severity: f.severity,
      AcknowledgedBy: ack?.by ?? '',
      AcknowledgedDate: ack ? formatTime(ack.at) : STATIC_TIME,
      CanBeAcknowledged: f.template.canBeAcknowledged,
      IsAcknowledged: ack !== undefined,
      IsAnnotated: false,
      IsLocked: false,
      AreValuesCaptured: end !== OPEN_END,
      RefElementWebIds: refs.map((r) => this.wid(r)),
      Links: links,
    };
  }
}

const ok = (body: unknown): SimResponse => ({ status: 200, body });
const items = (list: unknown[]): SimResponse => ok({ Items: list, Links: {} });
const notFound = (what: string): SimResponse => ({ status: 404, body: { Errors: [what] } });

/** Sort by `sortField` (Name default) and `sortOrder` (Ascending default); Array#sort is stable, so ties keep tree order. */
function sortBy<T>(req: SimRequest, list: T[], fields: Record<string, (x: T) => string | number>): T[] {
  const field = q(req, 'sortField') ?? 'Name';
  const key = Object.entries(fields).find(([k]) => sameName(k, field))?.[1];
  if (!key) throw new BadRequest(`The value '${field}' is not valid for sortField.`);
  const order = q(req, 'sortOrder') ?? 'Ascending';
  if (!/^(ascending|descending)$/i.test(order)) throw new BadRequest(`The value '${order}' is not valid for sortOrder.`);
  const dir = /^descending$/i.test(order) ? -1 : 1;
  return list.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return dir * (typeof x === 'string' && typeof y === 'string' ? compareNames(x, y) : x < y ? -1 : x > y ? 1 : 0);
  });
}

function searchElements(v: View, root: AfDatabase | AfElement): SimResponse {
  const req = v.req;
  const name = nameMatcher(q(req, 'nameFilter'));
  const desc = nameMatcher(q(req, 'descriptionFilter'));
  const template = q(req, 'templateName');
  const category = q(req, 'categoryName');
  const list = v.af
    .descendants(root, qBool(req, 'searchFullHierarchy', false))
    .filter(
      (e) =>
        name(e.name) && desc(e.description) && (!template || AfModel.derivesFrom(e.template, template)) && (!category || e.categories.some((c) => sameName(c, category))),
    );
  sortBy(req, list, { Name: (e) => e.name, Description: (e) => e.description });
  return items(page(req, list).map((e) => v.element(e)));
}

function searchAttributes(v: View, root: AfElement | AfFrame | AfAttribute): SimResponse {
  const req = v.req;
  const name = nameMatcher(q(req, 'nameFilter'));
  const category = q(req, 'categoryName');
  const valueType = q(req, 'valueType');
  const showExcluded = qBool(req, 'showExcluded', false);
  const showHidden = qBool(req, 'showHidden', false);
  const list = v.af
    .attributesBelow(root, qBool(req, 'searchFullHierarchy', false))
    .filter(
      (a) =>
        (showExcluded || !a.isExcluded) &&
        (showHidden || !a.isHidden) &&
        name(a.name) &&
        (!category || a.categories.some((c) => sameName(c, category))) &&
        (!valueType || sameName(a.type, valueType)),
    );
  sortBy(req, list, { Name: (a) => a.name, Description: (a) => a.description });
  return items(page(req, list).map((a) => v.attribute(a)));
}

/** Event frame search (fidelity §7); `element` limits it to frames referencing that element. */
function searchFrames(v: View, root: AfDatabase | AfFrame, element?: AfElement): SimResponse {
  const req = v.req;
  const modeText = q(req, 'searchMode') ?? 'Overlapped';
  const mode: SearchMode | undefined = SEARCH_MODES.find((m) => sameName(m, modeText));
  if (!mode) throw new BadRequest(`The value '${modeText}' is not valid for searchMode.`);
  const directional = /^(Backward|Forward)/.test(mode);
  if (directional) {
    for (const p of ['endTime', 'sortField', 'sortOrder']) {
      if (q(req, p) !== undefined) throw new BadRequest(`The '${p}' parameter cannot be specified when searchMode is '${mode}'.`);
    }
  }
  const start = v.time('startTime', '*-8h');
  const end = directional ? start : v.time('endTime', '*');
  if (!directional && end < start) throw new BadRequest('The endTime must be greater than or equal to the startTime.');

  const af = v.af;
  const name = nameMatcher(q(req, 'nameFilter'));
  const template = q(req, 'templateName');
  const category = q(req, 'categoryName');
  const refFilter = q(req, 'referencedElementNameFilter');
  const refName = nameMatcher(refFilter);
  const refTemplate = q(req, 'referencedElementTemplateName');
  const severities = qAll(req, 'severity').filter((s) => s !== '');
  const canAck = q(req, 'canBeAcknowledged') !== undefined ? qBool(req, 'canBeAcknowledged', false) : undefined;
  const isAck = q(req, 'isAcknowledged') !== undefined ? qBool(req, 'isAcknowledged', false) : undefined;

  const inTime = (f: AfFrame): boolean => {
    const e = af.frameEnd(f);
    const open = e === OPEN_END;
    switch (mode) {
      case 'None':
        return true;
      case 'StartInclusive':
        return f.start >= start && f.start <= end;
      case 'EndInclusive':
        return e >= start && e <= end;
      case 'Inclusive':
        return f.start >= start && e <= end;
      case 'Overlapped':
        return f.start <= end && e >= start;
      case 'InProgress':
        return open && f.start >= start && f.start <= end;
      case 'BackwardFromStartTime':
        return f.start <= start;
      case 'ForwardFromStartTime':
        return f.start >= start;
      case 'BackwardFromEndTime':
        return e <= start;
      case 'ForwardFromEndTime':
        return e > start;
      case 'BackwardInProgress':
        return open && f.start <= start;
      case 'ForwardInProgress':
        return open && f.start >= start;
    }
  };

  const list = af.framesBelow(root, qBool(req, 'searchFullHierarchy', false)).filter((f) => {
    const refs = f.refs.filter((r) => !r.deleted);
    return (
      inTime(f) &&
      name(f.name) &&
      (!element || refs.includes(element)) &&
      (!template || AfModel.derivesFrom(f.template, template)) &&
      (!category || f.categories.some((c) => sameName(c, category))) &&
      (!refFilter || refs.some((r) => refName(r.name))) &&
      (!refTemplate || refs.some((r) => AfModel.derivesFrom(r.template, refTemplate))) &&
      (severities.length === 0 || severities.some((s) => sameName(s, f.severity))) &&
      (canAck === undefined || f.template.canBeAcknowledged === canAck) &&
      (isAck === undefined || (af.frameAck(f) !== undefined) === isAck)
    );
  });

  if (directional) {
    const byEnd = mode.endsWith('EndTime');
    const dir = mode.startsWith('Backward') ? -1 : 1;
    list.sort((a, b) => {
      const x = byEnd ? af.frameEnd(a) : a.start;
      const y = byEnd ? af.frameEnd(b) : b.start;
      return dir * (x < y ? -1 : x > y ? 1 : 0);
    });
  } else {
    sortBy(req, list, { Name: (f) => f.name, StartTime: (f) => f.start, EndTime: (f) => af.frameEnd(f), Severity: (f) => f.severity });
  }
  return items(page(req, list).map((f) => v.frame(f)));
}

/** GET `/{collection}?path=` (and `?name=` for asset servers). */
function byPath(v: View, kind: AfObject['kind'], label: string): SimResponse {
  const path = q(v.req, 'path');
  if (path === undefined || path === '') throw new BadRequest(`The 'path' parameter is required.`);
  const o = v.af.findByPath(path);
  if (!o || o.kind !== kind) return notFound(`The ${label} path '${path}' was not found.`);
  return ok(render(v, o));
}

function render(v: View, o: AfObject): Record<string, unknown> {
  switch (o.kind) {
    case 'server':
      return v.server(o);
    case 'database':
      return v.database(o);
    case 'template':
      return v.template(o);
    case 'element':
      return v.element(o);
    case 'attribute':
      return v.attribute(o);
    case 'frame':
      return v.frame(o);
  }
}

const LABEL: Record<AfObject['kind'], string> = {
  server: 'asset server',
  database: 'asset database',
  template: 'element template',
  element: 'element',
  attribute: 'attribute',
  frame: 'event frame',
};

export function registerAfRoutes(router: Router, af: AfModel): void {
  /** Register a GET whose `{webId}` resolves to `kind` (404 when unknown, 400 when malformed). */
  const get = <K extends AfObject['kind']>(pattern: string, kind: K, fn: (v: View, o: Extract<AfObject, { kind: K }>) => SimResponse): void => {
    router.add('GET', pattern, (req, params) =>
      guarded(() => {
        const v = new View(af, req);
        const o = af.resolve(params['webId']!, kind);
        if (!o) return notFound(`The specified ${LABEL[kind]} was not found: '${params['webId']}'.`);
        return fn(v, o);
      }),
    );
  };
  const plain = (pattern: string, fn: (v: View) => SimResponse): void => {
    router.add('GET', pattern, (req) => guarded(() => fn(new View(af, req))));
  };

  plain('/assetservers', (v) => {
    const name = q(v.req, 'name');
    if (name !== undefined) return sameName(name, af.server.name) ? ok(v.server(af.server)) : notFound(`The asset server '${name}' was not found.`);
    if (q(v.req, 'path') !== undefined) return byPath(v, 'server', LABEL.server);
    return items([v.server(af.server)]);
  });
  get('/assetservers/{webId}', 'server', (v, s) => ok(v.server(s)));
  get('/assetservers/{webId}/assetdatabases', 'server', (v, s) => items(s.databases.map((d) => v.database(d))));

  plain('/assetdatabases', (v) => byPath(v, 'database', LABEL.database));
  get('/assetdatabases/{webId}', 'database', (v, d) => ok(v.database(d)));
  get('/assetdatabases/{webId}/elements', 'database', (v, d) => searchElements(v, d));
  get('/assetdatabases/{webId}/eventframes', 'database', (v, d) => searchFrames(v, d));
  get('/assetdatabases/{webId}/elementtemplates', 'database', (v, d) => {
    const match = nameMatcher(q(v.req, 'query')?.replace(/^name:\s*/i, ''));
    const list = sortBy(
      v.req,
      d.templates.filter((t) => match(t.name)),
      { Name: (t) => t.name },
    );
    // GetElementTemplates takes no startIndex (swagger AssetDatabase_GetElementTemplates: field,
    // maxCount, query, selectedFields, sortField, sortOrder, webIdType): a real server ignores it
    // and returns the first maxCount templates again (fidelity §6).
    return items(list.slice(0, qInt(v.req, 'maxCount', 1000)).map((t) => v.template(t)));
  });

  plain('/elementtemplates', (v) => byPath(v, 'template', LABEL.template));
  get('/elementtemplates/{webId}', 'template', (v, t) => ok(v.template(t)));

  plain('/elements', (v) => byPath(v, 'element', LABEL.element));
  get('/elements/{webId}', 'element', (v, e) => ok(v.element(e)));
  get('/elements/{webId}/elements', 'element', (v, e) => searchElements(v, e));
  get('/elements/{webId}/attributes', 'element', (v, e) => searchAttributes(v, e));
  get('/elements/{webId}/eventframes', 'element', (v, e) => searchFrames(v, e.db, e));

  plain('/attributes', (v) => byPath(v, 'attribute', LABEL.attribute));
  get('/attributes/{webId}', 'attribute', (v, a) => ok(v.attribute(a)));
  get('/attributes/{webId}/attributes', 'attribute', (v, a) => searchAttributes(v, a));
  get('/attributes/{webId}/value', 'attribute', (_v, a) => {
    if (a.tagIndex !== undefined) {
      throw new BadRequest(`Attribute '${af.pathOf(a)}' has a PI Point data reference; read its value through /streams/{webId}/value.`);
    }
    // Static values carry the AF "no time" timestamp; event frame values the frame's start (inferred).
    return ok({
      Timestamp: a.owner.kind === 'frame' ? formatTime(a.owner.start) : STATIC_TIME,
      Value: af.attributeValue(a),
      UnitsAbbreviation: a.units?.[1] ?? '',
      Good: true,
      Questionable: false,
      Substituted: false,
      Annotated: false,
    });
  });

  plain('/eventframes', (v) => byPath(v, 'frame', LABEL.frame));
  get('/eventframes/{webId}', 'frame', (v, f) => ok(v.frame(f)));
  get('/eventframes/{webId}/attributes', 'frame', (v, f) => searchAttributes(v, f));
  get('/eventframes/{webId}/referencedelements', 'frame', (v, f) => items(f.refs.filter((r) => !r.deleted).map((r) => v.element(r))));
  get('/eventframes/{webId}/eventframes', 'frame', (v, f) => searchFrames(v, f));
  // Simulated frames carry no annotations (IsAnnotated is false); the route exists so clients can ask.
  get('/eventframes/{webId}/annotations', 'frame', () => items([]));

  registerAfControlRoutes(router, af);
}

// ---------- control API (not PI Web API; for tests and demos) ----------

function bodyOf(req: SimRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new BadRequest('The body must be a JSON object.');
  return b as Record<string, unknown>;
}

function str(b: Record<string, unknown>, key: string): string {
  const x = b[key];
  if (typeof x !== 'string' || x === '') throw new BadRequest(`'${key}' (string) is required.`);
  return x;
}

function optStr(b: Record<string, unknown>, key: string): string | undefined {
  const x = b[key];
  if (x === undefined || x === null) return undefined;
  if (typeof x !== 'string') throw new BadRequest(`'${key}' must be a string.`);
  return x;
}

/** A time in a control body: ms number or a PI time string. */
function optTime(af: AfModel, b: Record<string, unknown>, key: string): number | undefined {
  const x = b[key];
  if (x === undefined || x === null) return undefined;
  if (typeof x === 'number') return x;
  if (typeof x !== 'string') throw new BadRequest(`'${key}' must be a time.`);
  try {
    return unitsToMs(parsePiTime(x, af.now(), af.timeZone));
  } catch {
    throw new BadRequest(`'${key}' is not a valid time: '${x}'.`);
  }
}

/**
 * `/sim/af/...` control routes. Objects are named by WebID (any type) or path in the body.
 * Changes answer with the changed object as the PI Web API renders it; deletes answer 204.
 */
export function registerAfControlRoutes(router: Router, af: AfModel): void {
  const post = (path: string, fn: (b: Record<string, unknown>, v: View) => SimResponse): void => {
    router.add('POST', path, (req) => guarded(() => fn(bodyOf(req), new View(af, req))));
  };
  const gone: SimResponse = { status: 204 };

  post('/sim/af/elements/add', (b, v) => {
    const o: Parameters<AfModel['addElement']>[0] = { parent: str(b, 'parent'), name: str(b, 'name') };
    const t = optStr(b, 'templateName');
    if (t !== undefined) o.templateName = t;
    const d = optStr(b, 'description');
    if (d !== undefined) o.description = d;
    if (Array.isArray(b['categoryNames'])) o.categoryNames = b['categoryNames'].map(String);
    return { status: 201, body: v.element(af.addElement(o)) };
  });
  post('/sim/af/elements/rename', (b, v) => ok(v.element(af.renameElement(str(b, 'element'), str(b, 'name'), optStr(b, 'description')))));
  post('/sim/af/elements/move', (b, v) => ok(v.element(af.moveElement(str(b, 'element'), str(b, 'parent')))));
  post('/sim/af/elements/delete', (b) => {
    af.deleteElement(str(b, 'element'));
    return gone;
  });

  post('/sim/af/attributes/add', (b, v) => {
    const o: Parameters<AfModel['addAttribute']>[0] = { owner: str(b, 'owner'), name: str(b, 'name') };
    if (b['type'] !== undefined) o.type = str(b, 'type') as NonNullable<typeof o.type>;
    if ('value' in b) o.value = b['value'];
    if (typeof b['tagIndex'] === 'number') o.tagIndex = b['tagIndex'];
    if (Array.isArray(b['units']) && b['units'].length === 2) o.units = [String(b['units'][0]), String(b['units'][1])];
    if (typeof b['isHidden'] === 'boolean') o.isHidden = b['isHidden'];
    if (typeof b['isExcluded'] === 'boolean') o.isExcluded = b['isExcluded'];
    return { status: 201, body: v.attribute(af.addAttribute(o)) };
  });
  post('/sim/af/attributes/rename', (b, v) => ok(v.attribute(af.renameAttribute(str(b, 'attribute'), str(b, 'name')))));
  post('/sim/af/attributes/value', (b, v) => ok(v.attribute(af.setAttributeValue(str(b, 'attribute'), b['value'] ?? null))));
  post('/sim/af/attributes/delete', (b) => {
    af.deleteAttribute(str(b, 'attribute'));
    return gone;
  });

  post('/sim/af/eventframes/open', (b, v) => {
    const o: Parameters<AfModel['openEventFrame']>[0] = { name: str(b, 'name'), templateName: str(b, 'templateName') };
    const db = optStr(b, 'database');
    if (db !== undefined) o.database = db;
    const parent = optStr(b, 'parent');
    if (parent !== undefined) o.parent = parent;
    const st = optTime(af, b, 'startTime');
    if (st !== undefined) o.startTime = st;
    if (Array.isArray(b['refElements'])) o.refElements = b['refElements'].map(String);
    const sev = optStr(b, 'severity');
    if (sev !== undefined) o.severity = sev;
    const d = optStr(b, 'description');
    if (d !== undefined) o.description = d;
    if (b['attributes'] && typeof b['attributes'] === 'object') o.attributes = b['attributes'] as Record<string, unknown>;
    return { status: 201, body: v.frame(af.openEventFrame(o)) };
  });
  post('/sim/af/eventframes/close', (b, v) => ok(v.frame(af.closeEventFrame(str(b, 'eventFrame'), optTime(af, b, 'endTime')))));
  post('/sim/af/eventframes/update', (b, v) => {
    const o: Parameters<AfModel['updateEventFrame']>[1] = {};
    const n = optStr(b, 'name');
    if (n !== undefined) o.name = n;
    const t = optStr(b, 'templateName');
    if (t !== undefined) o.templateName = t;
    const s = optStr(b, 'severity');
    if (s !== undefined) o.severity = s;
    const d = optStr(b, 'description');
    if (d !== undefined) o.description = d;
    return ok(v.frame(af.updateEventFrame(str(b, 'eventFrame'), o)));
  });
  post('/sim/af/eventframes/delete', (b) => {
    af.deleteEventFrame(str(b, 'eventFrame'));
    return gone;
  });

  router.add('GET', '/sim/af/truth/elements', () => ok({ Items: af.truthElements() }));
  router.add('GET', '/sim/af/truth/attributes', () => ok({ Items: af.truthAttributes() }));
  router.add('GET', '/sim/af/truth/eventframes', () => ok({ Items: af.truthEventFrames() }));
}
