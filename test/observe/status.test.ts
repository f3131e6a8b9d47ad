import t from 'tap';
import { bytes, relativeTime, renderStatus, span, type StatusReport } from '../../agent/observe/status.js';

const now = new Date('2026-11-26T12:00:00Z');

const report: StatusReport = {
  agent: { version: '0.1.0', site: 'plant-a', running: true, pid: 4242 },
  sources: [
    { name: 'tags', lag_seconds: null, last_success: '2026-11-26T11:57:00Z', last_error: null, tags: 100000 },
    { name: 'timeseries', lag_seconds: 75, last_success: '2026-11-26T11:59:30Z', last_error: null, tags: 98765 },
    { name: 'event_frames', lag_seconds: 7500, last_success: '2026-11-26T09:55:00Z', last_error: 'PI_TIMEOUT: request timed out after 120s', state: 'retrying' },
    { name: 'af', lag_seconds: null, last_success: null, last_error: null },
  ],
  buffer: { pending_rows: 12345, sealed_batches: 3, bytes: 1572864, oldest: '2026-11-26T11:55:00Z', max_bytes: 2147483648 },
  sink: { type: 'databricks', last_commit: '2026-11-26T11:58:00Z', state: 'unreachable', last_error: 'SINK_UNREACHABLE: connect ECONNREFUSED 127.0.0.1:443' },
};

t.test('human rendering of a full report', async (t) => {
  t.equal(
    renderStatus(report, now),
    `pi-agent 0.1.0, site plant-a, running (pid 4242)

SOURCE        TAGS     LAG     LAST SUCCESS  STATE     LAST ERROR
tags          100,000  -       3m ago        ok        -
timeseries    98,765   1m 15s  30s ago       ok        -
event_frames  -        2h 5m   2h 5m ago     retrying  PI_TIMEOUT: request timed out after 120s
af            -        -       never         waiting   -

buffer  12,345 rows pending, 3 sealed batches, 1.5 MB of 2.0 GB, oldest 5m ago
sink    databricks, unreachable, last commit 2m ago
        last error: SINK_UNREACHABLE: connect ECONNREFUSED 127.0.0.1:443
`,
  );
});

t.test('human rendering of a stopped agent with nothing yet', async (t) => {
  t.equal(
    renderStatus(
      {
        agent: { version: '0.1.0', site: 'b', running: false },
        sources: [],
        buffer: { pending_rows: 0, sealed_batches: 0, bytes: 0 },
        sink: { type: 'directory', last_commit: null, state: 'idle' },
      },
      now,
    ),
    `pi-agent 0.1.0, site b, not running

no sources configured

buffer  0 rows pending, 0 sealed batches, 0 B
sink    directory, idle, last commit never
`,
  );
});

t.test('relative times, spans and sizes', async (t) => {
  t.equal(relativeTime('2026-11-26T12:00:00Z', now), 'just now');
  t.equal(relativeTime('2026-11-26T11:59:59Z', now), '1s ago');
  t.equal(relativeTime('2026-11-25T10:00:00Z', now), '1d 2h ago');
  t.equal(relativeTime('2026-11-26T12:00:05Z', now), 'in 5s');
  t.equal(relativeTime(null, now), 'never');
  t.same([0, 59, 60, 61, 3600, 3660, 86400, 90061].map(span), ['0s', '59s', '1m', '1m 1s', '1h', '1h 1m', '1d', '1d 1h']);
  t.same([0, 1023, 1024, 1536, 1024 ** 3 * 2].map(bytes), ['0 B', '1023 B', '1.0 KB', '1.5 KB', '2.0 GB']);
});

t.test('the JSON form keeps the contract field names', async (t) => {
  const o = JSON.parse(JSON.stringify(report)) as Record<string, Record<string, unknown>>;
  t.same(Object.keys(o).sort(), ['agent', 'buffer', 'sink', 'sources']);
  for (const k of ['name', 'lag_seconds', 'last_success', 'last_error']) t.ok(k in (o.sources as unknown as Record<string, unknown>[])[0]!, k);
  for (const k of ['pending_rows', 'sealed_batches', 'bytes']) t.ok(k in o.buffer!, k);
  for (const k of ['type', 'last_commit', 'state']) t.ok(k in o.sink!, k);
});
