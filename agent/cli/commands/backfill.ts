import { parseTimestamp } from '../../config/values.js';
import { backfill as backfillRange } from '../../service/backfill.js';
import { exitCodeOf } from '../exit.js';
import { tagsOrAll, UsageError, type Command } from '../command.js';
import { withSession } from '../session.js';

export const backfill: Command = {
  name: 'backfill',
  summary: 're-extract a time range for some tags',
  description: `
Re-reads recorded values of the given tags (or of every selected tag with --all) between --start
and --end and sends every event as an upsert (MERGE on the row key), so values that were missed or
changed are corrected and nothing is duplicated. Events deleted in PI inside the range are not
detected by a backfill (the regular lookback catches recent deletions). Progress of the regular
schedule is not moved. Times are ISO 8601 with a zone, e.g. 2026-03-01T00:00:00Z; --end defaults to now.`,
  options: {
    tag: { type: 'string', multiple: true, arg: 'PATH', help: "a tag path, e.g. '\\\\PISRV01\\sinusoid'" },
    all: { type: 'boolean', help: 'every tag the config selects' },
    start: { type: 'string', arg: 'TIME', help: 'start of the range (required)' },
    end: { type: 'string', arg: 'TIME', help: 'end of the range (default now)' },
  },
  needsConfig: true,
  async run(values, ctx) {
    const tags = tagsOrAll(values, 'backfill', 'name the tags with --tag PATH (repeatable) or pass --all');
    const start = time(values.start, '--start');
    if (!start) throw new UsageError('--start TIME is required', 'backfill');
    const end = time(values.end, '--end') ?? new Date().toISOString();
    if (end <= start) throw new UsageError(`--end (${end}) must be after --start (${start})`, 'backfill');
    return withSession(values, ctx, { logFile: true, console: 'auto' }, async (s) => exitCodeOf(await backfillRange(s.config, { ...s.io, tags, start, end })));
  },
};

function time(v: unknown, flag: string): string | undefined {
  if (typeof v !== 'string') return undefined;
  const iso = parseTimestamp(v);
  if (!iso) throw new UsageError(`${flag} '${v}' is not an ISO 8601 time with a zone (write e.g. 2026-03-01T00:00:00Z)`, 'backfill');
  return iso;
}
