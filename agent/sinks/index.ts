/**
 * The one place a sink is created: the kind of the configured `sink.type`, from the list in
 * sections.ts. The service never names a kind itself.
 */
import type { AgentConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import { SINK_SECTIONS } from './sections.js';
import type { Sink, SinkKind } from './types.js';

function sectionOf(config: AgentConfig): (typeof SINK_SECTIONS)[number] {
  const section = SINK_SECTIONS.find((s) => s.type === config.sink.type);
  // The validator accepts only the types of SINK_SECTIONS; a config built by hand may not.
  if (section === undefined) throw new Error(`sink.type ${config.sink.type} is not one of ${SINK_SECTIONS.map((s) => s.type).join(', ')}`);
  return section;
}

/** The configured sink. */
export async function openSink(config: AgentConfig, logger?: Logger): Promise<Sink> {
  const kind = (await sectionOf(config).load()) as SinkKind;
  return kind.open(config, logger);
}

/** Interval of the heartbeat rows for the configured sink, milliseconds. */
export function heartbeatIntervalMs(config: AgentConfig): number {
  return sectionOf(config).heartbeatIntervalMs(config.sink);
}

export type { Sink, SinkKind, SinkUnit, UploadTarget } from './types.js';
