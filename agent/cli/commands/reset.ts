import { createInterface } from 'node:readline/promises';
import { parseTimestamp } from '../../config/values.js';
import { reset as resetSource } from '../../service/reset.js';
import { SOURCE_SECTIONS } from '../../sources/sections.js';
import { loadConfig } from '../../config/load.js';
import { configPath, tagsOrAll, UsageError, type Command } from '../command.js';
import { EXIT, exitCodeOf } from '../exit.js';

const NAMES = SOURCE_SECTIONS.map((s) => s.name);
import { withSession } from '../session.js';

export const reset: Command = {
  name: 'reset',
  summary: 'rewind progress of some tags or all',
  description: `
Rewinds the progress of a source so the next cycles extract again from --to (default: the start in
the config). For timeseries, name tags with --tag (repeatable) or pass --all. Data already sent is
not deleted: rows that come again are the same rows and commits are idempotent, so the destination
holds each event once. Asks for confirmation on a terminal; --yes skips it (required otherwise).`,
  options: {
    source: { type: 'string', arg: 'NAME', help: `${NAMES.join(' | ')} (default timeseries)` },
    tag: { type: 'string', multiple: true, arg: 'PATH', help: 'a tag path (timeseries only)' },
    all: { type: 'boolean', help: 'every tag / the whole source' },
    to: { type: 'string', arg: 'TIME', help: 'rewind to this ISO 8601 time (default the configured start)' },
    yes: { type: 'boolean', short: 'y', help: 'do not ask for confirmation' },
  },
  needsConfig: true,
  async run(values, ctx) {
    const source = typeof values.source === 'string' ? values.source : 'timeseries';
    if (!NAMES.includes(source)) throw new UsageError(`--source must be one of ${NAMES.join(', ')}`, 'reset');
    if (values.tag !== undefined && !SOURCE_SECTIONS.find((s) => s.name === source)?.resetsTags)
      throw new UsageError(
        `--tag applies to --source ${SOURCE_SECTIONS.filter((s) => s.resetsTags)
          .map((s) => s.name)
          .join(', ')} only`,
        'reset',
      );
    const tags = tagsOrAll(values, 'reset', 'name the tags with --tag PATH or pass --all');
    let to: string | undefined;
    if (typeof values.to === 'string') {
      to = parseTimestamp(values.to);
      if (!to) throw new UsageError(`--to '${values.to}' is not an ISO 8601 time with a zone (write e.g. 2026-03-01T00:00:00Z)`, 'reset');
    }
    if (values.yes !== true) {
      loadConfig(configPath(values)); // a config error is reported before anyone is asked anything
      if (!process.stdin.isTTY) throw new UsageError('reset changes progress: confirm with --yes when not run from a terminal', 'reset');
      const what = tags.length ? `${tags.length} tag(s) of ${source}` : `all of ${source}`;
      if (!(await confirm(`Rewind ${what} to ${to ?? 'the configured start'}? [y/N] `))) {
        process.stderr.write('pi-agent: reset cancelled\n');
        return EXIT.FAILURE;
      }
    }
    return withSession(values, ctx, { logFile: true, console: 'stderr' }, async (s) =>
      exitCodeOf(await resetSource(s.config, { print: s.io.print, source, tags, ...(to ? { to } : {}) })),
    );
  },
};

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
