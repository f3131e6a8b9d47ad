#!/usr/bin/env node
/** pi-agent command line: placeholder entry until the CLI module lands. */
import { VERSION } from '../version.js';

const HELP = `pi-agent ${VERSION}: moves PI System data into Databricks, exactly once.

Usage: pi-agent <command> [options]

Commands:
  run       run the agent (--once: one cycle, then exit)
  status    show sources, buffer and sink (--json)
  flush     upload everything buffered now and wait
  check     validate config, reach PI and the sink
  backfill  re-extract a time range for some tags
  reset     rewind progress of some tags or all
  setup     create or print the Databricks objects
  version   print the version

Options:
  --config FILE   the YAML config (default ./pi-agent.yaml)
  -h, --help      help for a command
`;

const [cmd] = process.argv.slice(2);
if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
  process.stdout.write(HELP);
} else if (cmd === 'version' || cmd === '--version') {
  process.stdout.write(`${VERSION}\n`);
} else {
  process.stderr.write(`pi-agent: unknown command '${cmd}'. Run 'pi-agent --help'.\n`);
  process.exitCode = 2;
}
