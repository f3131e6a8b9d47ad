/** The time-series source's part of the config file: `timeseries`. */
import { cron, type Field } from '../../config/fields.js';
import { sourceSection } from '../../config/sections.js';

export interface ShardConfig {
  count: number;
  /** 0-based, < count. */
  index: number;
}

/** `lookback_every: auto`: how often tags without stream-update markers re-read the lookback window. */
export const AUTO_LOOKBACK_EVERY_MS = 15 * 60_000;

export interface TimeseriesConfig {
  /** ISO 8601 UTC (normalised by toISOString): where a new tag's history begins. */
  start: string;
  /** Window re-read behind the watermark for late data and edits, milliseconds. */
  lookback: number;
  /**
   * How often a cycle re-reads the lookback window, milliseconds (0 = every cycle); other cycles read
   * from the watermark. `auto`: every cycle for tags with stream-update markers (their re-reads are
   * narrowed and read with their polls), AUTO_LOOKBACK_EVERY_MS for the others.
   */
  lookback_every: number | 'auto';
  /**
   * Milliseconds: where stream updates work, a due re-read starts at the oldest change PI reported
   * since the previous one; the whole window is re-read at least this often (0 = always whole).
   */
  lookback_full_every: number;
  /** `auto`: use PI Web API stream updates where the server has them (changes older than the lookback); `off`: never. */
  stream_updates: 'auto' | 'off';
  /** node-cron expression. */
  schedule: string;
  shards?: ShardConfig;
}

export const TIMESERIES_FIELD: Field = {
  spec: {
    kind: 'object',
    description: 'Recorded values of the selected tags; omit to skip',
    example: 'start: "2026-01-01T00:00:00Z"',
    fields: {
      start: { spec: { kind: 'timestamp', description: "Where a new tag's history begins (ISO 8601)" }, required: true },
      lookback: { spec: { kind: 'duration', description: 'Window re-read for late data and edits', example: '2h' }, default: '2h' },
      lookback_every: {
        spec: {
          kind: 'duration',
          keywords: ['auto'],
          description:
            'How often a cycle re-reads the lookback window (other cycles read only what is new): auto = every cycle for tags PI reports stream updates for (the re-read then reads only from the oldest change reported, usually with no request of its own), every 15m for the others; or a duration (0s = every cycle)',
          example: '15m',
        },
        default: 'auto',
      },
      lookback_full_every: {
        spec: {
          kind: 'duration',
          description:
            'Where stream updates work, a re-read starts at the oldest change PI reported since the previous one; the whole lookback window is still re-read at least this often, each tag at its own phase (a few tags each cycle); 0s = always the whole window',
          example: '6h',
        },
        default: '6h',
      },
      stream_updates: {
        spec: {
          kind: 'enum',
          description:
            'PI Web API stream updates (2018 SP1+) find changes older than the lookback window: auto = use them where the server has them, off = never (only the lookback window is checked)',
          values: ['auto', 'off'],
        },
        default: 'auto',
      },
      schedule: { spec: cron('When extraction runs (cron)'), default: '*/1 * * * *' },
      shards: {
        spec: {
          kind: 'object',
          description: 'Split a large server across agents: this agent takes the tags whose hash modulo count equals index',
          fields: {
            count: { spec: { kind: 'integer', description: 'Number of agents', min: 1, max: 1024, example: 4 }, required: true },
            index: { spec: { kind: 'integer', description: "This agent's shard, 0-based", min: 0, max: 1023 }, required: true },
          },
        },
      },
    },
  },
};

/** The time-series source: its section of the config file, and its code, loaded when the service runs it. */
export const timeseriesSection = sourceSection<{ timeseries?: TimeseriesConfig }>()({
  name: 'timeseries',
  resetsTags: true,
  fields: { timeseries: TIMESERIES_FIELD },
  load: () => import('./source.js').then((m) => m.timeseriesSource),
});
