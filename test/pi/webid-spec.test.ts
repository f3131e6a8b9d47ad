/**
 * Every example WebID of the PI Web API 2018 SP1 spec (../shared/piwebapi/swagger-2018sp1.json:
 * the `example` strings of its definitions, written by a real server) decodes and re-encodes to
 * the same string; Full and IDOnly forms of one object keep every GUID (issue 18, item 1).
 */
import t from 'tap';
import { decodeWebId, encodeWebId, idOnlyWebId, type WebIdParts } from '../../agent/pi/webid.js';
import { loadSpec } from '../sim/swagger.js';

/** Every string in the spec that looks like a WebID 2.0, with where it was found. */
function exampleWebIds(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (v: unknown, where: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
    else if (typeof v === 'string') for (const m of v.matchAll(/\b[FIPLD]1[A-Za-z]{2}[A-Za-z0-9_-]{16,}/g)) if (!out.has(m[0])) out.set(m[0], where);
  };
  walk(loadSpec(), '');
  return out;
}

/**
 * One spec example is not a WebID a server writes: SecurityMapping's `SecurityIdentityWebId` is
 * the Attribute example's payload under an `SI` prefix (71 characters; the SecurityIdentity example
 * itself is `I1SI` + 2 GUIDs, 48). A copy-and-paste slip in the spec: it must be rejected, not
 * silently decoded into something else.
 */
const NOT_A_WEBID = new Set(['I1SIEDqD5loBNH0erqeqJodtALAYIKyyz2F5BGAxQAVXYRDBAGyPedZG1sUmxOOclp3Flwg']);

const examples = exampleWebIds();

t.test('the spec holds examples of every object the agent reads', async (t) => {
  const prefixes = new Set([...examples.keys()].map((w) => w.slice(0, 4)));
  for (const p of ['I1DS', 'I1DP', 'I1RS', 'I1RD', 'I1Em', 'I1Fm', 'I1ET', 'I1Ab']) t.ok(prefixes.has(p), p);
  t.ok(examples.size >= 30, `${examples.size} examples`);
});

t.test('every example WebID of the spec decodes and re-encodes to itself', async (t) => {
  for (const [w, where] of examples) {
    if (NOT_A_WEBID.has(w)) {
      t.throws(() => decodeWebId(w), `${where}: the spec's slip is rejected`);
      continue;
    }
    const p = decodeWebId(w);
    t.equal(encodeWebId(p), w, `${where}: ${w}`);
  }
});

t.test('the spec examples the agent keys by, field by field', async (t) => {
  const afServer = '96f9a00e-4d80-471f-aba9-ea89a1db402c';
  t.same(decodeWebId('I1RSDqD5loBNH0erqeqJodtALA'), { type: 'IDOnly', marker: 'RS', guids: [afServer] });
  t.equal(decodeWebId('I1DS1km7hQHxB0i6-VfC-9MwAA').guids.length, 1);
  const point = decodeWebId('I1DPa70Wf0zBA06CLkV9ovNQgQCAAAAA');
  t.same([point.guids.length, point.pointId], [1, 8], 'a point: data server GUID and point id');
  for (const w of [
    'I1RDDqD5loBNH0erqeqJodtALAquulo6433EKdHra7fsmL0g',
    'I1EmDqD5loBNH0erqeqJodtALAYIKyyz2F5BGAxQAVXYRDBA',
    'I1ETDqD5loBNH0erqeqJodtALAkpSYp6uykE2Ku0yChDU91g',
    'I1FmDqD5loBNH0erqeqJodtALADqD5loBNH0cAAAAAAASwAg',
  ]) {
    t.equal(w.length, 48);
    t.equal(decodeWebId(w).guids[0], afServer, `${w.slice(0, 4)}: the AF server's GUID first`);
    t.equal(decodeWebId(w).guids.length, 2, `${w.slice(0, 4)}: then the object's`);
  }
  const attr = decodeWebId('I1AbEDqD5loBNH0erqeqJodtALAYIKyyz2F5BGAxQAVXYRDBAGyPedZG1sUmxOOclp3Flwg');
  t.equal(attr.owner, 'E');
  t.same(
    attr.guids.slice(0, 2),
    decodeWebId('I1EmDqD5loBNH0erqeqJodtALAYIKyyz2F5BGAxQAVXYRDBA').guids,
    "an attribute: AF server, its element (the spec's Element example), itself",
  );
  t.equal(attr.guids.length, 3);
});

t.test('IDOnly forms of Full ids keep every GUID: different elements never collapse onto one id', async (t) => {
  // The spec's one Full example (a notification delivery channel plug-in): same GUIDs as IDOnly.
  const full = 'F1DCDqD5loBNH0erqeqJodtALA1jVcFNf02UGGrgjlCY06lgUkVTVFVOSVRcUExVR0lOU0RFTElWRVJZQ0hBTk5FTFtXRUJTRVJWSUNFXQ';
  const d = decodeWebId(full);
  t.equal(d.name, 'RESTUNIT\\PLUGINSDELIVERYCHANNEL[WEBSERVICE]');
  t.same(decodeWebId(idOnlyWebId(full)), { type: 'IDOnly', marker: 'DC', guids: d.guids });
  // Every IDOnly example given a path as a server writes its Full form: back to the same IDOnly id.
  for (const [w] of examples) {
    if (NOT_A_WEBID.has(w) || !w.startsWith('I')) continue;
    const p = decodeWebId(w);
    const asFull: WebIdParts = { ...p, type: 'Full', name: '\\\\AF\\DB\\OBJECT' };
    t.equal(idOnlyWebId(encodeWebId(asFull)), w, `${w.slice(0, 5)} keeps ${p.guids.length} GUID(s)`);
  }
  // Two elements of one AF server, Full as a server writes them: two keys.
  const em = decodeWebId('I1EmDqD5loBNH0erqeqJodtALAYIKyyz2F5BGAxQAVXYRDBA');
  const a = encodeWebId({ ...em, type: 'Full', name: 'AF\\DB\\PUMP1' });
  const b = encodeWebId({ ...em, type: 'Full', guids: [em.guids[0]!, '00000000-0000-0000-0000-000000000002'], name: 'AF\\DB\\PUMP2' });
  t.not(idOnlyWebId(a), idOnlyWebId(b));
  t.equal(idOnlyWebId(a), 'I1EmDqD5loBNH0erqeqJodtALAYIKyyz2F5BGAxQAVXYRDBA');
});

t.test('LocalIDOnly and DefaultIDOnly leave the server GUID out (webid-type.html)', async (t) => {
  const em = decodeWebId('I1EmDqD5loBNH0erqeqJodtALAYIKyyz2F5BGAxQAVXYRDBA');
  const local = encodeWebId({ type: 'LocalIDOnly', marker: 'Em', guids: [em.guids[1]!] });
  t.equal(local, 'L1EmYIKyyz2F5BGAxQAVXYRDBA');
  t.same(decodeWebId(local), { type: 'LocalIDOnly', marker: 'Em', guids: [em.guids[1]] });
  t.throws(() => encodeWebId({ type: 'LocalIDOnly', marker: 'Em', guids: em.guids }));
  const pt = encodeWebId({ type: 'DefaultIDOnly', marker: 'DP', guids: [], pointId: 7 });
  t.same(decodeWebId(pt), { type: 'DefaultIDOnly', marker: 'DP', guids: [], pointId: 7 });
});
