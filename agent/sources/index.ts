/**
 * The sources, loaded from the one list of them (sections.ts), in the order a cycle of `run --once`
 * runs them. The service, status, reset and check come here and never name a source themselves.
 */
import type { AgentConfig } from '../config/types.js';
import { SOURCE_SECTIONS } from './sections.js';
import type { Source } from './source.js';

/** Every source, in list order. */
export async function loadSources(): Promise<Source[]> {
  return Promise.all(SOURCE_SECTIONS.map((s): Promise<Source> => s.load()));
}

/** The sources this config enables, in list order. */
export async function enabledSources(config: AgentConfig): Promise<Source[]> {
  return (await loadSources()).filter((s) => s.enabled(config));
}

export async function sourceNamed(name: string): Promise<Source | undefined> {
  const section = SOURCE_SECTIONS.find((s) => s.name === name);
  return section?.load();
}

export { SOURCE_SECTIONS } from './sections.js';
export type { CheckContext, CycleReport, ResetRequest, Source, SourceContext } from './source.js';
