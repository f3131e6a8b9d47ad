/** Response shaping shared by every route: `selectedFields` and `webIdType` (fidelity §1). */
import type { WebIdType } from '../../../agent/pi/webid.js';
import { q, type Router, type SimRequest, type SimResponse } from './router.js';

interface FieldTree {
  [name: string]: FieldTree;
}

/**
 * The item fields a `selectedFields` keeps under `Items` (lower-case), or undefined when it does not
 * restrict them: lets a large read build only those fields (selectFields then copies nothing).
 */
export function selectedItemFields(req: SimRequest): Set<string> | undefined {
  const sf = q(req, 'selectedFields');
  if (!sf) return undefined;
  const keep = new Set<string>();
  for (const path of sf.split(';')) {
    const segs = path
      .trim()
      .split('.')
      .filter(Boolean)
      .map((x) => x.toLowerCase());
    if (segs.length === 0) continue;
    if (segs[0] !== 'items') continue;
    if (segs.length === 1) return undefined;
    if (segs.length > 2) return undefined;
    keep.add(segs[1]!);
  }
  return keep.size > 0 ? keep : undefined;
}

/** Keep only the dotted paths of `selectedFields` (e.g. `Items.Timestamp;Items.Value`); arrays apply per element. */
export function selectFields(body: unknown, selectedFields: string): unknown {
  const tree: FieldTree = {};
  for (const path of selectedFields.split(';')) {
    const segs = path.trim().split('.').filter(Boolean);
    if (segs.length === 0) continue;
    let node = tree;
    for (const s of segs) node = node[s.toLowerCase()] ??= {};
  }
  if (Object.keys(tree).length === 0) return body;
  return prune(body, tree);
}

function prune(v: unknown, tree: FieldTree): unknown {
  if (Array.isArray(v)) {
    // Large reads are arrays of objects with the same keys: resolve each key once per array.
    const memo = new Map<string, FieldTree | null>();
    return v.map((x) => pruneObject(x, tree, memo));
  }
  return pruneObject(v, tree, new Map());
}

function pruneObject(v: unknown, tree: FieldTree, memo: Map<string, FieldTree | null>): unknown {
  if (Array.isArray(v)) return prune(v, tree);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  // Already shaped (every key selected whole, e.g. recorded items built from selectedFields): no copy.
  // The field subtree of a key (null: not selected), memoised per response (keys repeat per item).
  const subOf = (k: string): FieldTree | null => {
    let sub = memo.get(k);
    if (sub === undefined) {
      const lk = k.toLowerCase();
      sub = Object.hasOwn(tree, lk) ? tree[lk]! : null;
      memo.set(k, sub);
    }
    return sub;
  };
  let whole = true;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    const sub = subOf(k);
    if (sub === null || Object.keys(sub).length > 0) {
      whole = false;
      break;
    }
  }
  if (whole) return o;
  const out: Record<string, unknown> = {};
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    const sub = subOf(k);
    if (sub === null) continue;
    const val = o[k];
    out[k] = Object.keys(sub).length === 0 ? val : prune(val, sub);
  }
  return out;
}

/**
 * The requested `webIdType`; without one the server's configured default (`WebIDType` setting,
 * webid-type.html), Full unless configured. Unknown values fall back to Full.
 */
export function webIdTypeOf(req: SimRequest, dflt: WebIdType = 'Full'): WebIdType {
  const v = (q(req, 'webIdType') ?? dflt).toLowerCase();
  switch (v) {
    case 'idonly':
      return 'IDOnly';
    case 'pathonly':
      return 'PathOnly';
    case 'localidonly':
      return 'LocalIDOnly';
    case 'defaultidonly':
      return 'DefaultIDOnly';
    default:
      return 'Full';
  }
}

/** Dispatch through the router and apply `selectedFields` to a successful body. */
export async function dispatchShaped(router: Router, req: SimRequest): Promise<SimResponse> {
  const res = await router.dispatch(req);
  const sf = q(req, 'selectedFields');
  if (sf && res.status < 300 && res.body !== undefined) return { ...res, body: selectFields(res.body, sf) };
  return res;
}
