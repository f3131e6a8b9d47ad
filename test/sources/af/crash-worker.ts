/**
 * Child process of af-crash.test.ts: runs the AF and event frame sources against the simulator at
 * `url` on the store in `stateDir`, once or in a loop, until killed. Prints `ready` once the store is
 * open and `cycle N` after each complete cycle.
 */
import { extractAf } from '../../../agent/sources/af/extract.js';
import { extractEventFrames } from '../../../agent/sources/eventframes/extract.js';
import { Store } from '../../../agent/store/store.js';
import { PLANT, SITE, UTILITIES, newClient } from '../../helpers/af-harness.js';

const args = JSON.parse(process.argv[2]!) as { url: string; stateDir: string; nowUs: number; startUs: number; loop: boolean; rescanEveryUs: number };
const store = Store.open({ stateDir: args.stateDir, site: SITE });
const client = await newClient(args.url, store);
process.stdout.write('ready\n');
for (let n = 1; ; n++) {
  await extractAf({ site: SITE, client, store, databases: [PLANT, UTILITIES], commitEvery: 200 });
  await extractEventFrames({
    site: SITE,
    client,
    store,
    databases: [PLANT, UTILITIES],
    startUs: args.startUs,
    nowUs: args.nowUs,
    rescanHorizonUs: 7 * 86_400_000_000,
    rescanEveryUs: args.rescanEveryUs,
  });
  process.stdout.write(`cycle ${n}\n`);
  if (!args.loop) break;
}
await client.close();
store.close();
