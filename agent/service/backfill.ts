/**
 * `pi-agent backfill`: re-extracts [start, end) for some tags without touching live progress: its
 * own progress keys, rows sent as upserts (MERGE on the row key), so the destination stays exact.
 */
import type { AgentConfig } from '../config/types.js';
import { AgentError } from '../errors.js';
import { getPointByPath } from '../pi/points.js';
import { parsePiTimestamp } from '../pi/time.js';
import { resolveTags } from '../sources/tags/source.js';
import { backfillSpace, dropBackfillProgress } from '../sources/timeseries/progress.js';
import { timeseriesOptions } from '../sources/timeseries/source.js';
import { skippedTags } from '../sources/timeseries/unreadable.js';
import { extractTimeseries } from '../sources/timeseries/extract.js';
import { openAgent } from './agent.js';
import type { CommandIo, Outcome } from './outcome.js';

export interface BackfillOptions extends CommandIo {
  /** Tag paths (`\\SERVER\TAG`); empty = every selected tag. */
  tags: string[];
  /** ISO 8601 UTC, inclusive. */
  start: string;
  /** ISO 8601 UTC, exclusive. */
  end: string;
}

export async function backfill(config: AgentConfig, o: BackfillOptions): Promise<Outcome> {
  const agent = await openAgent(config, o.logger);
  try {
    const named = await resolveTags(agent.store, o.tags, (p) => getPointByPath(agent.client, p));
    if (named.length === 0) throw new AgentError('CONFIG_INVALID', 'no tags to backfill: run the agent once to discover tags, or name them with --tags');
    // Tags PI cannot serve (status lists them) are left out, as the live cycle leaves them out.
    const skipped = skippedTags(agent.store, named);
    const tags = skipped.size === 0 ? named : named.filter((t) => !skipped.has(t.webId));
    if (skipped.size > 0) o.print(`backfill: ${skipped.size} tag(s) skipped: PI cannot read them (see pi-agent status)\n`);
    const startUs = parsePiTimestamp(o.start).us;
    const endUs = parsePiTimestamp(o.end).us - 1;
    const prefix = backfillSpace(startUs, endUs).prefix;
    const r = await extractTimeseries(
      timeseriesOptions(config, agent.client, agent.store, tags, {
        nowUs: endUs,
        endUs,
        startUs,
        lookbackUs: 0,
        progressPrefix: prefix,
        insertOp: 'update',
        signal: o.signal,
      }),
    );
    if (r.errors.size > 0 || r.paused || o.signal.aborted) {
      o.print(`backfill incomplete: ${r.errors.size} tag(s) failed${r.paused ? ', buffer full' : ''}; run the same command again to continue\n`);
      return 'partial';
    }
    // The backfill's own progress goes, digest buckets included (an event at the end time can leave one).
    dropBackfillProgress(
      agent.store,
      startUs,
      endUs,
      tags.map((t) => t.webId),
    );
    o.print(`backfill: ${tags.length} tag(s), ${r.values} value(s) read, ${r.updates + r.inserts} row(s) buffered as upserts, ${r.deletes} deletion(s)\n`);
    return 'ok';
  } finally {
    await agent.close();
  }
}
