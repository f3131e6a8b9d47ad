/**
 * One agent: the store, the PI client and the sink opened from config, and one cycle of each
 * source and of the sink. `run --once` runs them in order; the service schedules them.
 */
import { AUTO_LOOKBACK_EVERY_MS, type AgentConfig, type TagSelector as ConfigTagSelector } from '../config/types.js';
import { AgentError, describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { span } from '../observe/status.js';
import type { PiClient } from '../pi/client.js';
import { parsePiTimestamp } from '../pi/time.js';
import { DirectorySink } from '../sinks/directory.js';
import { forwardAll, type ForwardOptions, type ForwardResult } from '../sinks/forward.js';
import type { Sink } from '../sinks/types.js';
import { extractAf } from '../sources/af/extract.js';
import { extractEventFrames } from '../sources/eventframes/extract.js';
import { discoverTags, type TagMeta, type TagSelector } from '../sources/tags/discover.js';
import { emptyHint, PiElementPoints } from '../sources/tags/af-element.js';
import { extractTimeseries, type ExtractOptions, type ExtractResult } from '../sources/timeseries/extract.js';
import { reconcileUpdates, type ReconcileResult } from '../sources/timeseries/updates.js';
import { Store } from '../store/store.js';
import { writeHeartbeat } from './heartbeat.js';
import { BatchRecordedReader, openPi, parseTimeUs, piServerNowUs, PiPointDirectory, PiUpdatesFeed } from './pi.js';

export interface Agent {
  config: AgentConfig;
  store: Store;
  client: PiClient;
  directory: PiPointDirectory;
  sink: Sink;
  logger: Logger;
  close(): Promise<void>;
}

export async function createSink(config: AgentConfig, logger: Logger): Promise<Sink> {
  if (config.sink.type === 'directory') return new DirectorySink(config.sink.path);
  // The Databricks sink pulls in the SQL driver: load it only when configured.
  const { DatabricksSink } = await import('../sinks/databricks.js');
  return DatabricksSink.fromConfig(config, logger);
}

export function openStore(config: AgentConfig): Store {
  return Store.open({ stateDir: config.state_dir, site: config.site, maxBufferBytes: config.buffer.max_bytes });
}

export async function openAgent(config: AgentConfig, logger: Logger): Promise<Agent> {
  const store = openStore(config);
  try {
    const client = await openPi(config);
    const directory = new PiPointDirectory(client);
    const sink = await createSink(config, logger);
    return {
      config, store, client, directory, sink, logger,
      async close() {
        await Promise.allSettled([client.close(), sink.close()]);
        store.close();
      },
    };
  } catch (err) {
    store.close();
    throw err;
  }
}

function pointSelectors(config: AgentConfig): TagSelector[] {
  return config.tags.map((s: ConfigTagSelector): TagSelector => ({ ...s }));
}

/** The data server whose clock ends extraction windows. */
function clockServer(config: AgentConfig, tags: TagMeta[]): string | undefined {
  for (const s of config.tags) if ('dataserver' in s) return s.dataserver;
  const m = tags[0] && /^\\\\([^\\]+)\\/.exec(tags[0].path);
  return m?.[1];
}

/** PI's current time (µs) from the data server's clock; the host's clock when no data server is known. */
async function piNowUs(agent: Agent, tags: TagMeta[]): Promise<number> {
  const server = clockServer(agent.config, tags);
  return server ? piServerNowUs(agent.client, agent.directory, server) : Date.now() * 1000;
}

export async function runTagsSource(agent: Agent): Promise<TagMeta[]> {
  const selectors = pointSelectors(agent.config);
  try {
    const opts: Parameters<typeof discoverTags>[0] = { site: agent.config.site, selectors, directory: agent.directory, store: agent.store };
    if (selectors.some((s) => 'af_element' in s)) opts.elements = new PiElementPoints(agent.client);
    if (agent.config.timeseries?.shards) opts.shards = agent.config.timeseries.shards;
    const r = await discoverTags(opts);
    // Dangling AF references skip their attribute, not the discovery (af-element.ts).
    for (const w of r.warnings) agent.logger.warn({ source: 'tags' }, w);
    for (const { selector, result } of r.elements) {
      const more = result.unresolved - result.warnings.length;
      if (more > 0) agent.logger.warn({ source: 'tags', af_element: selector.af_element }, `${more} more unresolvable PI Point reference(s) under ${result.element.path}`);
      const hint = emptyHint(selector, result);
      if (hint) agent.logger.warn({ source: 'tags', af_element: selector.af_element }, hint);
    }
    agent.store.recordSourceSuccess('tags', { lagSeconds: null });
    agent.logger.info({ source: 'tags', tags: r.tags.length, added: r.added, changed: r.changed, removed: r.removed, unresolved_af_references: r.elements.reduce((n, e) => n + e.result.unresolved, 0) }, 'tag discovery done');
    return r.tags;
  } catch (err) {
    agent.store.recordSourceError('tags', describeError(err));
    throw err;
  }
}

export function knownTags(store: Store): TagMeta[] {
  return [...store.getProgressByPrefix<TagMeta>('tag:').values()];
}

/** Requests in flight for recorded values (PI's load and the agent's memory both grow with it). */
export function extractionConcurrency(config: AgentConfig): number {
  return Math.max(1, Math.min(config.pi.concurrency, 4));
}

/**
 * Values asked for in one request (the memory bound of a cycle, whatever the backlog: each value
 * costs a few hundred bytes as JSON text, parsed object and row until it is encoded). What counts
 * is the size of one request, not how many are in flight: scripts/bench-rss.ts, 30,000 tags × 1 h
 * of 5-second data (2026-11-27): peak RSS 213.3–215.1 MB (three runs) at 7,500 values per request
 * (4 in flight) against 229–246 MB (ten runs) at 15,000 (4 in flight) and 239.6 / 234.5 MB at 15,000 two
 * at a time; same rate, twice the catch-up requests, batch files 2.8 bytes per value instead of 2.3
 * (a file per request). Before, 60,000 / concurrency (15,000 at 4; 60,000 at concurrency 1).
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
  window: Pick<ExtractOptions, 'nowUs' | 'startUs' | 'lookbackUs'> & Partial<Pick<ExtractOptions, 'endUs' | 'lookbackEveryUs' | 'progressPrefix' | 'insertOp' | 'signal'>>,
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

export async function runTimeseriesSource(agent: Agent, signal?: AbortSignal): Promise<TimeseriesRun> {
  const ts = agent.config.timeseries;
  if (!ts) throw new AgentError('INTERNAL', 'timeseries is not configured');
  // The full TagMeta list is dropped once the extraction's own (WebID, point type) list is made:
  // only the count and the first tag (its path names the clock's data server) stay for the cycle.
  let known: TagMeta[] | undefined = knownTags(agent.store);
  const tagCount = known.length;
  try {
    const nowUs = await piNowUs(agent, known.slice(0, 1));
    // auto: tags with stream-update markers re-read every cycle (polled, narrowed, mostly read with
    // their polls: updates.ts `everyCycle`); the interval holds for the others.
    const auto = ts.lookback_every === 'auto';
    const opts = timeseriesOptions(agent.config, agent.client, agent.store, known, {
      nowUs,
      startUs: parsePiTimestamp(ts.start).us,
      lookbackUs: ts.lookback * 1000,
      lookbackEveryUs: (auto ? AUTO_LOOKBACK_EVERY_MS : (ts.lookback_every as number)) * 1000,
      ...(signal ? { signal } : {}),
    });
    known = undefined;
    const su = ts.stream_updates === 'off' ? undefined : await runStreamUpdates(agent, opts, ts.lookback_full_every * 1000, auto);
    const r = await extractTimeseries(su && su.narrowFrom.size > 0 ? { ...opts, narrowFrom: su.narrowFrom } : opts);
    if (su && su.readAhead > 0) {
      // Re-reads read with their polls (updates.ts) count with the extraction's.
      r.values += su.readAheadValues;
      r.inserts += su.readAheadRows.inserts;
      r.updates += su.readAheadRows.updates;
      r.deletes += su.readAheadRows.deletes;
      r.rereads += su.readAhead;
      r.narrowed += su.readAhead - su.readAheadWhole;
    }
    const lagSeconds = r.minPosUs === null ? null : Math.max(0, Math.round((nowUs - r.minPosUs) / 1e6));
    const summary = {
      source: 'timeseries', tags: tagCount, values: r.values, inserts: r.inserts, updates: r.updates, deletes: r.deletes, requests: r.requests, rereads: r.rereads, rereads_narrowed: r.narrowed, timeouts: r.timeouts, failed_tags: r.errors.size, paused: r.paused, lag_seconds: lagSeconds,
      ...(su ? { updates_polled: su.polled, late_changes: su.lateChanges, updates_requests: su.requests, rereads_read_ahead: su.readAhead } : {}),
    };
    if (r.errors.size > 0) {
      const [webId, first] = r.errors.entries().next().value as [string, Error];
      const tag = agent.store.getProgress<TagMeta>(`tag:${webId}`);
      agent.store.recordSourceError('timeseries', `${r.errors.size} tag(s) failed, e.g. ${tag?.path ?? webId}: ${describeError(first)}`);
      agent.store.setSourceLag('timeseries', lagSeconds);
      agent.logger.warn(summary, 'timeseries cycle finished with errors');
    } else {
      agent.store.recordSourceSuccess('timeseries', { lagSeconds });
      agent.logger.info(summary, r.paused ? 'timeseries cycle paused: buffer full' : 'timeseries cycle done');
    }
    return { ...r, tags: tagCount, nowUs, ...(su ? { streamUpdates: su } : {}) };
  } catch (err) {
    agent.store.recordSourceError('timeseries', describeError(err));
    throw err;
  }
}

/**
 * Stream updates before the cycle's lookback re-reads (sources/timeseries/updates.ts): changes older
 * than the re-read window are sent and logged; markers PI forgot and a server without stream
 * updates are logged as what they mean for late data. A PI failure here never stops the cycle: the
 * failed tags keep their markers and are polled again next cycle.
 */
async function runStreamUpdates(agent: Agent, opts: ExtractOptions, lookbackFullEveryUs: number, everyCycle: boolean): Promise<ReconcileResult> {
  const r = await reconcileUpdates({ ...opts, feed: new PiUpdatesFeed(agent.client), lookbackFullEveryUs, readAhead: true, everyCycle });
  const lookback = span(opts.lookbackUs / 1e6);
  const pathOf = (webId: string): string => agent.store.getProgress<TagMeta>(`tag:${webId}`)?.path ?? webId;
  if (r.lateChanges > 0) {
    agent.logger.warn({
      late_changes: r.lateChanges, upserts: r.updates, deletes: r.deletes,
      examples: r.sample.map((c) => `${c.action} ${pathOf(c.webId)} at ${new Date(c.timestampUs / 1000).toISOString()}`),
    }, `stream updates: ${r.lateChanges} change(s) older than the ${lookback} lookback window found and sent`);
  }
  if (r.lost > 0) {
    agent.logger.warn({ markers_lost: r.lost }, `stream updates: PI Web API no longer knew ${r.lost} tag(s)' markers (its cache expired or it restarted); registered again. Changes older than the ${lookback} lookback made to them since their last poll cannot be seen`);
  }
  if (r.unsupported && r.requests > 0) {
    agent.logger.warn(`stream updates unavailable: ${r.unsupported.message}. Only the ${lookback} lookback window is checked for late data, edits and deletions`);
  }
  if (r.errors.size > 0) {
    const [webId, first] = r.errors.entries().next().value as [string, Error];
    agent.logger.warn({ failed_tags: r.errors.size }, `stream updates failed for ${r.errors.size} tag(s), e.g. ${pathOf(webId)}: ${describeError(first)}; their markers are kept and tried again`);
  }
  return r;
}

/** forwardAll's options for this config: the Databricks sink bounds its upload units. */
export function forwardOptions(config: AgentConfig, extra: ForwardOptions = {}): ForwardOptions {
  return config.sink.type === 'databricks' ? { maxBytes: config.sink.max_upload_bytes, ...extra } : extra;
}

export async function runSink(agent: Agent, signal?: AbortSignal): Promise<ForwardResult> {
  const r = await forwardAll(agent.store, agent.sink, forwardOptions(agent.config, signal ? { signal } : {}));
  if (r.units > 0) agent.logger.info({ sink: agent.sink.type, units: r.units, rows: r.rows }, 'uploaded');
  return r;
}

export async function runAfSource(agent: Agent, signal?: AbortSignal): Promise<Awaited<ReturnType<typeof extractAf>>> {
  const af = agent.config.af;
  if (!af) throw new AgentError('INTERNAL', 'af is not configured');
  try {
    const opts: Parameters<typeof extractAf>[0] = { site: agent.config.site, client: agent.client, store: agent.store, databases: af.databases };
    if (signal) opts.signal = signal;
    const r = await extractAf(opts);
    if (!r.paused) agent.store.recordSourceSuccess('af', { lagSeconds: null });
    agent.logger.info({ source: 'af', ...r }, r.paused ? 'AF cycle paused: buffer full' : 'AF cycle done');
    return r;
  } catch (err) {
    agent.store.recordSourceError('af', describeError(err));
    throw err;
  }
}

export async function runEventFramesSource(agent: Agent, signal?: AbortSignal): Promise<Awaited<ReturnType<typeof extractEventFrames>>> {
  const ef = agent.config.event_frames;
  if (!ef) throw new AgentError('INTERNAL', 'event_frames is not configured');
  try {
    const nowUs = await piNowUs(agent, knownTags(agent.store));
    const opts: Parameters<typeof extractEventFrames>[0] = {
      site: agent.config.site, client: agent.client, store: agent.store, databases: ef.databases,
      startUs: parsePiTimestamp(ef.start).us, nowUs,
      // Config holds milliseconds; the source works in µs on PI's clock.
      rescanHorizonUs: ef.rescan_horizon * 1000, rescanEveryUs: ef.rescan_every * 1000,
    };
    if (ef.templates) opts.templates = ef.templates;
    if (ef.categories) opts.categories = ef.categories;
    if (signal) opts.signal = signal;
    const r = await extractEventFrames(opts);
    if (!r.paused) agent.store.recordSourceSuccess('event_frames', { lagSeconds: 0 });
    agent.logger.info({ source: 'event_frames', ...r }, r.paused ? 'event frame cycle paused: buffer full' : 'event frame cycle done');
    return r;
  } catch (err) {
    agent.store.recordSourceError('event_frames', describeError(err));
    throw err;
  }
}

export interface OnceResult {
  ok: boolean;
  problems: string[];
}

/** `run --once`: every enabled source once, then the sink; ok only if everything was extracted and committed. */
export async function runOnce(agent: Agent, signal?: AbortSignal): Promise<OnceResult> {
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${describeError(err)}`);
      agent.logger.error({ source: what, err: describeError(err) }, `${what} failed`);
    }
  };
  await attempt('tags', () => runTagsSource(agent));
  if (agent.config.timeseries) {
    await attempt('timeseries', async () => {
      const r = await runTimeseriesSource(agent, signal);
      if (r.errors.size > 0) throw new AgentError('PI_BAD_RESPONSE', `${r.errors.size} tag(s) could not be read`);
      const su = r.streamUpdates;
      if (su && su.errors.size > 0) throw new AgentError('PI_BAD_RESPONSE', `stream updates failed for ${su.errors.size} tag(s): changes older than the lookback may wait until they succeed (see the log)`);
      if (r.paused) throw new AgentError('BUFFER_FULL', 'the outbound buffer is full: extraction paused until the sink catches up');
    });
  }
  if (agent.config.af) {
    await attempt('af', async () => {
      const r = await runAfSource(agent, signal);
      if (r.paused) throw new AgentError('BUFFER_FULL', 'the outbound buffer is full: AF extraction paused until the sink catches up');
    });
  }
  if (agent.config.event_frames) {
    await attempt('event_frames', async () => {
      const r = await runEventFramesSource(agent, signal);
      if (r.paused) throw new AgentError('BUFFER_FULL', 'the outbound buffer is full: event frame extraction paused until the sink catches up');
    });
  }
  await attempt('heartbeat', async () => writeHeartbeat(agent.config, agent.store));
  await attempt('sink', () => runSink(agent, signal));
  const left = agent.store.stats();
  if (left.sealed_batches > 0) problems.push(`sink: ${left.sealed_batches} batch(es) still buffered`);
  return { ok: problems.length === 0, problems };
}

export { parseTimeUs };
