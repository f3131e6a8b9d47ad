import t from 'tap';
import { decodeWebId, encodeWebId, pathOnlyWebId, guidToBytes, bytesToGuid, idOnlyWebId, webIdOfLink } from '../../agent/pi/webid.js';

t.test('the PI Web API sample WebID decodes to its GUID and name', async (t) => {
  const d = decodeWebId('F1DSBd9Ab83Z90SNSjy4JtD5fQVk0tVFMtUEk');
  t.same(d, { type: 'Full', marker: 'DS', guids: ['6f40df05-d9cd-44f7-8d4a-3cb826d0f97d'], name: 'VM-TS-PI' });
  t.equal(encodeWebId(d), 'F1DSBd9Ab83Z90SNSjy4JtD5fQVk0tVFMtUEk');
});

t.test('GUIDs use Microsoft byte order', async (t) => {
  const g = '6f40df05-d9cd-44f7-8d4a-3cb826d0f97d';
  t.equal(guidToBytes(g).toString('hex'), '05df406fcdd9f7448d4a3cb826d0f97d');
  t.equal(bytesToGuid(guidToBytes(g)), g);
});

t.test('point WebIDs round-trip in every form', async (t) => {
  const server = '11111111-2222-3333-4444-555555555555';
  for (const type of ['Full', 'IDOnly'] as const) {
    const parts =
      type === 'Full'
        ? { type, marker: 'DP' as const, guids: [server], pointId: 12345, name: 'SIMPI\\SINUSOID' }
        : { type, marker: 'DP' as const, guids: [server], pointId: -7 };
    t.same(decodeWebId(encodeWebId(parts)), parts, type);
  }
  const p = pathOnlyWebId('DP', '\\\\SimPI\\Sinusoid');
  t.equal(p, 'P1DP' + Buffer.from('SIMPI\\SINUSOID').toString('base64url'));
  t.same(decodeWebId(p), { type: 'PathOnly', marker: 'DP', guids: [], name: 'SIMPI\\SINUSOID' });
});

// Attributes carry three GUIDs (AF server, owner, attribute) as the spec's examples show (issue 18).
t.test('attribute WebIDs carry the owner marker', async (t) => {
  const parts = {
    type: 'Full' as const,
    marker: 'Ab' as const,
    owner: 'F' as const,
    guids: ['6f40df05-d9cd-44f7-8d4a-3cb826d0f97d', '00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001'],
    name: 'AF\\DB\\EVENTFRAMES[X]|TEMP',
  };
  const s = encodeWebId(parts);
  t.match(s, /^F1AbF/);
  t.same(decodeWebId(s), parts);
});

t.test('malformed WebIDs are rejected', async (t) => {
  t.throws(() => decodeWebId('X1DSabc'));
  t.throws(() => decodeWebId('F1ZZabc'));
  t.throws(() => decodeWebId('I1DSshort'));
  t.throws(() => decodeWebId('F1DS' + 'A'.repeat(22) + '!!'));
});

t.test('idOnlyWebId: a Full WebID of any object loses its name; anything else is returned unchanged', async (t) => {
  const server = '11111111-2222-3333-4444-555555555555';
  const point = encodeWebId({ type: 'Full', marker: 'DP', guids: [server], pointId: 42, name: 'SIMPI\\SINUSOID' });
  const pointId = encodeWebId({ type: 'IDOnly', marker: 'DP', guids: [server], pointId: 42 });
  t.equal(idOnlyWebId(point), pointId, 'a point');
  t.equal(idOnlyWebId(pointId), pointId, 'already IDOnly');
  const attr = { marker: 'Ab' as const, owner: 'E' as const, guids: [server, '00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001'] };
  t.equal(idOnlyWebId(encodeWebId({ ...attr, type: 'Full', name: 'AF\\DB\\E|A' })), encodeWebId({ ...attr, type: 'IDOnly' }), 'an attribute keeps its owner marker');
  const path = pathOnlyWebId('DP', '\\\\SimPI\\Sinusoid');
  t.equal(idOnlyWebId(path), path, 'PathOnly has no id to keep');
  for (const odd of ['X1DSabc', 'F1ZZabc', 'I1DSshort', 'not a webid', '']) t.equal(idOnlyWebId(odd), odd, `never throws: ${JSON.stringify(odd)}`);
  t.equal(idOnlyWebId(undefined), undefined);
});

t.test('webIdOfLink: the last path segment of a Links URL, decoded, as sent', async (t) => {
  t.equal(webIdOfLink('https://pi/piwebapi/points/I1DPabc'), 'I1DPabc');
  t.equal(webIdOfLink('https://pi/piwebapi/elements/F1Em%2Dx/?selectedFields=Name'), 'F1Em-x');
  t.equal(webIdOfLink('https://pi/piwebapi/elements/F1Em%zz'), 'F1Em%zz', 'a stray % is left as it came');
  t.equal(webIdOfLink(undefined), undefined);
  t.equal(webIdOfLink(''), undefined);
});
