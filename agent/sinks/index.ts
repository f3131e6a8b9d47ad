/**
 * Every kind of sink, by its `sink.type` in the config. The service opens the configured sink here
 * and never names a kind itself; adding a sink is its module and one line in SINKS.
 */
import type { AgentConfig, SinkConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import type { Sink } from './types.js';

export interface SinkKind<C extends SinkConfig = SinkConfig> {
  /** Opens the sink (no network yet: sessions open on first use). */
  open(config: AgentConfig & { sink: C }, logger?: Logger): Promise<Sink>;
  /** How often the agent writes its `pi_agent_status` heartbeat row, milliseconds. */
  heartbeatIntervalMs(sink: C): number;
}

type Kinds = { [T in SinkConfig['type']]: SinkKind<Extract<SinkConfig, { type: T }>> };

export const SINKS: Kinds = {
  directory: {
    async open(config) {
      const { DirectorySink } = await import('./directory.js');
      return new DirectorySink(config.sink.path);
    },
    heartbeatIntervalMs: () => 60_000,
  },
  databricks: {
    // The SQL driver loads only when this sink is configured.
    async open(config, logger) {
      const { DatabricksSink } = await import('./databricks.js');
      return DatabricksSink.fromConfig(config, logger);
    },
    heartbeatIntervalMs: (sink) => sink.heartbeat_interval,
  },
};

function kindOf(config: AgentConfig): SinkKind {
  return SINKS[config.sink.type] as SinkKind;
}

/** The configured sink. */
export function openSink(config: AgentConfig, logger?: Logger): Promise<Sink> {
  return kindOf(config).open(config, logger);
}

/** Interval of the heartbeat rows for the configured sink, milliseconds. */
export function heartbeatIntervalMs(config: AgentConfig): number {
  return kindOf(config).heartbeatIntervalMs(config.sink);
}

export type { Sink, SinkUnit, UploadTarget } from './types.js';
