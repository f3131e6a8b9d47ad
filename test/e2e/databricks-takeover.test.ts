/**
 * Issue 17 item 1, two live agents on one site: a config copied to a second machine (another state
 * directory, so another store) is refused at `run` start while the first agent's heartbeats are
 * recent, naming its host and last beat; `--take-over` starts it, and it resumes from what the
 * warehouse holds (no event twice). Simulator → agent → warehouse emulator, real driver.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import t from 'tap';
import { bareLogger } from '../../agent/observe/log.js';
import { runAgentOnce } from '../../agent/service/once.js';
import type { CommandIo } from '../../agent/service/outcome.js';
import { Store } from '../../agent/store/store.js';
import { makeAgentEnv, type AgentEnv } from '../helpers/agent-env.js';
import { assertExact, startRig, warehouseRows } from './dbx-env.js';

const storeIdOf = (env: AgentEnv): string => {
  const s = Store.openReadonly({ stateDir: env.stateDir });
  try {
    return s.storeId;
  } finally {
    s.close();
  }
};

t.test('a second store on the same site is refused, naming the first; --take-over starts it, exactly once', async (t) => {
  const { sim, w, env: a } = await startRig(t, { tags: 4, now: '2026-01-01T00:40:00Z' });
  const printed: string[] = [];
  const io: CommandIo = { logger: bareLogger('silent'), print: (s) => printed.push(s), signal: new AbortController().signal };
  t.equal(await runAgentOnce(a.config(), io), 'ok', 'agent A runs');
  const idA = storeIdOf(a);

  // The same config on a second machine: its own state directory.
  const b = makeAgentEnv(({ stateDir }) => readFileSync(a.configFile, 'utf8').replace(`state_dir: ${a.stateDir}`, `state_dir: ${stateDir}`));
  t.teardown(() => b.cleanup());
  mkdirSync(b.stateDir, { recursive: true });
  sim.sim.advance('5m');
  await t.rejects(runAgentOnce(b.config(), io), {
    code: 'SITE_TAKEN',
    message: new RegExp(`^another pi-agent runs for site plant-a: store ${idA} on host ${hostname()}, last heartbeat 20\\d\\d-.*'pi-agent run --take-over'`),
  });
  t.equal(storeIdOf(b) === idA, false, 'B has its own store');
  t.same(
    (await warehouseRows(w, 'pi_agent_status')).map((r) => r.store_id),
    [idA],
    'B wrote nothing',
  );

  t.equal(await runAgentOnce(b.config(), io, { takeOver: true }), 'ok', 'B takes the site over');
  await assertExact(t, sim, w, sim.sim.nowIso(), 'after the take-over');
  // Now A is the other one.
  await t.rejects(runAgentOnce(a.config(), io), { code: 'SITE_TAKEN', message: new RegExp(`store ${storeIdOf(b)} on host`) });
  t.same(printed, [], 'nothing printed as problems');
});
