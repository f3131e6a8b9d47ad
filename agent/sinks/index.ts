/**
 * Every kind of sink, by its `sink.type` in the config. The service opens the configured sink here
 * and never names a kind itself; adding a sink is a folder under sinks/ (config.ts, index.ts, sink.ts)
 * and one line in SINKS (and its config section in config/spec.ts).
 */
import type { AgentConfig, SinkConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import { databricksSink } from './databricks/index.js';
import { directorySink } from './directory/index.js';
import type { Sink, SinkKind } from './types.js';

type Kinds = { [T in SinkConfig['type']]: SinkKind<Extract<SinkConfig, { type: T }>> };

export const SINKS: Kinds = {
  directory: directorySink,
  databricks: databricksSink,
};

function kindOf(config: AgentConfig): SinkKind {
  return SINKS[config.sink.type];
}

/** The configured sink. */
export function openSink(config: AgentConfig, logger?: Logger): Promise<Sink> {
  return kindOf(config).open(config, logger);
}

/** Interval of the heartbeat rows for the configured sink, milliseconds. */
export function heartbeatIntervalMs(config: AgentConfig): number {
  return kindOf(config).heartbeatIntervalMs(config.sink);
}

export type { Sink, SinkKind, SinkUnit, UploadTarget } from './types.js';
