/**
 * One store per site (and shard): two agents with one config copied to two machines, or a moved
 * installation left running, would extract everything twice. At `run` start the agent asks the sink
 * which stores beat for this site lately (pi_agent_status carries each row's store id, host and
 * shard) and refuses to start when another store did, naming its host and last beat, unless told
 * to take the site over (`pi-agent run --take-over`).
 */
import { AgentError, describeError } from '../errors.js';
import { span } from '../observe/status.js';
import { heartbeatIntervalMs } from '../sinks/index.js';
import type { Agent } from './agent.js';
import { shardOf } from './heartbeat.js';

/** A store whose last beat is younger than this many heartbeat intervals is taken to be running. */
export const LIVE_BEATS = 3;

/** Throws SITE_TAKEN when another store beat for this site (and shard) within LIVE_BEATS intervals, unless `takeOver`. */
export async function claimSite(agent: Pick<Agent, 'store' | 'sink' | 'logger' | 'config'>, opts: { takeOver?: boolean; now?: Date } = {}): Promise<void> {
  const { config, store, sink, logger } = agent;
  if (!sink.recentBeats) return;
  const windowMs = LIVE_BEATS * heartbeatIntervalMs(config);
  const nowMs = (opts.now ?? new Date()).getTime();
  let beats;
  try {
    beats = await sink.recentBeats((nowMs - windowMs) * 1000);
  } catch (err) {
    // An outage must not keep the agent from buffering: the check waits for the next start.
    logger.warn({ err: describeError(err) }, `cannot check whether another pi-agent runs for site ${config.site}; starting anyway`);
    return;
  }
  const shard = shardOf(config);
  const other = beats.filter((b) => b.storeId !== store.storeId && b.shard === shard).sort((a, b) => b.atUs - a.atUs)[0];
  if (other === undefined) return;
  const at = new Date(Math.floor(other.atUs / 1000)).toISOString();
  const who = `store ${other.storeId} on host ${other.host ?? '(unknown)'}, last heartbeat ${at}`;
  if (opts.takeOver) {
    logger.warn({ store: other.storeId, host: other.host, last_beat: at }, `taking site ${config.site} over from ${who}`);
    return;
  }
  throw new AgentError(
    'SITE_TAKEN',
    `another pi-agent runs for site ${config.site}${shard === null ? '' : ` shard ${shard}`}: ${who} (within the last ${span(windowMs / 1000)}). ` +
      `Two agents for one site extract everything twice. Stop the other agent; or, if this one replaces it (a moved installation, a new state directory while the old agent still beat), start this one with 'pi-agent run --take-over'.`,
  );
}
