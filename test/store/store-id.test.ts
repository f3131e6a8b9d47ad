/** The store id (agent/store/store-id.ts): made with the store, kept in it, given to older stores on open. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { STORE_FILE, Store } from '../../agent/store/store.js';

function stateDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-store-id-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a new store has an id of its own, kept across opens; another store has another', async (t) => {
  const a = stateDir(t);
  const b = stateDir(t);
  const s1 = Store.open({ stateDir: a, site: 'plant-a' });
  const id = s1.storeId;
  s1.close();
  t.match(id, /^[0-9a-f]{16}$/);
  const s2 = Store.open({ stateDir: a, site: 'plant-a' });
  t.equal(s2.storeId, id, 'the same store keeps its id');
  s2.close();
  const r = Store.openReadonly({ stateDir: a });
  t.equal(r.storeId, id, 'status reads the same id');
  r.close();
  // A store made after the state directory was lost (same site, same folder) is another store.
  rmSync(a, { recursive: true, force: true });
  const s3 = Store.open({ stateDir: a, site: 'plant-a' });
  const s4 = Store.open({ stateDir: b, site: 'plant-a' });
  t.not(s3.storeId, id, 'a re-created store has a new id');
  t.not(s4.storeId, s3.storeId);
  s3.close();
  s4.close();
});

t.test('a store from before the id (schema version 1) gets one on open and keeps its progress', async (t) => {
  const dir = stateDir(t);
  const s = Store.open({ stateDir: dir, site: 'plant-a' });
  s.commitStep([], [{ key: 'ts:W1', value: { pos: 42 } }]);
  s.close();
  // Make it what a version-1 store is: no store_id in meta, no pi_webids (schema 3), user_version 1.
  const raw = new Database(path.join(dir, STORE_FILE));
  raw.prepare(`DELETE FROM meta WHERE key = 'store_id'`).run();
  raw.exec(`DROP TABLE pi_webids`);
  raw.pragma('user_version = 1');
  raw.close();
  t.throws(() => Store.openReadonly({ stateDir: dir }), { message: /start the agent once to upgrade it/ }, 'status asks for the upgrade');
  const up = Store.open({ stateDir: dir, site: 'plant-a' });
  t.match(up.storeId, /^[0-9a-f]{16}$/);
  t.same(up.getProgress('ts:W1'), { pos: 42 }, 'progress kept');
  up.webIdAliases().save([['I1DPkey', 'P0id']]);
  t.same(up.webIdAliases().all(), [['I1DPkey', 'P0id']], 'schema 3 (pi_webids) added by the same upgrade');
  t.equal(up.webIdAliases().get('I1DPkey'), 'P0id');
  t.equal(up.webIdAliases().get('I1DPother'), undefined);
  t.ok(up.webIdAliases().hasAny());
  const id = up.storeId;
  up.close();
  const again = Store.open({ stateDir: dir, site: 'plant-a' });
  t.equal(again.storeId, id, 'the id made by the migration is kept');
  again.close();
});
