/**
 * The bodies of the operator commands (status, flush, check, backfill, reset). `run` is in run.ts.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT } from '../cli/exit.js';
import type { AgentConfig, TimeseriesConfig } from '../config/types.js';
import { AgentError, describeError, NoStoreError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { relativeTime, span, type StatusReport } from '../observe/status.js';
import { findDataServer, getPointByPath, listPoints } from '../pi/points.js';
import { readRecorded } from '../pi/recorded.js';
import { registerUpdates } from '../pi/updates.js';
import { parsePiTimestamp } from '../pi/time.js';
import { forwardAll } from '../sinks/forward.js';
import type { TagMeta } from '../sources/tags/discover.js';
import { idOnlyWebId } from '../pi/webid.js';
import { describeElementPoints, emptyHint, PiElementPoints } from '../sources/tags/af-element.js';
import { bucketKeysOf, progressHead, type StoredTagProgress } from '../sources/timeseries/digest.js';
import { extractTimeseries, progressKey } from '../sources/timeseries/extract.js';
import { UPDATES_STATE_KEY, type UpdatesState } from '../sources/timeseries/updates.js';
import { Store } from '../store/store.js';
import { VERSION } from '../version.js';
import { isServiceRunning, sendControl } from './control.js';
import { createSink, forwardOptions, knownTags, openAgent, openStore, timeseriesOptions } from './cycle.js';
import { openPi } from './pi.js';

// ---- status ---------------------------------------------------------------------------------------

export async function buildStatus(config: AgentConfig): Promise<StatusReport> {
  const svc = await isServiceRunning(config.state_dir);
  const agent: StatusReport['agent'] = { version: VERSION, site: config.site, running: svc.running };
  if (svc.pid !== undefined) agent.pid = svc.pid;
  let store: Store;
  try {
    store = Store.openReadonly({ stateDir: config.state_dir, maxBufferBytes: config.buffer.max_bytes });
  } catch (err) {
    if (err instanceof NoStoreError) {
      return {
        agent,
        sources: [],
        buffer: { pending_rows: 0, sealed_batches: 0, bytes: 0, oldest: null, max_bytes: config.buffer.max_bytes },
        sink: { type: config.sink.type, last_commit: null, state: 'never run', last_error: null },
      };
    }
    throw err;
  }
  try {
    const tags = store.getProgressByPrefix<TagMeta>('tag:').size;
    // Backpressure: extraction sources pause while the buffer is full (design.md "Delivery guarantee").
    const paused = store.isBufferFull();
    const sources = store.sourceStatuses().map((s) => {
      const out: StatusReport['sources'][number] = {
        name: s.name,
        lag_seconds: s.lag_seconds,
        last_success: s.last_success,
        // An error older than the last success is history, not the current state.
        last_error: s.last_error && (!s.last_success || (s.last_error_at ?? '') >= s.last_success) ? s.last_error : null,
      };
      if (s.name === 'tags' || s.name === 'timeseries') out.tags = tags;
      if (paused && s.name !== 'tags') out.state = 'paused: buffer full';
      if (s.name === 'timeseries' && config.timeseries) {
        const notes = lateDataNotes(config.timeseries, store.getProgress<UpdatesState>(UPDATES_STATE_KEY), new Date());
        if (notes.length > 0) out.notes = notes;
      }
      return out;
    });
    const b = store.stats();
    const sink = store.sinkStatus(config.sink.type);
    return {
      agent,
      sources,
      buffer: { pending_rows: b.pending_rows, sealed_batches: b.sealed_batches, bytes: b.bytes, oldest: b.oldest_batch_at, max_bytes: config.buffer.max_bytes },
      sink: { type: config.sink.type, last_commit: sink.last_commit, state: sink.state ?? 'idle', last_error: sink.last_error },
    };
  } finally {
    store.close();
  }
}

/**
 * What status says about late data older than the lookback window (sources/timeseries/updates.ts):
 * how much stream updates found, or why nothing older than the window is seen.
 */
export function lateDataNotes(ts: TimeseriesConfig, st: UpdatesState | undefined, now: Date): string[] {
  const lookback = span(ts.lookback / 1000);
  // Without stream updates nothing narrows a re-read: every cycle re-reads the whole window.
  const everyCycle = ts.lookback_every === 0 ? [`lookback_every 0s without stream updates: every cycle re-reads the whole ${lookback} window of every tag (set lookback_every to auto, the default, or to 15m or more, to lighten the load on PI)`] : [];
  if (ts.stream_updates === 'off') return [`stream updates off: changes older than the ${lookback} lookback window are not detected`, ...everyCycle];
  const notes: string[] = [];
  if (st?.unsupported) notes.push(`stream updates unavailable (${st.unsupported.reason}): changes older than the ${lookback} lookback window are not detected`, ...everyCycle);
  if (st && st.late_changes > 0 && st.last_late) {
    notes.push(`${st.late_changes.toLocaleString('en-US')} change(s) older than the ${lookback} lookback found through stream updates and sent; last: ${st.last_late.action} at ${st.last_late.timestamp}, found ${relativeTime(st.last_late.at, now)}`);
  }
  // A gap is news for a day; an old one says nothing about today.
  if (st?.lost && now.getTime() - Date.parse(st.lost.at) < 24 * 3600 * 1000) notes.push(`stream-update markers lost ${st.lost.count.toLocaleString('en-US')} time(s), last ${relativeTime(st.lost.at, now)} (PI Web API cache expired or restarted): changes older than the lookback made before re-registering were not seen`);
  if (st?.unregistered) notes.push(`${st.unregistered.count.toLocaleString('en-US')} tag(s) could not be registered for stream updates (${st.unregistered.reason})`);
  return notes;
}

// ---- flush ----------------------------------------------------------------------------------------

export interface FlushIo {
  logger: Logger;
  print: (text: string) => void;
  signal: AbortSignal;
  timeoutMs: number;
  /** Progress for a terminal: called with units, rows and remaining batches. */
  progress?: (p: { units: number; rows: number; remaining: number }) => void;
}

/** Through the running service if there is one (one uploader), otherwise here under the writer lock. */
export async function flush(config: AgentConfig, io: FlushIo): Promise<number> {
  let final: { ok: boolean; error?: string; units: number; rows: number } | undefined;
  const viaService = await sendControl(
    config.state_dir,
    { cmd: 'flush' },
    (r) => {
      if (r.type === 'progress') io.progress?.({ units: r.units, rows: r.rows, remaining: r.remaining_batches });
      else if (r.type === 'done') final = r.ok ? { ok: true, units: r.units, rows: r.rows } : { ok: false, error: r.error, units: 0, rows: 0 };
    },
    io.timeoutMs,
  );
  if (viaService) {
    if (!final) throw new AgentError('SINK_FAILED', 'the running agent closed the connection before the flush finished; run flush again');
    if (!final.ok) throw new AgentError('SINK_FAILED', `flush failed in the running agent: ${final.error}`);
    io.print(`flushed through the running agent: ${final.units} upload(s), ${final.rows} row(s)\n`);
    return EXIT.OK;
  }
  const store = openStore(config);
  let sink;
  try {
    sink = await createSink(config, io.logger);
    let units = 0;
    let rows = 0;
    const deadline = Date.now() + io.timeoutMs;
    for (;;) {
      if (io.signal.aborted) return EXIT.INTERRUPTED;
      if (Date.now() > deadline) {
        io.print(`flush timed out: ${store.stats().sealed_batches} batch(es) still buffered\n`);
        return EXIT.PARTIAL;
      }
      const r = await forwardAll(store, sink, forwardOptions(config, { maxUnits: 1, signal: io.signal }));
      if (r.units === 0) break;
      units += r.units;
      rows += r.rows;
      io.progress?.({ units, rows, remaining: store.stats().sealed_batches });
    }
    if (units > 0) store.recordSinkState(sink.type, 'ok');
    io.print(`flushed: ${units} upload(s), ${rows} row(s); buffer empty\n`);
    return EXIT.OK;
  } finally {
    await sink?.close();
    store.close();
  }
}

// ---- check ----------------------------------------------------------------------------------------

export async function check(config: AgentConfig, io: { print: (t: string) => void; logger: Logger; pi: boolean; sink: boolean }): Promise<number> {
  let failures = 0;
  const ok = (msg: string) => io.print(`ok    ${msg}\n`);
  const fail = (msg: string, err: unknown) => {
    failures++;
    io.print(`FAIL  ${msg}: ${describeError(err)}\n`);
  };
  ok(`config ${config.config_file}`);
  for (const w of config.warnings) io.print(`warn  ${w}\n`);
  if (io.pi) {
    let client;
    try {
      client = await openPi(config);
      const sys = await client.get<{ ProductTitle?: string; ProductVersion?: string }>('/system');
      ok(`PI Web API ${config.pi.url} answers (${sys.ProductTitle ?? 'PI Web API'} ${sys.ProductVersion ?? ''}`.trimEnd() + `, auth ${config.pi.auth.type})`);
      let sample: string | undefined;
      for (const sel of config.tags) {
        try {
          if ('dataserver' in sel) {
            const ds = await findDataServer(client, sel.dataserver);
            ok(`data server ${sel.dataserver} found${ds.IsConnected === false ? ' (but PI Web API says it is not connected)' : ''}`);
            if (!sample) {
              // One point of the selection for the sample read below (not a failure if there is none).
              const filter: Parameters<typeof listPoints>[2] = { nameFilter: sel.name_filter ?? '*', pageSize: 1, selectedFields: 'Items.WebId' };
              if (sel.point_source) filter.sourceFilter = sel.point_source;
              for await (const p of listPoints(client, ds.WebId, filter)) {
                sample = p.WebId;
                break;
              }
            }
          } else if ('path' in sel) {
            const p = await getPointByPath(client, sel.path);
            sample ??= p.WebId;
            ok(`tag ${sel.path} found`);
          } else {
            // The same resolution the tags source runs: element, descendants, points (af-element.ts).
            let r;
            try {
              r = await new PiElementPoints(client).resolve(sel);
            } catch (err) {
              fail('tag selector af_element', err);
              continue;
            }
            sample ??= r.points[0]?.WebId;
            ok(describeElementPoints(sel, r));
            for (const w of r.warnings.slice(0, 10)) io.print(`warn  ${w}\n`);
            if (r.unresolved > 10) io.print(`warn  ${r.unresolved - 10} more unresolvable PI Point reference(s) under ${r.element.path}\n`);
            const hint = emptyHint(sel, r);
            if (hint) io.print(`warn  ${hint}\n`);
          }
        } catch (err) {
          fail(`tags ${JSON.stringify(sel)}`, err);
        }
      }
      for (const db of [...(config.af?.databases ?? []), ...(config.event_frames?.databases ?? [])]) {
        try {
          await client.get('/assetdatabases', { path: db, selectedFields: 'WebId;Name' });
          ok(`AF database ${db} found`);
        } catch (err) {
          fail(`AF database ${db}`, err);
        }
      }
      if (sample) {
        try {
          const now = Date.now() * 1000;
          const r = await readRecorded(client, sample, now - 24 * 3600e6, now, 10);
          ok(`sample read: ${r.items.length} recorded value(s) in the last day`);
        } catch (err) {
          fail('sample read', err);
        }
        if (config.timeseries && config.timeseries.stream_updates !== 'off') {
          // Not a failure either way: without stream updates only the lookback window is checked.
          try {
            const reg = (await registerUpdates(client, [sample])).get(sample);
            if (reg?.kind === 'ok') ok('stream updates available: changes older than the lookback window are found');
            else io.print(`warn  stream updates: ${reg?.error.message ?? 'no answer'}; changes older than the lookback window will not be detected\n`);
          } catch (err) {
            io.print(`warn  stream updates: ${describeError(err)}; changes older than the lookback window will not be detected\n`);
          }
        }
      }
    } catch (err) {
      fail(`PI Web API ${config.pi.url}`, err);
    } finally {
      await client?.close();
    }
  }
  if (io.sink) {
    if (config.sink.type === 'directory') {
      try {
        mkdirSync(config.sink.path, { recursive: true });
        const probe = path.join(config.sink.path, `.pi-agent-check-${process.pid}`);
        writeFileSync(probe, 'ok');
        rmSync(probe);
        ok(`directory sink ${config.sink.path} writable`);
      } catch (err) {
        fail(`directory sink ${config.sink.path}`, err);
      }
    } else {
      let sink;
      try {
        sink = await createSink(config, io.logger);
        await sink.prepare?.();
        ok(`Databricks ${config.sink.host}${config.sink.http_path}: connected, ${config.sink.catalog}.${config.sink.schema} and volume ${config.sink.volume} ready`);
      } catch (err) {
        fail(`Databricks ${config.sink.host}`, err);
      } finally {
        await sink?.close();
      }
    }
  }
  io.print(failures === 0 ? 'all checks passed\n' : `${failures} check(s) failed\n`);
  return failures === 0 ? EXIT.OK : EXIT.FAILURE;
}

// ---- backfill and reset ---------------------------------------------------------------------------

async function resolveTags(config: AgentConfig, store: Store, paths: string[], pointByPath?: (p: string) => Promise<{ WebId: string; Path: string; PointType?: string }>): Promise<TagMeta[]> {
  const known = knownTags(store);
  if (paths.length === 0) return known;
  const out: TagMeta[] = [];
  for (const p of paths) {
    const hit = known.find((t) => t.path.toLowerCase() === p.toLowerCase());
    if (hit) out.push(hit);
    else if (pointByPath) {
      const pt = await pointByPath(p);
      out.push({ webId: idOnlyWebId(pt.WebId), name: p, path: pt.Path, pointType: pt.PointType, hash: '' });
    } else throw new AgentError('CONFIG_INVALID', `tag ${p} is not among the selected tags (run the agent once, or check the path)`);
  }
  return out;
}

/**
 * Re-extracts [start, end) for some tags without touching live progress: its own progress keys,
 * rows sent as upserts (MERGE on the row key), so the destination stays exact.
 */
export async function backfill(config: AgentConfig, io: { logger: Logger; print: (t: string) => void; signal: AbortSignal; tags: string[]; start: string; end: string }): Promise<number> {
  const agent = await openAgent(config, io.logger);
  try {
    const tags = await resolveTags(config, agent.store, io.tags, (p) => getPointByPath(agent.client, p));
    if (tags.length === 0) throw new AgentError('CONFIG_INVALID', 'no tags to backfill: run the agent once to discover tags, or name them with --tags');
    const startUs = parsePiTimestamp(io.start).us;
    const endUs = parsePiTimestamp(io.end).us - 1;
    const prefix = `bf:${startUs}-${endUs}:`;
    const r = await extractTimeseries(timeseriesOptions(config, agent.client, agent.store, tags, {
      nowUs: endUs,
      endUs,
      startUs,
      lookbackUs: 0,
      progressPrefix: prefix,
      insertOp: 'update',
      signal: io.signal,
    }));
    if (r.errors.size > 0 || r.paused || io.signal.aborted) {
      io.print(`backfill incomplete: ${r.errors.size} tag(s) failed${r.paused ? ', buffer full' : ''}; run the same command again to continue\n`);
      return EXIT.PARTIAL;
    }
    // The backfill's own progress goes, digest buckets included (an event at the end time can leave one).
    const done = tags.map((t) => progressKey(prefix, t.webId));
    agent.store.commitStep([], [], done.flatMap((k) => [k, ...bucketKeysOf(k, agent.store.getProgress<StoredTagProgress>(k))]));
    io.print(`backfill: ${tags.length} tag(s), ${r.values} value(s) read, ${r.updates + r.inserts} row(s) buffered as upserts, ${r.deletes} deletion(s)\n`);
    return EXIT.OK;
  } finally {
    await agent.close();
  }
}

/**
 * Rewinds time-series progress so the next cycles read again from `to` (default: the configured
 * start). Events up to the old position are re-sent as upserts, never as inserts: no duplicates.
 */
export async function reset(config: AgentConfig, io: { print: (t: string) => void; source: 'tags' | 'timeseries' | 'af' | 'event_frames'; tags: string[]; to?: string }): Promise<number> {
  const store = openStore(config);
  try {
    if (io.source === 'tags') {
      const keys = [...store.getProgressByPrefix('tag:').keys()];
      store.commitStep([], [], keys);
      io.print(`reset tags: ${keys.length} tag(s) will be discovered again (metadata re-sent as upserts)\n`);
      return EXIT.OK;
    }
    if (io.source !== 'timeseries') {
      const prefixes = io.source === 'af' ? ['afe:', 'afa:', 'aft:'] : ['ef:', 'efw:'];
      const keys = prefixes.flatMap((p) => [...store.getProgressByPrefix(p).keys()]);
      store.commitStep([], [], keys);
      io.print(`reset ${io.source}: progress cleared (${keys.length} entries); the next cycle re-reads it as upserts\n`);
      return EXIT.OK;
    }
    const ts = config.timeseries;
    if (!ts) throw new AgentError('CONFIG_INVALID', 'timeseries is not configured');
    const toUs = parsePiTimestamp(io.to ?? ts.start).us;
    const tags = await resolveTags(config, store, io.tags);
    const progress: { key: string; value: unknown }[] = [];
    const deleteKeys: string[] = [];
    for (const t of tags) {
      const key = progressKey('ts:', t.webId);
      const stored = store.getProgress<StoredTagProgress>(key);
      const p = progressHead(stored);
      if (p.pos === null || p.pos <= toUs) continue;
      const replayUntil = Math.max(p.pos, p.replayUntil ?? 0);
      // The digest goes too (its buckets are keys of their own): everything re-read is an upsert.
      const head: StoredTagProgress = { pos: toUs, r: replayUntil };
      progress.push({ key, value: head });
      deleteKeys.push(...bucketKeysOf(key, stored));
    }
    store.commitStep([], progress, deleteKeys);
    io.print(`reset timeseries: ${progress.length} tag(s) rewound to ${new Date(toUs / 1000).toISOString()}; values up to their old position are re-sent as upserts\n`);
    return EXIT.OK;
  } finally {
    store.close();
  }
}
