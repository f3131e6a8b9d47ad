import t from 'tap';
import { get, post, sim } from './core-util.js';
import type { RunningSim } from './piwebapi/server.js';

/** The same requests against a simulator; Links carry the port, so the base URL is normalised. */
async function bodies(s: RunningSim): Promise<string[]> {
  const out: string[] = [];
  // Update markers are random on purpose (updates.ts), everything else is seeded.
  const norm = (text: string): string =>
    text
      .split(s.url)
      .join('BASE')
      .replace(/[0-9a-f]{32}_\d+/g, 'MARKER');
  const ds = (await get(s, '/dataservers')).json.Items[0].WebId;
  const paths = [
    '/',
    '/dataservers',
    `/dataservers/${ds}/points?maxCount=50`,
    `/dataservers/${ds}/points?nameFilter=SIM.DIGITAL.*&startIndex=3&maxCount=4`,
    ...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => `/streams/${s.sim.tagWebId(i)}/recorded?startTime=2026-01-01T06:00:00Z&endTime=2026-01-01T08:00:00Z&maxCount=500`),
    `/streamsets/recorded?webId=${s.sim.tagWebId(9)}&webId=${s.sim.tagWebId(10)}&maxCount=100`,
    `/streams/${s.sim.tagWebId(11)}/interpolated?startTime=y&endTime=t&interval=2h`,
    `/points/${s.sim.tagWebId(12)}/attributes`,
  ];
  for (const p of paths) out.push(norm((await get(s, p)).text));
  out.push(
    norm(
      (
        await post(s, '/batch', {
          a: { Method: 'GET', Resource: `${s.url}/points?path=${encodeURIComponent('\\\\SIMPI\\SIM.FLOAT32.00013')}` },
          b: { Method: 'GET', Resource: `${s.url}/streams/{0}/recorded?maxCount=20`, Parameters: ['$.a.Content.WebId'], ParentIds: ['a'] },
        })
      ).text,
    ),
  );
  out.push(norm((await post(s, `/streamsets/updates?webId=${s.sim.tagWebId(0)}`, undefined)).text));
  return out;
}

t.test('same seed → byte-identical bodies; another seed differs', async (t) => {
  const a = await bodies(await sim(t, { tags: 40, seed: 7 }));
  const b = await bodies(await sim(t, { tags: 40, seed: 7 }));
  const c = await bodies(await sim(t, { tags: 40, seed: 8 }));
  t.equal(a.length, b.length);
  for (let k = 0; k < a.length; k++) t.equal(a[k], b[k], `request ${k} identical`);
  const differ = a.filter((x, k) => x !== c[k]).length;
  t.ok(differ >= a.length - 2, `different seed changes nearly every body (${differ}/${a.length})`);
  t.not(a[4], c[4], 'recorded values differ');
});

t.test('100,000 tags: start, page points, read recorded, with small memory growth', async (t) => {
  const rss0 = process.memoryUsage().rss;
  const s = await sim(t, { tags: 100000 });
  const ds = (await get(s, '/dataservers')).json.Items[0].WebId;
  const page = await get(s, `/dataservers/${ds}/points?startIndex=99000&maxCount=1000&selectedFields=Items.Name;Items.WebId`);
  t.equal(page.json.Items.length, 1000);
  t.equal(page.json.Items[999].Name, 'SIM.STRING.99999');
  t.equal(page.json.Items[0].Name, s.sim.tagName(99000));
  const last = await get(s, `/dataservers/${ds}/points?startIndex=99990&maxCount=1000&selectedFields=Items.Name`);
  t.equal(last.json.Items.length, 10);
  const search = await get(s, `/dataservers/${ds}/points?nameFilter=${encodeURIComponent('SIM.FAST.9998?')}&selectedFields=Items.Name`);
  t.same(
    search.json.Items.map((p: { Name: string }) => p.Name),
    ['SIM.FAST.99986'],
  );
  const w = page.json.Items[500].WebId;
  const rec = await get(s, `/streams/${w}/recorded?startTime=2026-01-01T00:00:00Z&endTime=*&maxCount=1000`);
  t.equal(rec.status, 200);
  t.same(rec.json.Items, s.sim.truth(99500, '2026-01-01T00:00:00Z', '*').slice(0, 1000));
  const rss1 = process.memoryUsage().rss;
  const growthMb = (rss1 - rss0) / 1048576;
  t.comment(`RSS growth with 100,000 tags: ${growthMb.toFixed(1)} MB (${(rss0 / 1048576).toFixed(0)} → ${(rss1 / 1048576).toFixed(0)} MB)`);
  t.ok(growthMb < 300, 'memory stays flat in the tag count (no per-tag storage)');
});
