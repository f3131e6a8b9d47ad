import { loadConfig } from '../../config/load.js';
import { check as checkAll } from '../../service/check.js';
import { configPath, type Command } from '../command.js';
import { EXIT, exitCodeOf } from '../exit.js';
import { withSession } from '../session.js';

export const check: Command = {
  name: 'check',
  summary: 'validate config, reach PI and the sink',
  description: `
Validates the config (every problem at once, as file:line:col), then contacts PI Web API
(authenticates, reads one tag) and the sink (directory writable, or Databricks session, catalog,
schema and volume), printing one line per check. Use --offline to validate the config only.`,
  options: {
    offline: { type: 'boolean', help: 'validate the config only; contact nothing' },
    'skip-pi': { type: 'boolean', help: 'do not contact PI Web API' },
    'skip-sink': { type: 'boolean', help: 'do not contact the sink' },
  },
  needsConfig: true,
  async run(values, ctx) {
    if (values.offline === true) {
      const file = configPath(values);
      const config = loadConfig(file);
      for (const w of config.warnings) process.stderr.write(`pi-agent: warning: ${w}\n`);
      process.stdout.write(`${file}: ok (site ${config.site})\n`);
      return EXIT.OK;
    }
    return withSession(values, ctx, { logFile: true, console: 'stderr' }, async (s) =>
      exitCodeOf(await checkAll(s.config, { ...s.io, pi: values['skip-pi'] !== true, sink: values['skip-sink'] !== true })),
    );
  },
};
