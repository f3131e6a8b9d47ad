/** Response shaping shared by every route: `selectedFields` and `webIdType` (fidelity §1). */
import type { WebIdType } from '../../../agent/pi/webid.js';
import { q, type Router, type SimRequest, type SimResponse } from './router.js';

interface FieldTree { [name: string]: FieldTree }

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
  if (Array.isArray(v)) return v.map((x) => prune(x, tree));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    const sub = tree[k.toLowerCase()];
    if (!sub) continue;
    out[k] = Object.keys(sub).length === 0 ? val : prune(val, sub);
  }
  return out;
}

/** The requested `webIdType` (default Full); unknown values fall back to Full. */
export function webIdTypeOf(req: SimRequest): WebIdType {
  const v = (q(req, 'webIdType') ?? 'Full').toLowerCase();
  switch (v) {
    case 'idonly': return 'IDOnly';
    case 'pathonly': return 'PathOnly';
    case 'localidonly': return 'LocalIDOnly';
    case 'defaultidonly': return 'DefaultIDOnly';
    default: return 'Full';
  }
}

/** Dispatch through the router and apply `selectedFields` to a successful body. */
export async function dispatchShaped(router: Router, req: SimRequest): Promise<SimResponse> {
  const res = await router.dispatch(req);
  const sf = q(req, 'selectedFields');
  if (sf && res.status < 300 && res.body !== undefined) return { ...res, body: selectFields(res.body, sf) };
  return res;
}
