/**
 * Child process of crash.test.ts: a producer that loops commitStep + forwardAll into a directory
 * sink until it is SIGKILLed. With PI_AGENT_CRASH_FINISH=1 it produces nothing more, drains the
 * store and exits. Row `seq` numbers come from the durable progress, so after any number of kills
 * the directory must hold seq 0..gen-1 exactly once.
 *
 *   node child.js <stateDir> <outDir>
 */
import { DirectorySink } from '../../agent/sinks/directory/sink.js';
import { forwardAll } from '../../agent/sinks/forward.js';
import { Store } from '../../agent/store/store.js';
import type { Row } from '../../agent/batch/tables.js';

const [stateDir, outDir] = process.argv.slice(2) as [string, string];
const finish = process.env.PI_AGENT_CRASH_FINISH === '1';
const store = Store.open({ stateDir, site: 'crash' });
const sink = new DirectorySink(outDir);
process.stdout.write('ready\n');

function row(seq: number): Row {
  return {
    site: 'crash',
    tag_webid: `T${seq % 7}`,
    timestamp: 1_780_000_000_000_000 + seq * 1_000,
    ordinal: seq % 2,
    value_int: seq,
    value_double: seq / 3,
    good: true,
    ingested_at: 1_795_000_000_000_000,
    op: 'insert',
  };
}

if (finish) {
  await forwardAll(store, sink);
} else {
  for (;;) {
    const next = store.getProgress<number>('gen') ?? 0;
    const k = 1 + Math.floor(Math.random() * 150);
    store.commitStep([{ table: 'pi_timeseries', rows: Array.from({ length: k }, (_, i) => row(next + i)) }], [{ key: 'gen', value: next + k }]);
    process.stdout.write('step\n');
    if (Math.random() < 0.8) {
      const r = await forwardAll(store, sink, { maxBatches: 1 + Math.floor(Math.random() * 4), maxUnits: 1 + Math.floor(Math.random() * 3) });
      process.stdout.write(`units ${r.units}\n`);
    }
  }
}
const stats = store.stats();
store.close();
process.stdout.write(`done ${JSON.stringify(stats)}\n`);
