/**
 * A PI Web API simulator on loopback and an anonymous PiClient on it (5 s timeout), both closed at
 * the test's teardown: what the client-level tests against the simulator share.
 */
import type { Test } from 'tap';
import { PiClient } from '../../agent/pi/client.js';
import { startSimulator, type RunningSim, type SimOptions } from '../sim/piwebapi/server.js';
import { anonymousAuth } from './scripted-server.js';

export async function simWithClient(t: Test, opts: Omit<SimOptions, 'port'>): Promise<{ running: RunningSim; client: PiClient }> {
  const running = await startSimulator({ port: 0, ...opts });
  const client = new PiClient({ baseUrl: running.url, auth: anonymousAuth, timeoutMs: 5000 });
  t.teardown(async () => {
    await client.close();
    await running.close();
  });
  return { running, client };
}
