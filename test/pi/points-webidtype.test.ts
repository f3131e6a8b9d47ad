/**
 * A server's configured default WebID type (AVEVA webid-type.html: "The default type is
 * configurable using the WebIDType configuration setting") must not change the agent's point keys:
 * every point read names `webIdType=IDOnly` (issue 18, item 1).
 */
import t from 'tap';
import type { Test } from 'tap';
import { findDataServer, getPointByPath, listPoints } from '../../agent/pi/points.js';
import type { WebIdType } from '../../agent/pi/webid.js';
import { decodeWebId, idOnlyWebId } from '../../agent/pi/webid.js';
import { webIds2 } from '../sim/piwebapi/webids.js';
import { simWithClient } from '../helpers/sim-client.js';

async function keysFrom(t: Test, dflt: WebIdType): Promise<{ listed: string[]; byPath: string; ds: string; expected: string[] }> {
  const { running, client } = await simWithClient(t, { tags: 12, seed: 5, webIds: webIds2(dflt) });
  const ds = await findDataServer(client, 'SIMPI');
  const listed: string[] = [];
  for await (const p of listPoints(client, ds.WebId, { pageSize: 5 })) listed.push(idOnlyWebId(p.WebId));
  const byPath = idOnlyWebId((await getPointByPath(client, running.sim.tagPath(3))).WebId);
  const expected = Array.from({ length: 12 }, (_, i) => running.sim.tagWebId(i, 'IDOnly'));
  return { listed, byPath, ds: ds.WebId, expected };
}

for (const dflt of ['Full', 'IDOnly', 'PathOnly', 'LocalIDOnly'] as const) {
  t.test(`a server whose default WebID type is ${dflt}: the same IDOnly point keys`, async (t) => {
    const got = await keysFrom(t, dflt);
    t.same(got.listed, got.expected, 'point listing');
    t.equal(got.byPath, got.expected[3], 'point by path');
    t.equal(decodeWebId(got.ds).type, 'IDOnly', 'data server');
    for (const k of got.listed) t.match(k, /^I1DP/);
  });
}
