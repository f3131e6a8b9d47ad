import t from 'tap';
import type { Test } from 'tap';
import { PiClient } from '../../agent/pi/client.js';
import { chunkWebIds, readRecorded, readRecordedMany, STREAMSET_RECORDED_FIELDS } from '../../agent/pi/recorded.js';
import { anonymousAuth, json, recordingSleep, startScripted } from '../helpers/scripted-server.js';
import type { Script } from '../helpers/scripted-server.js';

async function setup(t: Test, script: Script) {
  const server = await startScripted(script);
  const client = new PiClient({ baseUrl: server.url, auth: anonymousAuth, sleep: recordingSleep().sleep });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  return { server, client };
}

const start = Date.UTC(2026, 0, 1) * 1000;
const end = Date.UTC(2026, 0, 2) * 1000;

function value(ts: string, v: unknown) {
  return { Timestamp: ts, Value: v, Good: true, Questionable: false, Substituted: false, Annotated: false };
}

/** A streamset server that answers each asked webId with one value naming it. */
const echoStreams: Script = (req, res) => {
  const u = new URL(req.url, 'http://x');
  const ids = u.searchParams.getAll('webId');
  json(res, 200, { Links: {}, Items: ids.map((id) => ({ WebId: id, Items: [value('2026-01-01T00:00:00.0000001Z', id)], UnitsAbbreviation: 'm' })) });
};

t.test('chunkWebIds respects the count and URL budgets', async (t) => {
  const ids = Array.from({ length: 10 }, (_, i) => `ID${i}`); // each adds 7 + 3 = 10 chars
  t.same(
    chunkWebIds(ids, 100, 4, 10_000).map((c) => c.length),
    [4, 4, 2],
  );
  t.same(
    chunkWebIds(ids, 100, 100, 130).map((c) => c.length),
    [3, 3, 3, 1],
  );
  t.same(
    chunkWebIds(['X'.repeat(500)], 100, 100, 130).map((c) => c.length),
    [1],
  );
  t.same(chunkWebIds([], 100, 100, 130), []);
  t.same(chunkWebIds(ids, 100, 4, 10_000).flat(), ids);
});

t.test('readRecordedMany sends the range, fields and maxCount, and chunks long lists', async (t) => {
  const { server, client } = await setup(t, echoStreams);
  const ids = Array.from({ length: 250 }, (_, i) => `F1DPwebid${String(i).padStart(60, '0')}`);
  const out = await readRecordedMany(client, [...ids, ids[0]!], start, end, { maxCount: 500 });
  t.equal(out.size, 250);
  t.same([...out.keys()], ids);
  for (const id of ids) {
    const s = out.get(id)!;
    t.same(s.items, [value('2026-01-01T00:00:00.0000001Z', id)]);
    t.equal(s.units, 'm');
    t.equal(s.error, undefined);
  }
  t.ok(server.seen.length >= 3, `${server.seen.length} requests`);
  let total = 0;
  for (const r of server.seen) {
    const full = `http://127.0.0.1:1/` + r.url;
    t.ok(full.length <= 8000, `URL ${full.length} chars`);
    const u = new URL(r.url, 'http://x');
    t.equal(u.pathname, '/piwebapi/streamsets/recorded');
    t.equal(u.searchParams.get('startTime'), '2026-01-01T00:00:00Z');
    t.equal(u.searchParams.get('endTime'), '2026-01-02T00:00:00Z');
    t.equal(u.searchParams.get('maxCount'), '500');
    t.equal(u.searchParams.get('boundaryType'), 'Inside');
    t.equal(u.searchParams.get('selectedFields'), STREAMSET_RECORDED_FIELDS);
    t.equal(u.searchParams.get('webIdType'), 'IDOnly', "streams named as asked, whatever the server's default (issue 18)");
    const n = u.searchParams.getAll('webId').length;
    t.ok(n <= 100);
    total += n;
  }
  t.equal(total, 250);
});

t.test('streams are matched by position when PI spells the WebIds differently', async (t) => {
  const { client } = await setup(t, (req, res) => {
    const ids = new URL(req.url, 'http://x').searchParams.getAll('webId');
    json(res, 200, { Items: ids.map((id, i) => ({ WebId: `F1DPfull${i}`, Items: [value('2026-01-01T00:00:00Z', id)] })) });
  });
  const out = await readRecordedMany(client, ['P1DPa', 'P1DPb'], start, end);
  t.same(out.get('P1DPa')!.items[0]!.Value, 'P1DPa');
  t.same(out.get('P1DPb')!.items[0]!.Value, 'P1DPb');
});

t.test('a failing stream gets its own error; the others still return', async (t) => {
  const { client } = await setup(t, (req, res) => {
    const ids = new URL(req.url, 'http://x').searchParams.getAll('webId');
    json(res, 200, {
      Items: ids.map((id) => {
        if (id === 'gone') return { WebId: id, Errors: ["PI Point not found '\\\\SIMPI\\GONE'."] };
        if (id === 'broken') return { WebId: id, WebException: { Errors: ['Archive offline'], StatusCode: 503 } };
        return { WebId: id, Items: [value('2026-01-01T00:00:00Z', 1.5)] };
      }),
    });
  });
  const out = await readRecordedMany(client, ['ok', 'gone', 'broken'], start, end);
  t.same(out.get('ok')!.items.length, 1);
  t.equal(out.get('ok')!.error, undefined);
  const gone = out.get('gone')!;
  t.same(gone.items, []);
  t.equal(gone.error?.code, 'PI_NOT_FOUND');
  t.match(gone.error?.message, /PI Point not found/);
  t.equal(out.get('broken')!.error?.code, 'PI_SERVER_ERROR');
  t.equal(out.get('broken')!.error?.retryable, true);
});

t.test('a stream left out of the answer is an error, never an empty series', async (t) => {
  const { client } = await setup(t, (req, res) => {
    const ids = new URL(req.url, 'http://x').searchParams.getAll('webId');
    json(res, 200, { Items: ids.slice(1).map((id) => ({ WebId: id, Items: [] })) });
  });
  const out = await readRecordedMany(client, ['a', 'b', 'c'], start, end);
  t.equal(out.get('a')!.error?.code, 'PI_BAD_RESPONSE');
  t.equal(out.get('b')!.error, undefined);

  const { client: c2 } = await setup(t, (_req, res) => json(res, 200, { Items: [{ WebId: 'zz', Items: [] }] }));
  await t.rejects(readRecordedMany(c2, ['a', 'b'], start, end), { code: 'PI_BAD_RESPONSE' });
});

t.test('a request failing as a whole rejects the call', async (t) => {
  const { client } = await setup(t, (_req, res) => json(res, 400, { Errors: ["Parameter 'maxCount' is greater than the maximum allowed (150000)."] }));
  await t.rejects(readRecordedMany(client, ['a'], start, end, { maxCount: 200_000 }), { code: 'PI_LIMIT_EXCEEDED', limit: 150000 });
});

t.test('truncated streams come back exactly as PI sent them', async (t) => {
  const items = [value('2026-01-01T00:00:01Z', 1), value('2026-01-01T00:00:02Z', 2), value('2026-01-01T00:00:02Z', 3)];
  const { client } = await setup(t, (_req, res) => json(res, 200, { Items: [{ WebId: 'a', Items: items }] }));
  const out = await readRecordedMany(client, ['a'], start, end, { maxCount: 3 });
  t.same(out.get('a')!.items, items);
});

t.test('readRecorded reads one stream', async (t) => {
  const items = [value('2026-01-01T00:00:01.5Z', 'x')];
  const { server, client } = await setup(t, (_req, res) => json(res, 200, { Items: items, UnitsAbbreviation: 'degC', Links: {} }));
  const out = await readRecorded(client, 'F1DPabc', start + 1, end, 10);
  t.same(out, { items, units: 'degC' });
  const u = new URL(server.seen[0]!.url, 'http://x');
  t.equal(u.pathname, '/piwebapi/streams/F1DPabc/recorded');
  t.equal(u.searchParams.get('startTime'), '2026-01-01T00:00:00.000001Z');
  t.equal(u.searchParams.get('maxCount'), '10');
});
