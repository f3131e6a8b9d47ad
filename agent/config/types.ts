/**
 * The validated, typed configuration. Keys mirror the YAML file (conf/pi-agent.example.yaml
 * documents each one); defaults are filled in, relative paths are absolute, secret references are
 * resolved, durations are milliseconds and sizes are bytes.
 */
import type { PiAuthConfig } from '../pi/auth/types.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LogConfig {
  level: LogLevel;
  /** Absolute path of the current log file; rotated files get `.1`, `.2`... */
  file: string;
  /** Bytes after which the file is rotated. */
  max_size: number;
  /** Rotated files kept besides the current one. */
  max_files: number;
}

export interface MetricsConfig {
  enabled: boolean;
  port: number;
  /** Loopback only: the endpoint has no authentication. */
  host: '127.0.0.1';
}

export interface PiConfig {
  /** PI Web API base URL without trailing slash, e.g. https://pi.plant.local/piwebapi */
  url: string;
  auth: PiAuthConfig;
  /** Absolute path of an extra CA bundle (PEM) trusted for PI Web API. */
  ca?: string;
  /** Requests in flight at once. */
  concurrency: number;
  /** Per-request timeout, milliseconds. */
  timeout: number;
  /** `maxCount` per recorded-values request (piwebapi-fidelity.md §3). */
  max_count: number;
  /** Streams per streamset request. */
  tags_per_request: number;
}

/** Points of a data server matching a name filter and/or point source. */
export interface DataServerSelector {
  dataserver: string;
  name_filter?: string;
  point_source?: string;
}
/** One point by path, `\\SERVER\TAG`. */
export interface PathSelector {
  path: string;
}
/** Points referenced by the attributes of an AF element (and its children when recursive). */
export interface AfElementSelector {
  af_element: string;
  template?: string;
  recursive: boolean;
}
/** One way of selecting PI points to extract; tell them apart with `'dataserver' in s` etc. */
export type TagSelector = DataServerSelector | PathSelector | AfElementSelector;

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

export interface AfConfig {
  /** AF database paths, `\\SERVER\Database`. */
  databases: string[];
  schedule: string;
}

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

export interface BufferConfig {
  /** Sources pause (backpressure) once the store holds more than this many bytes. */
  max_bytes: number;
}

export interface DirectorySinkConfig {
  type: 'directory';
  /** Absolute path. */
  path: string;
}

export type DatabricksAuthConfig =
  | { type: 'token'; token: string }
  | { type: 'oauth'; client_id: string; client_secret: string };

export interface DatabricksSinkConfig {
  type: 'databricks';
  /** Host name only, no scheme. */
  host: string;
  port: number;
  http_path: string;
  auth: DatabricksAuthConfig;
  /** Absolute path of an extra CA bundle (PEM). */
  ca?: string;
  catalog: string;
  schema: string;
  volume: string;
  /** Upper bound of one coalesced upload unit, bytes. */
  max_upload_bytes: number;
  /** Interval of `pi_agent_status` rows, milliseconds. */
  heartbeat_interval: number;
}

export type SinkConfig = DirectorySinkConfig | DatabricksSinkConfig;

export interface AgentConfig {
  /** Absolute path of the YAML file this was loaded from. */
  config_file: string;
  site: string;
  /** Absolute path. */
  state_dir: string;
  log: LogConfig;
  metrics: MetricsConfig;
  pi: PiConfig;
  tags: TagSelector[];
  /** node-cron expression for re-running tag discovery. */
  tags_refresh: string;
  /** Absent: no time series extraction. */
  timeseries?: TimeseriesConfig;
  /** Absent: no AF extraction. */
  af?: AfConfig;
  /** Absent: no event frame extraction. */
  event_frames?: EventFramesConfig;
  buffer: BufferConfig;
  sink: SinkConfig;
  /** Non-fatal findings, formatted `file:line:col: message`; the CLI prints them, `run` logs them. */
  warnings: string[];
}
