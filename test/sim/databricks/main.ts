/**
 * `npm run databricks-emulator -- --port P --data DIR [--token T] [--oauth-client-id ID --oauth-client-secret S] [--principal TOKEN=NAME ...] [--staging-host H] [--session-idle-ms MS]`
 * Prints one line once it accepts connections (design.md, Contracts); SIGINT/SIGTERM close cleanly.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startWarehouse, type WarehouseOptions } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    data: { type: 'string' },
    token: { type: 'string' },
    'oauth-client-id': { type: 'string' },
    'oauth-client-secret': { type: 'string' },
    principal: { type: 'string', multiple: true },
    'staging-host': { type: 'string' },
    'session-idle-ms': { type: 'string' },
  },
});

if (values.data === undefined) {
  process.stderr.write(
    'usage: databricks-emulator --port P --data DIR [--token T] [--oauth-client-id ID --oauth-client-secret S] [--principal TOKEN=NAME ...] [--staging-host H] [--session-idle-ms MS]\n',
  );
  process.exit(2);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`databricks-emulator: --port must be a TCP port, got ${values.port}\n`);
  process.exit(2);
}

const opts: WarehouseOptions = { port, dataDir: resolve(values.data) };
if (values.token !== undefined) opts.token = values.token;
if (values['oauth-client-id'] !== undefined && values['oauth-client-secret'] !== undefined) {
  opts.oauth = { clientId: values['oauth-client-id'], clientSecret: values['oauth-client-secret'] };
}

for (const p of values.principal ?? []) {
  const eq = p.indexOf('=');
  if (eq <= 0 || eq === p.length - 1) {
    process.stderr.write(`databricks-emulator: --principal must be TOKEN=NAME, got ${p}\n`);
    process.exit(2);
  }
  (opts.principals ??= {})[p.slice(0, eq)] = p.slice(eq + 1);
}

if (values['staging-host'] !== undefined) opts.stagingHost = values['staging-host'];
if (values['session-idle-ms'] !== undefined) {
  const ms = Number(values['session-idle-ms']);
  if (!Number.isInteger(ms) || ms < 0) {
    process.stderr.write(`databricks-emulator: --session-idle-ms must be a whole number of milliseconds, got ${values['session-idle-ms']}\n`);
    process.exit(2);
  }
  opts.sessionIdleMs = ms;
}

const w = await startWarehouse(opts);
process.stdout.write(`databricks-emulator host=${w.host} port=${w.port} path=${w.path} token=${w.token} ca=${w.caPath}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  w.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`databricks-emulator: close failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
