/**
 * Progress spaces are the store's on-disk format: a renamed prefix would orphan every entry written
 * under the old name, so each source's prefixes are pinned here, and no two spaces may overlap (a
 * prefix of another would make one source's reset delete the other's progress).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadSources, SOURCE_SECTIONS } from '../../agent/sources/index.js';
import { clearProgress } from '../../agent/sources/source.js';
import { ProgressCell, ProgressSpace } from '../../agent/store/progress.js';
import { Store } from '../../agent/store/store.js';

const SOURCES = await loadSources();
const keyOf = (p: ProgressSpace<unknown> | ProgressCell<unknown>): string => ('prefix' in p ? p.prefix : p.key);

t.test('every source owns its progress under the prefixes stores hold today', async (t) => {
  const pinned: Record<string, string[]> = {
    tags: ['tag:'],
    timeseries: ['ts:', 'dg:', 'su:', 'updates:state', 'ur:', 'recovery:timeseries'],
    af: ['aft:', 'afe:', 'afa:'],
    event_frames: ['ef:', 'efw:'],
  };
  for (const s of SOURCES) {
    for (const p of s.progress) t.equal(p.owner, s.name, `${keyOf(p)} is owned by ${s.name}`);
    if (pinned[s.name]) t.same(s.progress.map(keyOf), pinned[s.name], `${s.name}'s prefixes`);
  }
  t.same(
    SOURCES.map((s) => s.name),
    ['tags', 'timeseries', 'af', 'event_frames'],
  );
  t.same(
    SOURCES.map((s) => [s.name, s.resetsTags]),
    SOURCE_SECTIONS.map((s) => [s.name, s.resetsTags]),
    'each loaded source is the one its section names',
  );
});

t.test('no space is a prefix of another', async (t) => {
  const all = SOURCES.flatMap((s) => s.progress.map(keyOf));
  const spaces = SOURCES.flatMap((s) => s.progress.filter((p): p is ProgressSpace<unknown> => 'prefix' in p).map((p) => p.prefix));
  for (const a of spaces) for (const b of spaces) if (a !== b) t.notOk(b.startsWith(a), `${b} lies under ${a}`);
  t.equal(new Set(all).size, all.length, 'no key named twice');
});

t.test('a space reads, writes and clears only its own keys', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-progress-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = Store.open({ stateDir: dir, site: 's' });
  t.teardown(() => store.close());
  const a = new ProgressSpace<{ n: number }>('a', 'x:');
  const b = new ProgressSpace<number>('b', 'xy:');
  const cell = new ProgressCell<string>('a', 'x-state');
  store.commitStep([], [a.entry('1', { n: 1 }), a.entry('2', { n: 2 }), b.entry('1', 7), cell.entry('on')]);
  t.same(a.get(store, '2'), { n: 2 });
  t.equal(a.key('9'), 'x:9');
  t.equal(a.idOf('x:9'), '9');
  t.throws(() => a.idOf('xy:9'), /not in space x:/);
  t.same(a.values(store), [{ n: 1 }, { n: 2 }]);
  t.equal(a.count(store), 2, 'counted without the other space under a longer prefix');
  t.equal(b.count(store), 1);
  t.same(b.keys(store), ['xy:1']);
  t.equal(cell.get(store), 'on');
  t.equal(clearProgress(store, { progress: [a, cell] }), 3);
  t.same(a.keys(store), []);
  t.equal(a.count(store), 0);
  t.equal(cell.get(store), undefined);
  t.same(b.keys(store), ['xy:1'], "the other space's keys stay");
});
