/**
 * The validated, typed configuration. Keys mirror the YAML file (conf/pi-agent.example.yaml
 * documents each one); defaults are filled in, relative paths are absolute, secret references are
 * resolved, durations are milliseconds and sizes are bytes.
 */
import type { SINK_SECTIONS } from '../sinks/sections.js';
import type { SOURCE_SECTIONS } from '../sources/sections.js';
import type { SinkConfigOf, SourcesConfigOf } from './sections.js';

// Each source's and sink's part is declared with it (sources/<name>/config.ts, sinks/<kind>/config.ts)
// and comes here through the lists of sections (sources/sections.ts, sinks/sections.ts).

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

/** How the agent authenticates to PI Web API (the `pi.auth` block of the config). */
export type PiAuthConfig =
  | { type: 'anonymous' }
  | { type: 'basic'; username: string; password: string }
  /** Kerberos through SPNEGO with the service account's own ticket/keytab; no password in config. */
  | { type: 'kerberos'; spn?: string; delegate?: boolean }
  | { type: 'ntlm'; username: string; password: string; domain?: string; workstation?: string }
  | { type: 'bearer'; token: string }
  /** OpenID Connect client credentials; token endpoint from `token_url` or the discovery document. */
  | { type: 'oidc'; client_id: string; client_secret: string; token_url?: string; scope?: string };

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

export interface BufferConfig {
  /** Sources pause (backpressure) once the store holds more than this many bytes. */
  max_bytes: number;
}

/** `sink`: one variant per kind of sink. */
export type SinkConfig = SinkConfigOf<typeof SINK_SECTIONS>;

/**
 * What the sources add: `tags` (selectors) and `tags_refresh` (node-cron), and each optional source's
 * section, absent when that source is not extracted (`timeseries?`, `af?`, `event_frames?`).
 */
export type SourcesConfig = SourcesConfigOf<typeof SOURCE_SECTIONS>;

export interface AgentConfig extends SourcesConfig {
  /** Absolute path of the YAML file this was loaded from. */
  config_file: string;
  site: string;
  /** Absolute path. */
  state_dir: string;
  log: LogConfig;
  metrics: MetricsConfig;
  pi: PiConfig;
  buffer: BufferConfig;
  sink: SinkConfig;
  /** Non-fatal findings, formatted `file:line:col: message`; the CLI prints them, `run` logs them. */
  warnings: string[];
}
