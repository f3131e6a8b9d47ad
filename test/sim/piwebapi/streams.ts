/** Stream reads: recorded, value, end, interpolated, and their streamset forms (fidelity §3–§4). */
import { selectedItemFields, webIdTypeOf } from './fields.js';
import { guard, intParam } from './discovery.js';
import { q, qAll, type Router, type SimRequest, type SimResponse } from './router.js';
import type { SimEvent, TimedValueJson } from './series.js';
import { formatUnits } from './time.js';
import { SimError, type Simulator } from './simulator.js';
import { isValidZone, parseInterval, TimeParseError } from './time.js';
import { markerOf } from './webids.js';

/** The zone for `t`, `y` and naive dates: the request's `timeZone`, else the server's. */
function zoneOf(sim: Simulator, req: SimRequest): string {
  const z = q(req, 'timeZone');
  if (z === undefined || z === '') return sim.timeZone;
  if (!isValidZone(z)) throw new SimError(400, `The time zone '${z}' is not valid.`);
  return z;
}

function timeParam(sim: Simulator, req: SimRequest, name: string, dflt: string): number {
  const v = q(req, name) ?? dflt;
  try {
    return sim.parseTime(v === '' ? dflt : v, zoneOf(sim, req));
  } catch (err) {
    if (err instanceof TimeParseError) throw new SimError(400, `Parameter '${name}': ${err.message}`);
    throw err;
  }
}

interface RecordedParams {
  start: number;
  end: number;
  maxCount: number;
  boundary: 'inside' | 'outside' | 'interpolated';
  /** Item fields `selectedFields` keeps (lower-case), when it restricts them (single-stream reads). */
  keep?: Set<string> | undefined;
}

function recordedParams(sim: Simulator, req: SimRequest): RecordedParams {
  const start = timeParam(sim, req, 'startTime', '*-1d');
  const end = timeParam(sim, req, 'endTime', '*');
  const maxCount = intParam(req, 'maxCount', 1000);
  if (maxCount > sim.maxReturnedItemsPerCall) {
    throw new SimError(400, `Parameter 'maxCount' is greater than the maximum allowed (${sim.maxReturnedItemsPerCall}).`);
  }
  if (maxCount < 1) throw new SimError(400, "Parameter 'maxCount' must be greater than 0.");
  const b = (q(req, 'boundaryType') ?? 'Inside').toLowerCase();
  if (b !== 'inside' && b !== 'outside' && b !== 'interpolated') throw new SimError(400, `The value '${b}' is not valid for boundaryType.`);
  return { start, end, maxCount, boundary: b };
}

/** Recorded values of tag `i`: silent truncation at maxCount; end < start → descending (fidelity §3). */
function recordedItems(sim: Simulator, i: number, p: RecordedParams): TimedValueJson[] {
  const desc = p.end < p.start;
  const lo = Math.min(p.start, p.end);
  const hi = Math.max(p.start, p.end);
  const out: TimedValueJson[] = [];
  const now = sim.nowUnits();
  if (p.boundary === 'outside') {
    const edge = desc ? sim.series.after(i, hi, now, true) : sim.series.before(i, lo, now, true);
    if (edge) out.push(sim.json(i, edge));
  } else if (p.boundary === 'interpolated') {
    const t = desc ? hi : lo;
    if (sim.series.at(i, t, now).length === 0 && sim.series.before(i, t, now)) out.push(sim.json(i, sim.interpolate(i, t)));
  }
  const keep = p.keep;
  const units = keep?.has('unitsabbreviation') ? sim.tagMeta(i).units : '';
  for (const e of sim.events(i, lo, hi, desc)) {
    if (out.length >= p.maxCount) return out;
    out.push(keep ? (shapedJson(e, units, keep) as TimedValueJson) : sim.json(i, e));
  }
  if (out.length >= p.maxCount) return out;
  if (p.boundary === 'outside') {
    const edge = desc ? sim.series.before(i, lo, now, true) : sim.series.after(i, hi, now, true);
    if (edge) out.push(sim.json(i, edge));
  } else if (p.boundary === 'interpolated') {
    const t = desc ? lo : hi;
    if (t <= now && sim.series.at(i, t, now).length === 0 && sim.series.before(i, t, now)) out.push(sim.json(i, sim.interpolate(i, t)));
  }
  return out;
}

/** toJson (series.ts) with only the `keep` fields, in the same order: the hot path of large reads. */
function shapedJson(e: SimEvent, units: string, keep: Set<string>): Partial<TimedValueJson> {
  const o: Partial<TimedValueJson> = {};
  if (keep.has('timestamp')) o.Timestamp = formatUnits(e.t);
  if (keep.has('value')) o.Value = typeof e.value === 'object' ? { ...e.value } : e.value;
  if (keep.has('unitsabbreviation')) o.UnitsAbbreviation = units;
  if (keep.has('good')) o.Good = e.good;
  if (keep.has('questionable')) o.Questionable = e.questionable;
  if (keep.has('substituted')) o.Substituted = e.substituted;
  if (keep.has('annotated')) o.Annotated = e.annotated;
  return o;
}

function interpolatedItems(sim: Simulator, req: SimRequest, i: number): TimedValueJson[] {
  const start = timeParam(sim, req, 'startTime', '*-1d');
  const end = timeParam(sim, req, 'endTime', '*');
  let step: number;
  try {
    step = parseInterval(q(req, 'interval') ?? '1h');
  } catch (err) {
    throw new SimError(400, (err as Error).message);
  }
  if (step <= 0) throw new SimError(400, "Parameter 'interval' must be positive.");
  const n = Math.floor(Math.abs(end - start) / step) + 1;
  if (n > sim.maxReturnedItemsPerCall) throw new SimError(400, `The number of values requested is greater than the maximum allowed (${sim.maxReturnedItemsPerCall}).`);
  const out: TimedValueJson[] = [];
  const dir = end >= start ? 1 : -1;
  for (let k = 0; k < n; k++) out.push(sim.json(i, sim.interpolate(i, start + dir * k * step)));
  return out;
}

/** Name and Path of a stream source for streamset items. */
function sourceInfo(sim: Simulator, webId: string, i: number, attribute: boolean): { Name: string; Path: string } {
  if (attribute) {
    const d = sim.af?.describeAttribute?.(webId);
    if (d) return d;
  }
  return { Name: sim.tagName(i), Path: sim.tagPath(i) };
}

/**
 * A point type PI Web API cannot read answers 501 (fidelity §10: "501 unsupported value type"; §2
 * lists Blob among the point types). The wording is inferred: no source quotes it.
 */
function unreadableType(sim: Simulator, index: number): void {
  const type = sim.tagMeta(index).pointType;
  if (type === 'Blob') throw new SimError(501, `Reading values of a point of type '${type}' is not supported.`);
}

/**
 * A point whose values carry a per-value error (setValueError): each item has
 * `Errors: [{FieldName: "Value", Message: [...]}]` (swagger TimedValue.Errors, PropertyError;
 * fidelity §4).
 */
function withValueErrors(sim: Simulator, index: number, items: TimedValueJson[]): TimedValueJson[] {
  const message = sim.valueErrors.get(index);
  if (message === undefined) return items;
  return items.map((it) => ({ ...it, Errors: [{ FieldName: 'Value', Message: [message] }] }) as TimedValueJson);
}

function outWebId(sim: Simulator, req: SimRequest, webId: string, i: number, attribute: boolean): string {
  return attribute ? webId : sim.tagWebId(i, webIdTypeOf(req));
}

export function registerStreamRoutes(router: Router, sim: Simulator): void {
  router.add(
    'GET',
    '/streams/{webId}/recorded',
    guard((req, p) => {
      const { index } = sim.resolveStream(p.webId!);
      sim.recordedReads.set(index, (sim.recordedReads.get(index) ?? 0) + 1);
      unreadableType(sim, index);
      // Single-stream reads only: in a streamset, `Items.X` names the members' fields, not the values'.
      const params = { ...recordedParams(sim, req), keep: selectedItemFields(req) };
      const units = sim.tagMeta(index).units;
      return { status: 200, body: { Links: {}, Items: withValueErrors(sim, index, recordedItems(sim, index, params)), UnitsAbbreviation: units } };
    }),
  );

  /** Static AF attributes have a value but no series (fidelity §6). */
  const staticValue = (webId: string): SimResponse | undefined => {
    if (markerOf(sim.webIds, webId) !== 'Ab') return undefined;
    const v = sim.af?.staticValue?.(webId);
    if (!v) return undefined;
    return {
      status: 200,
      body: {
        Timestamp: '1970-01-01T00:00:00Z',
        Value: v.value,
        UnitsAbbreviation: v.unitsAbbreviation,
        Good: true,
        Questionable: false,
        Substituted: false,
        Annotated: false,
      },
    };
  };

  router.add(
    'GET',
    '/streams/{webId}/value',
    guard((req, p) => {
      const sv = staticValue(p.webId!);
      if (sv) return sv;
      const { index } = sim.resolveStream(p.webId!);
      const tq = q(req, 'time');
      const t = tq ? timeParam(sim, req, 'time', '*') : sim.nowUnits();
      const e = tq ? sim.interpolate(index, t) : sim.series.before(index, t, sim.nowUnits());
      if (!e) return { status: 200, body: sim.json(index, sim.interpolate(index, t)) };
      return { status: 200, body: sim.json(index, e) };
    }),
  );

  router.add(
    'GET',
    '/streams/{webId}/end',
    guard((_req, p) => {
      const sv = staticValue(p.webId!);
      if (sv) return sv;
      const { index } = sim.resolveStream(p.webId!);
      const now = sim.nowUnits();
      const e = sim.series.before(index, now, now);
      return { status: 200, body: sim.json(index, e ?? sim.interpolate(index, now)) };
    }),
  );

  router.add(
    'GET',
    '/streams/{webId}/interpolated',
    guard((req, p) => {
      const { index } = sim.resolveStream(p.webId!);
      return { status: 200, body: { Links: {}, Items: interpolatedItems(sim, req, index), UnitsAbbreviation: sim.tagMeta(index).units } };
    }),
  );

  router.add(
    'GET',
    '/streamsets/recorded',
    guard((req) => {
      const webIds = qAll(req, 'webId');
      if (webIds.length === 0) throw new SimError(400, "The 'webId' parameter is required.");
      const params = recordedParams(sim, req);
      return { status: 200, body: { Links: {}, Items: webIds.map((w) => streamsetItem(sim, req, w, params)) } };
    }),
  );

  router.add(
    'GET',
    '/streamsets/{webId}/recorded',
    guard((req, p) => {
      const attrs = sim.af?.attributesOfElement(p.webId!);
      if (!attrs) throw new SimError(404, `The specified element was not found. WebId: '${p.webId}'.`);
      const params = recordedParams(sim, req);
      const items = [];
      for (const w of attrs) {
        // Static attributes have no series (fidelity §6): only PI Point attributes are listed.
        if (sim.af?.pointIndexForAttribute(w) === undefined) continue;
        items.push(streamsetItem(sim, req, w, params));
      }
      return { status: 200, body: { Links: {}, Items: items } };
    }),
  );

  router.add(
    'GET',
    '/streamsets/value',
    guard((req) => {
      const webIds = qAll(req, 'webId');
      if (webIds.length === 0) throw new SimError(400, "The 'webId' parameter is required.");
      const now = sim.nowUnits();
      const items = webIds.map((w) => {
        try {
          const { index, attribute } = sim.resolveStream(w);
          const e = sim.series.before(index, now, now) ?? sim.interpolate(index, now);
          return { WebId: outWebId(sim, req, w, index, attribute), ...sourceInfo(sim, w, index, attribute), Value: sim.json(index, e), Links: {} };
        } catch (err) {
          if (err instanceof SimError) return { WebId: w, Errors: [err.message] };
          throw err;
        }
      });
      return { status: 200, body: { Links: {}, Items: items } };
    }),
  );
}

/** One stream of a streamset read; a bad stream carries `Errors` without failing the call (fidelity §3). */
function streamsetItem(sim: Simulator, req: SimRequest, webId: string, params: RecordedParams): Record<string, unknown> {
  try {
    const { index, attribute } = sim.resolveStream(webId);
    return {
      WebId: outWebId(sim, req, webId, index, attribute),
      ...sourceInfo(sim, webId, index, attribute),
      Links: {},
      Items: recordedItems(sim, index, params),
      UnitsAbbreviation: sim.tagMeta(index).units,
    };
  } catch (err) {
    if (err instanceof SimError) return { WebId: webId, Errors: [err.message] };
    throw err;
  }
}
