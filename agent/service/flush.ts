/** `pi-agent flush`: through the running service if there is one (one uploader), else here under the writer lock. */
import type { AgentConfig } from '../config/types.js';
import { AgentError, describeError, isRetryable } from '../errors.js';
import { openSink } from '../sinks/index.js';
import { openStore } from './agent.js';
import { ControlTimeout, sendControl, type ControlReply } from './control.js';
import type { CommandIo, Outcome } from './outcome.js';
import { flushUnits, type FlushProgress } from './upload.js';

export interface FlushOptions extends CommandIo {
  /** Give up after this many milliseconds (partial, with what is still buffered). */
  timeoutMs: number;
  /** Progress for a terminal, after each unit. */
  progress?: (p: FlushProgress) => void;
}

/** What is still buffered, and why, when a flush stops early: partial, nothing is lost. */
function stopped(o: FlushOptions, why: string, remaining: number | undefined, after: string): Outcome {
  const left = remaining === undefined ? 'data is still buffered' : `${remaining} batch(es) still buffered`;
  o.print(`flush stopped: ${why}; ${left}; nothing is lost, ${after}\n`);
  return 'partial';
}

/** Asks the running service to flush; undefined when none runs. */
async function flushViaService(config: AgentConfig, o: FlushOptions): Promise<Outcome | undefined> {
  let final: Extract<ControlReply, { type: 'done' }> | undefined;
  let remaining: number | undefined;
  let viaService: boolean;
  try {
    viaService = await sendControl(
      config.state_dir,
      { cmd: 'flush' },
      (r) => {
        if (r.type === 'progress') {
          remaining = r.remaining_batches;
          o.progress?.({ units: r.units, rows: r.rows, remaining: r.remaining_batches });
        } else if (r.type === 'done') final = r;
      },
      o.timeoutMs,
    );
  } catch (err) {
    if (err instanceof ControlTimeout) return stopped(o, `--timeout reached`, remaining, 'the running agent carries on uploading');
    throw err;
  }
  if (!viaService) return undefined;
  if (!final) throw new AgentError('SINK_FAILED', 'the running agent closed the connection before the flush finished; run flush again');
  if (!final.ok) {
    if (final.retryable) return stopped(o, final.error, final.remaining_batches, 'the running agent keeps retrying');
    throw new AgentError('SINK_FAILED', `flush failed in the running agent: ${final.error}`);
  }
  o.print(`flushed through the running agent: ${final.units} upload(s), ${final.rows} row(s)\n`);
  return 'ok';
}

export async function flush(config: AgentConfig, o: FlushOptions): Promise<Outcome> {
  const outcome = await flushViaService(config, o);
  if (outcome !== undefined) return outcome;
  const store = openStore(config);
  let sink;
  try {
    sink = await openSink(config, o.logger);
    const r = await flushUnits(store, sink, { signal: o.signal, deadline: Date.now() + o.timeoutMs, ...(o.progress ? { progress: o.progress } : {}) });
    if (!r.done && o.signal.aborted) return 'interrupted';
    if (!r.done) return stopped(o, '--timeout reached', r.remaining, 'the next flush or run sends it');
    if (r.units > 0) store.recordSinkState(sink.type, 'ok');
    o.print(`flushed: ${r.units} upload(s), ${r.rows} row(s); buffer empty\n`);
    return 'ok';
  } catch (err) {
    // The sink unreachable or busy: the data waits in the buffer (exit 3); a refusal (credentials,
    // permissions) is a failure the operator must fix (exit 1).
    if (!isRetryable(err)) throw err;
    return stopped(o, describeError(err), store.stats().sealed_batches, 'the next flush or run sends it');
  } finally {
    await sink?.close();
    store.close();
  }
}
