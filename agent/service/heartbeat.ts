/**
 * `pi_agent_status`: one heartbeat row per agent and interval (design.md "Destination"), so a
 * fleet of agents can be watched from Databricks. It travels through the store like any batch.
 */
import { hostname } from 'node:os';
import type { AgentConfig } from '../config/types.js';
import type { Store } from '../store/store.js';
import { VERSION } from '../version.js';

export function agentId(config: AgentConfig): string {
  return `${hostname()}:${config.state_dir}`;
}

/** The time-series shard as `index/count`, null when not sharded: agents of one site on different shards are no conflict. */
export function shardOf(config: AgentConfig): string | null {
  const s = config.timeseries?.shards;
  return s ? `${s.index}/${s.count}` : null;
}

export function writeHeartbeat(config: AgentConfig, store: Store, at: Date = new Date()): void {
  const sources = store.sourceStatuses();
  const lags = sources.map((s) => s.lag_seconds).filter((l): l is number => typeof l === 'number');
  const errors = sources.filter((s) => s.last_error && (!s.last_success || (s.last_error_at ?? '') >= s.last_success));
  // A sink that is failing now (a whole outage, or one table without grants) is an error too: the
  // row reaches Databricks once uploads work again, or at once when only another table is stuck.
  const sink = store.sinkStatus(config.sink.type);
  const sinkError = (sink.state === 'failed' || sink.state === 'retrying') && sink.last_error ? `sink: ${sink.last_error}` : null;
  const buf = store.stats();
  const us = at.getTime() * 1000;
  store.commitStep(
    [
      {
        table: 'pi_agent_status',
        rows: [
          {
            site: config.site,
            agent_id: agentId(config),
            reported_at: us,
            version: VERSION,
            max_lag_seconds: lags.length ? Math.max(...lags) : null,
            sources_json: JSON.stringify(sources.map((s) => ({ name: s.name, lag_seconds: s.lag_seconds, last_success: s.last_success, last_error: s.last_error }))),
            buffer_rows: buf.pending_rows,
            buffer_bytes: buf.bytes,
            last_error: errors.length ? `${errors[0]!.name}: ${errors[0]!.last_error}` : sinkError,
            store_id: store.storeId,
            host: hostname(),
            shard: shardOf(config),
            ingested_at: us,
            op: 'insert',
          },
        ],
      },
    ],
    [],
  );
}
