/**
 * Every kind of sink, by its `sink.type` in the config. This list is the one place a sink is named:
 * the config file's spec and type take their variants from it, and sinks/index.ts opens the
 * configured one from it. Adding a sink is a folder under sinks/ (config.ts with its section,
 * index.ts, sink.ts) and one line here.
 */
import { databricksSection } from './databricks/config.js';
import { directorySection } from './directory/config.js';

export const SINK_SECTIONS = [directorySection, databricksSection] as const;
