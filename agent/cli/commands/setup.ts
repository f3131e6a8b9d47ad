import { setup as setupSink } from '../../service/setup.js';
import { exitCodeOf } from '../exit.js';
import type { Command } from '../command.js';
import { withSession } from '../session.js';

export const setup: Command = {
  name: 'setup',
  summary: 'create or print the Databricks objects',
  description: `
Creates what the sink needs and is missing: for Databricks the schema, the volume and the pi_*
tables; for a directory sink the output folders. With --print-sql, prints the DDL for an
administrator instead and changes nothing.`,
  options: {
    'print-sql': { type: 'boolean', help: 'print the DDL instead of running it' },
  },
  needsConfig: true,
  async run(values, ctx) {
    const printSql = values['print-sql'] === true;
    return withSession(values, ctx, { logFile: !printSql, console: 'stderr' }, async (s) => exitCodeOf(await setupSink(s.config, { ...s.io, printSql })));
  },
};
