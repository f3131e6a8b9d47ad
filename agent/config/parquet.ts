/** `sink.parquet`: how batch files are written, shared by every sink that receives Parquet. */
import type { Field } from './fields.js';

export interface SinkParquetConfig {
  /**
   * Allow BYTE_STREAM_SPLIT for doubles (smaller files). Off by default: Spark's vectorized Parquet
   * reader gained it only in 2026 and Databricks does not document reading it (agent/batch/write.ts).
   */
  byte_stream_split: boolean;
}

export const PARQUET_FIELD: Field = {
  spec: {
    kind: 'object',
    description: 'How batch files are written',
    fields: {
      byte_stream_split: {
        spec: {
          kind: 'boolean',
          description: 'Write doubles BYTE_STREAM_SPLIT where smaller; only for readers that support it (Spark 3.x and Databricks may not)',
        },
        default: false,
      },
    },
  },
};
