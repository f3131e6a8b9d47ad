/**
 * The agent's Prometheus metrics (off by default; `metrics.enabled`): computed at scrape time from
 * the store and the PI client, so they cost nothing between scrapes.
 */
import type { Agent } from './agent.js';
import { MetricsRegistry } from '../observe/metrics.js';

export function agentMetrics(agent: Agent, counters: { valuesExtracted: () => number; commits: () => number }): MetricsRegistry {
  const reg = new MetricsRegistry();
  reg.gauge('pi_agent_values_extracted', 'PI values read by the time-series source since start', () => [{ labels: {}, value: counters.valuesExtracted() }]);
  reg.gauge('pi_agent_pi_requests', 'HTTP requests sent to PI Web API since start (auth handshakes and retries included)', () => [
    { labels: {}, value: agent.client.stats.requests },
  ]);
  reg.gauge('pi_agent_pi_bytes_received', 'Bytes received from PI Web API since start', () => [{ labels: {}, value: agent.client.stats.bytesReceived }]);
  reg.gauge('pi_agent_pi_retries', 'PI Web API requests retried since start', () => [{ labels: {}, value: agent.client.stats.retries }]);
  reg.gauge('pi_agent_pi_errors', 'Failed PI Web API attempts by error code since start', () =>
    Object.entries(agent.client.stats.errorsByCode).map(([code, n]) => ({ labels: { code }, value: n ?? 0 })),
  );
  reg.gauge('pi_agent_source_lag_seconds', 'Seconds between PI now and the newest data a source has extracted', () =>
    agent.store
      .sourceStatuses()
      .filter((s) => s.lag_seconds !== null)
      .map((s) => ({ labels: { source: s.name }, value: s.lag_seconds! })),
  );
  reg.gauge('pi_agent_buffer_bytes', 'Bytes waiting in the outbound buffer', () => [{ labels: {}, value: agent.store.stats().bytes }]);
  reg.gauge('pi_agent_buffer_batches', 'Batches waiting in the outbound buffer', () => [{ labels: {}, value: agent.store.stats().sealed_batches }]);
  reg.gauge('pi_agent_sink_commits', 'Upload units committed by the sink since start', () => [{ labels: {}, value: counters.commits() }]);
  return reg;
}
