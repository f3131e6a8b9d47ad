/**
 * The time-series source's vocabulary: what the service passes in (readers, the store, the feed,
 * options) and gets back (results). Only types: every module of the source imports them from here;
 * extract.ts and updates.ts re-export the public ones under their former paths.
 */
import type { Row } from '../../batch/tables.js';
import type { PiError } from '../../errors.js';
import type { PollOutcome, RegisterOutcome } from '../../pi/updates.js';
import type { PiValueItem } from './values.js';

export interface TagRef {
  webId: string;
  pointType?: string;
}

export interface RecordedRequest {
  webId: string;
  startUs: number;
  endUs: number;
  maxCount: number;
}

export interface RecordedResult {
  items: PiValueItem[];
  units?: string;
  error?: Error;
}

/** Reads one page for each request (many tags in one HTTP call); results in request order. */
export interface RecordedReader {
  read(reqs: RecordedRequest[]): Promise<RecordedResult[]>;
}

/** What the source needs of the store. */
export interface TimeseriesStore {
  getProgress<T>(key: string): T | undefined;
  /** Rows, progress and progress deletions in one transaction (deletions before writes). */
  commitStep(steps: { table: 'pi_timeseries'; rows: Row[] }[], progress: { key: string; value: unknown }[], deleteKeys?: string[]): void;
  isBufferFull(): boolean;
}

export interface ExtractOptions {
  site: string;
  tags: TagRef[];
  reader: RecordedReader;
  store: TimeseriesStore;
  /** PI server's current time, µs: the end of every read in this cycle. */
  nowUs: number;
  /** Where a new tag's history begins, µs. */
  startUs: number;
  lookbackUs: number;
  /** Re-read the lookback window when PI's now − the tag's last re-read ≥ this (µs); 0 or absent: every cycle. */
  lookbackEveryUs?: number;
  /** Optional end of the extraction (backfill); defaults to nowUs. */
  endUs?: number;
  tagsPerRequest: number;
  maxCount: number;
  /** Upper bound of values asked for in one HTTP request (memory bound). */
  maxValuesPerRequest: number;
  /** Requests in flight at once. */
  concurrency: number;
  parseTime: (s: string) => number;
  /** Progress key prefix; backfills use their own (progress.ts `backfillSpace`) so live progress is untouched. */
  progressPrefix?: string;
  /** op written for new events: live extraction inserts; a backfill upserts. */
  insertOp?: 'insert' | 'update';
  /**
   * Width (µs) of the digest buckets stored under their own progress keys (digest.ts); default
   * DIGEST_BUCKET_US. 0 embeds the whole digest in the tag's head (the former format).
   */
  digestBucketUs?: number;
  /** Halvings after timeouts before a tag fails (default 6: 1/64 of the window, tags and maxCount). */
  maxTimeoutSplits?: number;
  /**
   * Tags whose due re-read may start later than the lookback window (stream updates, updates.ts):
   * WebID → the oldest timestamp (µs) PI reported a change at since the tag's previous re-read
   * (Infinity: none). The re-read starts there, or at the watermark if that is earlier; the part of
   * the window before it is unchanged since it was last read. A tag listed re-reads this cycle even
   * when `lookbackEveryUs` says it is not due (`lookback_every: auto`; -Infinity: the whole window).
   */
  narrowFrom?: ReadonlyMap<string, number>;
  signal?: AbortSignal;
}

export interface ExtractResult {
  values: number;
  inserts: number;
  updates: number;
  deletes: number;
  requests: number;
  commits: number;
  /** Tags whose lookback window was re-read (completely) this cycle. */
  rereads: number;
  /** Of the due re-reads, those started after the window's start, at what stream updates reported (narrowFrom). */
  narrowed: number;
  /** Requests (or sub-requests) that timed out and were split. */
  timeouts: number;
  /** Stopped early because the outbound buffer is full (backpressure). */
  paused: boolean;
  /** Tags whose reads failed this cycle (their progress did not move). */
  errors: Map<string, Error>;
  /** The least read position over all tags after this cycle (µs), for the lag; null if none read yet. */
  minPosUs: number | null;
}

// ---- stream updates (updates.ts) -----------------------------------------------------------------

/** A stream to poll; `read`: a recorded read that PI runs after the poll, in the same request. */
export interface PollItem {
  webId: string;
  marker: string;
  read?: RecordedRequest;
}

/** A poll's outcome and, when it succeeded, the read asked with it. */
export type PolledStream = PollOutcome & { read?: RecordedResult };

/** PI's stream-updates calls, per webId (agent/pi/updates.ts over a client). */
export interface UpdatesFeed {
  register(webIds: string[]): Promise<Map<string, RegisterOutcome>>;
  poll(items: PollItem[]): Promise<Map<string, PolledStream>>;
}

/** The extraction's own options (the same tags, clock, window and request sizes) and the feed. */
export type ReconcileOptions = Pick<
  ExtractOptions,
  | 'site'
  | 'tags'
  | 'reader'
  | 'store'
  | 'nowUs'
  | 'startUs'
  | 'lookbackUs'
  | 'lookbackEveryUs'
  | 'parseTime'
  | 'tagsPerRequest'
  | 'maxCount'
  | 'maxValuesPerRequest'
  | 'progressPrefix'
  | 'digestBucketUs'
  | 'insertOp'
  | 'signal'
> &
  Partial<Pick<ExtractOptions, 'concurrency'>> & {
    feed: UpdatesFeed;
    /**
     * Read ahead: with each poll of a tag whose re-read may be narrowed, read the tag from its
     * watermark in the same `/batch`, run by PI after the poll. When the poll reports no change behind
     * the watermark, that read is the tag's whole narrowed re-read, committed here with the tag's next
     * marker, and the cycle costs no request beyond the poll's for it.
     */
    readAhead?: boolean;
    /**
     * `lookback_every: auto`: every tag with a marker is polled and re-reads this cycle whatever
     * `lookbackEveryUs` says (narrowed, or whole when it may not be: narrowFrom -Infinity); tags
     * without one keep to `lookbackEveryUs`.
     */
    everyCycle?: boolean;
    /**
     * The whole lookback window is re-read at least this often (µs, PI clock); in between, a tag's
     * re-read starts at the oldest change its poll reported (`narrowFrom`). 0 or absent: always whole.
     */
    lookbackFullEveryUs?: number;
    /** Wall clock for the state's times (tests). */
    now?: () => Date;
  };

export interface LateChange {
  webId: string;
  timestampUs: number;
  action: string;
}

export interface ReconcileResult {
  /** Tags whose markers were polled. */
  polled: number;
  /** Tags registered (first time, or again after a lost marker). */
  registered: number;
  /** Markers PI no longer knew. */
  lost: number;
  /** Changes before the re-read's start, found and sent. */
  lateChanges: number;
  /** Of them, events whose action the agent does not know (their timestamps were read back as edits). */
  unknownActions: number;
  /** Their rows: upserts and deletes. */
  updates: number;
  deletes: number;
  /** The first few late changes (for the log). */
  sample: LateChange[];
  /** Tags whose poll, registration or read-back failed: their marker did not move. */
  errors: Map<string, Error>;
  /** Set when the server has no stream updates (nothing else was done). */
  unsupported?: PiError;
  requests: number;
  /** Tags whose re-read was read ahead with their poll and committed here; their values and rows. */
  readAhead: number;
  /** Of them, whole-window re-reads (the others were narrowed). */
  readAheadWhole: number;
  readAheadValues: number;
  readAheadRows: { inserts: number; updates: number; deletes: number };
  /**
   * Tags whose re-read due this cycle may start at the oldest change PI reported in its window
   * (extract.ts `narrowFrom`): WebID → that timestamp (µs), Infinity when PI reported none.
   */
  narrowFrom: Map<string, number>;
}
