/**
 * PI Web API WebID 2.0 (piwebapi-fidelity.md §9): encode and decode Full, IDOnly and PathOnly ids.
 * Shared by the agent (which builds PathOnly ids from paths) and the simulator (which issues Full ids).
 */

export type WebIdType = 'Full' | 'IDOnly' | 'PathOnly' | 'LocalIDOnly' | 'DefaultIDOnly';

/** Object markers used by pi-agent. `Ab` is followed by an owner marker (`E` element, `F` event frame). */
export type WebIdMarker = 'DS' | 'DP' | 'RS' | 'RD' | 'Em' | 'Ab' | 'Fm' | 'ET';

export interface WebIdParts {
  type: WebIdType;
  marker: WebIdMarker;
  /** For `Ab`: whose attribute it is. */
  owner?: 'E' | 'F';
  /** GUIDs in canonical lower-case 8-4-4-4-12 form, outermost first (server, owner, object). */
  guids: string[];
  /** PI point id, for `DP`. */
  pointId?: number;
  /** Path without the leading `\\`, upper-cased (absent for IDOnly). */
  name?: string;
}

const TYPE_CHAR: Record<WebIdType, string> = { Full: 'F', IDOnly: 'I', PathOnly: 'P', LocalIDOnly: 'L', DefaultIDOnly: 'D' };
const CHAR_TYPE: Record<string, WebIdType> = { F: 'Full', I: 'IDOnly', P: 'PathOnly', L: 'LocalIDOnly', D: 'DefaultIDOnly' };

/** How many GUIDs (and whether a point id) the id part of each marker holds. */
function idLayout(marker: WebIdMarker): { guids: number; pointId: boolean } {
  switch (marker) {
    case 'DS':
    case 'RS':
    case 'Em':
    case 'Fm':
    case 'ET':
      return { guids: 1, pointId: false };
    case 'DP':
      return { guids: 1, pointId: true };
    case 'RD':
    case 'Ab':
      return { guids: 2, pointId: false };
  }
}

export function b64url(buf: Buffer): string {
  return buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromB64url(s: string): Buffer {
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** GUID → 16 bytes in Microsoft order (Guid.ToByteArray(), Python uuid.bytes_le). */
export function guidToBytes(guid: string): Buffer {
  const hex = guid.replace(/[{}-]/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`not a GUID: ${guid}`);
  const b = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out[0] = b[3]!;
  out[1] = b[2]!;
  out[2] = b[1]!;
  out[3] = b[0]!;
  out[4] = b[5]!;
  out[5] = b[4]!;
  out[6] = b[7]!;
  out[7] = b[6]!;
  b.copy(out, 8, 8, 16);
  return out;
}

export function bytesToGuid(bytes: Buffer): string {
  const b = Buffer.from([bytes[3]!, bytes[2]!, bytes[1]!, bytes[0]!, bytes[5]!, bytes[4]!, bytes[7]!, bytes[6]!, ...bytes.subarray(8, 16)]);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The name payload: the path without its leading `\\`, upper-cased. */
export function namePayload(path: string): string {
  return path.replace(/^\\\\/, '').toUpperCase();
}

export function encodeWebId(p: WebIdParts): string {
  const layout = idLayout(p.marker);
  let s = TYPE_CHAR[p.type] + '1' + p.marker + (p.marker === 'Ab' ? (p.owner ?? 'E') : '');
  if (p.type !== 'PathOnly') {
    if (p.guids.length !== layout.guids) throw new TypeError(`${p.marker} WebID needs ${layout.guids} GUID(s)`);
    for (const g of p.guids) s += b64url(guidToBytes(g));
    if (layout.pointId) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(p.pointId ?? 0);
      s += b64url(b);
    }
  }
  if (p.type === 'Full' || p.type === 'PathOnly') {
    if (p.name === undefined) throw new TypeError(`${p.type} WebID needs a name`);
    s += b64url(Buffer.from(namePayload(p.name), 'utf8'));
  }
  return s;
}

/** Decode a WebID; throws TypeError on anything malformed. */
export function decodeWebId(webId: string): WebIdParts {
  const type = CHAR_TYPE[webId[0] ?? ''];
  if (!type || webId[1] !== '1') throw new TypeError(`not a WebID 2.0: ${webId}`);
  const marker = webId.slice(2, 4) as WebIdMarker;
  const known: WebIdMarker[] = ['DS', 'DP', 'RS', 'RD', 'Em', 'Ab', 'Fm', 'ET'];
  if (!known.includes(marker)) throw new TypeError(`unknown WebID marker ${marker}`);
  let pos = 4;
  let owner: 'E' | 'F' | undefined;
  if (marker === 'Ab') {
    const o = webId[4];
    if (o !== 'E' && o !== 'F') throw new TypeError(`unknown attribute owner marker in ${webId}`);
    owner = o;
    pos = 5;
  }
  const layout = idLayout(marker);
  const guids: string[] = [];
  let pointId: number | undefined;
  if (type !== 'PathOnly') {
    for (let i = 0; i < layout.guids; i++) {
      const chunk = webId.slice(pos, pos + 22);
      if (chunk.length !== 22) throw new TypeError(`truncated WebID ${webId}`);
      guids.push(bytesToGuid(fromB64url(chunk)));
      pos += 22;
    }
    if (layout.pointId) {
      const chunk = webId.slice(pos, pos + 6);
      if (chunk.length !== 6) throw new TypeError(`truncated WebID ${webId}`);
      pointId = fromB64url(chunk).readInt32LE(0);
      pos += 6;
    }
  }
  let name: string | undefined;
  if (type === 'Full' || type === 'PathOnly') {
    const rest = webId.slice(pos);
    if (!/^[A-Za-z0-9_-]*$/.test(rest)) throw new TypeError(`malformed WebID ${webId}`);
    name = fromB64url(rest).toString('utf8');
  } else if (pos !== webId.length) {
    throw new TypeError(`malformed WebID ${webId}`);
  }
  const parts: WebIdParts = { type, marker, guids };
  if (owner) parts.owner = owner;
  if (pointId !== undefined) parts.pointId = pointId;
  if (name !== undefined) parts.name = name;
  return parts;
}

/** PathOnly WebID built from a path alone: lets the agent address a tag without a lookup. */
export function pathOnlyWebId(marker: WebIdMarker, path: string, owner?: 'E' | 'F'): string {
  const parts: WebIdParts = { type: 'PathOnly', marker, guids: [], name: path };
  if (owner) parts.owner = owner;
  return encodeWebId(parts);
}

/**
 * The IDOnly form of a Full WebID: the same object, without the name payload. The agent keys PI
 * points and AF objects by it, because a Full WebID embeds the path: a rename or move of the object
 * or of any ancestor would otherwise change the key and split one object's history in two (§9).
 *
 * Anything that is not a Full WebID this module can decode (already IDOnly, PathOnly, LocalIDOnly,
 * a marker or version it does not know) is returned unchanged, never thrown on: PI accepts any id
 * it issued, so such an id still addresses the object, and the worst case is a key that changes on
 * a rename, not a discovery or extraction that fails on every cycle because of one odd id.
 */
export function idOnlyWebId(webId: string): string;
export function idOnlyWebId(webId: string | undefined): string | undefined;
export function idOnlyWebId(webId: string | undefined): string | undefined {
  if (webId === undefined) return undefined;
  let p: WebIdParts;
  try {
    p = decodeWebId(webId);
  } catch {
    return webId;
  }
  if (p.type !== 'Full') return webId;
  const { name: _name, ...rest } = p;
  return encodeWebId({ ...rest, type: 'IDOnly' });
}

/** The WebID at the end of a `Links` URL (`.../elements/{webId}`), as PI sent it; undefined when absent. */
export function webIdOfLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  const path = link.split('?')[0]!.replace(/\/+$/, '');
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (!last) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    // WebIDs are URL-safe base64: a stray '%' is left as it came.
    return last;
  }
}
