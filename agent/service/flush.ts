/** `pi-agent flush`: through the running service if there is one (one uploader), else here under the writer lock. */
import type { AgentConfig } from '../config/types.js';
import { AgentError } from '../errors.js';
import { openSink } from '../sinks/index.js';
import { openStore } from './agent.js';
import { sendControl } from './control.js';
import type { CommandIo, Outcome } from './outcome.js';
import { flushUnits, type FlushProgress } from './upload.js';

export interface FlushOptions extends CommandIo {
  /** Give up after this many milliseconds (partial, with what is still buffered). */
  timeoutMs: number;
  /** Progress for a terminal, after each unit. */
  progress?: (p: FlushProgress) => void;
}

/** Asks the running service to flush; false when none runs. */
async function flushViaService(config: AgentConfig, o: FlushOptions): Promise<boolean> {
  let final: { ok: boolean; error?: string; units: number; rows: number } | undefined;
  const viaService = await sendControl(
    config.state_dir,
    { cmd: 'flush' },
    (r) => {
      if (r.type === 'progress') o.progress?.({ units: r.units, rows: r.rows, remaining: r.remaining_batches });
      else if (r.type === 'done') final = r.ok ? { ok: true, units: r.units, rows: r.rows } : { ok: false, error: r.error, units: 0, rows: 0 };
    },
    o.timeoutMs,
  );
  if (!viaService) return false;
  if (!final) throw new AgentError('SINK_FAILED', 'the running agent closed the connection before the flush finished; run flush again');
  if (!final.ok) throw new AgentError('SINK_FAILED', `flush failed in the running agent: ${final.error}`);
  o.print(`flushed through the running agent: ${final.units} upload(s), ${final.rows} row(s)\n`);
  return true;
}

export async function flush(config: AgentConfig, o: FlushOptions): Promise<Outcome> {
  if (await flushViaService(config, o)) return 'ok';
  const store = openStore(config);
  let sink;
  try {
    sink = await openSink(config, o.logger);
    const r = await flushUnits(store, sink, { signal: o.signal, deadline: Date.now() + o.timeoutMs, ...(o.progress ? { progress: o.progress } : {}) });
    if (!r.done && o.signal.aborted) return 'interrupted';
    if (!r.done) {
      o.print(`flush timed out: ${r.remaining} batch(es) still buffered\n`);
      return 'partial';
    }
    if (r.units > 0) store.recordSinkState(sink.type, 'ok');
    o.print(`flushed: ${r.units} upload(s), ${r.rows} row(s); buffer empty\n`);
    return 'ok';
  } finally {
    await sink?.close();
    store.close();
  }
}
