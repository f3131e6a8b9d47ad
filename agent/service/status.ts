/** `pi-agent status`: what the store says about the sources, the buffer and the sink (offline). */
import type { AgentConfig } from '../config/types.js';
import type { StatusReport } from '../observe/status.js';
import { enabledSources, loadSources, type Source } from '../sources/index.js';
import { NoStoreError } from '../errors.js';
import { Store } from '../store/store.js';
import { VERSION } from '../version.js';
import { isServiceRunning } from './control.js';

/** A source the config enables that has not recorded a cycle yet (status shows it as waiting). */
function notRunYet(name: string): StatusReport['sources'][number] {
  return { name, lag_seconds: null, last_success: null, last_error: null };
}

/** The report before the first run: no store yet; the enabled sources wait for it. */
function neverRun(config: AgentConfig, agent: StatusReport['agent'], enabled: readonly Source[]): StatusReport {
  return {
    agent,
    sources: enabled.map((s) => notRunYet(s.name)),
    buffer: { pending_rows: 0, sealed_batches: 0, bytes: 0, oldest: null, max_bytes: config.buffer.max_bytes },
    sink: { type: config.sink.type, last_commit: null, state: 'never run', last_error: null },
  };
}

/**
 * Every source the config enables, in list order, then any other the store has records of (one the
 * config no longer enables), each with what the store recorded of it.
 */
function sourcesOf(config: AgentConfig, store: Store, sources: readonly Source[]): StatusReport['sources'] {
  // Backpressure: extraction sources pause while the buffer is full (design.md "Delivery guarantee").
  const paused = store.isBufferFull();
  const recorded = new Map(store.sourceStatuses().map((s) => [s.name, s]));
  const enabled = sources.filter((s) => s.enabled(config)).map((s) => s.name);
  const names = [...enabled, ...[...recorded.keys()].filter((n) => !enabled.includes(n))];
  return names.map((name) => {
    const s = recorded.get(name);
    const out: StatusReport['sources'][number] = s
      ? {
          name,
          lag_seconds: s.lag_seconds,
          last_success: s.last_success,
          // An error older than the last success is history, not the current state.
          last_error: s.last_error && (!s.last_success || (s.last_error_at ?? '') >= s.last_success) ? s.last_error : null,
        }
      : notRunYet(name);
    const source = sources.find((x) => x.name === name);
    const detail = source?.status?.(store, config);
    if (detail?.tags !== undefined) out.tags = detail.tags;
    if (paused && source?.pausesWhenFull !== false) out.state = 'paused: buffer full';
    if (detail?.notes) out.notes = detail.notes;
    if (detail?.unreadable_tags) out.unreadable_tags = detail.unreadable_tags;
    return out;
  });
}

export async function buildStatus(config: AgentConfig): Promise<StatusReport> {
  const svc = await isServiceRunning(config.state_dir);
  const agent: StatusReport['agent'] = { version: VERSION, site: config.site, running: svc.running };
  if (svc.pid !== undefined) agent.pid = svc.pid;
  let store: Store;
  try {
    store = Store.openReadonly({ stateDir: config.state_dir, maxBufferBytes: config.buffer.max_bytes });
  } catch (err) {
    if (err instanceof NoStoreError) return neverRun(config, agent, await enabledSources(config));
    throw err;
  }
  try {
    const b = store.stats();
    const sink = store.sinkStatus(config.sink.type);
    return {
      agent,
      sources: sourcesOf(config, store, await loadSources()),
      buffer: { pending_rows: b.pending_rows, sealed_batches: b.sealed_batches, bytes: b.bytes, oldest: b.oldest_batch_at, max_bytes: config.buffer.max_bytes },
      sink: { type: config.sink.type, last_commit: sink.last_commit, state: sink.state ?? 'idle', last_error: sink.last_error },
    };
  } finally {
    store.close();
  }
}
