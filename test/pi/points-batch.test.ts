import t from 'tap';
import type { Test } from 'tap';
import { PiClient } from '../../agent/pi/client.js';
import { findDataServer, getPointByPath, listPoints } from '../../agent/pi/points.js';
import { postBatch } from '../../agent/pi/batch.js';
import type { PiPoint } from '../../agent/pi/types.js';
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

function point(i: number): PiPoint {
  return { WebId: `W${i}`, Id: i, Name: `TAG${i}`, Path: `\\\\SRV\\TAG${i}`, PointType: 'Float32' };
}

t.test('findDataServer asks by path and returns the server', async (t) => {
  const ds = { WebId: 'F1DSxyz', Id: 'g', Name: 'SRV', Path: '\\\\PIServers[SRV]' };
  const { server, client } = await setup(t, (req, res) => {
    const p = new URL(req.url, 'http://x').searchParams.get('path');
    if (p === '\\\\SRV') json(res, 200, ds);
    else json(res, 404, { Errors: [`Data server '${p}' not found.`] });
  });
  t.same(await findDataServer(client, 'SRV'), ds);
  t.same(await findDataServer(client, '\\\\SRV'), ds);
  await t.rejects(findDataServer(client, 'OTHER'), { code: 'PI_NOT_FOUND' });
  t.equal(new URL(server.seen[0]!.url, 'http://x').pathname, '/piwebapi/dataservers');
});

t.test('listPoints pages with startIndex until a short page', async (t) => {
  const all = Array.from({ length: 2501 }, (_, i) => point(i));
  const { server, client } = await setup(t, (req, res) => {
    const u = new URL(req.url, 'http://x');
    const si = Number(u.searchParams.get('startIndex'));
    const mc = Number(u.searchParams.get('maxCount'));
    json(res, 200, { Items: all.slice(si, si + mc), Links: {} });
  });
  const got: PiPoint[] = [];
  for await (const p of listPoints(client, 'F1DSxyz', { nameFilter: 'TAG*', pageSize: 1000 })) got.push(p);
  t.same(got, all);
  t.same(
    server.seen.map((r) => new URL(r.url, 'http://x').searchParams.get('startIndex')),
    ['0', '1000', '2000'],
  );
  const u = new URL(server.seen[0]!.url, 'http://x');
  t.equal(u.pathname, '/piwebapi/dataservers/F1DSxyz/points');
  t.equal(u.searchParams.get('nameFilter'), 'TAG*');
  t.equal(u.searchParams.has('sourceFilter'), false);
});

t.test('listPoints on an exact multiple of the page size asks once more and stops on the empty page', async (t) => {
  const all = Array.from({ length: 20 }, (_, i) => point(i));
  const { server, client } = await setup(t, (req, res) => {
    const u = new URL(req.url, 'http://x');
    // A 2023 server (agent/pi/version.ts): sourceFilter is the server's to apply.
    if (u.pathname.endsWith('/system')) return json(res, 200, { ProductVersion: '1.19.0.621' });
    const si = Number(u.searchParams.get('startIndex'));
    json(res, 200, { Items: all.slice(si, si + Number(u.searchParams.get('maxCount'))) });
  });
  const got: PiPoint[] = [];
  for await (const p of listPoints(client, 'DS', { pageSize: 10, sourceFilter: 'OPC*' })) got.push(p);
  t.equal(got.length, 20);
  const pages = server.seen.filter((r) => new URL(r.url, 'http://x').pathname.endsWith('/points'));
  t.equal(pages.length, 3);
  t.equal(new URL(pages[0]!.url, 'http://x').searchParams.get('sourceFilter'), 'OPC*');
});

t.test('listPoints fails loudly mid-way rather than returning a partial list', async (t) => {
  const { client } = await setup(t, (req, res) => {
    const si = Number(new URL(req.url, 'http://x').searchParams.get('startIndex'));
    if (si === 0) json(res, 200, { Items: Array.from({ length: 5 }, (_, i) => point(i)) });
    else json(res, 403, { Errors: ['no read access'] });
  });
  const got: PiPoint[] = [];
  await t.rejects(
    (async () => {
      for await (const p of listPoints(client, 'DS', { pageSize: 5 })) got.push(p);
    })(),
    { code: 'PI_FORBIDDEN' },
  );
  t.equal(got.length, 5);
});

t.test('getPointByPath', async (t) => {
  const { server, client } = await setup(t, (_req, res) => json(res, 200, point(7)));
  t.same(await getPointByPath(client, '\\\\SRV\\TAG7'), point(7));
  t.equal(new URL(server.seen[0]!.url, 'http://x').searchParams.get('path'), '\\\\SRV\\TAG7');
});

t.test('postBatch checks every entry', async (t) => {
  const { server, client } = await setup(t, (_req, res) =>
    json(res, 207, {
      ok: { Status: 200, Headers: {}, Content: { Items: [1] } },
      missing: { Status: 404, Headers: {}, Content: { Errors: ["PI Point not found '\\\\SRV\\X'."] } },
      limited: { Status: 400, Content: { Errors: ["Parameter 'maxCount' is greater than the maximum allowed (150000)."] } },
      webex: { Status: 200, Content: { WebException: { Errors: ['streaming failed'], StatusCode: 502 } } },
      fan: {
        Status: 207,
        Content: {
          Items: [
            { Status: 200, Headers: {}, Content: { a: 1 } },
            { Status: 403, Headers: {}, Content: { Errors: ['denied'] } },
          ],
        },
      },
    }),
  );
  const req = { Method: 'GET', Resource: 'https://pi/piwebapi/points?path=x' };
  const out = await postBatch(client, { ok: req, missing: req, limited: req, webex: req, fan: { Method: 'GET', RequestTemplate: { Resource: '{0}' } }, absent: req });
  t.same(Object.keys(out).sort(), ['absent', 'fan', 'limited', 'missing', 'ok', 'webex']);
  t.same(out['ok'], { status: 200, content: { Items: [1] } });
  t.equal(out['missing']!.error?.code, 'PI_NOT_FOUND');
  t.match(out['missing']!.error?.message, /batch sub-request 'missing'.*PI Point not found/);
  t.equal(out['limited']!.error?.code, 'PI_LIMIT_EXCEEDED');
  t.equal(out['limited']!.error?.limit, 150000, 'the limit PI named is a field of the error');
  t.equal(out['webex']!.error?.code, 'PI_SERVER_ERROR');
  t.equal(out['webex']!.error?.status, 502);
  t.equal(out['fan']!.error?.code, 'PI_FORBIDDEN');
  t.match(out['fan']!.error?.message, /1 of 2 items/);
  t.same((out['fan']!.content as { Items: unknown[] }).Items.length, 2);
  t.equal(out['absent']!.error?.code, 'PI_BAD_RESPONSE');
  t.equal(out['absent']!.status, 0);
  const sent = server.seen[0]!;
  t.equal(sent.method, 'POST');
  t.equal(sent.headers['x-requested-with'], 'XMLHttpRequest');
  t.same(Object.keys(JSON.parse(sent.body)).sort(), ['absent', 'fan', 'limited', 'missing', 'ok', 'webex']);
});

t.test('a failed /batch call as a whole rejects', async (t) => {
  const { client } = await setup(t, (_req, res) => json(res, 413, { Errors: ['too large'] }));
  await t.rejects(postBatch(client, { a: { Method: 'GET', Resource: 'x' } }), { code: 'PI_LIMIT_EXCEEDED' });
});

/** A 2018 SP1 server (sourceFilter ignored): points listed by page, `pointsource` read through /batch. */
function sourceCheckingServer(total: number, failFrom?: number) {
  const all = Array.from({ length: total }, (_, i) => point(i));
  let inFlight = 0;
  const stats = { maxInFlight: 0, batches: 0 };
  const script: Script = async (req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname.endsWith('/system')) return json(res, 200, { ProductVersion: '1.11.1.5383' });
    if (u.pathname.endsWith('/points')) {
      const si = Number(u.searchParams.get('startIndex'));
      return json(res, 200, { Items: all.slice(si, si + Number(u.searchParams.get('maxCount'))) });
    }
    stats.batches++;
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 20));
    inFlight--;
    const body = JSON.parse(req.body) as Record<string, { Resource: string }>;
    const out: Record<string, unknown> = {};
    for (const [k, r] of Object.entries(body)) {
      const i = Number(/\/points\/W(\d+)\//.exec(r.Resource)![1]);
      out[k] =
        failFrom !== undefined && i >= failFrom
          ? { Status: 403, Headers: {}, Content: { Errors: ['no read access'] } }
          : { Status: 200, Headers: {}, Content: { Value: i % 3 === 0 ? 'OPC' : 'X' } };
    }
    json(res, 207, out);
  };
  return { script, stats };
}

t.test('a release that ignores sourceFilter: pointsource checked a few pages at once, yielded in listing order', async (t) => {
  const { script, stats } = sourceCheckingServer(3200);
  const { client } = await setup(t, script);
  const got: number[] = [];
  for await (const p of listPoints(client, 'DS', { sourceFilter: 'opc' })) got.push(p.Id);
  t.same(
    got,
    Array.from({ length: 3200 }, (_, i) => i).filter((i) => i % 3 === 0),
  );
  t.equal(stats.batches, 7, 'one /batch per 500 points');
  t.ok(stats.maxInFlight > 1 && stats.maxInFlight <= 4, `batches overlapped (${stats.maxInFlight} at once, at most 4)`);
});

t.test('a failing pointsource batch fails the listing, after the pages before it, with no unhandled rejection', async (t) => {
  const { script } = sourceCheckingServer(3000, 1500);
  const { client } = await setup(t, script);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => void process.off('unhandledRejection', onUnhandled));
  const got: number[] = [];
  await t.rejects(
    (async () => {
      for await (const p of listPoints(client, 'DS', { sourceFilter: 'OPC' })) got.push(p.Id);
    })(),
    { code: 'PI_FORBIDDEN' },
  );
  t.same(
    got,
    Array.from({ length: 1500 }, (_, i) => i).filter((i) => i % 3 === 0),
    'the pages before the failing one, in order',
  );
  await new Promise((r) => setTimeout(r, 100));
  t.same(unhandled, []);
});
