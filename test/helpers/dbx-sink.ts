/**
 * The Databricks sink's options for a warehouse emulator on loopback (token auth, its CA, main.pi,
 * volume pi_agent, site plant-a): what the sink tests share, each adding what it varies.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatabricksSinkOptions } from '../../agent/sinks/databricks/sink.js';
import type { RunningWarehouse } from '../sim/databricks/server.js';

export async function emulatorSinkOptions(w: RunningWarehouse, root: string, over: Partial<DatabricksSinkOptions> = {}): Promise<DatabricksSinkOptions> {
  return {
    host: w.host,
    port: w.port,
    httpPath: w.path,
    auth: { type: 'token', token: w.token },
    caPem: await readFile(w.caPath, 'utf8'),
    catalog: 'main',
    schema: 'pi',
    volume: 'pi_agent',
    site: 'plant-a',
    stagingDir: join(root, 'staging'),
    ...over,
  };
}
