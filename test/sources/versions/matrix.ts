/**
 * The end-to-end time-series, AF and event frame tests, exact, against the simulator behaving as one
 * PI Web API release (test/sim/piwebapi/versions.ts; the files themselves run as the newest
 * release). Each test/sources/versions/<release>.test.ts calls this once, as its whole body.
 * The environment is set before the files load: the simulator reads it when it starts.
 */
import type { SimVersionName } from '../../sim/piwebapi/versions.js';

/** Test files (relative to this one) every release runs. */
const END_TO_END = ['../timeseries/e2e.test.js', '../af/extract.test.js', '../eventframes/extract.test.js'];

export async function runAgainst(release: SimVersionName, more: string[] = []): Promise<void> {
  process.env['PI_SIM_VERSION'] = release;
  const { default: t } = await import('tap');
  const { defaultSimVersion } = await import('../../sim/piwebapi/versions.js');
  t.equal(defaultSimVersion(), release, `simulators in these files start as ${release}`);
  for (const file of [...END_TO_END, ...more]) await import(file);
}
