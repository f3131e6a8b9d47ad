/**
 * Child process of databricks-service-crash.test.ts: the long-running service (`pi-agent run`, the
 * same runService the CLI calls) with its info log on stderr, so the parent can see it start and
 * SIGKILL it while it extracts and uploads. argv: <config file>. SIGTERM stops it cleanly.
 */
import { loadConfig } from '../../agent/config/load.js';
import { bareLogger } from '../../agent/observe/log.js';
import { exitCodeOf } from '../../agent/cli/exit.js';
import { runService } from '../../agent/service/run.js';

const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
const outcome = await runService(loadConfig(process.argv[2]!), bareLogger('info'), stop.signal);
process.exit(exitCodeOf(outcome));
