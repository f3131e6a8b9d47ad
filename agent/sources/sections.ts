/**
 * Every source, in the order a cycle of `run --once` runs them (tags first: the others read the tag
 * list it keeps). This list is the one place a source is named: the config file's spec and type take
 * their sections from it, and the service, status, reset and check load the sources from it
 * (sources/index.ts). Adding a source is a folder under sources/ (config.ts with its section,
 * source.ts, progress.ts) and one line here.
 */
import { afSection } from './af/config.js';
import { eventFramesSection } from './eventframes/config.js';
import { tagsSection } from './tags/config.js';
import { timeseriesSection } from './timeseries/config.js';

export const SOURCE_SECTIONS = [tagsSection, timeseriesSection, afSection, eventFramesSection] as const;
