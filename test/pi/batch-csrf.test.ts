/**
 * Writing sub-requests inside `/batch` carry X-Requested-With (issue 18, item 6): PI Web API's
 * CSRF defence (EnableCSRFDefense, on by default; AVEVA PI Web API User Guide, "Other security
 * settings") checks it on POST, PUT, PATCH and DELETE, and the simulator checks each sub-request.
 */
import t from 'tap';
import { postBatch } from '../../agent/pi/batch.js';
import { simWithClient } from '../helpers/sim-client.js';

t.test('a POST sub-request gets X-Requested-With; GETs are sent as they are', async (t) => {
  const { running, client } = await simWithClient(t, { tags: 5, seed: 3 });
  running.sim.batchBodies = [];
  const w = running.sim.tagWebId(0);
  const res = await postBatch(client, {
    register: { Method: 'POST', Resource: `${running.url}/streams/${w}/updates` },
    read: { Method: 'GET', Resource: `${running.url}/streams/${w}/value` },
    own: { Method: 'post', Resource: `${running.url}/streams/${running.sim.tagWebId(1)}/updates`, Headers: { 'x-requested-with': 'mine' } },
  });
  t.equal(res['register']!.status, 200, 'the registration passes the CSRF check');
  t.equal(res['register']!.error, undefined);
  t.equal(res['read']!.status, 200);
  t.equal(res['own']!.status, 200);
  const sent = running.sim.batchBodies[0] as Record<string, { Headers?: Record<string, string> }>;
  t.same(sent['register']!.Headers, { 'X-Requested-With': 'XMLHttpRequest' });
  t.equal(sent['read']!.Headers, undefined, 'a GET is sent unchanged');
  t.same(sent['own']!.Headers, { 'x-requested-with': 'mine' }, "a sub-request's own header is kept, not doubled");
});
