import t from 'tap';
import { Simulator } from './piwebapi/simulator.js';
import type { DigitalValue, TimedValueJson } from './piwebapi/series.js';
import { KIND_PATTERN, MEASUREMENTS, measurementOf, PLANT_PATTERN, POINT_TYPE } from './piwebapi/tags.js';
import { get, post, sim } from './core-util.js';

const NOW = '2026-01-02T00:00:00Z';
const secs = (ts: string): number => Date.parse(ts) / 1000;

/** Timestamps every `step` seconds from `from` to `to` inclusive. */
function grid(from: string, to: string, step: number): string[] {
  const out: string[] = [];
  for (let s = secs(from); s <= secs(to); s += step) out.push(new Date(s * 1000).toISOString().replace('.000Z', 'Z'));
  return out;
}

t.test('intervalSec: every tag of every kind has exactly one event per interval, on its multiples', async (t) => {
  const s = await sim(t, { tags: 20, intervalSec: 5, now: NOW });
  for (let i = 0; i < 20; i++) {
    const got = s.sim.truth(i, '2026-01-01T22:59:52Z', '2026-01-01T23:00:11Z').map((e) => e.Timestamp);
    // Across a bucket edge (every 5 minutes for 5-second data): no event lost or doubled.
    t.same(got, grid('2026-01-01T22:59:55Z', '2026-01-01T23:00:10Z', 5), `tag ${i} (${KIND_PATTERN[i]})`);
  }
  // Over HTTP: an hour of 5-second data is 721 values with both ends inclusive, ascending and descending.
  const w = s.sim.tagWebId(6);
  const r = await get(s, `/streams/${w}/recorded?startTime=2026-01-01T23:00:00Z&endTime=${NOW}&maxCount=10000`);
  t.equal(r.status, 200);
  t.same(
    r.json.Items.map((e: TimedValueJson) => e.Timestamp),
    grid('2026-01-01T23:00:00Z', NOW, 5),
  );
  const d = await get(s, `/streams/${w}/recorded?startTime=${NOW}&endTime=2026-01-01T23:00:00Z&maxCount=10000`);
  t.same(d.json.Items, [...r.json.Items].reverse());
  // Nothing after the clock; advancing it makes exactly the new intervals appear.
  t.same(
    s.sim.truth(0, NOW, '2026-01-02T00:01:00Z').map((e) => e.Timestamp),
    [NOW],
  );
  s.sim.advance('1m');
  t.same(
    s.sim.truth(0, '2026-01-02T00:00:01Z', '*').map((e) => e.Timestamp),
    grid('2026-01-02T00:00:05Z', '2026-01-02T00:01:00Z', 5),
  );
});

t.test('intervalSec: 30 days of 1-minute data, and sub-second intervals', async (t) => {
  const s = new Simulator({ tags: 3, intervalSec: 60, mix: 'plant', historyStart: '2025-12-01T00:00:00Z', now: '2026-01-01T00:00:00Z' });
  const ev = s.truth(0, '2025-12-02T00:00:00Z', '2026-01-01T00:00:00Z');
  t.equal(ev.length, 30 * 1440 + 1);
  let regular = true;
  for (let k = 1; k < ev.length; k++) if (secs(ev[k]!.Timestamp) - secs(ev[k - 1]!.Timestamp) !== 60) regular = false;
  t.ok(regular, 'every step is exactly 60 s');
  // Before the history start there is nothing.
  t.same(
    s.truth(0, '2025-11-30T23:00:00Z', '2025-12-01T00:00:59Z').map((e) => e.Timestamp),
    ['2025-12-01T00:00:00Z'],
  );

  const f = new Simulator({ tags: 7, intervalSec: 0.5, now: NOW });
  t.same(
    f.truth(6, '2026-01-01T10:00:00Z', '2026-01-01T10:00:02Z').map((e) => e.Timestamp),
    ['2026-01-01T10:00:00Z', '2026-01-01T10:00:00.5000000Z', '2026-01-01T10:00:01Z', '2026-01-01T10:00:01.5000000Z', '2026-01-01T10:00:02Z'],
  );

  t.throws(() => new Simulator({ intervalSec: 0 }), /intervalSec/);
  t.throws(() => new Simulator({ intervalSec: 1e-7 }), /intervalSec/);
});

t.test('regular series are lazy and deterministic: any window gives the same events', async (t) => {
  const a = new Simulator({ tags: 30000, intervalSec: 5, mix: 'plant', seed: 7, now: NOW });
  const b = new Simulator({ tags: 30000, intervalSec: 5, mix: 'plant', seed: 7, now: NOW });
  t.equal(a.tagCount(), 30000);
  const hour = a.truth(29999, '2026-01-01T23:00:00Z', NOW);
  t.equal(hour.length, 721);
  t.same(b.truth(29999, '2026-01-01T23:30:00Z', NOW), hour.slice(360), 'a later window of a fresh simulator is a slice of the hour');
  const c = new Simulator({ tags: 30000, intervalSec: 5, mix: 'plant', seed: 8, now: NOW });
  t.not(JSON.stringify(c.truth(29999, '2026-01-01T23:00:00Z', NOW)), JSON.stringify(hour), 'another seed, other values');
});

t.test('control API changes overlay a regular series as any other', async (t) => {
  const s = await sim(t, { tags: 20, intervalSec: 5, mix: 'plant', now: NOW });
  s.sim.insertEvent(0, { timestamp: '2026-01-01T23:00:02Z', value: 1.5 });
  s.sim.deleteEvents(0, '2026-01-01T23:00:05Z');
  s.sim.editEvent(0, '2026-01-01T23:00:10Z', { value: 2.5 });
  const ev = s.sim.truth(0, '2026-01-01T23:00:00Z', '2026-01-01T23:00:10Z');
  t.same(
    ev.map((e) => [e.Timestamp, e.Substituted]),
    [
      ['2026-01-01T23:00:00Z', false],
      ['2026-01-01T23:00:02Z', false],
      ['2026-01-01T23:00:10Z', true],
    ],
  );
  t.equal(ev[2]!.Value, 2.5);
});

t.test('plant mix: the point types of a real plant, Float32 mostly', async (t) => {
  const s = await sim(t, { tags: 40, mix: 'plant', intervalSec: 5, now: NOW });
  const types = Array.from({ length: 40 }, (_, i) => s.sim.tagMeta(i).pointType);
  const count = (pt: string): number => types.filter((x) => x === pt).length;
  t.same(
    { Float32: count('Float32'), Float64: count('Float64'), Int32: count('Int32'), Int16: count('Int16'), Digital: count('Digital'), String: count('String') },
    { Float32: 28, Float64: 2, Int32: 2, Int16: 2, Digital: 4, String: 2 },
  );
  t.same(
    types.slice(0, 20),
    PLANT_PATTERN.map((k) => POINT_TYPE[k]),
  );
  t.equal(s.sim.tagName(17), 'SIM.INT16.00017');
  t.equal(s.sim.resolveTag('SIM.INT16.00017'), 17, 'plant names resolve');
  // Discovery serves the point type, and the units of the tag's measurement.
  const p = await get(s, `/points/${s.sim.tagWebId(17)}`);
  t.equal(p.json.PointType, 'Int16');
  const m = measurementOf(s.sim.seed, 0);
  t.equal(s.sim.tagMeta(0).units, m.units);
  const one = await get(s, `/streams/${s.sim.tagWebId(0)}/recorded?startTime=2026-01-01T23:59:00Z&endTime=${NOW}`);
  t.equal(one.json.UnitsAbbreviation, m.units);
});

t.test('plant values: quantised to the instrument, integers for integer points, held states; mostly good', async (t) => {
  const s = new Simulator({ tags: 40, mix: 'plant', intervalSec: 5, now: NOW });
  let values = 0;
  let good = 0;
  let systemStates = 0;
  let badSystemStates = 0;
  let stringChanges = 0;
  for (let i = 0; i < 40; i++) {
    const meta = s.tagMeta(i);
    const ev = s.truth(i, '2026-01-01T00:00:00Z', NOW);
    if (ev.length !== 17281) t.fail(`${meta.name}: a day of 5-second data has ${ev.length} events`);
    const res = measurementOf(s.seed, i).resolution;
    let prev: unknown;
    for (const e of ev) {
      values++;
      const v = e.Value;
      if (typeof v === 'object' && v.IsSystem) {
        systemStates++;
        if (e.Good !== false) badSystemStates++;
        continue;
      }
      if (e.Good) good++;
      switch (meta.pointType) {
        case 'Float32': {
          const n = v as number;
          const inv = Math.round(1 / res);
          if (Math.round(n * inv) / inv !== n || n < 0 || n > meta.span) t.fail(`${meta.name}: ${n} is not a multiple of ${res} in [0, ${meta.span}]`);
          break;
        }
        case 'Int32':
        case 'Int16':
          if (!Number.isInteger(v) || (meta.pointType === 'Int16' && ((v as number) < 0 || (v as number) > 32767))) t.fail(`${meta.name}: ${String(v)}`);
          break;
        case 'Digital':
          if (!meta.digitalSet!.states.includes((v as DigitalValue).Name)) t.fail(`${meta.name}: ${JSON.stringify(v)}`);
          break;
        case 'String':
          if (typeof v !== 'string') t.fail(`${meta.name}: ${String(v)}`);
          if (prev !== undefined && v !== prev) stringChanges++;
          prev = v;
          break;
        default:
          if (typeof v !== 'number') t.fail(`${meta.name}: ${String(v)}`);
      }
    }
  }
  t.ok(good / values > 0.99, `mostly good (${good} of ${values})`);
  t.equal(values, 40 * 17281);
  t.ok(systemStates > 0 && systemStates / values < 0.01, `some system states (${systemStates})`);
  t.equal(badSystemStates, 0, 'system states are never Good');
  t.ok(stringChanges > 0 && stringChanges < 2 * 24, `strings are held for hours (${stringChanges} changes in a day over 2 tags)`);
  t.ok(MEASUREMENTS.every((m) => m.resolution > 0));
});

t.test('the default simulator is unchanged by the new options (test mix, irregular timing)', async (t) => {
  const a = new Simulator({ tags: 20, now: NOW });
  const b = new Simulator({ tags: 20, now: NOW, mix: 'test' });
  t.equal(a.tagMeta(6).kind, 'FAST');
  t.same(a.truth(1, '2026-01-01T00:00:00Z', '2026-01-01T02:00:00Z'), b.truth(1, '2026-01-01T00:00:00Z', '2026-01-01T02:00:00Z'));
  const ts = a.truth(1, '2026-01-01T00:00:00Z', '2026-01-01T02:00:00Z').map((e) => secs(e.Timestamp));
  const gaps = new Set(ts.slice(1).map((x, k) => Math.round(x - ts[k]!)));
  t.ok(gaps.size > 5, 'irregular gaps by default');
  // And a batch against a regular plant simulator reads the same events as a stream read.
  const s = await sim(t, { tags: 20, mix: 'plant', intervalSec: 5, now: NOW });
  const w = s.sim.tagWebId(3);
  const res = `${s.url}/streams/${w}/recorded?startTime=2026-01-01T23:00:00Z&endTime=${NOW}&maxCount=10000`;
  const bt = await post(s, '/batch', { 1: { Method: 'GET', Resource: res } });
  t.equal(bt.status, 207);
  t.same(bt.json['1'].Content.Items, s.sim.truth(3, '2026-01-01T23:00:00Z', NOW));
});

t.test('selectedFields on a recorded read: exactly the full read with the other fields removed', async (t) => {
  const s = await sim(t, { tags: 20, mix: 'plant', intervalSec: 5, now: NOW });
  s.sim.insertEvent(2, { timestamp: '2026-01-01T23:59:31Z', value: { Name: 'Auto', Value: 1, IsSystem: false } });
  const w = s.sim.tagWebId(2);
  const range = 'startTime=2026-01-01T23:59:00Z&endTime=2026-01-02T00:00:00Z';
  const full = (await get(s, `/streams/${w}/recorded?${range}`)).json as { Items: Record<string, unknown>[]; UnitsAbbreviation: string };
  t.equal(full.Items.length, 14);
  const pick = (o: Record<string, unknown>, keys: string[]): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([k]) => keys.includes(k)));
  const cases: [string, string[], boolean][] = [
    [
      'Items.Timestamp;Items.Value;Items.Good;Items.Questionable;Items.Substituted;Items.Annotated;UnitsAbbreviation',
      ['Timestamp', 'Value', 'Good', 'Questionable', 'Substituted', 'Annotated'],
      true,
    ],
    ['items.value;ITEMS.TIMESTAMP', ['Timestamp', 'Value'], false],
    ['Items.UnitsAbbreviation;Items.Good', ['UnitsAbbreviation', 'Good'], false],
  ];
  for (const [sf, keys, units] of cases) {
    const r = await get(s, `/streams/${w}/recorded?${range}&selectedFields=${sf}`);
    const want: Record<string, unknown> = { Items: full.Items.map((x) => pick(x, keys)) };
    if (units) want.UnitsAbbreviation = full.UnitsAbbreviation;
    t.equal(r.text, JSON.stringify(want), sf);
  }
  // A path below the items' fields keeps the general shaping.
  const deep = await get(s, `/streams/${w}/recorded?${range}&selectedFields=Items.Value.Name`);
  t.same(deep.json.Items[0], { Value: { Name: (full.Items[0]!.Value as { Name: string }).Name } });
});
