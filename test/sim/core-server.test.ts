import t from 'tap';
import { spawn } from 'node:child_process';
import https from 'node:https';
import { control, get, sim } from './core-util.js';
import { makeTestCerts } from './tls.js';

t.test('HTTPS when tls is given', async (t) => {
  const dir = t.testdir({});
  const certs = await makeTestCerts(dir);
  const s = await sim(t, { tags: 5, tls: { cert: certs.certPem, key: certs.keyPem } });
  t.match(s.url, /^https:\/\/127\.0\.0\.1:\d+\/piwebapi$/);
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get(s.url + '/dataservers', { ca: certs.caPem, agent: false }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => {
          b += c.toString();
        });
        res.on('end', () => resolve(b));
      })
      .on('error', reject);
  });
  t.equal(JSON.parse(body).Items[0].Links.Self.startsWith(s.url + '/dataservers/'), true);
});

t.test('AF attributes backed by PI points stream from their tag (af.ts hook)', async (t) => {
  const s = await sim(t, { tags: 300 });
  if (!s.sim.af) {
    t.comment('af.ts not present: nothing to check');
    return;
  }
  t.equal((await control(s, 'GET', '/sim/state')).json.af, true);
  const server = (await get(s, '/assetservers')).json.Items[0];
  const db = (await get(s, `/assetservers/${server.WebId}/assetdatabases`)).json.Items[0];
  const els = (await get(s, `/assetdatabases/${db.WebId}/elements?searchFullHierarchy=true&maxCount=200`)).json.Items;
  let checked = 0;
  for (const el of els) {
    const attrs = (await get(s, `/elements/${el.WebId}/attributes`)).json.Items as Array<{ WebId: string; Name: string; Path: string; DataReferencePlugIn: string }>;
    const pts = attrs.filter((a) => a.DataReferencePlugIn === 'PI Point');
    if (pts.length === 0) continue;
    const a = pts[0]!;
    const i = s.sim.af.pointIndexForAttribute(a.WebId)!;
    t.ok(s.sim.tags.exists(i));
    const rec = await get(s, `/streams/${a.WebId}/recorded?startTime=2026-01-01T04:00:00Z&endTime=2026-01-01T05:00:00Z`);
    t.same(rec.json.Items, s.sim.truth(i, '2026-01-01T04:00:00Z', '2026-01-01T05:00:00Z'));
    const set = await get(s, `/streamsets/${el.WebId}/recorded?startTime=2026-01-01T04:00:00Z&endTime=2026-01-01T05:00:00Z&maxCount=3`);
    t.equal(set.status, 200);
    t.same(
      set.json.Items.map((x: { WebId: string }) => x.WebId),
      pts.map((p) => p.WebId),
      'one item per PI Point attribute',
    );
    t.equal(set.json.Items[0].Name, a.Name);
    t.equal(set.json.Items[0].Path, a.Path);
    t.same(set.json.Items[0].Items, s.sim.truth(i, '2026-01-01T04:00:00Z', '2026-01-01T05:00:00Z').slice(0, 3));
    const multi = await get(s, `/streamsets/recorded?webId=${a.WebId}&webId=${s.sim.tagWebId(0)}&maxCount=2`);
    t.equal(multi.json.Items[0].WebId, a.WebId);
    t.equal(multi.json.Items[0].Items.length, 2);
    checked++;
    break;
  }
  t.equal(checked, 1, 'found an element with PI Point attributes');
  t.equal((await get(s, `/streamsets/${s.sim.tagWebId(0)}/recorded`)).status, 404);
});

t.test('npm run sim prints the URL once listening and stops on SIGTERM', async (t) => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/sim/piwebapi/main.ts', '--port', '0', '--tags', '50', '--seed', '3', '--tz', 'Europe/Berlin', '--now', '2026-02-01T00:00:00Z'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/piwebapi)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  const r = await fetch(url + '/dataservers');
  const ds = (await r.json()) as { Items: Array<{ ServerTime: string }> };
  t.equal(ds.Items[0]!.ServerTime, '2026-02-01T00:00:00Z');
  const pts = (await (await fetch(url + '/points?path=' + encodeURIComponent('\\\\SIMPI\\SIM.FLOAT32.00049'))).json()) as { Name: string };
  t.equal(pts.Name, 'SIM.FLOAT32.00049');
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  t.equal(code, 0);
  const bad = spawn(process.execPath, ['--import', 'tsx', 'test/sim/piwebapi/main.ts', '--auth', 'kerberos5'], { stdio: 'ignore' });
  t.equal(await new Promise((resolve) => bad.on('exit', resolve)), 2);
});

t.test('with auth: PI routes need credentials, the control API does not', async (t) => {
  let createSimAuth: ((o: { mode: 'basic' }) => Promise<import('./piwebapi/auth-types.js').SimAuth>) | undefined;
  try {
    const spec = './piwebapi/auth.js';
    createSimAuth = ((await import(spec)) as { createSimAuth?: typeof createSimAuth }).createSimAuth;
  } catch {
    /* auth.ts not written yet */
  }
  if (!createSimAuth) {
    t.comment('auth.ts not present: nothing to check');
    return;
  }
  const s = await sim(t, { tags: 5, auth: await createSimAuth({ mode: 'basic' }) });
  const anon = await get(s, '/dataservers');
  t.equal(anon.status, 401);
  t.match(anon.headers.get('www-authenticate') ?? '', /Basic/);
  const ok = await get(s, '/dataservers', { headers: { Authorization: 'Basic ' + Buffer.from('pi:pi-password').toString('base64') } });
  t.equal(ok.status, 200);
  t.equal((await control(s, 'GET', '/sim/state')).status, 200);
});
