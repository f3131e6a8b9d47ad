/**
 * How the simulated server writes and reads WebIDs: one scheme object, passed to everything that
 * issues ids (data server, points, AF objects), so a server profile can swap the format (PI Web API
 * 2016 R2 writes WebID 1.0; WebID 2.0 came with 2017 R2, AVEVA "PI Web API - Using Web ID 2.0").
 *
 * WebID 2.0 (webid-encoded-datatypes.html, swagger-2018sp1.json examples; agent/pi/webid.ts):
 * every AF object's id carries its AF server's GUID first, an attribute its owner's GUID too.
 * `defaultType` is the server's `WebIDType` configuration setting: what a request without
 * `webIdType` gets (webid-type.html: "The default type is configurable"); Full out of the box.
 */
import {
  decodeWebId,
  decodeWebId1,
  encodeWebId,
  encodeWebId1,
  isWebId1,
  WEBID1_MARKERS,
  type WebId1Markers,
  type WebIdMarker,
  type WebIdParts,
  type WebIdType,
} from '../../../agent/pi/webid.js';

/** What identifies an object: every GUID a Full id carries (the server's first), point id, owner marker. */
export interface SimObjectId {
  marker: WebIdMarker;
  owner?: string;
  guids: string[];
  pointId?: number;
}

export interface SimWebIds {
  /** The WebID format this server writes. */
  readonly version: '1.0' | '2.0';
  /** The server's configured default `webIdType` (requests that send none). */
  readonly defaultType: WebIdType;
  /** The object's WebID of this type; `path` is its full path (`\\SERVER\...`). */
  encode(id: SimObjectId, type: WebIdType, path: string): string;
  /** Any id this server accepts; throws TypeError on a malformed one. */
  decode(webId: string): WebIdParts;
}

/**
 * WebID 1.0 layouts: agent/pi/webid.ts has the ones real servers' answers show (points, data
 * servers, databases, elements, element templates, element attributes) and the ones it assumes
 * (event frames, their attributes). No public answer of a 1.0 server showed an asset server: the
 * simulator writes a stand-in in the same shape (`R0` + GUID + name); the agent never keys by it.
 */
const SIM_WEBID1: WebId1Markers = { ...WEBID1_MARKERS, R: { marker: 'RS' } };
const WEBID1_CHAR: Partial<Record<WebIdMarker, string>> = { DP: 'P', DS: 's', RD: 'D', Em: 'E', ET: 'T', Ab: 'A', RS: 'R', Fm: 'F' };

/**
 * WebID 1.0, as PI Web API 2016 R2 and 2017 write it: one format, whatever `webIdType` asks (that
 * parameter came with 2.0 in 2017 R2, AVEVA "PI Web API - Using Web ID 2.0"; a server ignores a
 * parameter it does not know). A 2.0 id means nothing to such a server: 400, as for any id it
 * cannot parse.
 */
export function webIds1(): SimWebIds {
  return {
    version: '1.0',
    defaultType: 'Full',
    encode(id, _type, path) {
      const char = WEBID1_CHAR[id.marker];
      if (char === undefined) throw new TypeError(`no WebID 1.0 layout for ${id.marker}`);
      const parts: Omit<WebIdParts, 'type'> = { marker: id.marker, guids: id.guids, name: path };
      if (id.owner !== undefined) parts.owner = id.owner;
      if (id.pointId !== undefined) parts.pointId = id.pointId;
      return encodeWebId1(parts, char);
    },
    decode: (webId) => decodeWebId1(webId, SIM_WEBID1),
  };
}

/**
 * WebID 2.0, as PI Web API 2017 R2 and later write it. They still read the 1.0 ids older releases
 * issued (AVEVA, "WebID": ids created by PI Web API 2017 and earlier and persisted can be
 * interpreted by 2017 R2 and later).
 */
export function webIds2(defaultType: WebIdType = 'Full'): SimWebIds {
  return {
    version: '2.0',
    defaultType,
    encode(id, type, path) {
      const parts: WebIdParts = { type, marker: id.marker, guids: id.guids };
      if (id.owner !== undefined) parts.owner = id.owner;
      if (id.pointId !== undefined) parts.pointId = id.pointId;
      // PathOnly has no ids; LocalIDOnly and DefaultIDOnly leave the server's out (webid-type.html).
      if (type === 'PathOnly') parts.guids = [];
      else if (type === 'LocalIDOnly' || type === 'DefaultIDOnly') parts.guids = id.guids.slice(1);
      if (type === 'Full' || type === 'PathOnly') parts.name = path;
      return encodeWebId(parts);
    },
    decode: (webId) => (isWebId1(webId) ? decodeWebId1(webId, SIM_WEBID1) : decodeWebId(webId)),
  };
}

/** The marker of an id this server reads (1.0 ids carry theirs elsewhere); undefined for one it cannot parse. */
export function markerOf(webIds: SimWebIds, webId: string): WebIdMarker | undefined {
  try {
    return webIds.decode(webId).marker;
  } catch {
    return undefined;
  }
}

/** The object's own GUID in a decoded id (the last), undefined for PathOnly or a point. */
export function objectGuid(p: WebIdParts): string | undefined {
  return p.type === 'PathOnly' ? undefined : p.guids[p.guids.length - 1];
}

/** Does a decoded id name this server (by GUID, or implicitly: LocalIDOnly and DefaultIDOnly carry none)? */
export function onServer(p: WebIdParts, serverGuid: string): boolean {
  if (p.type === 'LocalIDOnly' || p.type === 'DefaultIDOnly') return true;
  return p.guids[0] === serverGuid;
}
