/**
 * The end-to-end time-series, AF and event frame tests, exact, against the simulator behaving as
 * PI Web API 2016R2 (test/sim/piwebapi/versions.ts; the files themselves run as the newest release).
 * The environment is set before the files load: the simulator reads it when it starts. The AF
 * crash test runs here too: its restarted children must find the server's WebID 1.0 ids in the store.
 */
process.env['PI_SIM_VERSION'] = '2016R2';
const { default: t } = await import('tap');
const { defaultSimVersion } = await import('../../sim/piwebapi/versions.js');
t.equal(defaultSimVersion(), '2016R2', 'simulators in these files start as 2016R2');
await import('../timeseries/e2e.test.js');
await import('../af/extract.test.js');
await import('../eventframes/extract.test.js');
// WebID 1.0 across processes: each killed and restarted agent reads by the keys in its store.
await import('../af/crash.test.js');
