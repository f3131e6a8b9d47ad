/**
 * PI Web API WebID 2.0: encode and decode Full, IDOnly, PathOnly, LocalIDOnly and DefaultIDOnly ids;
 * and WebID 1.0 (2016 R2, 2017) as far as real servers' ids show it (further down), with the keys
 * the agent makes of both. Shared by the agent and the simulator (which issues them).
 *
 * Sources: AVEVA, PI Web API Reference, "WebID Encoded Datatypes" (webid-encoded-datatypes.html:
 * per object the fields of each type, e.g. an AF analysis is `Xs` + System ID + Analysis ID, its
 * LocalIDOnly form drops the System ID), "WebID Encoding" (webid-encoding.html: Urlencoded Guid is
 * `Guid.ToByteArray()` in URL-safe base64 without padding) and the example WebIDs of the 2018 SP1
 * swagger (../shared/piwebapi), whose sizes fix each marker's layout (test/pi/webid-spec.test.ts).
 * piwebapi-fidelity.md §9 summarises them.
 */

export type WebIdType = 'Full' | 'IDOnly' | 'PathOnly' | 'LocalIDOnly' | 'DefaultIDOnly';

/**
 * The id part of each marker: how many GUIDs a Full or IDOnly id carries (the server's first:
 * the data server for `DS`/`DP`, the AF server (PISystem) for every AF object), whether an owner
 * marker character follows the marker, and whether a PI point id follows the GUIDs. From the
 * spec's examples: `I1RD`/`I1Em`/`I1ET`/`I1Fm` + 2 GUIDs (48 characters), `I1AbE` + 3 (71),
 * `I1DP` + 1 GUID + point id (32), `I1DS`/`I1RS` + 1 (26), `I1MSR` + 2 (49).
 */
const LAYOUTS = {
  // PI Data Archive: data server, point.
  DS: { guids: 1, owner: false, pointId: false },
  DP: { guids: 1, owner: false, pointId: true },
  // AF: server, database, element, event frame, element template, attribute (owner E element, F event frame).
  RS: { guids: 1, owner: false, pointId: false },
  RD: { guids: 2, owner: false, pointId: false },
  Em: { guids: 2, owner: false, pointId: false },
  Fm: { guids: 2, owner: false, pointId: false },
  ET: { guids: 2, owner: false, pointId: false },
  Ab: { guids: 3, owner: true, pointId: false },
  // Other AF objects of the spec's examples (categories, tables, units, analyses, notifications,
  // security, enumerations, time rules, attribute templates): decoded so no id PI issues is "malformed".
  AC: { guids: 2, owner: false, pointId: false },
  AT: { guids: 3, owner: true, pointId: false },
  BC: { guids: 2, owner: false, pointId: false },
  Bl: { guids: 2, owner: false, pointId: false },
  DC: { guids: 2, owner: false, pointId: false },
  EC: { guids: 2, owner: false, pointId: false },
  MS: { guids: 2, owner: true, pointId: false },
  MV: { guids: 3, owner: true, pointId: false },
  NC: { guids: 3, owner: true, pointId: false },
  NR: { guids: 2, owner: false, pointId: false },
  NS: { guids: 3, owner: true, pointId: false },
  NT: { guids: 2, owner: false, pointId: false },
  SI: { guids: 2, owner: false, pointId: false },
  SM: { guids: 2, owner: false, pointId: false },
  TP: { guids: 2, owner: false, pointId: false },
  TR: { guids: 3, owner: true, pointId: false },
  UC: { guids: 2, owner: false, pointId: false },
  Ut: { guids: 2, owner: false, pointId: false },
  XC: { guids: 2, owner: false, pointId: false },
  XP: { guids: 2, owner: false, pointId: false },
  XR: { guids: 3, owner: true, pointId: false },
  Xs: { guids: 2, owner: false, pointId: false },
  XT: { guids: 2, owner: false, pointId: false },
} as const satisfies Record<string, { guids: number; owner: boolean; pointId: boolean }>;

export type WebIdMarker = keyof typeof LAYOUTS;

export interface WebIdParts {
  type: WebIdType;
  marker: WebIdMarker;
  /** The owner marker character of markers that have one (`Ab`: `E` element, `F` event frame). */
  owner?: string;
  /**
   * GUIDs in canonical lower-case 8-4-4-4-12 form, outermost first: the server's, then (attributes)
   * the owner's, then the object's. LocalIDOnly and DefaultIDOnly ids carry no server GUID.
   */
  guids: string[];
  /** PI point id, for `DP`. */
  pointId?: number;
  /** Path without the leading `\\`, upper-cased (Full and PathOnly only). */
  name?: string;
}

const TYPE_CHAR: Record<WebIdType, string> = { Full: 'F', IDOnly: 'I', PathOnly: 'P', LocalIDOnly: 'L', DefaultIDOnly: 'D' };
const CHAR_TYPE: Record<string, WebIdType> = { F: 'Full', I: 'IDOnly', P: 'PathOnly', L: 'LocalIDOnly', D: 'DefaultIDOnly' };

/** How many GUIDs (and whether a point id) an id of this type and marker holds. */
function idLayout(marker: WebIdMarker, type: WebIdType): { guids: number; pointId: boolean } {
  const l = LAYOUTS[marker];
  if (type === 'PathOnly') return { guids: 0, pointId: false };
  // LocalIDOnly and DefaultIDOnly leave the (local or default) server's id out (webid-type.html).
  const local = type === 'LocalIDOnly' || type === 'DefaultIDOnly';
  return { guids: l.guids - (local ? 1 : 0), pointId: l.pointId };
}

function isMarker(m: string): m is WebIdMarker {
  return Object.hasOwn(LAYOUTS, m);
}

/** Does this marker take an owner marker character? */
export function hasOwnerMarker(marker: WebIdMarker): boolean {
  return LAYOUTS[marker].owner;
}

export function b64url(buf: Buffer): string {
  return buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromB64url(s: string): Buffer {
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** GUID → 16 bytes in Microsoft order (Guid.ToByteArray(), Python uuid.bytes_le; webid-encoding.html). */
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

/** The name payload: the path without its leading `\\`, upper-cased (`ToUpperInvariant`, webid-encoded-datatypes.html). */
export function namePayload(path: string): string {
  return path.replace(/^\\\\/, '').toUpperCase();
}

export function encodeWebId(p: WebIdParts): string {
  const layout = idLayout(p.marker, p.type);
  let s = TYPE_CHAR[p.type] + '1' + p.marker;
  if (hasOwnerMarker(p.marker)) {
    if (!p.owner || p.owner.length !== 1) throw new TypeError(`${p.marker} WebID needs a one-character owner marker`);
    s += p.owner;
  }
  if (p.guids.length !== layout.guids) throw new TypeError(`${p.type} ${p.marker} WebID needs ${layout.guids} GUID(s), got ${p.guids.length}`);
  for (const g of p.guids) s += b64url(guidToBytes(g));
  if (layout.pointId) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(p.pointId ?? 0);
    s += b64url(b);
  }
  if (p.type === 'Full' || p.type === 'PathOnly') {
    if (p.name === undefined) throw new TypeError(`${p.type} WebID needs a name`);
    s += b64url(Buffer.from(namePayload(p.name), 'utf8'));
  }
  return s;
}

/** Decode a WebID 2.0; throws TypeError on anything malformed or of a marker this module does not know. */
export function decodeWebId(webId: string): WebIdParts {
  const type = CHAR_TYPE[webId[0] ?? ''];
  if (!type || webId[1] !== '1') throw new TypeError(`not a WebID 2.0: ${webId}`);
  const marker = webId.slice(2, 4);
  if (!isMarker(marker)) throw new TypeError(`unknown WebID marker ${marker}`);
  let pos = 4;
  let owner: string | undefined;
  if (hasOwnerMarker(marker)) {
    owner = webId[4];
    if (!owner || !/^[A-Za-z]$/.test(owner)) throw new TypeError(`missing owner marker in ${webId}`);
    pos = 5;
  }
  const layout = idLayout(marker, type);
  const guids: string[] = [];
  let pointId: number | undefined;
  for (let i = 0; i < layout.guids; i++) {
    const chunk = webId.slice(pos, pos + 22);
    if (chunk.length !== 22 || !/^[A-Za-z0-9_-]+$/.test(chunk)) throw new TypeError(`truncated WebID ${webId}`);
    guids.push(bytesToGuid(fromB64url(chunk)));
    pos += 22;
  }
  if (layout.pointId) {
    const chunk = webId.slice(pos, pos + 6);
    if (chunk.length !== 6 || !/^[A-Za-z0-9_-]+$/.test(chunk)) throw new TypeError(`truncated WebID ${webId}`);
    pointId = fromB64url(chunk).readInt32LE(0);
    pos += 6;
  }
  let name: string | undefined;
  if (type === 'Full' || type === 'PathOnly') {
    const rest = webId.slice(pos);
    // A name payload is whole base64 characters: a length of 1 mod 4 cannot be one (RFC 4648 §5).
    if (!/^[A-Za-z0-9_-]*$/.test(rest) || rest.length % 4 === 1) throw new TypeError(`malformed WebID ${webId}`);
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

/**
 * WebID 1.0, what PI Web API 2016 R2 and 2017 write (2.0 came with 2017 R2; AVEVA, "WebID": ids
 * created by 2017 and earlier still address their objects on later releases). AVEVA never
 * published its layout; it is read here from ids real servers returned, quoted in public code:
 * a one-character object marker, the version character `0`, then the fields of a Full 2.0 id of
 * the same object (GUIDs as Urlencoded Guids, a point id, the upper-cased path as Urlencoded UTF-8):
 * - `P0` + data server GUID + point id + `SERVER\TAG` (a point of `\\UTIL-PI-P`);
 * - `s0` + data server GUID + `SERVER` (lower-case `s`, in five servers' URLs);
 * - `D0` + AF server GUID + database GUID + `AFSERVER\DB`;
 * - `E0` + AF server GUID + element GUID + element path;
 * - `T0` + AF server GUID + template GUID + `AFSERVER\DB\ELEMENTTEMPLATES[NAME]`;
 * - `A0E` + AF server, element and attribute GUIDs + `...\ELEMENT|ATTRIBUTE` (owner marker `E`).
 * Event frames and their attributes were seen in no such answer. Their layouts are taken to follow
 * the same rule (`F0` + AF server GUID + event frame GUID + path; `A0F` + three GUIDs + path):
 * the agent must key event frames by something a rename does not change. Were a real server to
 * write them otherwise, the key is still made of the id's own characters before the path, and the
 * client still sends the server's id (webid-aliases.ts): a wrong guess costs at worst what keeping
 * the server's id as the key costs (a new key on a rename), never a failed read. Asset servers are
 * not keyed by the agent: no layout.
 */
export type WebId1Markers = Readonly<Record<string, { marker: WebIdMarker }>>;

export const WEBID1_MARKERS: WebId1Markers = {
  P: { marker: 'DP' },
  s: { marker: 'DS' },
  D: { marker: 'RD' },
  E: { marker: 'Em' },
  T: { marker: 'ET' },
  A: { marker: 'Ab' }, // owner `E` (seen) or `F` (assumed, above)
  F: { marker: 'Fm' }, // assumed, above
};

/** Does this look like a WebID 1.0 (marker character, then `0`)? Says nothing about its layout. */
export function isWebId1(webId: string): boolean {
  return /^[A-Za-z]0[A-Za-z0-9_-]+$/.test(webId);
}

/**
 * Decode a WebID 1.0 of a known layout (above) into the parts of the Full 2.0 id of the same
 * object; throws TypeError on anything else. `markers` replaces the table (the simulator adds its
 * stand-ins for the layouts not known here).
 */
export function decodeWebId1(webId: string, markers: WebId1Markers = WEBID1_MARKERS): WebIdParts {
  if (!isWebId1(webId)) throw new TypeError(`not a WebID 1.0: ${webId}`);
  const known = Object.hasOwn(markers, webId[0]!) ? markers[webId[0]!] : undefined;
  if (!known) throw new TypeError(`WebID 1.0 of an unknown layout: ${webId}`);
  // The same fields as a Full 2.0 id (an owner marker included): re-read the tail behind a 2.0 head.
  return decodeWebId(`F1${known.marker}${webId.slice(2)}`);
}

/**
 * The key of a WebID 1.0 of a known layout: its IDOnly 2.0 id, made by moving the id characters
 * (the GUIDs and point id, already URL-safe base64) behind a 2.0 head and leaving the path off,
 * without decoding anything; undefined for any other id. The same string decodeWebId1 and an
 * IDOnly encode give for the canonical ids servers write (test/pi/webid-v1.test.ts), at a
 * fraction of the cost: the client keys every id of every answer of a 1.0 server.
 */
export function webId1Key(webId: string): string | undefined {
  if (!isWebId1(webId)) return undefined;
  const known = Object.hasOwn(WEBID1_MARKERS, webId[0]!) ? WEBID1_MARKERS[webId[0]!]! : undefined;
  if (!known) return undefined;
  const layout = LAYOUTS[known.marker];
  let head = `I1${known.marker}`;
  let pos = 2;
  if (layout.owner) {
    const owner = webId[2]!;
    if (!/^[A-Za-z]$/.test(owner)) return undefined;
    head += owner;
    pos = 3;
  }
  const end = pos + 22 * layout.guids + (layout.pointId ? 6 : 0);
  return webId.length < end ? undefined : head + webId.slice(pos, end);
}

/** The WebID 1.0 of an object (the simulator's 2016 R2 profile); `char` names the marker character. */
export function encodeWebId1(p: Omit<WebIdParts, 'type'>, char: string): string {
  const full = encodeWebId({ ...p, type: 'Full' });
  return `${char}0${full.slice(4)}`;
}

/** PathOnly WebID built from a path alone: lets the agent address a tag without a lookup. */
export function pathOnlyWebId(marker: WebIdMarker, path: string, owner?: string): string {
  const parts: WebIdParts = { type: 'PathOnly', marker, guids: [], name: path };
  if (owner) parts.owner = owner;
  return encodeWebId(parts);
}

/**
 * The IDOnly form of a Full WebID: the same object, without the name payload. The agent keys PI
 * points and AF objects by it, because a Full WebID embeds the path: a rename or move of the object
 * or of any ancestor would otherwise change the key and split one object's history in two (§9).
 * Every GUID stays (the server's, the owner's, the object's): elements of one AF server differ only
 * in the last one. The agent asks for `webIdType=IDOnly` wherever it keys by WebID and keeps what
 * the server returns; this only turns the Full ids found elsewhere (Links, older answers) into keys.
 * A WebID 1.0 of a known layout (2016 R2 and 2017 write no other) becomes the IDOnly 2.0 id of the
 * same object: the key a later release gives it too, so an upgrade of PI Web API keeps every key.
 * The PI client turns such keys back into the server's own 1.0 ids (pi/webid-aliases.ts).
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
  const key1 = webId1Key(webId);
  if (key1 !== undefined) return key1;
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
