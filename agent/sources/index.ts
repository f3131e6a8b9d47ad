/**
 * Every source, in the order a cycle of `run --once` runs them (tags first: the others read the tag
 * list it keeps). The service, status, reset and check loop over this list; adding a source is a
 * folder under sources/ and one line here, plus its config section named in config/spec.ts and
 * config/types.ts (the config layer loads without loading any source).
 */
import { afSource } from './af/source.js';
import { eventFramesSource } from './eventframes/source.js';
import type { AgentConfig } from '../config/types.js';
import type { Source } from './source.js';
import { tagsSource } from './tags/source.js';
import { timeseriesSource } from './timeseries/source.js';

export const SOURCES: readonly Source[] = [tagsSource, timeseriesSource, afSource, eventFramesSource];

/** The sources this config enables, in SOURCES order. */
export function enabledSources(config: AgentConfig): Source[] {
  return SOURCES.filter((s) => s.enabled(config));
}

export function sourceNamed(name: string): Source | undefined {
  return SOURCES.find((s) => s.name === name);
}

export type { CheckContext, CycleReport, ResetRequest, Source, SourceContext } from './source.js';
