/**
 * What a sink is: the end of the data flow (design.md "Data flow"). A sink receives upload units
 * (the batch files the store's ledger assigned to one name) and must make `upload` idempotent by
 * name: uploading a name again, after a crash or a retry, never duplicates rows at the destination.
 */
import type { Op, TableName } from '../batch/tables.js';
import type { AgentConfig, SinkConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';

/** One sealed batch of a unit: a zstd Parquet file with the columns of TABLES[table], including `op`. */
export interface SinkFile {
  /** Batch id: unique, never re-used, the same for every retry of the unit. */
  id: number;
  rows: number;
  bytes: number;
  /** Loads the file (from the store): read one at a time, so a unit of any size fits in little memory. */
  read(): Uint8Array;
}

export interface SinkUnit {
  /** Ledger name, `<site>-<table>-<firstBatchId>-<lastBatchId>`; stable across retries and crashes. */
  name: string;
  table: TableName;
  /**
   * Id of the store that made the unit (Store.storeId). A sink that names files at the destination
   * puts it in their names: a store made after a lost state directory then never re-uses a name
   * another store used (Databricks' COPY INTO would skip such a file as loaded).
   */
  store?: string;
  rows: number;
  /** The unit's batch files, oldest first (rows of one key keep this order). */
  files: SinkFile[];
  /** Distinct `op` values in the files: only `insert` means a plain append (COPY INTO); others need MERGE. */
  ops: Set<Op>;
}

/** What the upload loop (forward.ts) needs of a sink. */
export interface UploadTarget {
  /** 'directory' | 'databricks': the key under which the store records the sink's status. */
  readonly type: string;
  /** Bounds of an upload unit this sink takes (forward.ts coalesces batches up to them). */
  readonly limits?: { maxBytes?: number };
  /** Creates what is missing at the destination (folders, schema, tables). Called before uploads; make it cheap to repeat. */
  prepare?(): Promise<void>;
  /**
   * Uploads and commits one unit. Idempotent by `unit.name`. Throws SinkError: retryable for outages
   * (everything waits), not retryable for a problem of this unit's table (only that table waits).
   */
  upload(unit: SinkUnit): Promise<void>;
  close(): Promise<void>;
}

/** A sink: the upload path, and what `check` and `setup` ask of it. */
export interface Sink extends UploadTarget {
  /** How `check` names it when it fails, e.g. `directory sink /data/out`. */
  readonly label: string;
  /** Verifies the destination can be written; resolves to the line `check` prints. */
  check(): Promise<string>;
  /**
   * What an administrator runs (`setup --print-sql`): the objects and the GRANTs of the agent's
   * minimum privileges to `principal` when the sink has privileges; none for a folder.
   */
  setupSql(opts?: { principal?: string }): string[];
  /** Creates what is missing; resolves to the line `setup` prints. */
  setup(): Promise<string>;
  /**
   * What the destination already holds of this site's time series: the latest event timestamp (µs)
   * per tag WebID. Asked once, by a store with no time-series progress (a new or lost state
   * directory), to resume there (service/recovery.ts). Absent: the sink cannot say (a folder), and
   * nothing is recovered.
   */
  timeseriesHeads?(): Promise<Map<string, number>>;
  /**
   * The stores that wrote a heartbeat for this site at or after `sinceUs` (µs), each with its latest
   * beat (service/takeover.ts). Absent: the sink cannot say, and nothing is refused.
   */
  recentBeats?(sinceUs: number): Promise<SiteBeat[]>;
}

/** One store's latest heartbeat for this site at the destination (pi_agent_status). */
export interface SiteBeat {
  storeId: string;
  host: string | null;
  /** `index/count`, null when not sharded. */
  shard: string | null;
  /** The beat's reported_at, µs. */
  atUs: number;
}

/** A kind of sink, by its `sink.type` (sinks/sections.ts lists them): how to open one from config. */
export interface SinkKind<C extends SinkConfig = SinkConfig> {
  /** Opens the sink (no network yet: sessions open on first use). */
  open(config: AgentConfig & { sink: C }, logger?: Logger): Promise<Sink>;
}
