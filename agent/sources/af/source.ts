/** The AF source: the hierarchy of the configured databases (extract.ts), its progress and check. */
import type { AgentConfig } from '../../config/types.js';
import { afSection, type AfConfig } from './config.js';
import { AgentError } from '../../errors.js';
import { clearProgress, recordingFailure, type CheckContext, type Source } from '../source.js';
import { extractAf } from './extract.js';
import { requireSupportedPi } from '../../pi/version.js';
import { AF_ATTRIBUTES, AF_ELEMENTS, AF_TEMPLATES } from './progress.js';

function configured(config: AgentConfig): AfConfig {
  if (!config.af) throw new AgentError('CONFIG_INVALID', 'af is not configured');
  return config.af;
}

/** `check`: each configured AF database is found (shared with the event frame source). */
export async function checkDatabases(ctx: CheckContext, databases: readonly string[]): Promise<void> {
  for (const db of databases) {
    try {
      await ctx.client.get('/assetdatabases', { path: db, selectedFields: 'WebId;Name', webIdType: 'IDOnly' });
      ctx.ok(`AF database ${db} found`);
    } catch (err) {
      ctx.fail(`AF database ${db}`, err);
    }
  }
}

export const afSource: Source = {
  name: afSection.name,
  progress: [AF_TEMPLATES, AF_ELEMENTS, AF_ATTRIBUTES],
  pausesWhenFull: true,
  resetsTags: afSection.resetsTags,
  enabled: (config) => config.af !== undefined,
  schedule: (config) => configured(config).schedule,
  async runCycle(ctx, signal) {
    const af = configured(ctx.config);
    const r = await recordingFailure(ctx.store, 'af', async () => {
      // A release whose WebIDs the agent cannot read is refused by name (agent/pi/version.ts).
      await requireSupportedPi(ctx.client);
      return extractAf({ site: ctx.config.site, client: ctx.client, store: ctx.store, databases: af.databases, ...(signal ? { signal } : {}) });
    });
    if (!r.paused) ctx.store.recordSourceSuccess('af', { lagSeconds: null });
    ctx.logger.info({ source: 'af', ...r }, r.paused ? 'AF cycle paused: buffer full' : 'AF cycle done');
    return { problems: r.paused ? ['BUFFER_FULL: the outbound buffer is full: AF extraction paused until the sink catches up'] : [] };
  },
  async reset(store) {
    return `reset af: progress cleared (${clearProgress(store, afSource)} entries); the next cycle re-reads it as upserts`;
  },
  check: (ctx) => checkDatabases(ctx, configured(ctx.config).databases),
};
