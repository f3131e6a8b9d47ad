/** The directory sink's part of the config file: `sink: { type: directory }`. */
import type { ObjectSpec } from '../../config/fields.js';
import { sinkSection } from '../../config/sections.js';
import { PARQUET_FIELD, type SinkParquetConfig } from '../../config/parquet.js';

export interface DirectorySinkConfig {
  type: 'directory';
  /** Absolute path. */
  path: string;
  parquet: SinkParquetConfig;
}

export const DIRECTORY_SINK_SPEC: ObjectSpec = {
  kind: 'object',
  description: 'A local folder of Parquet files: <path>/<table>/...parquet',
  fields: { path: { spec: { kind: 'path', description: 'Output directory (relative to this file)' }, required: true }, parquet: PARQUET_FIELD },
};

/** The directory sink: its variant of `sink`, and its kind, loaded when configured. */
export const directorySection = sinkSection<DirectorySinkConfig>()({
  type: 'directory',
  spec: DIRECTORY_SINK_SPEC,
  heartbeatIntervalMs: () => 60_000,
  load: () => import('./index.js').then((m) => m.directorySink),
});
