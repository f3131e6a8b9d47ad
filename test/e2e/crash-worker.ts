/**
 * Child process of databricks-crash.test.ts: `run --once` in a loop (open, run, close) until a run is
 * fully ok, so the parent can SIGKILL it anywhere in extraction, buffering, upload or commit.
 * argv: <config file>. Exit 0 when a run was ok; prints one line per run on stdout and the agent's
 * info log on stderr (the parent reads the last line to know where the kill landed).
 */
import { loadConfig } from '../../agent/config/load.js';
import { bareLogger } from '../../agent/observe/log.js';
import { openAgent } from '../../agent/service/agent.js';
import { runOnce } from '../../agent/service/once.js';

const file = process.argv[2]!;
process.stderr.write('worker started\n');
for (let i = 0; i < 50; i++) {
  const agent = await openAgent(loadConfig(file), bareLogger('info'));
  let ok = false;
  try {
    const r = await runOnce(agent);
    ok = r.ok;
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } finally {
    await agent.close();
  }
  if (ok) process.exit(0);
}
process.exit(1);
