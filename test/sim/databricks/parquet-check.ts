/**
 * The emulator reads Parquet with DuckDB, which takes encodings a Databricks warehouse does not.
 * Before COPY INTO or MERGE reads a staged file, every column chunk's encodings (from the footer,
 * DuckDB's `parquet_metadata`) must be ones Spark's vectorized reader has read since Spark 3.3
 * (READABLE_ENCODINGS in agent/batch/write.ts, with the evidence); otherwise the statement fails as
 * a Databricks reader fails, so no test can pass with a file the warehouse would refuse:
 * - the error class: FAILED_READ_FILE.NO_HINT, "Error while reading file <path>.", SQLSTATE KD001
 *   (https://docs.databricks.com/error-messages/failed-read-file-error-class.html);
 * - its cause: Spark's `java.lang.UnsupportedOperationException: Unsupported encoding: <X>`
 *   (VectorizedColumnReader.getValuesReader; the message quoted in apache/spark#37557).
 */
import { relative, sep } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { READABLE_ENCODINGS } from '../../../agent/batch/write.js';
import { quoteString, SqlError } from './sql.js';

const READABLE: ReadonlySet<string> = new Set(READABLE_ENCODINGS);

/**
 * Refuses the first file under `local` (a file or a DuckDB glob) with an encoding outside
 * READABLE_ENCODINGS. `volumeOf(file)` gives a local file's /Volumes path for the message. A file
 * DuckDB cannot list or read at all is left to the statement's own read, which reports it.
 */
export async function refuseUnreadableEncodings(conn: DuckDBConnection, local: string, volumeOf: (file: string) => string): Promise<void> {
  let rows: unknown[][];
  try {
    const res = await conn.runAndReadAll(`SELECT file_name, path_in_schema, encodings FROM parquet_metadata(${quoteString(local)}) ORDER BY file_name, column_id`);
    rows = res.getRowsJS();
  } catch {
    return;
  }
  for (const [file, column, encodings] of rows) {
    const bad = String(encodings)
      .split(',')
      .map((e) => e.trim())
      .find((e) => e !== '' && !READABLE.has(e));
    if (bad === undefined) continue;
    throw new SqlError(
      `[FAILED_READ_FILE.NO_HINT] Error while reading file ${volumeOf(String(file))}. SQLSTATE: KD001\n` +
        `Caused by: java.lang.UnsupportedOperationException: Unsupported encoding: ${bad} (column ${String(column)})`,
      'KD001',
    );
  }
}

/** `file` under local directory `dir` as a path under volume directory `volumeDir`. */
export function volumePathOf(dir: string, volumeDir: string): (file: string) => string {
  return (file) => `${volumeDir.replace(/\/$/, '')}/${relative(dir, file).split(sep).join('/')}`;
}
