/**
 * WebID 1.0 (PI Web API 2016 R2 and 2017): the layouts read from ids real servers returned, the
 * keys the agent makes of them, and the client's translation at the wire (pi/webid-aliases.ts)
 * against the simulator's 2016 R2 profile, which reads no 2.0 id.
 */
import t from 'tap';
import { PiClient } from '../../agent/pi/client.js';
import { randomUUID } from 'node:crypto';
import { decodeWebId1, encodeWebId, encodeWebId1, idOnlyWebId, isWebId1, webId1Key, type WebIdMarker } from '../../agent/pi/webid.js';
import { WebIdAliases, type WebIdAliasStore } from '../../agent/pi/webid-aliases.js';
import { findDataServer, listPoints } from '../../agent/pi/points.js';
import { anonymousAuth } from '../helpers/scripted-server.js';
import { simWithClient } from '../helpers/sim-client.js';

/**
 * Ids PI Web API servers of 2017 and earlier returned, as quoted in public code (their GUIDs and
 * paths decoded by hand: Guid.ToByteArray() order, URL-safe base64 without padding).
 */
const REAL = [
  {
    id: 'P09KoOKByvc0-uxyvoTV1UfQ61oCAAVVRJTC1QSS1QXFBFUy5BSFUuQ09PTElORyBFTkVSR1kgQlRVIFBFUiBIUg',
    parts: { marker: 'DP', guids: ['280eaaf4-af1c-4f73-aec7-2be84d5d547d'], pointId: 154347, name: 'UTIL-PI-P\\PES.AHU.COOLING ENERGY BTU PER HR' },
    key: 'I1DP9KoOKByvc0-uxyvoTV1UfQ61oCAA',
  },
  {
    id: 's09KoOKByvc0-uxyvoTV1UfQVVRJTC1QSS1Q',
    parts: { marker: 'DS', guids: ['280eaaf4-af1c-4f73-aec7-2be84d5d547d'], name: 'UTIL-PI-P' },
    key: 'I1DS9KoOKByvc0-uxyvoTV1UfQ',
  },
  {
    id: 'D0vXCmerKddk-VtN6YtBmF5A8lsCue2JtEm2KAZ4UNRKIwQlVTSU5FU1NQSTJcT1BT',
    parts: { marker: 'RD', name: 'BUSINESSPI2\\OPS' },
    key: 'I1RDvXCmerKddk-VtN6YtBmF5A8lsCue2JtEm2KAZ4UNRKIw',
  },
  {
    id: 'E0Yfc0jetNdUKgzx5SiPQwKAh-vBfrqz6RGqUA5W_jVX9gRUMyQU1BWi1UMU41RUo1XE9NT1xORVhBIFZBWkFOVEVcTUFMSEFTXFBJREVfNjg',
    parts: {
      marker: 'Em',
      guids: ['8d34f761-4deb-4275-a0cf-1e5288f43028', '7ec1eb87-b3ba-11e9-aa50-0e56fe3557f6'],
      name: 'EC2AMAZ-T1N5EJ5\\OMO\\NEXA VAZANTE\\MALHAS\\PIDE_68',
    },
    key: 'I1EmYfc0jetNdUKgzx5SiPQwKAh-vBfrqz6RGqUA5W_jVX9g',
  },
  {
    id: 'A0EbgZy4oKQ9kiBiZJTW7eugwS5GAMtE55BGIPhgDcyrprwcrOde7rrSVobodgP17EChQVVRJTC1BRlxDRUZTXFVDREFWSVNcQlVJTERJTkdTXFJJRkxFIFJBTkdFXEVMRUNUUklDSVRZfERFTUFORF9LQlRV',
    parts: { marker: 'Ab', owner: 'E', name: 'UTIL-AF\\CEFS\\UCDAVIS\\BUILDINGS\\RIFLE RANGE\\ELECTRICITY|DEMAND_KBTU' },
    key: 'I1AbEbgZy4oKQ9kiBiZJTW7eugwS5GAMtE55BGIPhgDcyrprwcrOde7rrSVobodgP17EChQ',
  },
  {
    id: 'T07dtyl5PO4EmFExFPTz6FbgSnYaLt6aAkqQMOBOaLJPKQTUFSQy1QSTIwMTRcQUZQQVJUTkVSQ09VUlNFV0VBVEhFUlxFTEVNRU5UVEVNUExBVEVTW0NJVElF',
    parts: { marker: 'ET' },
    key: 'I1ET7dtyl5PO4EmFExFPTz6FbgSnYaLt6aAkqQMOBOaLJPKQ',
  },
] as const;

t.test('real servers’ WebID 1.0 ids: decoded, keyed as IDOnly 2.0, written back identically', async (t) => {
  for (const r of REAL) {
    t.ok(isWebId1(r.id), r.id.slice(0, 3));
    const p = decodeWebId1(r.id);
    t.match(p, { type: 'Full', ...r.parts }, `${r.parts.marker}: fields`);
    t.equal(idOnlyWebId(r.id), r.key, `${r.parts.marker}: key`);
    const { type: _type, ...rest } = p;
    t.equal(encodeWebId1(rest, r.id[0]!), r.id, `${r.parts.marker}: round trip`);
  }
  // A layout the agent does not know stays as the server wrote it; so does garbage.
  t.equal(idOnlyWebId('Q0abcdefghijklmnopqrstuvwxyz'), 'Q0abcdefghijklmnopqrstuvwxyz');
  t.equal(idOnlyWebId('P0short'), 'P0short');
  t.notOk(isWebId1('I1DP9KoOKByvc0-uxyvoTV1UfQ61oCAA'), 'a 2.0 id is not a 1.0 one');
});

t.test('webId1Key (string moves only) gives what a full decode and an IDOnly encode give', async (t) => {
  const layouts: [string, WebIdMarker, number, string?][] = [
    ['P', 'DP', 1],
    ['s', 'DS', 1],
    ['D', 'RD', 2],
    ['E', 'Em', 2],
    ['T', 'ET', 2],
    ['A', 'Ab', 3, 'E'],
    ['A', 'Ab', 3, 'F'],
    ['F', 'Fm', 2],
  ];
  let n = 0;
  for (const [char, marker, guids, owner] of layouts) {
    for (let i = 0; i < 50; i++) {
      const parts = {
        marker,
        guids: Array.from({ length: guids }, () => randomUUID()),
        name: `SERVER\\Ünït ${i}|${'x'.repeat(i)}`,
        ...(owner ? { owner } : {}),
        ...(marker === 'DP' ? { pointId: i * 7919 } : {}),
      };
      const id = encodeWebId1(parts, char);
      const { name: _name, type: _type, ...rest } = decodeWebId1(id);
      if (webId1Key(id) !== encodeWebId({ ...rest, type: 'IDOnly' })) t.fail(`${id}: ${webId1Key(id)}`);
      n++;
    }
  }
  t.equal(n, 400, '400 ids of every layout agree');
  t.equal(webId1Key('P0short'), undefined, 'too short for its layout');
  t.equal(webId1Key('I1DP9KoOKByvc0-uxyvoTV1UfQ61oCAA'), undefined, 'a 2.0 id');
});

/** A store of pairs in memory, as the store's `pi_webids` table answers; `saved` lists every save. */
function memStore(pairs: [string, string][] = []): WebIdAliasStore & { saved: [string, string][] } {
  const m = new Map(pairs);
  const saved: [string, string][] = [];
  return {
    saved,
    hasAny: () => m.size > 0,
    get: (k) => m.get(k),
    save: (ps) => {
      saved.push(...ps);
      for (const [k, w] of ps) m.set(k, w);
    },
  };
}

t.test('WebIdAliases: answers are rewritten to keys, requests back to the server’s ids, pairs kept', async (t) => {
  const store = memStore();
  const saved = store.saved;
  const a = new WebIdAliases(store);
  const [point, ds, el] = [REAL[0], REAL[1], REAL[3]];
  // Nothing is touched before the server is known to write 1.0 ids.
  const before = { WebId: point.id };
  a.inbound(before);
  t.equal(before.WebId, point.id);
  a.sniff('{"Items":[{"WebId":"P09Ko...');
  t.ok(a.isActive, 'the first WebId of an answer tells the format');
  const answer = {
    Items: [
      { WebId: point.id, Name: 'x', Links: { Self: `https://pi/piwebapi/points/${point.id}?selectedFields=a`, DataServer: `https://pi/piwebapi/dataservers/${ds.id}` } },
    ],
    RefElementWebIds: [el.id, 'Q0unknownlayoutunknownlayout'],
    DatabaseWebId: 'I1RDalready2',
  };
  a.inbound(answer);
  t.same(answer, {
    Items: [
      {
        WebId: point.key,
        Name: 'x',
        Links: { Self: `https://pi/piwebapi/points/${point.key}?selectedFields=a`, DataServer: `https://pi/piwebapi/dataservers/${ds.key}` },
      },
    ],
    RefElementWebIds: [el.key, 'Q0unknownlayoutunknownlayout'],
    DatabaseWebId: 'I1RDalready2',
  });
  t.same(
    saved.sort(),
    [
      [point.key, point.id],
      [ds.key, ds.id],
      [el.key, el.id],
    ].sort(),
    'each new pair saved once',
  );
  a.inbound({ WebId: point.id });
  t.equal(saved.length, 3, 'a pair seen again is not saved again');
  t.equal(
    a.outbound(`/piwebapi/streams/${point.key}/recorded?webId=${ds.key}&x=I1DPnotaknownkeynotaknownkey`),
    `/piwebapi/streams/${point.id}/recorded?webId=${ds.id}&x=I1DPnotaknownkeynotaknownkey`,
  );
  t.equal(
    a.outbound(JSON.stringify({ '1': { Resource: `https://pi/piwebapi/elements/${el.key}/attributes` } })),
    JSON.stringify({ '1': { Resource: `https://pi/piwebapi/elements/${el.id}/attributes` } }),
  );

  // A new client over the same pairs translates from its first request.
  const b = new WebIdAliases(memStore(saved));
  t.ok(b.isActive, 'pairs in the store mean a 1.0 server');
  t.equal(b.outbound(`/streams/${point.key}/value`), `/streams/${point.id}/value`);
  // PI Web API upgraded to a 2.0 release: its release turns the translation off, pairs or not.
  b.setFormat('2.0');
  t.notOk(b.isActive);
  t.equal(b.outbound(`/streams/${point.key}/value`), `/streams/${point.key}/value`);

  // A 2.0 server: decided by its first WebId, never walked.
  const c = new WebIdAliases();
  c.sniff('{"WebId":"I1DS9KoOKByvc0-uxyvoTV1UfQ"}');
  const two = { WebId: point.id };
  c.inbound(two);
  t.equal(two.WebId, point.id, 'no translation once the server is known to write 2.0');
});

t.test('WebIdAliases: more pairs than it holds in memory, every one still found (the store has them)', async (t) => {
  const store = memStore();
  const a = new WebIdAliases(store);
  a.setFormat('1.0');
  const ids = Array.from({ length: 60_000 }, (_, i) =>
    encodeWebId1({ marker: 'DP', guids: ['280eaaf4-af1c-4f73-aec7-2be84d5d547d'], pointId: i, name: `SRV\\T${i}` }, 'P'),
  );
  const answer = { Items: ids.map((WebId) => ({ WebId })) };
  a.inbound(answer);
  t.equal(store.saved.length, 60_000, 'every pair saved');
  const keys = answer.Items.map((it) => it.WebId);
  t.equal(new Set(keys).size, 60_000);
  // The first keys were dropped from memory long ago: they come back from the store.
  for (const i of [0, 1, 9_999, 30_000, 59_999]) t.equal(a.webIdOf(keys[i]!), ids[i], `pair ${i}`);
});

t.test('against 2016 R2: keys in, keys out; a 2.0 id the server never issued is refused', async (t) => {
  const { running, client } = await simWithClient(t, { tags: 12, seed: 5, version: '2016R2' });
  const ds = await findDataServer(client, 'SIMPI');
  t.match(ds.WebId, /^I1DS/);
  const points = [];
  for await (const p of listPoints(client, ds.WebId, {})) points.push(p);
  t.equal(points.length, 12);
  t.same(
    points.map((p) => p.WebId),
    points.map((_, i) => idOnlyWebId(running.sim.tagWebId(i))),
    'every point by its IDOnly key',
  );
  t.ok(isWebId1(running.sim.tagWebId(0)), 'the server itself writes 1.0 ids');
  const rec = await client.get<{ Items: unknown[] }>(`/streams/${points[0]!.WebId}/recorded`, { startTime: '*-1h', endTime: '*' });
  t.ok(rec.Items.length > 0, 'a read by key reaches the point');

  // The server reads no 2.0 id: a key the client has no pair for goes out as it is and is refused.
  const stranger = new PiClient({ baseUrl: running.url, auth: anonymousAuth, timeoutMs: 5000, retries: 0 });
  t.teardown(() => stranger.close());
  await t.rejects(stranger.get(`/streams/${points[0]!.WebId}/recorded`), { status: 400, message: /Unknown or invalid WebID format/ });

  // A renamed point keeps its key; the newest id the server wrote is the one sent.
  running.sim.renameTag(0, 'RENAMED.TAG');
  const again = [];
  for await (const p of listPoints(client, ds.WebId, { nameFilter: 'RENAMED*' })) again.push(p);
  t.equal(again.length, 1);
  t.equal(again[0]!.WebId, points[0]!.WebId, 'same key after the rename');
  t.equal(client.webIds.webIdOf(points[0]!.WebId), running.sim.tagWebId(0), 'the renamed point’s new 1.0 id is the one sent');
  t.match(decodeWebId1(running.sim.tagWebId(0)).name, /\\RENAMED\.TAG$/);
});
