/** The event frame source: frames of the configured databases (extract.ts), open ones included. */
import type { AgentConfig } from '../../config/types.js';
import { eventFramesSection, type EventFramesConfig } from './config.js';
import { AgentError } from '../../errors.js';
import { parsePiTimestamp } from '../../pi/time.js';
import { requireSupportedPi } from '../../pi/version.js';
import { checkDatabases } from '../af/source.js';
import { clearProgress, recordingFailure, type Source, type SourceContext } from '../source.js';
import { knownTags, piNowUs } from '../tags/source.js';
import { extractEventFrames } from './extract.js';
import { FRAMES, WINDOWS } from './progress.js';

function configured(config: AgentConfig): EventFramesConfig {
  if (!config.event_frames) throw new AgentError('CONFIG_INVALID', 'event_frames is not configured');
  return config.event_frames;
}

async function extractOptions(ctx: SourceContext, ef: EventFramesConfig, signal: AbortSignal | undefined): Promise<Parameters<typeof extractEventFrames>[0]> {
  const nowUs = await piNowUs(ctx, knownTags(ctx.store));
  const opts: Parameters<typeof extractEventFrames>[0] = {
    site: ctx.config.site,
    client: ctx.client,
    store: ctx.store,
    databases: ef.databases,
    startUs: parsePiTimestamp(ef.start).us,
    nowUs,
    // Config holds milliseconds; the source works in µs on PI's clock.
    rescanHorizonUs: ef.rescan_horizon * 1000,
    rescanEveryUs: ef.rescan_every * 1000,
  };
  if (ef.templates) opts.templates = ef.templates;
  if (ef.categories) opts.categories = ef.categories;
  if (signal) opts.signal = signal;
  return opts;
}

export const eventFramesSource: Source = {
  name: eventFramesSection.name,
  progress: [FRAMES, WINDOWS],
  pausesWhenFull: true,
  resetsTags: eventFramesSection.resetsTags,
  enabled: (config) => config.event_frames !== undefined,
  schedule: (config) => configured(config).schedule,
  async runCycle(ctx, signal) {
    const ef = configured(ctx.config);
    const r = await recordingFailure(ctx.store, 'event_frames', async () => {
      await requireSupportedPi(ctx.client); // releases before 2016 R2 refused by name; 1.0 ids translated (agent/pi/version.ts)
      return extractEventFrames(await extractOptions(ctx, ef, signal));
    });
    if (!r.paused) ctx.store.recordSourceSuccess('event_frames', { lagSeconds: 0 });
    ctx.logger.info({ source: 'event_frames', ...r }, r.paused ? 'event frame cycle paused: buffer full' : 'event frame cycle done');
    return { problems: r.paused ? ['BUFFER_FULL: the outbound buffer is full: event frame extraction paused until the sink catches up'] : [] };
  },
  async reset(store) {
    return `reset event_frames: progress cleared (${clearProgress(store, eventFramesSource)} entries); the next cycle re-reads it as upserts`;
  },
  check: (ctx) => checkDatabases(ctx, configured(ctx.config).databases),
};
