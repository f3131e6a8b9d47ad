import t from 'tap';
import http from 'node:http';
import { control, get, sim } from './core-util.js';
import type { RunningSim } from './piwebapi/server.js';

/** A raw request, so resets, hangs and truncated bodies are observable. */
function raw(s: RunningSim, path: string): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get(s.url + path, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    });
    req.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}

const REC = (s: RunningSim): string => `/streams/${s.sim.tagWebId(0)}/recorded?maxCount=5`;

t.test('status faults: 429 with Retry-After, 500, 502, 503; count limits them', async (t) => {
  const s = await sim(t, { tags: 5 });
  s.sim.setFaults([{ kind: 'status', status: 429, route: '/streams/*/recorded', count: 1, retryAfter: 7 }]);
  const r = await get(s, REC(s));
  t.equal(r.status, 429);
  t.equal(r.headers.get('retry-after'), '7');
  t.same(r.json, { Errors: ['Rate limit was reached'] });
  t.equal((await get(s, REC(s))).status, 200, 'count: 1 fires once');
  t.equal((await get(s, '/dataservers')).status, 200, 'other routes untouched');
  for (const status of [500, 502, 503]) {
    s.sim.setFaults([{ kind: 'status', status, route: '/streams/**', count: 1 }]);
    const f = await get(s, REC(s));
    t.equal(f.status, status);
    t.match(f.json.Errors[0], String(status));
    if (status === 503) t.equal(f.headers.get('retry-after'), '1');
  }
});

t.test('rate faults are deterministic for a seed', async (t) => {
  const pattern = async (seed: number): Promise<number[]> => {
    const s = await sim(t, { tags: 5, seed });
    s.sim.setFaults([{ kind: 'status', status: 503, rate: 0.5 }]);
    const out: number[] = [];
    for (let k = 0; k < 24; k++) out.push((await get(s, '/system')).status);
    return out;
  };
  const a = await pattern(1);
  const b = await pattern(1);
  const c = await pattern(2);
  t.same(a, b);
  t.ok(a.includes(503) && a.includes(200), `mixed: ${a.join(',')}`);
  t.not(a.join(), c.join());
});

t.test('slow, timeout, reset, truncated JSON and WebException', async (t) => {
  const s = await sim(t, { tags: 5 });
  s.sim.setFaults([{ kind: 'slow', delayMs: 300, count: 1 }]);
  const slow = await get(s, REC(s));
  t.equal(slow.status, 200);
  t.equal(slow.json.Items.length, 5);

  s.sim.setFaults([{ kind: 'reset', count: 1 }]);
  const reset = await raw(s, REC(s));
  t.equal(reset.error, 'ECONNRESET');

  s.sim.setFaults([{ kind: 'timeout', delayMs: 200, count: 1 }]);
  const hang = await raw(s, REC(s));
  t.ok(hang.error === 'ECONNRESET' || hang.error === 'socket hang up', `hang then close: ${hang.error}`);

  s.sim.setFaults([{ kind: 'truncate', count: 1 }]);
  const cut = await raw(s, REC(s));
  t.equal(cut.status, 200);
  t.throws(() => JSON.parse(cut.body!));
  const full = await get(s, REC(s));
  t.equal(cut.body, full.text.slice(0, Math.floor(full.text.length / 2)));

  s.sim.setFaults([{ kind: 'webexception', count: 1, message: 'Archive read failed' }]);
  const we = await get(s, REC(s));
  t.equal(we.status, 200);
  t.same(we.json, { WebException: { Errors: ['Archive read failed'], StatusCode: 500 } });
});

t.test('faults over the control API, and the per-client rate limit', async (t) => {
  const s = await sim(t, { tags: 5 });
  const put = await control(s, 'PUT', '/sim/faults', [{ kind: 'status', status: 502, method: 'GET', route: '/system' }]);
  t.equal(put.status, 200);
  t.equal((await get(s, '/system')).status, 502);
  t.equal((await control(s, 'GET', '/sim/faults')).json.Items[0].fired, 1);
  t.equal((await control(s, 'DELETE', '/sim/faults')).status, 200);
  t.equal((await get(s, '/system')).status, 200);
  t.equal((await control(s, 'PUT', '/sim/faults', [{ kind: 'explode' }])).status, 400);
  t.equal((await control(s, 'GET', '/sim/state')).status, 200, 'control API is never faulted');

  const limited = await sim(t, { tags: 5, rateLimit: 2 });
  const statuses = await Promise.all([...Array(12).keys()].map(async () => (await get(limited, '/system')).status));
  const n429 = statuses.filter((x) => x === 429).length;
  t.ok(n429 >= 1, `some requests limited: ${statuses.join(',')}`);
  const r = await get(limited, '/system');
  if (r.status === 429) {
    t.same(r.json, { Errors: ['Rate limit was reached'] });
    t.equal(r.headers.get('retry-after'), '1');
  }
});
