/**
 * `pi-agent reset`: rewinds a source's progress (the source says how); the next cycles read again,
 * and what comes again is sent as upserts, never as inserts: no duplicates.
 */
import type { AgentConfig } from '../config/types.js';
import { AgentError } from '../errors.js';
import { sourceNamed, type ResetRequest } from '../sources/index.js';
import { openStore } from './agent.js';
import type { Outcome } from './outcome.js';

export interface ResetOptions extends ResetRequest {
  print: (text: string) => void;
  source: string;
}

export async function reset(config: AgentConfig, o: ResetOptions): Promise<Outcome> {
  const source = await sourceNamed(o.source);
  if (!source) throw new AgentError('CONFIG_INVALID', `no source named ${o.source}`);
  const store = openStore(config);
  try {
    o.print(`${await source.reset(store, config, { tags: o.tags, ...(o.to === undefined ? {} : { to: o.to }) })}\n`);
    return 'ok';
  } finally {
    store.close();
  }
}
