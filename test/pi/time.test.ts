import t from 'tap';
import { formatPiTime, parseDuration, parsePiTimestamp, parsePiTimestampGeneral } from '../../agent/pi/time.js';

const base = Date.UTC(2022, 1, 18, 15, 10, 8) * 1000; // 2022-02-18T15:10:08Z in µs

t.test('parses 0 to 7 fractional digits exactly', async (t) => {
  t.same(parsePiTimestamp('2022-02-18T15:10:08Z'), { us: base, ticks: 0 });
  t.same(parsePiTimestamp('2022-02-18T15:10:08.8Z'), { us: base + 800_000, ticks: 0 });
  t.same(parsePiTimestamp('2022-02-18T15:10:08.875Z'), { us: base + 875_000, ticks: 0 });
  t.same(parsePiTimestamp('2022-02-18T15:10:08.875762Z'), { us: base + 875_762, ticks: 0 });
  t.same(parsePiTimestamp('2022-02-18T15:10:08.8757629Z'), { us: base + 875_762, ticks: 9 });
  t.same(parsePiTimestamp('2022-02-18T15:10:08.0000001Z'), { us: base, ticks: 1 });
});

t.test('offsets convert to UTC', async (t) => {
  t.same(parsePiTimestamp('2022-02-18T16:10:08.5+01:00'), { us: base + 500_000, ticks: 0 });
  t.same(parsePiTimestamp('2022-02-18T10:40:08-0430'), { us: base, ticks: 0 });
});

t.test('distinct 1/65536 s PI times stay distinct in µs', async (t) => {
  const seen = new Set<number>();
  for (let k = 0; k < 65536; k++) {
    const ticks = Math.round((k * 1e7) / 65536); // how PI renders k/65536 s with 7 digits
    const s = k === 0 ? '2024-06-01T00:00:00Z' : `2024-06-01T00:00:00.${String(ticks).padStart(7, '0')}Z`;
    seen.add(parsePiTimestamp(s).us);
  }
  t.equal(seen.size, 65536);
});

t.test('edges of the PI range and the open event frame end', async (t) => {
  t.same(parsePiTimestamp('1970-01-01T00:00:00Z'), { us: 0, ticks: 0 });
  t.same(parsePiTimestamp('1969-12-31T23:59:59.9999999Z'), { us: -1, ticks: 9 });
  t.same(parsePiTimestamp('2038-01-19T03:14:07Z'), { us: 2147483647 * 1e6, ticks: 0 });
  t.equal(parsePiTimestamp('9999-12-31T23:59:59Z').us, 253402300799 * 1e6);
  t.equal(formatPiTime(253402300799 * 1e6), '9999-12-31T23:59:59Z');
  t.equal(parsePiTimestamp('0001-01-01T00:00:00Z').us, -62135596800 * 1e6);
});

t.test('rejects what PI never sends', async (t) => {
  for (const bad of [
    '2022-02-18',
    '2022-02-18T15:10:08',
    '2022-02-18T15:10:08.12345678Z',
    '2022-02-30T00:00:00Z',
    '2022-02-18T24:00:00Z',
    '2022-02-18 15:10:08Z',
    '*-1d',
    '',
  ]) {
    t.throws(() => parsePiTimestamp(bad), { code: 'PI_BAD_RESPONSE' }, bad);
  }
});

t.test('the fast UTC path equals the general path for every form PI emits', async (t) => {
  // Deterministic pseudo-random times over 0001–9999, every fraction length 0–7, leap days, month ends.
  let x = 12345;
  const rnd = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  const pad = (v: number, w: number) => String(v).padStart(w, '0');
  const cases: string[] = [
    '2024-02-29T23:59:59.9999999Z',
    '2000-02-29T00:00:00Z',
    '1900-03-01T00:00:00Z',
    '2026-12-31T23:59:59.5Z',
    '0001-01-01T00:00:00.0000001Z',
    '1969-12-31T23:59:59.999Z',
  ];
  for (let i = 0; i < 20000; i++) {
    const y = i % 3 === 0 ? 1 + rnd(9999) : 1960 + rnd(90);
    const mo = 1 + rnd(12);
    const d = 1 + rnd(28);
    const digits = rnd(8);
    const frac = digits === 0 ? '' : `.${pad(rnd(10 ** digits), digits)}`;
    cases.push(`${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(rnd(24), 2)}:${pad(rnd(60), 2)}:${pad(rnd(60), 2)}${frac}Z`);
  }
  let same = 0;
  for (const s of cases) if (JSON.stringify(parsePiTimestamp(s)) === JSON.stringify(parsePiTimestampGeneral(s))) same++;
  t.equal(same, cases.length, `${cases.length} timestamps parse identically`);
  t.same(parsePiTimestamp('2026-01-01T00:00:05Z'), { us: Date.UTC(2026, 0, 1, 0, 0, 5) * 1000, ticks: 0 });
  t.same(parsePiTimestamp('2026-01-01T00:00:05.0000152Z'), { us: Date.UTC(2026, 0, 1, 0, 0, 5) * 1000 + 15, ticks: 2 });
  // Malformed in ways only the fast path's shape checks see: each must still be refused.
  for (const bad of [
    '2023-02-29T00:00:00Z',
    '2022-04-31T00:00:00Z',
    '2022-13-01T00:00:00Z',
    '2022-00-10T00:00:00Z',
    '2022-01-00T00:00:00Z',
    '2022-01-01T00:60:00Z',
    '2022-01-01T00:00:60Z',
    '2022-01-01T00:00:00.Z',
    '2022-01-01T00:00:00,5Z',
    '2022-01-01T00:00:00.5aZ',
    '2O22-01-01T00:00:00Z',
    '2022-01-01T00:00:00.1234567 Z',
  ]) {
    t.throws(() => parsePiTimestamp(bad), { code: 'PI_BAD_RESPONSE' }, bad);
  }
});

t.test('formatPiTime writes UTC with Z and round-trips', async (t) => {
  t.equal(formatPiTime(base), '2022-02-18T15:10:08Z');
  t.equal(formatPiTime(base + 875_762), '2022-02-18T15:10:08.875762Z');
  t.equal(formatPiTime(base + 875_762, 9), '2022-02-18T15:10:08.8757629Z');
  t.equal(formatPiTime(base + 500_000), '2022-02-18T15:10:08.5Z');
  t.equal(formatPiTime(-1, 9), '1969-12-31T23:59:59.9999999Z');
  for (const s of ['2022-02-18T15:10:08.8757629Z', '1969-12-31T23:59:59.0000001Z', '2038-01-19T03:14:07.5Z']) {
    const p = parsePiTimestamp(s);
    t.equal(formatPiTime(p.us, p.ticks), s);
  }
  t.throws(() => formatPiTime(1.5));
  t.throws(() => formatPiTime(0, 10));
});

t.test('parseDuration', async (t) => {
  t.equal(parseDuration('45s'), 45_000);
  t.equal(parseDuration('30m'), 1_800_000);
  t.equal(parseDuration('2h'), 7_200_000);
  t.equal(parseDuration('1d'), 86_400_000);
  t.equal(parseDuration('1w'), 604_800_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('1h 30m'), 5_400_000);
  t.equal(parseDuration('1.5h'), 5_400_000);
  for (const bad of ['', '2', 'h', '2x', '-1h', '2h garbage', '1 d d']) {
    t.throws(() => parseDuration(bad), { code: 'CONFIG_INVALID' }, bad);
  }
});
