/** The directory sink's part of the config file: `sink: { type: directory }`. */
import type { ObjectSpec } from '../../config/fields.js';
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
