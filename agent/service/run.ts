/**
 * `pi-agent run`: the long-running service (design.md "Process model"). node-cron triggers the
 * sources (a cycle never overlaps itself); the sink loop runs continuously with backoff; the
 * control endpoint serves `flush` and `status`; SIGTERM stops scheduling, lets in-flight work finish
 * or abandons it safely (progress only ever moves with durable rows), and closes the store.
 */
import { hostname } from 'node:os';
import { schedule, type ScheduledTask } from 'node-cron';
import type { AgentConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { backoffDelay, forwardAll } from '../sinks/forward.js';
import { VERSION } from '../version.js';
import { startControlServer, type ControlReply } from './control.js';
import { forwardOptions, openAgent, runAfSource, runEventFramesSource, runSink, runTagsSource, runTimeseriesSource, type Agent } from './cycle.js';
import { heartbeatIntervalMs, writeHeartbeat } from './heartbeat.js';
import { agentMetrics } from './metrics.js';
import { serveMetrics } from '../observe/metrics.js';

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

export async function runService(config: AgentConfig, logger: Logger, signal: AbortSignal): Promise<number> {
  const agent = await openAgent(config, logger);
  const uploader = new Uploader();
  const tasks: ScheduledTask[] = [];
  const running = new Set<Promise<unknown>>();
  let wakeSink: (() => void) | undefined;
  const track = <T>(p: Promise<T>): Promise<T> => {
    running.add(p);
    void p.finally(() => running.delete(p)).catch(() => undefined);
    return p;
  };

  // One cycle at a time per source; a trigger while one runs is skipped (logged).
  const cycle = (name: string, fn: () => Promise<unknown>) => {
    let busy = false;
    return async () => {
      if (busy || signal.aborted) {
        if (busy) logger.debug({ source: name }, 'previous cycle still running; skipped');
        return;
      }
      busy = true;
      try {
        await track(fn());
        wakeSink?.();
      } catch (err) {
        logger.error({ source: name, err: describeError(err) }, `${name} cycle failed`);
      } finally {
        busy = false;
      }
    };
  };
  const tagsCycle = cycle('tags', () => runTagsSource(agent));
  const totals = { values: 0, commits: 0 };
  const tsCycle = config.timeseries ? cycle('timeseries', async () => { totals.values += (await runTimeseriesSource(agent, signal)).values; }) : undefined;

  const metrics = config.metrics.enabled
    ? await serveMetrics(agentMetrics(agent, { valuesExtracted: () => totals.values, commits: () => totals.commits }), { port: config.metrics.port, host: config.metrics.host })
    : undefined;
  if (metrics) logger.info({ url: `http://127.0.0.1:${metrics.port}/metrics` }, 'metrics served');

  const control = await startControlServer(config.state_dir, async (req, reply) => {
    if (req.cmd === 'ping') return reply({ type: 'pong', pid: process.pid });
    if (req.cmd === 'flush') await flushWith(agent, uploader, reply, signal);
  });

  logger.info({ version: VERSION, host: hostname(), pid: process.pid, state_dir: config.state_dir, sink: config.sink.type }, 'pi-agent started');
  // Config warnings are not repeated here: the CLI session already wrote them once to the terminal
  // and once to the log file (agent/cli/session.ts); logging them again printed them twice.

  tasks.push(schedule(config.tags_refresh, tagsCycle, { name: 'tags' }));
  if (tsCycle && config.timeseries) tasks.push(schedule(config.timeseries.schedule, tsCycle, { name: 'timeseries' }));
  const afCycle = config.af ? cycle('af', () => runAfSource(agent, signal)) : undefined;
  const efCycle = config.event_frames ? cycle('event_frames', () => runEventFramesSource(agent, signal)) : undefined;
  if (afCycle && config.af) tasks.push(schedule(config.af.schedule, afCycle, { name: 'af' }));
  if (efCycle && config.event_frames) tasks.push(schedule(config.event_frames.schedule, efCycle, { name: 'event_frames' }));

  // First cycle right away, not at the next cron tick.
  void (async () => {
    await tagsCycle();
    await tsCycle?.();
    await afCycle?.();
    await efCycle?.();
  })();

  const beat = () => {
    try {
      writeHeartbeat(config, agent.store);
    } catch (err) {
      logger.warn({ err: describeError(err) }, 'cannot write the heartbeat row');
    }
  };
  beat();
  const heartbeat = setInterval(beat, heartbeatIntervalMs(config));
  heartbeat.unref();

  const sinkLoop = track(sinkForever(agent, uploader, signal, (wake) => { wakeSink = wake; }, (units) => { totals.commits += units; }));

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
  return 0;
}

/** Uploads whatever is buffered, forever; backs off on failures, keeps the data whatever happens. */
async function sinkForever(agent: Agent, uploader: Uploader, signal: AbortSignal, setWake: (w: () => void) => void, onCommitted: (units: number) => void): Promise<void> {
  let attempt = 0;
  let wake: AbortController = new AbortController();
  setWake(() => wake.abort());
  while (!signal.aborted) {
    try {
      const r = await uploader.run(() => runSink(agent, signal));
      onCommitted(r.units);
      attempt = 0;
      agent.store.recordSinkState(agent.sink.type, agent.store.stats().sealed_batches > 0 ? 'ok' : 'idle');
      wake = new AbortController();
      // Poll for new batches (cheap) unless a finished source cycle wakes us first.
      await sleep(5000, AbortSignal.any([signal, wake.signal]));
    } catch (err) {
      const retryable = (err as { retryable?: unknown }).retryable === true;
      // Permanent errors (bad credentials, privileges) are retried too, slowly: an operator may fix
      // them without restarting the agent, and the data stays buffered meanwhile.
      const delay = retryable ? backoffDelay(attempt++, { baseMs: 2000, maxMs: 10 * 60_000 }) : 5 * 60_000;
      agent.store.recordSinkState(agent.sink.type, retryable ? 'retrying' : 'failed', describeError(err));
      agent.logger.warn({ sink: agent.sink.type, err: describeError(err), retry_in_s: Math.round(delay / 1000) }, retryable ? 'sink unavailable; data kept, retrying' : 'sink failed; data kept, fix the problem (see the error)');
      wake = new AbortController();
      await sleep(delay, AbortSignal.any([signal, wake.signal]));
    }
  }
}

async function flushWith(agent: Agent, uploader: Uploader, reply: (r: ControlReply) => void, signal: AbortSignal): Promise<void> {
  let units = 0;
  let rows = 0;
  try {
    await uploader.run(async () => {
      for (;;) {
        const r = await runSinkStep(agent, signal);
        if (r.units === 0) break;
        units += r.units;
        rows += r.rows;
        reply({ type: 'progress', units, rows, remaining_batches: agent.store.stats().sealed_batches });
      }
    });
    reply({ type: 'done', ok: true, units, rows });
  } catch (err) {
    reply({ type: 'done', ok: false, error: describeError(err) });
  }
}

/** One upload unit at a time, so flush can report progress. */
function runSinkStep(agent: Agent, signal: AbortSignal) {
  return forwardAll(agent.store, agent.sink, forwardOptions(agent.config, { maxUnits: 1, signal }));
}
