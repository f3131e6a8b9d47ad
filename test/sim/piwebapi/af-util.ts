/**
 * Small helpers of the simulated Asset Framework: deterministic GUIDs and random numbers from the
 * seed, PI name filters (fidelity §1), query parsing and paging.
 */

import { nameFilterToRegExp } from './namefilter.js';
import { errors, q, type SimRequest, type SimResponse } from './router.js';

/** 32-bit FNV-1a of a string under a salt, with a murmur3 finaliser (fast; no crypto needed here). */
function hashString(salt: number, key: string): number {
  let h = (0x811c9dc5 ^ Math.imul(salt | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A GUID derived from the seed and a stable key: the same model gives the same ids on every run. */
export function seededGuid(seed: number, key: string): string {
  const k = `${seed}\u0000${key}`;
  const hex = [1, 2, 3, 4].map((i) => hashString(i, k).toString(16).padStart(8, '0')).join('');
  // Version 5 / RFC 4122 variant bits, so the ids look like real GUIDs.
  const v = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${v}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** 32-bit hash of a key under the seed (for picking tags, reasons, durations). */
export function seededInt(seed: number, key: string): number {
  return hashString(5, `${seed}\u0001${key}`);
}

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
export function prng(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** PI name filter (fidelity §1) → case-insensitive matcher; empty or absent matches everything. */
export function nameMatcher(filter: string | undefined): (name: string) => boolean {
  if (filter === undefined || filter === '' || filter === '*') return () => true;
  const rx = nameFilterToRegExp(filter);
  return (name) => rx.test(name);
}

/** Case-insensitive comparison used for AF names and paths (AF names are case-insensitive). */
export function sameName(a: string, b: string): boolean {
  return a.toUpperCase() === b.toUpperCase();
}

export function compareNames(a: string, b: string): number {
  const x = a.toUpperCase();
  const y = b.toUpperCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

export class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Boolean query parameter; absent → `dflt`; anything but true/false → 400. */
export function qBool(req: SimRequest, name: string, dflt: boolean): boolean {
  const v = q(req, name);
  if (v === undefined || v === '') return dflt;
  if (/^true$/i.test(v)) return true;
  if (/^false$/i.test(v)) return false;
  throw new BadRequest(`The value '${v}' is not valid for ${name}.`);
}

/** Non-negative integer query parameter; absent → `dflt`. */
export function qInt(req: SimRequest, name: string, dflt: number): number {
  const v = q(req, name);
  if (v === undefined || v === '') return dflt;
  if (!/^\s*-?\d+\s*$/.test(v)) throw new BadRequest(`The value '${v}' is not valid for ${name}.`);
  const n = Number(v);
  if (n < 0) throw new BadRequest(`The value '${v}' is not valid for ${name}.`);
  return n;
}

/** `startIndex`/`maxCount` paging (defaults 0 / 1000, fidelity §6): exactly that slice, no other cap. */
export function page<T>(req: SimRequest, items: T[]): T[] {
  const start = qInt(req, 'startIndex', 0);
  const max = qInt(req, 'maxCount', 1000);
  return items.slice(start, start + max);
}

/** Wrap a handler so BadRequest and friends become `{"Errors":[...]}` responses. */
export function guarded(fn: () => SimResponse): SimResponse {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BadRequest) return errors(e.status, e.message);
    throw e;
  }
}
