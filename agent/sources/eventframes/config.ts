/** The event frame source's part of the config file: `event_frames`. */
import { cron, dbPaths, nameList, type Field } from '../../config/fields.js';
import { sourceSection } from '../../config/sections.js';

export interface EventFramesConfig {
  databases: string[];
  /** ISO 8601 UTC. */
  start: string;
  schedule: string;
  /** How far back a rescan searches for back-dated or deleted frames, milliseconds. */
  rescan_horizon: number;
  /** How often a rescan runs, milliseconds. */
  rescan_every: number;
  templates?: string[];
  categories?: string[];
}

export const EVENT_FRAMES_FIELD: Field = {
  spec: {
    kind: 'object',
    description: 'Event frames; omit to skip',
    example: "databases: ['\\\\AFSERVER\\Database']",
    fields: {
      databases: { spec: dbPaths('Searched'), required: true },
      start: { spec: { kind: 'timestamp', description: 'Oldest frame start extracted (ISO 8601)' }, required: true },
      schedule: { spec: cron('When frames are searched (cron)'), default: '*/5 * * * *' },
      rescan_horizon: {
        spec: { kind: 'duration', description: 'How far back a rescan searches for frames entered or deleted late (back-dated frames)', example: '7d' },
        default: '7d',
      },
      rescan_every: {
        spec: { kind: 'duration', description: 'How often a cycle searches the whole rescan horizon instead of the last window', example: '1h' },
        default: '1h',
      },
      templates: { spec: nameList('Only frames of these templates') },
      categories: { spec: nameList('Only frames of these categories') },
    },
  },
};

/** The event frames source: its section of the config file, and its code, loaded when the service runs it. */
export const eventFramesSection = sourceSection<{ event_frames?: EventFramesConfig }>()({
  name: 'event_frames',
  resetsTags: false,
  fields: { event_frames: EVENT_FRAMES_FIELD },
  load: () => import('./source.js').then((m) => m.eventFramesSource),
});
