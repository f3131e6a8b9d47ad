/** `pi-agent setup`: creates what the sink needs, or prints its DDL for an administrator. */
import type { AgentConfig } from '../config/types.js';
import { openSink } from '../sinks/index.js';
import type { CommandIo, Outcome } from './outcome.js';

export interface SetupOptions extends CommandIo {
  /** Print the DDL for an administrator instead of executing it. */
  printSql: boolean;
  /** The principal the printed GRANTs name (default: the sink's own choice). */
  principal?: string;
}

export async function setup(config: AgentConfig, o: SetupOptions): Promise<Outcome> {
  const sink = await openSink(config, o.logger);
  try {
    if (o.printSql) {
      const sql = sink.setupSql(o.principal === undefined ? {} : { principal: o.principal });
      o.print(sql.length === 0 ? `-- the ${sink.type} sink needs no SQL\n` : `${sql.map((s) => `${s.trim()};`).join('\n\n')}\n`);
      return 'ok';
    }
    o.print(`${await sink.setup()}\n`);
    return 'ok';
  } finally {
    await sink.close();
  }
}
