/**
 * An in-memory harness for the time-series algorithm (extract.ts) without HTTP or SQLite: a scripted
 * archive that truncates at maxCount like PI, and a store that applies committed rows like the
 * destination table (a second insert of a key throws) and records every progress write and delete.
 */
import type { Row } from '../../../agent/batch/tables.js';
import type { RecordedReader, RecordedRequest, TimeseriesStore } from '../../../agent/sources/timeseries/extract.js';
import type { PiValueItem } from '../../../agent/sources/timeseries/values.js';

/** An archive event: a number, a string or a state object `{ Name, Value, IsSystem }`. */
export type Ev = { ts: number; v: unknown; good?: boolean };

export const iso = (us: number): string => new Date(us / 1000).toISOString();
export const parseTime = (s: string): number => Date.parse(s) * 1000;
export const S = Date.parse('2026-01-01T00:00:00Z') * 1000;
export const SEC = 1_000_000;
export const MIN = 60 * SEC;

/** A scripted archive (truncates at maxCount like PI) that counts requests and values served. */
export class ScriptedArchive implements RecordedReader {
  data = new Map<string, Ev[]>();
  requests = 0;
  served = 0;
  async read(reqs: RecordedRequest[]) {
    this.requests++;
    return reqs.map((r) => {
      const all = this.data.get(r.webId) ?? [];
      let lo = 0,
        hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (all[mid]!.ts < r.startUs) lo = mid + 1;
        else hi = mid;
      }
      const items: PiValueItem[] = [];
      for (let i = lo; i < all.length && all[i]!.ts <= r.endUs && items.length < r.maxCount; i++) {
        items.push({ Timestamp: iso(all[i]!.ts), Value: all[i]!.v, Good: all[i]!.good ?? true, Questionable: false, Substituted: false, Annotated: false });
      }
      this.served += items.length;
      return { items };
    });
  }
  /** Regular 5-second data from S (or the tag's last event) to `until`, inclusive. */
  fill(tag: string, until: number) {
    const evs = this.data.get(tag) ?? [];
    const from = evs.length > 0 ? evs[evs.length - 1]!.ts + 5 * SEC : S;
    for (let ts = from; ts <= until; ts += 5 * SEC) evs.push({ ts, v: (ts - S) / SEC });
    this.data.set(tag, evs);
  }
  insert(tag: string, ev: Ev) {
    const evs = this.data.get(tag)!;
    evs.push(ev);
    evs.sort((a, b) => a.ts - b.ts);
  }
}

/** Applies committed rows like the destination table (throws on a duplicate insert); records progress writes. */
export class MemTimeseriesStore implements TimeseriesStore {
  /** Progress as the JSON text the real store keeps. */
  progress = new Map<string, string>();
  table = new Map<string, Row>();
  ops: string[] = [];
  writes: { key: string; bytes: number }[] = [];
  deletes: string[] = [];
  full = false;
  getProgress<T>(key: string) {
    const v = this.progress.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }
  isBufferFull() {
    return this.full;
  }
  commitStep(steps: { table: 'pi_timeseries'; rows: Row[] }[], progress: { key: string; value: unknown }[], deleteKeys: string[] = []) {
    for (const s of steps)
      for (const r of s.rows) {
        const k = `${r.tag_webid}|${r.timestamp}|${r.ordinal}`;
        this.ops.push(`${r.op}:${k}`);
        if (r.op === 'insert') {
          if (this.table.has(k)) throw new Error(`duplicate insert ${k}`);
          this.table.set(k, r);
        } else if (r.op === 'update') this.table.set(k, r);
        else this.table.delete(k);
      }
    // Like Store.commitStep: deletions, then writes.
    for (const k of deleteKeys) {
      this.deletes.push(k);
      this.progress.delete(k);
    }
    for (const p of progress) {
      const json = JSON.stringify(p.value);
      this.writes.push({ key: p.key, bytes: json.length });
      this.progress.set(p.key, json);
    }
  }
  /** [timestamp, ordinal, value] of a tag's rows in table order; a state by its name. */
  values(tag: string) {
    return [...this.table.values()]
      .filter((r) => r.tag_webid === tag)
      .sort((a, b) => (a.timestamp as number) - (b.timestamp as number) || (a.ordinal as number) - (b.ordinal as number))
      .map((r) => [r.timestamp, r.ordinal, r.value_double ?? r.value_string ?? r.digital_name]);
  }
}

/** What values() should hold for an archive's events: same-timestamp events numbered by ordinal. */
export function expectedRows(evs: Ev[]): unknown[] {
  const out: unknown[] = [];
  let prev = NaN,
    ord = 0;
  for (const e of evs) {
    ord = e.ts === prev ? ord + 1 : 0;
    prev = e.ts;
    out.push([e.ts, ord, typeof e.v === 'object' && e.v !== null ? (e.v as { Name: string }).Name : e.v]);
  }
  return out;
}
