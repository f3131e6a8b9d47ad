/**
 * SIGKILL during AF and event frame extraction, then a restart: the destination (every batch applied
 * in order) still equals the simulator's ground truth exactly. The kill points are random; the model
 * changes between runs (rename, move, delete, frames opening and closing, a back-dated frame; the
 * workers rescan event frames hourly on the simulated clock, the final run always).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { prng } from '../../sim/piwebapi/af-util.js';
import { Destination, PLANT, differences, setup } from '../../helpers/af-harness.js';
import { expectedAttributes, expectedElements, actualAf } from '../../helpers/af-expect.js';
import { compareFrames, START_US } from '../../helpers/eventframes-expect.js';
import { bundle } from '../../helpers/bundle.js';

t.test('SIGKILL at random points, then a complete run: exact tables', async (t) => {
  // Bundled once: a child then starts in a fraction of the time `--import tsx` needs.
  const worker = await bundle(t, fileURLToPath(new URL('./crash-worker.ts', import.meta.url)));
  const env = await setup({ seed: 5 });
  t.teardown(() => env.close());
  const af = env.af;
  const sim = env.sim.sim;
  const area = `${PLANT}\\Enterprise 01\\Site 01\\Area 02`;
  for (let i = 0; i < 60; i++) af.addElement({ parent: area, name: `Extra ${String(i).padStart(3, '0')}`, templateName: i % 2 ? 'Pump' : 'ProcessUnit' });
  const seed = Number(process.env['AF_CRASH_SEED'] ?? Date.now() % 100000);
  const rnd = prng(seed);
  const dest = new Destination();
  const drain = () => {
    const store = env.openStore();
    try {
      dest.drain(store);
    } finally {
      store.close();
    }
  };

  const runChild = (loop: boolean, killAfterMs?: number): Promise<{ code: number | null; signal: string | null; cycles: number }> =>
    new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          worker,
          JSON.stringify({ url: env.sim.url, stateDir: env.stateDir, nowUs: sim.nowMs() * 1000, startUs: START_US, loop, rescanEveryUs: loop ? 3_600_000_000 : 0 }),
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let out = '';
      let timer: NodeJS.Timeout | undefined;
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (killAfterMs !== undefined && timer === undefined && out.includes('ready')) {
          timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        }
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code, signal, cycles: (out.match(/cycle/g) ?? []).length });
      });
    });

  const kills: string[] = [];
  for (let i = 0; i < 5; i++) {
    const delay = Math.floor(rnd() * 2000);
    const r = await runChild(true, delay);
    kills.push(`${delay}ms:${r.signal ?? r.code}/${r.cycles}`);
    t.equal(r.signal, 'SIGKILL', `run ${i + 1} killed after ${delay} ms (${r.cycles} complete cycles)`);
    if (rnd() < 0.6) drain();
    // Change the model between runs.
    // Four distinct elements that still exist under their generated names.
    const els = af.truthElements().filter((e) => e.path.startsWith(`${area}\\Extra`));
    const picked: typeof els = [];
    while (picked.length < 4) {
      const e = els[Math.floor(rnd() * els.length)]!;
      if (!picked.includes(e)) picked.push(e);
    }
    af.renameElement(picked[0]!.webId, `Renamed ${i}`);
    af.deleteElement(picked[1]!.webId);
    af.moveElement(picked[2]!.webId, `${PLANT}\\Enterprise 01\\Site 02`);
    if (i === 1) af.openEventFrame({ name: 'Crash test frame', templateName: 'Downtime', startTime: sim.nowMs() - 60_000, refElements: [picked[3]!.webId] });
    if (i === 2) {
      // Back-dated: started and ended before the window; found by a rescan (the final run always rescans).
      const late = af.openEventFrame({ name: 'Late entry', templateName: 'Downtime', startTime: sim.nowMs() - 10 * 3_600_000, refElements: [picked[3]!.webId] });
      af.closeEventFrame(af.webIdOf(late), sim.nowMs() - 9 * 3_600_000);
    }
    if (i === 3) af.closeEventFrame(af.truthEventFrames().find((f) => f.name === 'Crash test frame')!.webId);
    sim.advance('40m');
  }
  t.comment(`AF_CRASH_SEED=${seed} kills: ${kills.join(', ')}`);
  const final = await runChild(false);
  t.equal(final.code, 0, 'the complete run succeeds');
  t.equal(final.cycles, 1);
  drain();

  t.strictSame(differences(actualAf(dest, 'pi_af_elements'), expectedElements(af)), [], 'elements exact');
  t.strictSame(differences(actualAf(dest, 'pi_af_attributes'), expectedAttributes(af)), [], 'attributes exact');
  t.equal(dest.table('pi_af_elements').size, af.truthElements().length);
  compareFrames(t, dest, af, 'event frames after kills');
  const frame = [...dest.table('pi_event_frames').values()].filter((r) => r['name'] === 'Crash test frame');
  t.equal(frame.length, 1, 'the frame opened and closed between kills is one row');
  t.not(frame[0]!['end_time'], null, 'and it is closed');
  t.equal([...dest.table('pi_event_frames').values()].filter((r) => r['name'] === 'Late entry').length, 1, 'the back-dated frame is there');
});
