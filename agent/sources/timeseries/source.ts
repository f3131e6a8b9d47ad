/**
 * The time-series source: recorded values of the known tags (extract.ts), with stream updates before
 * the lookback re-reads (updates.ts). Its cycle, what status says about late data, its reset (a
 * rewind: re-read values are sent as upserts) and its part of `check`.
 */
import type { AgentConfig } from '../../config/types.js';
import { AUTO_LOOKBACK_EVERY_MS, timeseriesSection, type TimeseriesConfig } from './config.js';
import { redactor } from '../../config/redact.js';
import { AgentError, describeError } from '../../errors.js';
import { relativeTime, span } from '../../observe/status.js';
import type { PiClient } from '../../pi/client.js';
import { readRecorded } from '../../pi/recorded.js';
import { parsePiTimestamp } from '../../pi/time.js';
import type { Store } from '../../store/store.js';
import { BatchRecordedReader, parseTimeUs, PiUpdatesFeed } from '../pi.js';
import { recordingFailure, type CheckContext, type CycleReport, type Source, type SourceContext, type SourceStatusDetail } from '../source.js';
import { knownTags, piNowUs, resolveTags, tagCount, tagPath } from '../tags/source.js';
import { extractTimeseries, type ExtractOptions, type ExtractResult } from './extract.js';
import { DIGEST_BUCKETS, LIVE, MARKERS, rewindTimeseries, UNREADABLE, UPDATES_STATE, type UpdatesState } from './progress.js';
import { RECOVERY, recoveryNote, timeseriesRecovery } from './recovery.js';
import { reconcileUpdates, type ReconcileResult } from './updates.js';
import { readableTags, recordUnreadable, unreadableNotes } from './unreadable.js';

/** Requests in flight for recorded values (PI's load and the agent's memory both grow with it). */
export function extractionConcurrency(config: AgentConfig): number {
  return Math.max(1, Math.min(config.pi.concurrency, 4));
}

/**
 * Values asked for in one request: the memory bound of a cycle, whatever the backlog (each value
 * costs a few hundred bytes as JSON text, parsed object and row until it is encoded). The size of
 * one request sets the peak, not how many are in flight; larger requests also write fewer, larger
 * batch files. docs/benchmarks.md, "Runs T and U", has the runs behind the number.
 */
export const VALUES_PER_REQUEST = 7_500;

/**
 * extractTimeseries' options for this config (the live cycle and `pi-agent backfill` read alike);
 * `window` sets the time range and what differs between the two.
 */
export function timeseriesOptions(
  config: AgentConfig,
  client: PiClient,
  store: Store,
  tags: readonly { webId: string; pointType?: string | undefined }[],
  window: Pick<ExtractOptions, 'nowUs' | 'startUs' | 'lookbackUs'> &
    Partial<Pick<ExtractOptions, 'endUs' | 'lookbackEveryUs' | 'progressPrefix' | 'insertOp' | 'signal'>>,
): ExtractOptions {
  // Only what extraction needs of each tag, point type strings shared: the list lives for the
  // whole cycle, and per-tag bytes show in RSS several times over (scripts/bench-rss.ts).
  const types = new Map<string, string>();
  const pointType = (t: string): string => {
    const shared = types.get(t);
    if (shared !== undefined) return shared;
    types.set(t, t);
    return t;
  };
  return {
    site: config.site,
    tags: tags.map((t) => (t.pointType === undefined ? { webId: t.webId } : { webId: t.webId, pointType: pointType(t.pointType) })),
    reader: new BatchRecordedReader(client),
    store,
    tagsPerRequest: config.pi.tags_per_request,
    maxCount: config.pi.max_count,
    maxValuesPerRequest: VALUES_PER_REQUEST,
    concurrency: extractionConcurrency(config),
    parseTime: parseTimeUs,
    ...window,
  };
}

export interface TimeseriesRun extends ExtractResult {
  tags: number;
  nowUs: number;
  /** The stream-updates pass before the extraction (absent with `stream_updates: off`). */
  streamUpdates?: ReconcileResult;
}

function configured(config: AgentConfig): TimeseriesConfig {
  if (!config.timeseries) throw new AgentError('CONFIG_INVALID', 'timeseries is not configured');
  return config.timeseries;
}

/** The cycle's extraction options: the known tags, PI's clock, the configured window. */
async function cycleOptions(
  ctx: SourceContext,
  ts: TimeseriesConfig,
  signal: AbortSignal | undefined,
): Promise<{ opts: ExtractOptions; tags: number; unreadable: ReturnType<typeof readableTags> }> {
  // The full TagMeta list is dropped once the extraction's own (WebID, point type) list is made:
  // only the count and the first tag (its path names the clock's data server) stay for the cycle.
  // Tags PI cannot serve are left out until their metadata changes (unreadable.ts).
  const unreadable = readableTags(ctx.store, knownTags(ctx.store));
  const known = unreadable.tags;
  const nowUs = await piNowUs(ctx, known.slice(0, 1));
  // auto: tags with stream-update markers re-read every cycle (polled, narrowed, mostly read with
  // their polls: updates.ts `everyCycle`); the interval holds for the others.
  const auto = ts.lookback_every === 'auto';
  const opts = timeseriesOptions(ctx.config, ctx.client, ctx.store, known, {
    nowUs,
    startUs: parsePiTimestamp(ts.start).us,
    lookbackUs: ts.lookback * 1000,
    lookbackEveryUs: (auto ? AUTO_LOOKBACK_EVERY_MS : (ts.lookback_every as number)) * 1000,
    ...(signal ? { signal } : {}),
  });
  return { opts, tags: known.length, unreadable };
}

/** Tags whose failures say PI cannot serve them: recorded, logged once, out of the cycle's errors. */
function noteUnreadable(ctx: SourceContext, u: ReturnType<typeof readableTags>, r: ExtractResult, signal: AbortSignal | undefined): void {
  const complete = !r.paused && signal?.aborted !== true;
  const newly = recordUnreadable(ctx.store, { ...u, errors: r.errors, complete, redact: redactor(ctx.config), now: new Date() });
  for (const n of newly) {
    const path = tagPath(ctx.store, n.webId);
    ctx.logger.warn({ tag: path, reason: n.reason }, `tag ${path} cannot be read (${n.reason}); it is skipped until its metadata changes in PI`);
  }
}

/** Re-reads read with their polls (updates.ts) count with the extraction's. */
function addReadAhead(r: ExtractResult, su: ReconcileResult): void {
  if (su.readAhead === 0) return;
  r.values += su.readAheadValues;
  r.inserts += su.readAheadRows.inserts;
  r.updates += su.readAheadRows.updates;
  r.deletes += su.readAheadRows.deletes;
  r.rereads += su.readAhead;
  r.narrowed += su.readAhead - su.readAheadWhole;
}

/** Records and logs the cycle's outcome. */
function reportCycle(ctx: SourceContext, run: TimeseriesRun): void {
  const { streamUpdates: su, ...r } = run;
  const lagSeconds = r.minPosUs === null ? null : Math.max(0, Math.round((r.nowUs - r.minPosUs) / 1e6));
  const summary = {
    source: 'timeseries',
    tags: r.tags,
    values: r.values,
    inserts: r.inserts,
    updates: r.updates,
    deletes: r.deletes,
    requests: r.requests,
    rereads: r.rereads,
    rereads_narrowed: r.narrowed,
    timeouts: r.timeouts,
    failed_tags: r.errors.size,
    paused: r.paused,
    lag_seconds: lagSeconds,
    ...(su ? { updates_polled: su.polled, late_changes: su.lateChanges, updates_requests: su.requests, rereads_read_ahead: su.readAhead } : {}),
  };
  if (r.errors.size > 0) {
    const [webId, first] = r.errors.entries().next().value as [string, Error];
    ctx.store.recordSourceError('timeseries', `${r.errors.size} tag(s) failed, e.g. ${tagPath(ctx.store, webId)}: ${describeError(first)}`);
    ctx.store.setSourceLag('timeseries', lagSeconds);
    ctx.logger.warn(summary, 'timeseries cycle finished with errors');
  } else {
    ctx.store.recordSourceSuccess('timeseries', { lagSeconds });
    ctx.logger.info(summary, r.paused ? 'timeseries cycle paused: buffer full' : 'timeseries cycle done');
  }
}

/** One cycle: stream updates, then the extraction (narrowed where the updates allow). */
export async function runTimeseriesSource(ctx: SourceContext, signal?: AbortSignal): Promise<TimeseriesRun> {
  const ts = configured(ctx.config);
  return recordingFailure(ctx.store, 'timeseries', async () => {
    const { opts, tags, unreadable } = await cycleOptions(ctx, ts, signal);
    const su = ts.stream_updates === 'off' ? undefined : await runStreamUpdates(ctx, opts, ts.lookback_full_every * 1000, ts.lookback_every === 'auto');
    const r = await extractTimeseries(su && su.narrowFrom.size > 0 ? { ...opts, narrowFrom: su.narrowFrom } : opts);
    noteUnreadable(ctx, unreadable, r, signal);
    if (su) addReadAhead(r, su);
    const run: TimeseriesRun = { ...r, tags, nowUs: opts.nowUs, ...(su ? { streamUpdates: su } : {}) };
    reportCycle(ctx, run);
    return run;
  });
}

/**
 * Stream updates before the cycle's lookback re-reads (updates.ts): changes older than the re-read
 * window are sent and logged; markers PI forgot and a server without stream updates are logged as
 * what they mean for late data. A PI failure here never stops the cycle: the failed tags keep their
 * markers and are polled again next cycle.
 */
async function runStreamUpdates(ctx: SourceContext, opts: ExtractOptions, lookbackFullEveryUs: number, everyCycle: boolean): Promise<ReconcileResult> {
  const r = await reconcileUpdates({ ...opts, feed: new PiUpdatesFeed(ctx.client), lookbackFullEveryUs, readAhead: true, everyCycle });
  const lookback = span(opts.lookbackUs / 1e6);
  const pathOf = (webId: string): string => tagPath(ctx.store, webId);
  if (r.lateChanges > 0) {
    ctx.logger.warn(
      {
        late_changes: r.lateChanges,
        upserts: r.updates,
        deletes: r.deletes,
        examples: r.sample.map((c) => `${c.action} ${pathOf(c.webId)} at ${new Date(c.timestampUs / 1000).toISOString()}`),
      },
      `stream updates: ${r.lateChanges} change(s) older than the ${lookback} lookback window found and sent`,
    );
  }
  if (r.unknownActions > 0) {
    ctx.logger.warn(
      { unknown_actions: r.unknownActions },
      `stream updates: ${r.unknownActions} event(s) with an action this agent does not know (AF SDK AFDataPipeAction has Add, Insert, Update, Delete, Refresh); their timestamps were read back from PI and sent as upserts`,
    );
  }
  if (r.lost > 0) {
    ctx.logger.warn(
      { markers_lost: r.lost },
      `stream updates: PI Web API no longer knew ${r.lost} tag(s)' markers (its cache expired or it restarted) or ended their signups; registered again, the time since their last poll re-read. Edits older than the ${lookback} lookback made to them since their last poll cannot be seen`,
    );
  }
  if (r.unsupported && r.requests > 0) {
    ctx.logger.warn(`stream updates unavailable: ${r.unsupported.message}. Only the ${lookback} lookback window is checked for late data, edits and deletions`);
  }
  if (r.errors.size > 0) {
    const [webId, first] = r.errors.entries().next().value as [string, Error];
    ctx.logger.warn(
      { failed_tags: r.errors.size },
      `stream updates failed for ${r.errors.size} tag(s), e.g. ${pathOf(webId)}: ${describeError(first)}; their markers are kept and tried again`,
    );
  }
  return r;
}

/** What kept a cycle from finishing, for `run --once`. */
function problemsOf(r: TimeseriesRun): string[] {
  // One line, the first that applies, as run --once has always reported it.
  if (r.errors.size > 0) return [`PI_BAD_RESPONSE: ${r.errors.size} tag(s) could not be read`];
  const su = r.streamUpdates;
  if (su && su.errors.size > 0)
    return [`PI_BAD_RESPONSE: stream updates failed for ${su.errors.size} tag(s): changes older than the lookback may wait until they succeed (see the log)`];
  if (r.paused) return ['BUFFER_FULL: the outbound buffer is full: extraction paused until the sink catches up'];
  return [];
}

/**
 * What status says about late data older than the lookback window (updates.ts): how much stream
 * updates found, or why nothing older than the window is seen.
 */
export function lateDataNotes(ts: TimeseriesConfig, st: UpdatesState | undefined, now: Date): string[] {
  const lookback = span(ts.lookback / 1000);
  // Without stream updates nothing narrows a re-read: every cycle re-reads the whole window.
  const everyCycle =
    ts.lookback_every === 0
      ? [
          `lookback_every 0s without stream updates: every cycle re-reads the whole ${lookback} window of every tag (set lookback_every to auto, the default, or to 15m or more, to lighten the load on PI)`,
        ]
      : [];
  if (ts.stream_updates === 'off') return [`stream updates off: changes older than the ${lookback} lookback window are not detected`, ...everyCycle];
  const notes: string[] = [];
  if (st?.unsupported)
    notes.push(`stream updates unavailable (${st.unsupported.reason}): changes older than the ${lookback} lookback window are not detected`, ...everyCycle);
  if (st && st.late_changes > 0 && st.last_late) {
    notes.push(
      `${st.late_changes.toLocaleString('en-US')} change(s) older than the ${lookback} lookback found through stream updates and sent; last: ${st.last_late.action} at ${st.last_late.timestamp}, found ${relativeTime(st.last_late.at, now)}`,
    );
  }
  // A gap is news for a day; an old one says nothing about today.
  if (st?.lost && now.getTime() - Date.parse(st.lost.at) < 24 * 3600 * 1000)
    notes.push(
      `stream-update markers lost ${st.lost.count.toLocaleString('en-US')} time(s), last ${relativeTime(st.lost.at, now)} (${st.lost.reason ?? 'PI Web API cache expired or restarted'}): changes older than the lookback made before re-registering were not seen`,
    );
  if (st?.unknown_actions)
    notes.push(
      `${st.unknown_actions.count.toLocaleString('en-US')} stream-update event(s) with an action this agent does not know (last: ${st.unknown_actions.last}, ${relativeTime(st.unknown_actions.at, now)}): their timestamps were read back from PI`,
    );
  if (st?.unregistered) notes.push(`${st.unregistered.count.toLocaleString('en-US')} tag(s) could not be registered for stream updates (${st.unregistered.reason})`);
  return notes;
}

/** `check`: a sample read of one selected tag, and whether the server has stream updates. */
async function checkSample(ctx: CheckContext, ts: TimeseriesConfig): Promise<void> {
  const sample = ctx.sample;
  if (!sample) return;
  try {
    const now = Date.now() * 1000;
    const r = await readRecorded(ctx.client, sample, now - 24 * 3600e6, now, 10);
    ctx.ok(`sample read: ${r.items.length} recorded value(s) in the last day`);
  } catch (err) {
    ctx.fail('sample read', err);
  }
  if (ts.stream_updates === 'off') return;
  // Not a failure either way: without stream updates only the lookback window is checked.
  try {
    // As the run does: decided by the server's release where it says one (agent/pi/version.ts).
    const reg = (await new PiUpdatesFeed(ctx.client).register([sample])).get(sample);
    if (reg?.kind === 'ok') ctx.ok('stream updates available: changes older than the lookback window are found');
    else ctx.warn(`stream updates: ${reg?.error.message ?? 'no answer'}; changes older than the lookback window will not be detected`);
  } catch (err) {
    ctx.warn(`stream updates: ${describeError(err)}; changes older than the lookback window will not be detected`);
  }
}

export const timeseriesSource: Source = {
  name: timeseriesSection.name,
  progress: [LIVE, DIGEST_BUCKETS, MARKERS, UPDATES_STATE, UNREADABLE, RECOVERY],
  recovery: timeseriesRecovery,
  pausesWhenFull: true,
  resetsTags: timeseriesSection.resetsTags,
  enabled: (config) => config.timeseries !== undefined,
  schedule: (config) => configured(config).schedule,
  async runCycle(ctx, signal): Promise<CycleReport> {
    const r = await runTimeseriesSource(ctx, signal);
    return { problems: problemsOf(r), values: r.values };
  },
  async reset(store, config, request) {
    const ts = configured(config);
    const toUs = parsePiTimestamp(request.to ?? ts.start).us;
    const tags = await resolveTags(store, request.tags);
    const n = rewindTimeseries(
      store,
      tags.map((t) => t.webId),
      toUs,
    );
    return `reset timeseries: ${n} tag(s) rewound to ${new Date(toUs / 1000).toISOString()}; values up to their old position are re-sent as upserts`;
  },
  status(store, config) {
    const out: SourceStatusDetail = { tags: tagCount(store) };
    if (config.timeseries) {
      const skipped = unreadableNotes(store, (w) => tagPath(store, w));
      const recovered = recoveryNote(store);
      const notes = [...(recovered ? [recovered] : []), ...skipped.notes, ...lateDataNotes(config.timeseries, UPDATES_STATE.get(store), new Date())];
      if (notes.length > 0) out.notes = notes;
      if (skipped.tags.length > 0) out.unreadable_tags = skipped.tags;
    }
    return out;
  },
  check: async (ctx) => checkSample(ctx, configured(ctx.config)),
};
