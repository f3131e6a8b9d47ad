/**
 * The simulator's control API under `/sim/...` (not part of PI Web API; no auth, no CSRF header).
 * `{tag}` is an index, a name, a path or a WebID. Mirrors the Simulator methods for tests that run
 * the simulator in another process.
 *
 *   GET    /sim/state                       clock, seed, tag count, faults
 *   POST   /sim/clock/advance   {by}        by: ms or duration (`2h`, `30m`)
 *   POST   /sim/clock/set       {now}       ISO time, not earlier than the clock
 *   GET    /sim/tags/{tag}                  index, name, path, WebId, metadata
 *   POST   /sim/tags            {name,kind} add a tag (kind: FLOAT32, INT32, DIGITAL, ...)
 *   POST   /sim/tags/{tag}/rename {name}
 *   DELETE /sim/tags/{tag}
 *   POST   /sim/tags/{tag}/type {pointType}  retype a point (`Blob`: its reads answer 501)
 *   POST   /sim/tags/{tag}/value-error {message?}  every value carries this error; none: cleared
 *   POST   /sim/tags/{tag}/events {timestamp,value,good?,questionable?,annotated?}   late insert
 *   POST   /sim/tags/{tag}/events/edit {timestamp,value,ordinal?}                     → Substituted
 *   POST   /sim/tags/{tag}/events/delete {timestamp,ordinal?} | {start,end}
 *   GET    /sim/tags/{tag}/truth?start=&end=
 *   GET|PUT|POST|DELETE /sim/faults        PUT replaces, POST adds one rule, DELETE clears
 *   POST   /sim/updates/expire              drop stream-update caches (404 "Cache not found")
 *   POST   /sim/updates/end     {tag,message?} end a tag's signups: their next poll answers Exception
 */
import { guard } from './discovery.js';
import type { FaultRule } from './faults.js';
import { q, type Router, type SimRequest } from './router.js';
import type { PiValue } from './series.js';
import { SimError, type Simulator } from './simulator.js';
import { KIND_PATTERN, type PointType, type TagKind } from './tags.js';

const POINT_TYPES: readonly PointType[] = ['Float32', 'Float64', 'Int32', 'Int16', 'Digital', 'String', 'Timestamp', 'Blob'];

function obj(req: SimRequest): Record<string, unknown> {
  const b = req.body;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new SimError(400, 'Expected a JSON object body.');
  return b as Record<string, unknown>;
}

function str(b: Record<string, unknown>, k: string): string {
  const v = b[k];
  if (typeof v !== 'string' || v === '') throw new SimError(400, `'${k}' must be a non-empty string.`);
  return v;
}

function optBool(b: Record<string, unknown>, k: string): boolean | undefined {
  const v = b[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new SimError(400, `'${k}' must be a boolean.`);
  return v;
}

function optInt(b: Record<string, unknown>, k: string): number | undefined {
  const v = b[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new SimError(400, `'${k}' must be a non-negative integer.`);
  return v;
}

function value(b: Record<string, unknown>): PiValue {
  const v = b.value ?? b.Value;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v && typeof v === 'object' && typeof (v as Record<string, unknown>).Name === 'string' && typeof (v as Record<string, unknown>).Value === 'number') {
    const d = v as { Name: string; Value: number; IsSystem?: boolean };
    return { Name: d.Name, Value: d.Value, IsSystem: d.IsSystem ?? false };
  }
  throw new SimError(400, "'value' must be a number, string, boolean or {Name, Value, IsSystem}.");
}

/** `{tag}` path segment: an all-digit segment is an index. */
function tagRef(s: string): number | string {
  return /^\d+$/.test(s) ? Number(s) : s;
}

export function registerControlRoutes(router: Router, sim: Simulator): void {
  const ok = (body: unknown) => ({ status: 200, body });

  router.add('GET', '/sim/state', () =>
    ok({
      now: sim.nowIso(),
      seed: sim.seed,
      tags: sim.tagCount(),
      serverGuid: sim.serverGuid,
      timeZone: sim.timeZone,
      faults: sim.faults.list(),
      af: sim.af !== undefined,
    }),
  );

  router.add(
    'POST',
    '/sim/clock/advance',
    guard((req) => {
      const by = obj(req).by;
      if (typeof by !== 'number' && typeof by !== 'string') throw new SimError(400, "'by' must be ms or a duration like '2h'.");
      return ok({ now: sim.advance(by) });
    }),
  );

  router.add(
    'POST',
    '/sim/clock/set',
    guard((req) => ok({ now: sim.setNow(str(obj(req), 'now')) })),
  );

  router.add(
    'GET',
    '/sim/tags/{tag}',
    guard((_req, p) => {
      const i = sim.resolveTag(tagRef(p.tag!));
      return ok({ index: i, name: sim.tagName(i), path: sim.tagPath(i), webId: sim.tagWebId(i), meta: sim.tagMeta(i) });
    }),
  );

  router.add(
    'POST',
    '/sim/tags',
    guard((req) => {
      const b = obj(req);
      const kind = (b.kind ?? 'FLOAT32') as TagKind;
      if (!KIND_PATTERN.includes(kind)) throw new SimError(400, `'kind' must be one of ${[...new Set(KIND_PATTERN)].join(', ')}.`);
      const i = sim.addTag(str(b, 'name'), kind);
      return { status: 201, body: { index: i, name: sim.tagName(i), path: sim.tagPath(i), webId: sim.tagWebId(i) } };
    }),
  );

  router.add(
    'POST',
    '/sim/tags/{tag}/rename',
    guard((req, p) => {
      const i = sim.resolveTag(tagRef(p.tag!));
      sim.renameTag(i, str(obj(req), 'name'));
      return ok({ index: i, name: sim.tagName(i), path: sim.tagPath(i), webId: sim.tagWebId(i) });
    }),
  );

  router.add(
    'DELETE',
    '/sim/tags/{tag}',
    guard((_req, p) => {
      sim.deleteTag(tagRef(p.tag!));
      return ok({ deleted: true });
    }),
  );

  router.add(
    'POST',
    '/sim/tags/{tag}/type',
    guard((req, p) => {
      const type = str(obj(req), 'pointType');
      if (!POINT_TYPES.includes(type as PointType)) throw new SimError(400, `'pointType' must be one of ${POINT_TYPES.join(', ')}.`);
      sim.setPointType(tagRef(p.tag!), type as PointType);
      return ok({ pointType: type });
    }),
  );

  router.add(
    'POST',
    '/sim/tags/{tag}/value-error',
    guard((req, p) => {
      const b = obj(req);
      sim.setValueError(tagRef(p.tag!), b.message === undefined ? undefined : str(b, 'message'));
      return ok({ valueError: b.message ?? null });
    }),
  );

  router.add(
    'POST',
    '/sim/tags/{tag}/events',
    guard((req, p) => {
      const b = obj(req);
      const ev: Parameters<Simulator['insertEvent']>[1] = { timestamp: str(b, 'timestamp'), value: value(b) };
      for (const k of ['good', 'questionable', 'substituted', 'annotated'] as const) {
        const v = optBool(b, k);
        if (v !== undefined) ev[k] = v;
      }
      return { status: 201, body: sim.insertEvent(tagRef(p.tag!), ev) };
    }),
  );

  router.add(
    'POST',
    '/sim/tags/{tag}/events/edit',
    guard((req, p) => {
      const b = obj(req);
      const change: Parameters<Simulator['editEvent']>[2] = { value: value(b) };
      const ord = optInt(b, 'ordinal');
      if (ord !== undefined) change.ordinal = ord;
      for (const k of ['good', 'questionable', 'annotated'] as const) {
        const v = optBool(b, k);
        if (v !== undefined) change[k] = v;
      }
      return ok(sim.editEvent(tagRef(p.tag!), str(b, 'timestamp'), change));
    }),
  );

  router.add(
    'POST',
    '/sim/tags/{tag}/events/delete',
    guard((req, p) => {
      const b = obj(req);
      if (b.start !== undefined || b.end !== undefined) return ok({ deleted: sim.deleteRange(tagRef(p.tag!), str(b, 'start'), str(b, 'end')) });
      return ok({ deleted: sim.deleteEvents(tagRef(p.tag!), str(b, 'timestamp'), optInt(b, 'ordinal')) });
    }),
  );

  router.add(
    'GET',
    '/sim/tags/{tag}/truth',
    guard((req, p) => {
      const start = q(req, 'start') ?? q(req, 'startTime');
      const end = q(req, 'end') ?? q(req, 'endTime');
      if (!start || !end) throw new SimError(400, "'start' and 'end' are required.");
      return ok({ Items: sim.truth(tagRef(p.tag!), start, end) });
    }),
  );

  router.add('GET', '/sim/faults', () => ok({ Items: sim.faults.list() }));
  router.add(
    'PUT',
    '/sim/faults',
    guard((req) => {
      const b = req.body;
      const rules = Array.isArray(b) ? b : (b as { rules?: unknown } | undefined)?.rules;
      if (!Array.isArray(rules)) throw new SimError(400, 'Expected an array of fault rules.');
      sim.setFaults(rules as FaultRule[]);
      return ok({ Items: sim.faults.list() });
    }),
  );
  router.add(
    'POST',
    '/sim/faults',
    guard((req) => {
      try {
        sim.faults.add(obj(req) as unknown as FaultRule);
      } catch (err) {
        if (err instanceof SimError) throw err;
        throw new SimError(400, (err as Error).message);
      }
      return ok({ Items: sim.faults.list() });
    }),
  );
  router.add('DELETE', '/sim/faults', () => {
    sim.faults.clear();
    return ok({ Items: [] });
  });

  router.add(
    'POST',
    '/sim/updates/end',
    guard((req) => {
      const b = obj(req);
      const tag = b.tag;
      if (typeof tag !== 'number' && typeof tag !== 'string') throw new SimError(400, "'tag' must be an index, name, path or WebID.");
      const message = b.message === undefined ? undefined : str(b, 'message');
      sim.updates?.endSignup(sim.resolveTag(tag), message);
      return ok({ ended: true });
    }),
  );

  router.add('POST', '/sim/updates/expire', () => {
    sim.updates?.expireAll();
    return ok({ expired: true });
  });
}
