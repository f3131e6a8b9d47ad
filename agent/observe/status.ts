/**
 * The status model (`pi-agent status --json` prints a StatusReport as is: its field names are an
 * acceptance contract, design.md "Contracts") and its human rendering.
 */

export interface SourceStatus {
  /** `tags`, `timeseries`, `af`, `event_frames`. */
  name: string;
  /** Seconds between now and the newest data this source has extracted; null before the first run. */
  lag_seconds: number | null;
  /** ISO 8601 UTC of the last successful cycle, null if none. */
  last_success: string | null;
  /** `CODE: message` of the last failed cycle since the last success, null if none. */
  last_error: string | null;
  /** Streams (tags) this source tracks, when it has any. */
  tags?: number;
  /** Why the source is not running, e.g. `paused: buffer full` (backpressure). */
  state?: string;
  /** What an operator should know beyond the state, one sentence each (e.g. late data older than the lookback). */
  notes?: string[];
  /** Tags skipped because PI cannot serve them (a 501 point type, a per-value error that repeats), until their metadata changes. */
  unreadable_tags?: { tag: string; reason: string; since: string }[];
}

export interface BufferStatus {
  /** Rows in the batches waiting for the sink (extracted rows are sealed into a batch at once). */
  pending_rows: number;
  /** Batches waiting for the sink. */
  sealed_batches: number;
  /** Bytes held by the store for both. */
  bytes: number;
  /** ISO 8601 UTC of the oldest waiting batch. */
  oldest?: string | null;
  /** buffer.max_bytes of the config. */
  max_bytes?: number;
}

export interface SinkStatus {
  /** `directory` or `databricks`. */
  type: string;
  /** ISO 8601 UTC of the last committed upload, null if none yet. */
  last_commit: string | null;
  /** `ok`, `idle`, `uploading` (a unit in flight), `retrying`, `unreachable`, `failed`... */
  state: string;
  last_error?: string | null;
}

export interface StatusReport {
  agent: { version: string; site: string; running: boolean; pid?: number };
  sources: SourceStatus[];
  buffer: BufferStatus;
  sink: SinkStatus;
}

/** `3m ago`, `2h ago`, `just now`, `in 5s` for clocks that disagree; `never` for null. */
export function relativeTime(iso: string | null | undefined, now: Date): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now.getTime() - t) / 1000);
  if (Math.abs(s) < 1) return 'just now';
  return s > 0 ? `${span(s)} ago` : `in ${span(-s)}`;
}

/** A duration in seconds as its two largest units: `45s`, `3m 20s`, `2h 5m`, `3d 4h`. */
export function span(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  for (let i = 0; i < units.length; i++) {
    const [u, size] = units[i]!;
    if (s < size && i < units.length - 1) continue;
    const first = Math.floor(s / size);
    const next = units[i + 1];
    const second = next ? Math.floor((s - first * size) / next[1]) : 0;
    return second && next ? `${first}${u} ${second}${next[0]}` : `${first}${u}`;
  }
  return '0s';
}

/** Bytes with binary units, like the config's sizes: `512 B`, `1.5 MB`, `2.0 GB`. */
export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

const count = (n: number): string => n.toLocaleString('en-US');

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** The report as an operator reads it in a terminal. */
export function renderStatus(r: StatusReport, now: Date = new Date()): string {
  const out: string[] = [];
  const run = r.agent.running ? `running${r.agent.pid !== undefined ? ` (pid ${r.agent.pid})` : ''}` : 'not running';
  out.push(`pi-agent ${r.agent.version}, site ${r.agent.site}, ${run}`, '');

  if (r.sources.length) {
    const rows = [['SOURCE', 'TAGS', 'LAG', 'LAST SUCCESS', 'STATE', 'LAST ERROR']];
    for (const s of r.sources) {
      rows.push([
        s.name,
        s.tags === undefined ? '-' : count(s.tags),
        s.lag_seconds === null ? '-' : span(s.lag_seconds),
        relativeTime(s.last_success, now),
        s.state ?? (s.last_error ? 'failing' : s.last_success ? 'ok' : 'waiting'),
        s.last_error ?? '-',
      ]);
    }
    out.push(...table(rows));
    for (const s of r.sources) for (const n of s.notes ?? []) out.push(`${s.name}: ${n}`);
  } else {
    out.push('no sources configured');
  }
  out.push('');

  const b = r.buffer;
  const limit = b.max_bytes ? ` of ${bytes(b.max_bytes)}` : '';
  const oldest = b.oldest ? `, oldest ${relativeTime(b.oldest, now)}` : '';
  out.push(
    ...table([
      ['buffer', `${count(b.pending_rows)} rows pending, ${count(b.sealed_batches)} sealed batches, ${bytes(b.bytes)}${limit}${oldest}`],
      ['sink', `${r.sink.type}, ${r.sink.state}, last commit ${relativeTime(r.sink.last_commit, now)}`],
      ...(r.sink.last_error ? [['', `last error: ${r.sink.last_error}`]] : []),
    ]),
  );
  return `${out.join('\n')}\n`;
}
