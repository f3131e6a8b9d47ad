/**
 * After a lost or new state directory (README "A lost state directory"): before a source's first
 * cycle, a source with a way back (SourceRecovery) and no progress asks the sink what the destination
 * already holds of this site and resumes there. Asked once per store; until the sink answers, the
 * source's cycle does not run (it would re-send history as inserts), and the next cycle asks again.
 */
import { AgentError, describeError, isRetryable } from '../errors.js';
import type { Source } from '../sources/index.js';
import { recordingFailure } from '../sources/source.js';
import type { Agent } from './agent.js';

/**
 * Seeds `source`'s progress from the destination when it needs it. While the sink cannot say, the
 * source goes ahead blind (everything up to now as upserts) when it can, else this throws (retryable).
 */
export async function recoverSource(agent: Pick<Agent, 'store' | 'sink' | 'logger' | 'config'>, source: Source): Promise<void> {
  const recovery = source.recovery;
  if (!recovery?.needed(agent.store)) return;
  await recordingFailure(agent.store, source.name, async () => {
    let heads: ReadonlyMap<string, number>;
    try {
      heads = agent.sink.timeseriesHeads ? await agent.sink.timeseriesHeads() : new Map<string, number>();
    } catch (err) {
      const line = recovery.blind(agent.store, new Date());
      if (line !== undefined) {
        agent.logger.warn({ source: source.name, err: describeError(err) }, line);
        return;
      }
      throw new AgentError(
        err instanceof AgentError ? err.code : 'SINK_FAILED',
        `${source.name} waits: this store has no ${source.name} progress yet (a new or lost state directory), and what ${agent.sink.label} already holds of site ${agent.config.site} could not be read, so extraction cannot resume where it was: ${describeError(err)}`,
        { cause: err, retryable: isRetryable(err) },
      );
    }
    agent.logger.info({ source: source.name, tags: heads.size }, recovery.seed(agent.store, agent.config, heads, new Date()));
  });
}
