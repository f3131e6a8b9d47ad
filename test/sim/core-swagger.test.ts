/**
 * Every PI Web API route the simulator serves answers with bodies that match OSIsoft's own model
 * definitions (swagger-2018sp1.json): no field the spec does not declare, every declared field
 * of the declared type. Errors (4xx) are checked against the spec's error schemas too.
 */
import t from 'tap';
import { startSimulator } from './piwebapi/server.js';
import { findOperation, loadSpec, validate } from './swagger.js';

const spec = loadSpec();

t.test('simulator responses validate against the PI Web API 2018 SP1 definitions', async (t) => {
  const running = await startSimulator({ port: 0, tags: 40, seed: 3, historyStart: '2026-01-01T00:00:00Z', now: '2026-01-01T06:00:00Z' });
  t.teardown(() => running.close());
  const base = running.url;
  const covered = new Set<string>();

  async function check(method: string, pathAndQuery: string, body?: unknown): Promise<any> {
    const url = new URL(base + pathAndQuery);
    const res = await fetch(url, {
      method,
      headers: { 'X-Requested-With': 'XMLHttpRequest', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    const path = url.pathname.replace(/^\/piwebapi/, '') || '/';
    const found = findOperation(spec, method, path, url.searchParams);
    t.ok(found, `${method} ${path} is a PI Web API route`);
    if (!found) return json;
    // A 4xx the spec does not list for this operation (e.g. 400 for a Backward search mode with an
    // endTime, fidelity §7) must still be PI's error body.
    const schema = found.op.responses[String(res.status)]?.schema ?? (res.status >= 400 && res.status < 500 ? { $ref: '#/definitions/Errors' } : undefined);
    t.ok(schema, `${method} ${found.template}: status ${res.status} is one the spec documents`);
    if (schema && json !== undefined) {
      const errors = validate(spec, schema, json);
      t.same(errors.slice(0, 5), [], `${method} ${pathAndQuery.slice(0, 90)} (${res.status}) matches ${found.template}`);
    }
    covered.add(`${method} ${found.template}`);
    return json;
  }

  const s = running.sim;
  await check('GET', '/');
  await check('GET', '/system');
  const dss = await check('GET', '/dataservers');
  const ds = dss.Items[0].WebId as string;
  await check('GET', `/dataservers?path=${encodeURIComponent('\\\\SIMPI')}`);
  await check('GET', `/dataservers/${ds}`);
  await check('GET', `/dataservers/${ds}/points?nameFilter=SIM.*&maxCount=25`);
  const tag = s.tagWebId(3); // a digital tag
  await check('GET', `/points?path=${encodeURIComponent(s.tagPath(0))}`);
  await check('GET', `/points/${tag}`);
  await check('GET', `/points/${tag}/attributes`);
  await check('GET', `/points/${tag}/attributes/pointsource`);
  for (let i = 0; i < 9; i++) {
    const w = s.tagWebId(i);
    await check('GET', `/streams/${w}/recorded?startTime=2026-01-01T00:00:00Z&endTime=2026-01-01T02:00:00Z&maxCount=300`);
    await check('GET', `/streams/${w}/value`);
    await check('GET', `/streams/${w}/end`);
    await check('GET', `/streams/${w}/interpolated?startTime=2026-01-01T00:00:00Z&endTime=2026-01-01T01:00:00Z&interval=10m`);
  }
  const webIds = Array.from({ length: 9 }, (_, i) => `webId=${s.tagWebId(i)}`).join('&');
  await check('GET', `/streamsets/recorded?${webIds}&webId=F1DPnotawebid&startTime=*-2h&maxCount=50`);
  await check('GET', `/streamsets/value?${webIds}`);
  await check('GET', `/streams/${tag}/recorded?maxCount=200000`); // 400 over the cap
  await check('GET', `/streams/F1DPbad/recorded`); // bad WebID
  await check('POST', '/batch', {
    a: { Method: 'GET', Resource: `${base}/points?path=${encodeURIComponent(s.tagPath(0))}` },
    b: { Method: 'GET', Resource: '$.a.Content.Links.RecordedData', ParentIds: ['a'] },
    c: { Method: 'GET', Resource: `${base}/streams/nope/value` },
  });
  const reg = await check('POST', `/streams/${tag}/updates`);
  await check('GET', `/streams/updates/${reg.LatestMarker}`);
  const regs = await check('POST', `/streamsets/updates?${webIds}`);
  await check('GET', `/streamsets/updates?${regs.Items.map((r: { LatestMarker: string }) => `marker=${r.LatestMarker}`).join('&')}`);

  // Asset Framework and event frames.
  const servers = await check('GET', '/assetservers');
  const server = servers.Items[0].WebId as string;
  await check('GET', `/assetservers/${server}`);
  await check('GET', `/assetservers?path=${encodeURIComponent('\\\\SIMAF')}`);
  const dbs = await check('GET', `/assetservers/${server}/assetdatabases`);
  const db = dbs.Items[0].WebId as string;
  await check('GET', `/assetdatabases/${db}`);
  await check('GET', `/assetdatabases?path=${encodeURIComponent('\\\\SIMAF\\Plant')}`);
  const tops = await check('GET', `/assetdatabases/${db}/elements`);
  const top = tops.Items[0].WebId as string;
  const all = await check('GET', `/assetdatabases/${db}/elements?searchFullHierarchy=true&maxCount=200`);
  await check('GET', `/elements/${top}`);
  await check('GET', `/elements?path=${encodeURIComponent(all.Items[3].Path)}`);
  await check('GET', `/elements/${top}/elements`);
  const deep = all.Items[all.Items.length - 1].WebId as string;
  const attrs = await check('GET', `/elements/${deep}/attributes?searchFullHierarchy=true`);
  await check('GET', `/elements/${top}/eventframes?startTime=2026-01-01T00:00:00Z&endTime=*`);
  const attr = attrs.Items[0].WebId as string;
  await check('GET', `/attributes/${attr}`);
  await check('GET', `/attributes?path=${encodeURIComponent(attrs.Items[0].Path)}`);
  await check('GET', `/attributes/${attr}/attributes`);
  const staticAttr = attrs.Items.find((a: { DataReferencePlugIn?: string }) => !a.DataReferencePlugIn);
  if (staticAttr) await check('GET', `/attributes/${staticAttr.WebId}/value`);
  await check('GET', `/streamsets/${deep}/recorded?startTime=*-1h`);
  const templates = await check('GET', `/assetdatabases/${db}/elementtemplates`);
  await check('GET', `/elementtemplates/${templates.Items[0].WebId}`);
  const frames = await check('GET', `/assetdatabases/${db}/eventframes?startTime=2026-01-01T00:00:00Z&endTime=*&searchFullHierarchy=true`);
  for (const mode of ['InProgress', 'StartInclusive', 'BackwardFromEndTime']) {
    await check('GET', `/assetdatabases/${db}/eventframes?searchMode=${mode}&startTime=*`);
  }
  await check('GET', `/assetdatabases/${db}/eventframes?searchMode=BackwardFromEndTime&startTime=*&endTime=*-1h`); // 400
  const frame = frames.Items[0].WebId as string;
  await check('GET', `/eventframes/${frame}`);
  await check('GET', `/eventframes?path=${encodeURIComponent(frames.Items[0].Path)}`);
  await check('GET', `/eventframes/${frame}/attributes`);
  await check('GET', `/eventframes/${frame}/referencedelements`);
  await check('GET', `/eventframes/${frame}/eventframes`);
  await check('GET', `/eventframes/${frame}/annotations`);

  t.comment(`${covered.size} PI Web API operations validated: ${[...covered].sort().join(', ')}`);
  t.ok(covered.size >= 40, `${covered.size} operations covered`);
});
