/**
 * Child process of crash.test.ts: what `pi-agent run --once --config FILE` does (open
 * the agent, run every source and the sink once, close). Prints `open` once the agent is open and
 * `done <json>` at the end; exit code 0 when the run was ok.
 */
import { loadConfig } from '../../../agent/config/load.js';
import { bareLogger } from '../../../agent/observe/log.js';
import { openAgent } from '../../../agent/service/agent.js';
import { runOnce } from '../../../agent/service/once.js';

const agent = await openAgent(loadConfig(process.argv[2]!), bareLogger('silent'));
process.stdout.write('open\n');
let ok = false;
try {
  const r = await runOnce(agent);
  ok = r.ok;
  process.stdout.write(`done ${JSON.stringify(r)}\n`);
} finally {
  await agent.close();
}
process.exitCode = ok ? 0 : 3;
