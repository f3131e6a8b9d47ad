/**
 * What a sink is: the end of the data flow (design.md "Data flow"). A sink receives upload units
 * (one Parquet file each, named by the store's ledger) and must make `upload` idempotent by name:
 * uploading a name again, after a crash or a retry, never duplicates rows at the destination.
 */
import type { Op, TableName } from '../batch/tables.js';

export interface SinkUnit {
  /** Ledger name, `<site>-<table>-<firstBatchId>-<lastBatchId>`; stable across retries and crashes. */
  name: string;
  table: TableName;
  rows: number;
  /** The Parquet file (zstd, columns per TABLES[table], including `op`). */
  data: Uint8Array;
  /** Distinct `op` values in the file: only `insert` means a plain append (COPY INTO); others need MERGE. */
  ops: Set<Op>;
}

export interface Sink {
  /** 'directory' | 'databricks': the key under which the store records the sink's status. */
  readonly type: string;
  /** Creates what is missing at the destination (folders, schema, tables). Called before uploads; make it cheap to repeat. */
  prepare?(): Promise<void>;
  /** Uploads and commits one unit. Idempotent by `unit.name`. Throws SinkError (retryable for outages). */
  upload(unit: SinkUnit): Promise<void>;
  close(): Promise<void>;
}
