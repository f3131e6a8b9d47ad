import { setup as setupSink } from '../../service/setup.js';
import { exitCodeOf } from '../exit.js';
import { UsageError, type Command } from '../command.js';
import { withSession } from '../session.js';

export const setup: Command = {
  name: 'setup',
  summary: 'create or print the Databricks objects and grants',
  description: `
Creates what the sink needs and is missing: for Databricks the schema, the volume and the pi_*
tables; for a directory sink the output folders. With --print-sql, prints for an administrator
instead, and changes nothing: the DDL of the objects, then the GRANT statements of the agent's
minimum privileges (USE CATALOG, USE SCHEMA, READ VOLUME, WRITE VOLUME, SELECT and MODIFY on the
pi_* tables) to --principal, by default the OAuth client id of sink.auth.`,
  options: {
    'print-sql': { type: 'boolean', help: 'print the DDL and GRANTs instead of running them' },
    principal: { type: 'string', arg: 'NAME', help: 'the user or service principal the printed GRANTs name' },
  },
  needsConfig: true,
  async run(values, ctx) {
    const printSql = values['print-sql'] === true;
    const principal = typeof values.principal === 'string' ? values.principal : undefined;
    if (principal !== undefined && !printSql) throw new UsageError('--principal goes with --print-sql', 'setup');
    return withSession(values, ctx, { logFile: !printSql, console: 'stderr' }, async (s) =>
      exitCodeOf(await setupSink(s.config, { ...s.io, printSql, ...(principal === undefined ? {} : { principal }) })),
    );
  },
};
