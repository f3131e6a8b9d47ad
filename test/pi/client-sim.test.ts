/**
 * The PI client against the PI Web API simulator (test/sim/piwebapi): discovery, paging of points,
 * streamset reads compared with the simulator's ground truth, faults, /batch, and TLS trust.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PiClient } from '../../agent/pi/client.js';
import { findDataServer, getPointByPath, listPoints } from '../../agent/pi/points.js';
import { readRecorded, readRecordedMany } from '../../agent/pi/recorded.js';
import { postBatch } from '../../agent/pi/batch.js';
import { formatPiTime, parsePiTimestamp } from '../../agent/pi/time.js';
import { pathOnlyWebId } from '../../agent/pi/webid.js';
import type { PiPoint } from '../../agent/pi/types.js';
import { startSimulator } from '../sim/piwebapi/server.js';
import { KIND_PATTERN } from '../sim/piwebapi/tags.js';
import { anonymousAuth, recordingSleep } from '../helpers/scripted-server.js';

const TAGS = 1203;
const running = await startSimulator({ port: 0, tags: TAGS, seed: 42 });
const { sim } = running;
const rec = recordingSleep();
const client = new PiClient({ baseUrl: running.url, auth: anonymousAuth, sleep: rec.sleep, timeoutMs: 5000 });
t.teardown(async () => {
  await client.close();
  await running.close();
});

const kindIndex = (kind: string): number => KIND_PATTERN.indexOf(kind as (typeof KIND_PATTERN)[number]);
const us = (iso: string): number => Date.parse(iso) * 1000;

t.test('findDataServer and getPointByPath', async (t) => {
  const ds = await findDataServer(client, 'SIMPI');
  t.equal(ds.Name, 'SIMPI');
  t.equal(typeof ds.WebId, 'string');
  await t.rejects(findDataServer(client, 'NOPE'), { code: 'PI_NOT_FOUND' });
  const p = await getPointByPath(client, sim.tagPath(5));
  t.equal(p.Name, sim.tagName(5));
  t.equal(p.WebId, sim.tagWebId(5, 'IDOnly'), 'asked as IDOnly (issue 18)');
  await t.rejects(getPointByPath(client, '\\\\SIMPI\\NO_SUCH_TAG'), { code: 'PI_NOT_FOUND' });
});

t.test('listPoints returns every point over several pages', async (t) => {
  const ds = await findDataServer(client, 'SIMPI');
  const before = client.stats.requests;
  const got: PiPoint[] = [];
  for await (const p of listPoints(client, ds.WebId)) got.push(p);
  t.equal(client.stats.requests - before, 2, 'pages of 1000: 1000 + 203');
  t.equal(got.length, TAGS);
  const expected = [...sim.tags.live()];
  t.same(
    got.map((p) => p.Name),
    expected.map((i) => sim.tagName(i)),
  );
  t.same(
    got.map((p) => p.WebId),
    expected.map((i) => sim.tagWebId(i, 'IDOnly')),
    'asked as IDOnly (issue 18)',
  );
  t.equal(new Set(got.map((p) => p.WebId)).size, TAGS);

  const small: PiPoint[] = [];
  for await (const p of listPoints(client, ds.WebId, { pageSize: 100, selectedFields: 'Items.WebId;Items.Name' })) small.push(p);
  t.same(
    small.map((p) => p.Name),
    expected.map((i) => sim.tagName(i)),
  );
  t.same(Object.keys(small[0]!).sort(), ['Name', 'WebId']);
});

t.test('readRecordedMany equals the simulator truth for dense and sparse tags', async (t) => {
  const start = '2026-01-01T06:00:00Z';
  const end = '2026-01-01T06:02:00Z';
  const kinds = ['FAST', 'FLOAT32', 'FLOAT64', 'INT32', 'DIGITAL', 'STRING', 'TIMESTAMP', 'GAPPY', 'BURST'];
  const indexes = kinds.map(kindIndex);
  const webIds = indexes.map((i) => sim.tagWebId(i));
  const out = await readRecordedMany(client, webIds, us(start), us(end), { maxCount: 5000 });
  t.equal(out.size, webIds.length);
  let total = 0;
  indexes.forEach((i, k) => {
    const s = out.get(webIds[k]!)!;
    t.equal(s.error, undefined, kinds[k]);
    const truth = sim.truth(i, start, end);
    t.ok(truth.length < 5000, `${kinds[k]}: ${truth.length} events, below maxCount`);
    t.same(s.items, truth, `${kinds[k]} equals truth`);
    t.equal(s.units, sim.tagMeta(i).units);
    total += truth.length;
  });
  t.ok(out.get(webIds[0]!)!.items.length > 100, 'the dense tag has many events in the window');
  t.ok(total > 0);
});

t.test('7-digit sub-second timestamps parse exactly and keep their order', async (t) => {
  const i = kindIndex('FAST');
  const start = '2026-01-01T12:00:00Z';
  const end = '2026-01-01T12:05:00Z';
  const { items } = await readRecorded(client, sim.tagWebId(i), us(start), us(end), 10_000);
  t.same(items, sim.truth(i, start, end));
  const seven = items.filter((v) => /\.\d{7}Z$/.test(v.Timestamp));
  t.ok(seven.length > 10, `${seven.length} timestamps with 7 fractional digits`);
  // PI pads to 7 digits; formatPiTime trims trailing zeros: compare the instants' text without them.
  const trim = (s: string): string => s.replace(/\.?0+Z$/, 'Z');
  let prev = -Infinity;
  const mismatches: string[] = [];
  for (const v of items) {
    const p = parsePiTimestamp(v.Timestamp);
    if (trim(formatPiTime(p.us, p.ticks)) !== trim(v.Timestamp)) mismatches.push(v.Timestamp);
    const key = p.us * 10 + p.ticks;
    if (key < prev) mismatches.push(`out of order: ${v.Timestamp}`);
    prev = key;
  }
  t.same(mismatches, []);
  // Distinct PI timestamps stay distinct at µs precision.
  t.equal(new Set(items.map((v) => parsePiTimestamp(v.Timestamp).us)).size, new Set(items.map((v) => v.Timestamp)).size);
});

t.test('truncation at maxCount is visible: exactly the first maxCount events', async (t) => {
  const i = kindIndex('FAST');
  const start = '2026-01-01T00:00:00Z';
  const end = '2026-01-01T00:10:00Z';
  const w = sim.tagWebId(i);
  const out = await readRecordedMany(client, [w], us(start), us(end), { maxCount: 50 });
  const truth = sim.truth(i, start, end);
  t.ok(truth.length > 50);
  t.same(out.get(w)!.items, truth.slice(0, 50));
});

t.test('PathOnly webIds are matched to their streams', async (t) => {
  const ids = [3, 4, 6].map((i) => pathOnlyWebId('DP', sim.tagPath(i)));
  const start = '2026-01-01T01:00:00Z';
  const end = '2026-01-01T01:10:00Z';
  const out = await readRecordedMany(client, ids, us(start), us(end), { maxCount: 10_000 });
  [3, 4, 6].forEach((i, k) => t.same(out.get(ids[k]!)!.items, sim.truth(i, start, end)));
});

t.test('an unknown stream fails alone', async (t) => {
  const good = sim.tagWebId(1);
  const bad = pathOnlyWebId('DP', '\\\\SIMPI\\NO_SUCH_TAG');
  const out = await readRecordedMany(client, [good, bad], us('2026-01-01T01:00:00Z'), us('2026-01-01T01:10:00Z'));
  t.equal(out.get(good)!.error, undefined);
  t.equal(out.get(bad)!.error?.code, 'PI_NOT_FOUND');
  t.same(out.get(bad)!.items, []);
});

t.test('maxCount over the server cap is PI_LIMIT_EXCEEDED, not retried', async (t) => {
  const before = client.stats.requests;
  await t.rejects(readRecordedMany(client, [sim.tagWebId(0)], us('2026-01-01T00:00:00Z'), us('2026-01-01T01:00:00Z'), { maxCount: 150_001 }), {
    code: 'PI_LIMIT_EXCEEDED',
  });
  t.equal(client.stats.requests - before, 1);
});

t.test('simulator faults are retried and the answer is still exact', async (t) => {
  const i = kindIndex('BURST');
  const start = '2026-01-01T02:00:00Z';
  const end = '2026-01-01T04:00:00Z';
  const truth = sim.truth(i, start, end);
  const cases = [
    { kind: 'status' as const, status: 503 },
    { kind: 'status' as const, status: 429 },
    { kind: 'reset' as const },
    { kind: 'truncate' as const },
    { kind: 'webexception' as const },
  ];
  for (const fault of cases) {
    sim.setFaults([{ ...fault, route: '/streamsets/recorded', count: 1 }]);
    const retriesBefore = client.stats.retries;
    const out = await readRecordedMany(client, [sim.tagWebId(i)], us(start), us(end));
    t.same(out.get(sim.tagWebId(i))!.items, truth, `${fault.kind} ${fault.status ?? ''}`);
    t.equal(client.stats.retries - retriesBefore, 1, `${fault.kind}: one retry`);
  }
  sim.setFaults([]);
  t.same(rec.delays.slice(-4, -3), [1000], '429 honoured Retry-After: 1');
});

t.test('postBatch against the simulator reports the failed sub-request', async (t) => {
  const out = await postBatch(client, {
    good: { Method: 'GET', Resource: `${running.url}/points?path=${encodeURIComponent(sim.tagPath(2))}` },
    bad: { Method: 'GET', Resource: `${running.url}/points?path=${encodeURIComponent('\\\\SIMPI\\NOPE')}` },
  });
  t.equal(out['good']!.status, 200);
  t.equal(out['good']!.error, undefined);
  t.equal((out['good']!.content as PiPoint).Name, sim.tagName(2));
  t.equal(out['bad']!.status, 404);
  t.equal(out['bad']!.error?.code, 'PI_NOT_FOUND');
});

t.test('HTTPS: an internal CA must be configured; verification is never silently off', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pi-client-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const tls = await startSimulator({ port: 0, tags: 3, seed: 1, tls: { cert, key: readFileSync(join(dir, 'key.pem'), 'utf8') } });
  t.teardown(() => tls.close());
  t.match(tls.url, /^https:/);

  const untrusting = new PiClient({ baseUrl: tls.url, auth: anonymousAuth, sleep: recordingSleep().sleep });
  t.teardown(() => untrusting.close());
  const before = untrusting.stats.requests;
  await t.rejects(findDataServer(untrusting, 'SIMPI'), { code: 'PI_UNREACHABLE', message: /TLS.*pi\.ca/ });
  t.equal(untrusting.stats.requests - before, 1, 'a TLS trust failure is not retried');

  const trusting = new PiClient({ baseUrl: tls.url, auth: anonymousAuth, ca: cert });
  t.teardown(() => trusting.close());
  t.equal((await findDataServer(trusting, 'SIMPI')).Name, 'SIMPI');

  const insecure = new PiClient({ baseUrl: tls.url, auth: anonymousAuth, rejectUnauthorized: false });
  t.teardown(() => insecure.close());
  t.equal((await findDataServer(insecure, 'SIMPI')).Name, 'SIMPI');
});

t.test('with the real auth schemes: Basic and NTLM (over its own connection)', async (t) => {
  const { createSimAuth } = await import('../sim/piwebapi/auth.js');
  const { createPiAuth } = await import('../../agent/pi/auth/index.js');
  const simAuth = await createSimAuth({ mode: ['basic', 'ntlm'], users: { pi: 'pi-password' } });
  const secured = await startSimulator({ port: 0, tags: 5, seed: 3, auth: simAuth });
  t.teardown(() => secured.close());
  const clientFor = async (cfg: Parameters<typeof createPiAuth>[0]): Promise<PiClient> => {
    const c = new PiClient({ baseUrl: secured.url, auth: await createPiAuth(cfg, { baseUrl: secured.url }), sleep: recordingSleep().sleep });
    t.teardown(() => c.close());
    return c;
  };

  const basic = await clientFor({ type: 'basic', username: 'pi', password: 'pi-password' });
  t.equal((await findDataServer(basic, 'SIMPI')).Name, 'SIMPI');

  const wrong = await clientFor({ type: 'basic', username: 'pi', password: 'not-it' });
  const err = await findDataServer(wrong, 'SIMPI').then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  );
  t.equal(err?.code, 'PI_AUTH_FAILED');
  t.notMatch(err?.message ?? '', /not-it/);
  t.equal(wrong.stats.requests, 1, 'a credential failure is not retried');

  const ntlm = await clientFor({ type: 'ntlm', username: 'pi', password: 'pi-password' });
  const webIds = [0, 1, 2, 3, 4].map((i) => secured.sim.tagWebId(i));
  const start = '2026-01-01T03:00:00Z';
  const end = '2026-01-01T03:05:00Z';
  const reads = await Promise.all(webIds.map((w) => readRecorded(ntlm, w, us(start), us(end), 10_000)));
  reads.forEach((r, i) => t.same(r.items, secured.sim.truth(i, start, end)));
});
