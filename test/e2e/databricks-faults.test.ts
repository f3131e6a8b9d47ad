/**
 * Issue 4 under warehouse faults (test/sim/databricks/README.md "Faults"): after each fault and the
 * agent's retries the data is in the table exactly once; bad credentials give a clear error without
 * the secret, keep the data buffered, and it arrives once the token is fixed.
 */
import t from 'tap';
import { buildStatus } from '../../agent/service/status.js';
import type { AgentEnv } from '../helpers/agent-env.js';
import { assertExact, once, startRig } from './dbx-env.js';

/** run once until ok (a fault costs at most a few cycles); returns the problems seen on the way. */
async function untilOk(env: AgentEnv, max = 5): Promise<{ runs: number; problems: string[] }> {
  const problems: string[] = [];
  for (let runs = 1; runs <= max; runs++) {
    const r = await once(env);
    if (r.ok) return { runs, problems };
    problems.push(...r.problems);
  }
  return { runs: max + 1, problems };
}

t.test('each warehouse fault: data arrives exactly once after retries', async (t) => {
  const { sim, w, env } = await startRig(t, { tags: 4, now: '2026-01-01T00:20:00Z' });
  t.same(await once(env), { ok: true, problems: [] }, 'baseline run');
  const faults: [string, () => void | Promise<void>, RegExp | null][] = [
    ['HTTP 503 on the next request', () => w.faults.failRequests(503, 1), null],
    ['HTTP 429 on the next two requests', () => w.faults.failRequests(429, 2), null],
    ['HTTP 503 on the staging upload', () => w.faults.failRequests(503, 1, 'upload'), null],
    ['slow statements (1.5 s, polled)', () => w.faults.slowStatements(1500), null],
    ['commit fails after the upload, before COPY', () => w.faults.failNextCommit('before'), /SINK/],
    ['connection cut after COPY, before the reply', () => w.faults.failNextCommit('after'), /SINK_UNREACHABLE/],
  ];
  for (const [name, inject, expectProblem] of faults) {
    sim.sim.advance('10m');
    await inject();
    const r = await untilOk(env);
    t.ok(r.runs <= 5, `${name}: ok after ${r.runs} run(s)${r.problems.length ? ` (${r.problems[0]})` : ''}`);
    if (expectProblem) t.match(r.problems.join('\n'), expectProblem, `${name}: the failed cycle reported it`);
    w.faults.reset();
    await assertExact(t, sim, w, sim.sim.nowIso(), name);
  }

  sim.sim.advance('10m');
  w.faults.expireTokens(true);
  const down = await once(env);
  t.match(down.problems.join('\n'), /SINK_AUTH_FAILED/, 'expired token → SINK_AUTH_FAILED');
  w.faults.expireTokens(false);
  t.same(await once(env), { ok: true, problems: [] }, 'token valid again → ok');
  await assertExact(t, sim, w, sim.sim.nowIso(), 'expired token then cleared');
});

t.test('bad credentials: clear error, no secret, data kept, arrives after the fix', async (t) => {
  const { sim, w, env, tokenVar } = await startRig(t, { tags: 3, now: '2026-01-01T00:30:00Z', tokenVar: 'E2E_DBX_TOKEN_BAD' });
  const wrong = 'dapi-WRONG-secret-0123456789abcdef';
  process.env[tokenVar] = wrong;
  const r = await once(env);
  t.equal(r.ok, false);
  const text = r.problems.join('\n');
  t.match(text, /SINK_AUTH_FAILED/, 'the error code says authentication');
  t.match(text, /sink\.auth|token/i, 'the message says what to check');
  t.notOk(text.includes(wrong), 'the rejected token is not in the error');
  const st = await buildStatus(env.config());
  t.ok(st.buffer.sealed_batches > 0, `status: ${st.buffer.sealed_batches} sealed batches kept`);
  t.notOk(JSON.stringify(st).includes(wrong), 'status has no secret');
  t.match(st.sink.last_error ?? '', /SINK_AUTH_FAILED/, 'status shows the sink error');
  process.env[tokenVar] = w.token;
  t.same(await once(env), { ok: true, problems: [] }, 'after fixing the token');
  await assertExact(t, sim, w, sim.sim.nowIso(), 'after the fix');
  t.equal((await buildStatus(env.config())).buffer.sealed_batches, 0);
});
