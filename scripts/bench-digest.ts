/**
 * Benchmark of the time-series digest storage (agent/sources/timeseries/digest.ts): bytes of progress
 * values written (and keys written/deleted) per cycle, the former embedded digest (`d` in each tag's
 * head, digestBucketUs 0) against digest buckets. Drives extractTimeseries for T tags of regular
 * 5-second data: one catch-up of the lookback window, then N one-minute cycles (steady cycles read
 * from the watermark; every lookback_every one re-reads the window). The archive is generated in
 * memory (no HTTP: the figure measured is the store's write volume, not PI). Bytes are counted as the
 * Store writes them (JSON text of each progress value). Prints figures; asserts nothing.
 *
 *   node --import tsx scripts/bench-digest.ts [--tags 2000] [--cycles 30] [--lookback 120] [--every 15]
 *        [--widths 0,5,10,15] (minutes; 0 = embedded digest)
 */
import { parseArgs } from 'node:util';
import type { Row } from '../agent/batch/tables.js';
import { extractTimeseries, type RecordedReader, type RecordedRequest, type TimeseriesStore } from '../agent/sources/timeseries/extract.js';
import type { PiValueItem } from '../agent/sources/timeseries/values.js';

const { values: args } = parseArgs({
  options: {
    tags: { type: 'string', default: '2000' },
    cycles: { type: 'string', default: '30' },
    lookback: { type: 'string', default: '120' },
    every: { type: 'string', default: '15' },
    widths: { type: 'string', default: '0,5,10,15' },
  },
});
const TAGS = Number(args.tags);
const CYCLES = Number(args.cycles);
const SEC = 1_000_000;
const MIN = 60 * SEC;
const STEP = 5 * SEC;
const S = Date.parse('2026-01-01T00:00:00Z') * 1000;

/** Regular 5-second data for every tag, generated per request. */
class Archive implements RecordedReader {
  async read(reqs: RecordedRequest[]) {
    return reqs.map((r) => {
      const items: PiValueItem[] = [];
      for (let ts = S + Math.max(0, Math.ceil((r.startUs - S) / STEP)) * STEP; ts <= r.endUs && items.length < r.maxCount; ts += STEP) {
        items.push({
          Timestamp: new Date(ts / 1000).toISOString(),
          Value: Math.round(Math.sin(ts / 6e7 + r.webId.length) * 1000) / 10,
          Good: true,
          Questionable: false,
          Substituted: false,
          Annotated: false,
        });
      }
      return { items };
    });
  }
}

/** Keeps progress as the Store would (JSON text) and counts what each commit writes; rows are dropped. */
class CountingStore implements TimeseriesStore {
  progress = new Map<string, string>();
  bytes = 0;
  keys = 0;
  deleted = 0;
  getProgress<T>(key: string) {
    const v = this.progress.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }
  isBufferFull() {
    return false;
  }
  commitStep(_steps: { table: 'pi_timeseries'; rows: Row[] }[], progress: { key: string; value: unknown }[], deleteKeys: string[] = []) {
    for (const k of deleteKeys) if (this.progress.delete(k)) this.deleted++;
    for (const p of progress) {
      const json = JSON.stringify(p.value);
      this.bytes += p.key.length + json.length;
      this.keys++;
      this.progress.set(p.key, json);
    }
  }
  stored() {
    let b = 0;
    for (const [k, v] of this.progress) b += k.length + v.length;
    return b;
  }
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} KB` : `${n} B`);

async function run(widthMin: number) {
  const st = new CountingStore();
  const tags = Array.from({ length: TAGS }, (_, i) => ({ webId: `F1DPTAG${String(i).padStart(6, '0')}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` }));
  const lookbackUs = Number(args.lookback) * MIN;
  const base = {
    site: 'plant-a',
    tags,
    reader: new Archive(),
    store: st,
    startUs: S,
    lookbackUs,
    lookbackEveryUs: Number(args.every) * MIN,
    tagsPerRequest: 100,
    maxCount: 150000,
    maxValuesPerRequest: 150000,
    concurrency: 2,
    parseTime: (s: string) => Date.parse(s) * 1000,
    digestBucketUs: widthMin * MIN,
  };
  let now = S + lookbackUs + 3 * MIN + 7 * SEC;
  await extractTimeseries({ ...base, nowUs: now });
  const steady: number[] = [];
  const rereads: number[] = [];
  let keys = 0;
  let deleted = 0;
  let ms = 0;
  for (let k = 0; k < CYCLES; k++) {
    now += MIN;
    const b0 = st.bytes,
      k0 = st.keys,
      d0 = st.deleted;
    const t0 = performance.now();
    const r = await extractTimeseries({ ...base, nowUs: now });
    ms += performance.now() - t0;
    (r.rereads > 0 ? rereads : steady).push(st.bytes - b0);
    keys += st.keys - k0;
    deleted += st.deleted - d0;
  }
  const avg = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
  return {
    mode: widthMin === 0 ? 'embedded digest (before)' : `buckets of ${widthMin} min`,
    steadyAvg: avg(steady),
    steadyMax: Math.max(0, ...steady),
    rereadAvg: avg(rereads),
    rereads: rereads.length,
    keysPerCycle: keys / CYCLES,
    deletedPerCycle: deleted / CYCLES,
    stored: st.stored(),
    msPerCycle: ms / CYCLES,
  };
}

console.log(`${TAGS} tags × 5 s data, lookback ${args.lookback} min, re-read every ${args.every} min, ${CYCLES} one-minute cycles after the catch-up`);
console.log(
  'mode                       | steady cycle: avg / max written | re-read cycle: avg written | keys written/cycle | keys deleted/cycle | progress stored | ms/cycle',
);
for (const w of args.widths.split(',').map(Number)) {
  const r = await run(w);
  console.log(
    `${r.mode.padEnd(26)} | ${fmt(Math.round(r.steadyAvg)).padStart(12)} / ${fmt(r.steadyMax).padStart(10)}     | ${fmt(Math.round(r.rereadAvg)).padStart(10)} (${r.rereads})       | ${r.keysPerCycle.toFixed(0).padStart(18)} | ${r.deletedPerCycle.toFixed(1).padStart(18)} | ${fmt(r.stored).padStart(15)} | ${r.msPerCycle.toFixed(0)}`,
  );
}
