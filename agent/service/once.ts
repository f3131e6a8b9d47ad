/** `run --once`: every enabled source once, the heartbeat, then the sink. */
import type { AgentConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { enabledSources } from '../sources/index.js';
import { openAgent, type Agent } from './agent.js';
import { writeHeartbeat } from './heartbeat.js';
import { recoverSource } from './recovery.js';
import { claimSite } from './takeover.js';
import type { CommandIo, Outcome } from './outcome.js';
import { uploadBuffered } from './upload.js';

export interface OnceResult {
  ok: boolean;
  problems: string[];
}

/** Ok only if everything was extracted and committed; else each problem, `<what>: <CODE: message>`. */
export async function runOnce(agent: Agent, signal?: AbortSignal): Promise<OnceResult> {
  const problems: string[] = [];
  const note = (what: string, problem: string): void => {
    problems.push(`${what}: ${problem}`);
    agent.logger.error({ source: what, err: problem }, `${what} failed`);
  };
  const attempt = async (what: string, fn: () => Promise<string[]>): Promise<void> => {
    try {
      for (const p of await fn()) note(what, p);
    } catch (err) {
      note(what, describeError(err));
    }
  };
  for (const source of await enabledSources(agent.config)) {
    await attempt(source.name, async () => {
      await recoverSource(agent, source);
      return (await source.runCycle(agent, signal)).problems;
    });
  }
  await attempt('heartbeat', async () => {
    writeHeartbeat(agent.config, agent.store);
    return [];
  });
  await attempt('sink', async () => {
    await uploadBuffered(agent, signal);
    return [];
  });
  const left = agent.store.stats();
  if (left.sealed_batches > 0) problems.push(`sink: ${left.sealed_batches} batch(es) still buffered`);
  return { ok: problems.length === 0, problems };
}

/** The `run --once` command: open, one pass, report each problem, close. */
export async function runAgentOnce(config: AgentConfig, io: CommandIo, opts: { takeOver?: boolean } = {}): Promise<Outcome> {
  const agent = await openAgent(config, io.logger);
  try {
    await claimSite(agent, opts);
    const r = await runOnce(agent, io.signal);
    if (io.signal.aborted) return 'interrupted';
    for (const p of r.problems) io.print(`pi-agent: ${p}\n`);
    return r.ok ? 'ok' : 'partial';
  } finally {
    await agent.close();
  }
}
