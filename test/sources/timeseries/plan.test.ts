/**
 * Request planning alone (plan.ts): each tag's first window, how tags are grouped into requests and
 * what each asks, the timeout splitting (half the window, tags and maxCount; the floor; growing
 * back), and the server's maxCount cap. No reader, no store: cursors in, requests out.
 */
import t from 'tap';
import { PiError } from '../../../agent/errors.js';
import type { AppliedPage } from '../../../agent/sources/timeseries/apply.js';
import { lowerMaxCount, RequestPlan, type Cursor, type PlanOptions } from '../../../agent/sources/timeseries/plan.js';

const S = Date.UTC(2026, 0, 1) * 1000;
const MIN = 60_000_000;
const NOW = S + 60 * MIN;
const O: PlanOptions = { nowUs: NOW, startUs: S, lookbackUs: 10 * MIN, lookbackEveryUs: 15 * MIN, tagsPerRequest: 4, maxCount: 1000, maxValuesPerRequest: 2000 };
/** The whole window of a tag never read: [S, NOW], both inclusive. */
const WHOLE = 60 * MIN + 1;

const tag = (webId: string) => ({ webId });
const limitError = (max: number) => new PiError('PI_LIMIT_EXCEEDED', `Parameter 'maxCount' is greater than the maximum allowed (${max}).`, { status: 400, limit: max });

/** A plan with tags never read (rates unknown), queued in order. */
function planOf(ids: string[], o: Partial<PlanOptions> = {}): { plan: RequestPlan; cursors: Cursor[] } {
  const plan = new RequestPlan({ ...O, ...o });
  const cursors = ids.map((id) => plan.open(tag(id), { pos: null }, undefined)!);
  for (const c of cursors) plan.push(c);
  return { plan, cursors };
}

/** The applied page `follow` needs: the tag read up to `pageNext`. */
function page(pageNext: number, kind: 'done' | 'more' = 'done'): AppliedPage {
  return { kind, rows: [], progress: [], deleteKeys: [], next: { pos: pageNext, digest: [], rate: 1 }, pageNext, rereadDone: false, inserts: 0, updates: 0, deletes: 0 };
}

const asks = (group: Cursor[]) => group.map((c) => [c.tag.webId, c.maxCount]);

t.test("each tag's first window: new, not due, due, narrowed by stream updates, read ahead, past the end", async (t) => {
  const plan = new RequestPlan(O);
  t.same(
    plan.open(tag('new'), { pos: null }, undefined),
    { tag: tag('new'), pos0: null, pos: null, start: S, rate: undefined, reread: true, full: true, maxCount: 1000, split: 0, span: WHOLE, streak: 0 },
    'never read: the whole history from the start, a whole re-read',
  );
  t.same(
    plan.open(tag('quiet'), { pos: S + 50 * MIN, lastReread: S + 55 * MIN, rate: 2 }, undefined),
    { tag: tag('quiet'), pos0: S + 50 * MIN, pos: S + 50 * MIN, start: S + 50 * MIN, rate: 2, reread: false, maxCount: 1000, split: 0, span: 10 * MIN + 1, streak: 0 },
    'not due (re-read 5 min ago, every 15): from the watermark',
  );
  const due = plan.open(tag('due'), { pos: S + 50 * MIN, lastReread: S + 40 * MIN }, undefined)!;
  t.same([due.start, due.reread, due.full], [S + 30 * MIN, true, true], "due: from the last re-read's horizon (40 − 10 min)");

  const head = { pos: S + 58 * MIN, lastReread: S + 50 * MIN };
  const narrowed = plan.open(tag('B'), head, new Map([['B', S + 55 * MIN]]))!;
  t.same([narrowed.start, narrowed.reread, narrowed.full], [S + 55 * MIN, true, undefined], 'narrowed: from the oldest change PI reported');
  const quietPoll = plan.open(tag('B'), head, new Map([['B', Number.POSITIVE_INFINITY]]))!;
  t.same([quietPoll.start, quietPoll.reread, quietPoll.full], [S + 58 * MIN, true, undefined], 'no change reported: from the watermark, still a re-read');
  const whole = plan.open(tag('B'), head, new Map([['B', Number.NEGATIVE_INFINITY]]))!;
  t.same([whole.start, whole.reread, whole.full], [S + 40 * MIN, true, true], '-Infinity: the whole window, due whatever the interval says');
  const readAhead = plan.open(tag('B'), { pos: S + 59 * MIN, lastReread: NOW }, new Map([['B', Number.POSITIVE_INFINITY]]))!;
  t.same(
    [readAhead.start, readAhead.reread, readAhead.full],
    [S + 59 * MIN, false, undefined],
    're-read read ahead with its poll (lastReread = now): the rest of its page, a plain read',
  );
  t.same(plan.open(tag('new'), { pos: null }, new Map([['new', S + 55 * MIN]]))!.start, S, 'a tag never read ignores narrowFrom');
  t.equal(plan.open(tag('ahead'), { pos: NOW + 5, lastReread: NOW }, undefined), undefined, 'past the end: nothing to read');
  t.equal(plan.pending, false, 'open queues nothing');
});

t.test('groups: at most tagsPerRequest tags and maxValuesPerRequest values; unknown rates share what known ones leave', async (t) => {
  const { plan } = planOf(['U1', 'U2', 'U3', 'U4', 'U5', 'U6']);
  // minShare = max(100, 2000 / 4) = 500: four unknown tags fill a request at 500 each.
  t.same(asks(plan.takeGroup()), [
    ['U1', 500],
    ['U2', 500],
    ['U3', 500],
    ['U4', 500],
  ]);
  // Two left: 2000 / 2 = 1000 each (maxCount 1000).
  t.same(asks(plan.takeGroup()), [
    ['U5', 1000],
    ['U6', 1000],
  ]);
  t.same(plan.takeGroup(), [], 'queue empty');
  t.equal(plan.pending, false);

  const mixed = new RequestPlan(O);
  // Not due, 10 min + 1 µs to read at 0.5/s: ceil(300.0000005 × 1.2) + 20 = 381.
  mixed.push(mixed.open(tag('K'), { pos: S + 50 * MIN, lastReread: S + 55 * MIN, rate: 0.5 }, undefined)!);
  for (const id of ['U1', 'U2', 'U3']) mixed.push(mixed.open(tag(id), { pos: null }, undefined)!);
  const g = mixed.takeGroup();
  // The unknown three share 2000 − 381: floor(1619 / 3) = 539 each.
  t.same(asks(g), [
    ['K', 381],
    ['U1', 539],
    ['U2', 539],
    ['U3', 539],
  ]);
  t.same(mixed.request(g[0]!), { webId: 'K', startUs: S + 50 * MIN, endUs: NOW, maxCount: 381 });

  const fast = new RequestPlan(O);
  // 2/s over 10 min asks ceil(1440.0000024) + 20 = 1461, capped at maxCount 1000: two fill a request.
  for (const id of ['F1', 'F2', 'F3']) fast.push(fast.open(tag(id), { pos: S + 50 * MIN, lastReread: S + 55 * MIN, rate: 2 }, undefined)!);
  t.same(asks(fast.takeGroup()), [
    ['F1', 1000],
    ['F2', 1000],
  ]);
  t.same(asks(fast.takeGroup()), [['F3', 1000]]);
});

t.test('timeouts: half the window, half the tags per request, half the maxCount; a floor; the window grows back', async (t) => {
  const { plan } = planOf(['U1', 'U2', 'U3', 'U4'], { maxTimeoutSplits: 2 });
  const first = plan.takeGroup();
  t.same(
    first.map((c) => plan.request(c)),
    ['U1', 'U2', 'U3', 'U4'].map((webId) => ({ webId, startUs: S, endUs: NOW, maxCount: 500 })),
  );
  for (const c of first) t.equal(plan.split(c), true, `${c.tag.webId} split`);
  const half = Math.floor(WHOLE / 2);
  const second = plan.takeGroup();
  // tagsPerRequest >> 1 = 2 tags; the two share 2000 (1000 each), halved: 500.
  t.same(
    second.map((c) => plan.request(c)),
    ['U1', 'U2'].map((webId) => ({ webId, startUs: S, endUs: S + half - 1, maxCount: 500 })),
  );
  t.same([second[0]!.split, second[0]!.span, second[0]!.timedOut, second[0]!.streak], [1, half, WHOLE, 0]);

  // U1 times out again: a quarter of the window, and the smallest window that timed out is the half.
  t.equal(plan.split(second[0]!), true);
  // U2 passes twice: its window doubles back to the end (half × 2 = WHOLE − 1 < WHOLE, which timed out).
  const u2 = second[1]!;
  t.equal(plan.follow(u2, plan.windowEnd(u2), page(S + half)), true, 'more to read after the half window');
  const third = plan.takeGroup();
  t.same(
    third.map((c) => c.tag.webId),
    ['U3', 'U4'],
    'the other half of the first request',
  );
  const quarter = Math.floor(half / 2);
  const fourth = plan.takeGroup();
  // tagsPerRequest >> 2 = 1 tag, asking 2000 (its whole share) / 4, at most maxCount / 4: 250.
  t.same(
    fourth.map((c) => plan.request(c)),
    [{ webId: 'U1', startUs: S, endUs: S + quarter - 1, maxCount: 250 }],
    'a quarter of the window, the tags and the maxCount',
  );
  const u1q = fourth[0]!;
  t.same([u1q.split, u1q.span, u1q.timedOut], [2, quarter, half]);
  const fifth = plan.takeGroup();
  // U2's rate is known now (1/s): it asks for its half window, ceil(1800 × 1.2) + 20, capped at 1000.
  t.same(
    fifth.map((c) => plan.request(c)),
    [{ webId: 'U2', startUs: S + half, endUs: S + 2 * half - 1, maxCount: 1000 }],
    'U2 still at half after one success',
  );
  const u2b = fifth[0]!;
  t.same([u2b.split, u2b.streak], [1, 1]);
  t.equal(plan.follow(u2b, plan.windowEnd(u2b), page(S + 2 * half)), true);
  const grown = plan.takeGroup();
  // The 1 µs left at 1/s: the smallest known ask, 32.
  t.same(
    grown.map((c) => plan.request(c)),
    [{ webId: 'U2', startUs: S + 2 * half, endUs: NOW, maxCount: 32 }],
    'two successes: the window grew back to the end',
  );
  t.same([grown[0]!.split, grown[0]!.span, grown[0]!.streak], [0, 2 * half, 0]);
  t.equal(plan.follow(grown[0]!, NOW, page(NOW + 1)), false, 'done at the end');

  // U1 at the floor (2 splits): a third timeout fails it.
  t.equal(plan.split(u1q), false, 'at the floor the tag fails');
  // A window never grows back to a size that timed out: U1's quarter doubles to the half, which did.
  t.equal(plan.follow(u1q, plan.windowEnd(u1q), page(S + quarter)), true);
  const next = plan.takeGroup()[0]!;
  t.equal(plan.follow(next, plan.windowEnd(next), page(S + 2 * quarter)), true);
  const after = plan.takeGroup()[0]!;
  t.same([after.split, after.span, after.streak, after.start], [2, quarter, 2, S + 2 * quarter], 'still a quarter after two successes: the half timed out');
});

t.test("the server's maxCount cap: the refused page asks PI's limit, every later page at most that", async (t) => {
  const { plan } = planOf(['U1', 'U2', 'U3', 'U4', 'U5', 'U6']);
  const [u1] = plan.takeGroup();
  t.equal(plan.lowerCap(u1!, new PiError('PI_TIMEOUT', 'slow')), false, 'not a limit error: not handled here');
  t.equal(plan.lowerCap(u1!, limitError(300)), true);
  const g = plan.takeGroup();
  // U5, U6 would share 850 each (2000 − U1's 300, halved): capped at 300; U1 pinned at 300.
  t.same(asks(g), [
    ['U5', 300],
    ['U6', 300],
    ['U1', 300],
  ]);
  t.same(g[2]!.pinned, true);

  // A crowded timestamp under the cap grows to it; at the cap the tag fails with why.
  const c = g[0]!;
  t.equal(plan.grow({ ...c, maxCount: 100 }, 400), undefined);
  t.same(asks(plan.takeGroup()), [['U5', 300]], 'grown to the cap, not past it');
  const err = plan.grow(c, 1200);
  t.match(err, { code: 'PI_LIMIT_EXCEEDED', message: 'more than 300 events share one timestamp and the server returns at most 300 per call' });
  t.equal(plan.pending, false, 'a tag that cannot grow is not queued again');

  const uncapped = planOf(['A']).plan;
  const [a] = uncapped.takeGroup();
  t.equal(uncapped.grow(a!, 8000), undefined);
  t.same(asks(uncapped.takeGroup()), [['A', 8000]], 'no cap yet: the grown maxCount as asked (pinned, past maxValuesPerRequest)');
});

t.test("lowerMaxCount: PI's named limit, else half; nothing below 1 or for other errors", async (t) => {
  t.equal(lowerMaxCount(limitError(300), 1000), 300);
  t.equal(lowerMaxCount(limitError(1500), 1000), 500, 'a named limit not below the ask: half');
  t.equal(lowerMaxCount(new PiError('PI_LIMIT_EXCEEDED', 'too many', { status: 400 }), 999), 499, 'no limit named: half');
  t.equal(lowerMaxCount(limitError(300), 1), undefined);
  t.equal(lowerMaxCount(new PiError('PI_LIMIT_EXCEEDED', 'body too large', { status: 413 }), 1000), undefined, '413 is not maxCount');
  t.equal(lowerMaxCount(new Error('maximum allowed (300)'), 1000), undefined);
  t.equal(lowerMaxCount(undefined, 1000), undefined);
});
