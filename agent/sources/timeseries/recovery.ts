/**
 * The time series after a lost or new state directory (sources/source.ts SourceRecovery): when the
 * store holds no tag heads and the destination already holds events of this site, each tag resumes
 * at its latest event there instead of `timeseries.start`. Its head is set like a rewind
 * (progress.ts rewindTimeseries): position at that event, `r` (replayUntil) just after it, no digest
 * and no re-read time. The first cycle then re-reads the lookback window behind it (or from that
 * event, if older) and sends what it reads up to that event as upserts (MERGE on the row key: the
 * overlap lands once), newer events as inserts. What happened is kept for `pi-agent status`.
 */
import { ProgressCell } from '../../store/progress.js';
import type { Store } from '../../store/store.js';
import type { SourceRecovery } from '../source.js';
import { inShard } from '../tags/discover.js';
import { knownTags } from '../tags/source.js';
import { LIVE, OWNER } from './progress.js';

/** What the recovery found, once per store: when, how many tags, their latest event. */
export interface RecoveryState {
  /** When the destination was asked (ISO). */
  at: string;
  /** Tags of this site the destination held events of (0: nothing, a first install). */
  tags: number;
  /** The latest event among them (ISO), absent with 0 tags. */
  latest?: string;
  /** The destination could not be asked: every known tag's history up to `at` goes as upserts. */
  blind?: true;
}

export const RECOVERY = new ProgressCell<RecoveryState>(OWNER, 'recovery:timeseries');

const iso = (us: number): string => new Date(Math.floor(us / 1000)).toISOString();

export const timeseriesRecovery: SourceRecovery = {
  needed: (store) => RECOVERY.get(store) === undefined && LIVE.count(store) === 0,
  seed(store, config, allHeads, at) {
    // Sharded agents share a site: only this shard's tags (the tags source keeps the same ones).
    const heads = new Map([...allHeads].filter(([webId]) => inShard(webId, config.timeseries?.shards)));
    let latest = -Infinity;
    const progress = [...heads].map(([webId, us]) => {
      latest = Math.max(latest, us);
      // Events before `r` may be at the destination: upserts. Events at `pos` are read again.
      return LIVE.entry(webId, { pos: us, r: us + 1 });
    });
    const state: RecoveryState = { at: at.toISOString(), tags: heads.size, ...(heads.size > 0 ? { latest: iso(latest) } : {}) };
    store.commitStep([], [...progress, RECOVERY.entry(state)]);
    return heads.size === 0
      ? 'timeseries: the destination holds no events of this site; reading from timeseries.start'
      : `timeseries: progress recovered from the destination: ${heads.size} tag(s), latest event ${state.latest}; the overlap is re-sent as upserts`;
  },
  blind(store, at) {
    // Without the tag list (discovery has not run or failed) a tag could still start as inserts.
    const tags = knownTags(store);
    if (tags.length === 0) return undefined;
    const untilUs = at.getTime() * 1000;
    const progress = tags.map((t) => LIVE.entry(t.webId, { pos: null, r: untilUs }));
    store.commitStep([], [...progress, RECOVERY.entry({ at: at.toISOString(), tags: tags.length, blind: true })]);
    return `timeseries: the destination could not be asked what it holds of this site; reading ${tags.length} tag(s) from timeseries.start, everything up to ${at.toISOString()} sent as upserts (MERGE)`;
  },
};

/** The status line of a recovery that found events, else nothing. */
export function recoveryNote(store: Pick<Store, 'getProgress'>): string | undefined {
  const r = RECOVERY.get(store);
  if (!r || r.tags === 0) return undefined;
  if (r.blind)
    return `the warehouse could not be asked at first start (${r.at}): ${r.tags.toLocaleString('en-US')} tag(s) read from timeseries.start, sent as upserts up to then`;
  return `progress recovered from the warehouse at ${r.at}: ${r.tags.toLocaleString('en-US')} tag(s), latest ${r.latest}`;
}
