/**
 * `pi-agent run`: the long-running service (design.md "Process model"). node-cron triggers the
 * sources (a cycle never overlaps itself); the sink loop runs continuously with backoff; the
 * control endpoint serves `flush` and `status`; SIGTERM stops scheduling, lets in-flight work finish
 * or abandons it safely (progress only ever moves with durable rows), and closes the store.
 */
import { hostname } from 'node:os';
import { schedule, type ScheduledTask } from 'node-cron';
import type { AgentConfig } from '../config/types.js';
import { describeError, isRetryable } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { backoffDelay } from '../sinks/forward.js';
import { heartbeatIntervalMs } from '../sinks/index.js';
import { enabledSources, type CycleReport, type Source } from '../sources/index.js';
import { VERSION } from '../version.js';
import { startControlServer, type ControlReply } from './control.js';
import { openAgent, type Agent } from './agent.js';
import { writeHeartbeat } from './heartbeat.js';
import { agentMetrics } from './metrics.js';
import { recoverSource } from './recovery.js';
import { claimSite } from './takeover.js';
import { serveMetrics } from '../observe/metrics.js';
import type { Outcome } from './outcome.js';
import { flushUnits, uploadBuffered } from './upload.js';

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Serialises uploads: the sink loop and `flush` never upload at the same time (one uploader). */
class Uploader {
  private chain: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }
}

/** The scheduled cycles of the enabled sources: one at a time each (a trigger while one runs is skipped). */
async function sourceCycles(
  agent: Agent,
  signal: AbortSignal,
  track: <T>(p: Promise<T>) => Promise<T>,
  after: (r: CycleReport) => void,
): Promise<{ source: Source; run: () => Promise<void> }[]> {
  return (await enabledSources(agent.config)).map((source) => {
    let busy = false;
    const run = async (): Promise<void> => {
      if (busy || signal.aborted) {
        if (busy) agent.logger.debug({ source: source.name }, 'previous cycle still running; skipped');
        return;
      }
      busy = true;
      try {
        await recoverSource(agent, source);
        after(await track(source.runCycle(agent, signal)));
      } catch (err) {
        agent.logger.error({ source: source.name, err: describeError(err) }, `${source.name} cycle failed`);
      } finally {
        busy = false;
      }
    };
    return { source, run };
  });
}

/** Writes a heartbeat row now and every interval; stop with clearInterval. */
function startHeartbeat(agent: Agent): NodeJS.Timeout {
  const beat = (): void => {
    try {
      writeHeartbeat(agent.config, agent.store);
    } catch (err) {
      agent.logger.warn({ err: describeError(err) }, 'cannot write the heartbeat row');
    }
  };
  beat();
  const timer = setInterval(beat, heartbeatIntervalMs(agent.config));
  timer.unref();
  return timer;
}

export async function runService(config: AgentConfig, logger: Logger, signal: AbortSignal, opts: { takeOver?: boolean } = {}): Promise<Outcome> {
  const agent = await openAgent(config, logger);
  await claimSite(agent, opts).catch(async (err: unknown) => {
    await agent.close();
    throw err;
  });
  const uploader = new Uploader();
  const running = new Set<Promise<unknown>>();
  let wakeSink: (() => void) | undefined;
  const track = <T>(p: Promise<T>): Promise<T> => {
    running.add(p);
    void p.finally(() => running.delete(p)).catch(() => undefined);
    return p;
  };
  const totals = { values: 0, commits: 0 };
  const cycles = await sourceCycles(agent, signal, track, (r) => {
    totals.values += r.values ?? 0;
    wakeSink?.();
  });

  const metrics = config.metrics.enabled
    ? await serveMetrics(agentMetrics(agent, { valuesExtracted: () => totals.values, commits: () => totals.commits }), {
        port: config.metrics.port,
        host: config.metrics.host,
      })
    : undefined;
  if (metrics) logger.info({ url: `http://127.0.0.1:${metrics.port}/metrics` }, 'metrics served');

  const control = await startControlServer(config.state_dir, async (req, reply) => {
    if (req.cmd === 'ping') return reply({ type: 'pong', pid: process.pid });
    if (req.cmd === 'flush') await flushWith(agent, uploader, reply, signal);
  });

  logger.info({ version: VERSION, host: hostname(), pid: process.pid, state_dir: config.state_dir, sink: agent.sink.type }, 'pi-agent started');
  // Config warnings are not repeated here: the CLI session already wrote them once to the terminal
  // and once to the log file (agent/cli/session.ts); logging them again printed them twice.

  const tasks: ScheduledTask[] = cycles.map((c) => schedule(c.source.schedule(config), c.run, { name: c.source.name }));
  // First cycle right away, not at the next cron tick, in SOURCES order.
  void (async () => {
    for (const c of cycles) await c.run();
  })();
  const heartbeat = startHeartbeat(agent);
  const sinkLoop = track(
    sinkForever(
      agent,
      uploader,
      signal,
      (wake) => {
        wakeSink = wake;
      },
      (units) => {
        totals.commits += units;
      },
    ),
  );

  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info('stopping: finishing in-flight work');
  for (const t of tasks) await t.stop();
  clearInterval(heartbeat);
  wakeSink?.();
  await Promise.allSettled([...running, sinkLoop]);
  await control.close();
  await metrics?.close();
  await agent.close();
  logger.info('pi-agent stopped');
  return 'ok';
}

/** Uploads whatever is buffered, forever; backs off on failures, keeps the data whatever happens. */
async function sinkForever(agent: Agent, uploader: Uploader, signal: AbortSignal, setWake: (w: () => void) => void, onCommitted: (units: number) => void): Promise<void> {
  let attempt = 0;
  let wake: AbortController = new AbortController();
  setWake(() => wake.abort());
  while (!signal.aborted) {
    try {
      const r = await uploader.run(() => uploadBuffered(agent, signal));
      onCommitted(r.units);
      attempt = 0;
      agent.store.recordSinkState(agent.sink.type, agent.store.stats().sealed_batches > 0 ? 'ok' : 'idle');
      wake = new AbortController();
      // Poll for new batches (cheap) unless a finished source cycle wakes us first.
      await sleep(5000, AbortSignal.any([signal, wake.signal]));
    } catch (err) {
      const retryable = isRetryable(err);
      // Permanent errors (bad credentials, privileges) are retried too, slowly: an operator may fix
      // them without restarting the agent, and the data stays buffered meanwhile.
      const delay = retryable ? backoffDelay(attempt++, { baseMs: 2000, maxMs: 10 * 60_000 }) : 5 * 60_000;
      agent.store.recordSinkState(agent.sink.type, retryable ? 'retrying' : 'failed', describeError(err));
      agent.logger.warn(
        { sink: agent.sink.type, err: describeError(err), retry_in_s: Math.round(delay / 1000) },
        retryable ? 'sink unavailable; data kept, retrying' : 'sink failed; data kept, fix the problem (see the error)',
      );
      wake = new AbortController();
      await sleep(delay, AbortSignal.any([signal, wake.signal]));
    }
  }
}

async function flushWith(agent: Agent, uploader: Uploader, reply: (r: ControlReply) => void, signal: AbortSignal): Promise<void> {
  try {
    const r = await uploader.run(() =>
      flushUnits(agent.store, agent.sink, {
        signal,
        progress: (p) => reply({ type: 'progress', units: p.units, rows: p.rows, remaining_batches: p.remaining }),
      }),
    );
    reply({ type: 'done', ok: true, units: r.units, rows: r.rows });
  } catch (err) {
    reply({ type: 'done', ok: false, error: describeError(err), retryable: isRetryable(err), remaining_batches: agent.store.stats().sealed_batches });
  }
}
