/**
 * The emulator's presigned URLs (README "Presigned URLs and proxies"): on `stagingHost`, another
 * host than the workspace, signed in the query. Driven by the REAL driver, which PUTs to the URL
 * itself: with a `.invalid` staging host (RFC 6761 §6.4) that PUT cannot resolve; the URL it names
 * works only with its own signature (403 AuthenticationFailed otherwise, as Azure Storage answers).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startWarehouse } from './databricks/server.js';
import { connect } from './databricks/test-client.js';

const root = await mkdtemp(join(tmpdir(), 'dbx-staging-host-'));
const local = join(root, 'local');
await mkdir(local);
const w = await startWarehouse({ dataDir: join(root, 'data'), stagingHost: 'files.emulator.invalid' });
const ca = await readFile(w.caPath, 'utf8');
const conn = await connect(w);
t.teardown(async () => {
  await conn.close();
  await w.close();
  await rm(root, { recursive: true, force: true });
});

/** A PUT to the emulator's port with the staging host's name (SNI and certificate check included). */
const put = (path: string, body: string) =>
  new Promise<number>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: w.port, servername: 'files.emulator.invalid', path, method: 'PUT', ca, headers: { 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });

t.test('presigned URLs name the staging host and carry a signature that is checked', async (t) => {
  await conn.run('CREATE SCHEMA IF NOT EXISTS main.pi');
  await conn.run('CREATE VOLUME IF NOT EXISTS main.pi.pi_agent');
  const file = join(local, 'a.txt');
  await writeFile(file, 'hello');
  const err = await conn.run(`PUT '${file}' INTO '/Volumes/main/pi/pi_agent/x/a.txt' OVERWRITE`, { stagingAllowedLocalPath: local }).catch((e: unknown) => e as Error);
  t.type(err, Error);
  const m = /https:\/\/files\.emulator\.invalid:(\d+)(\/presigned\/[0-9a-f-]+)\?sig=([0-9a-f]{32})/.exec((err as Error).message);
  t.ok(m, `the driver's PUT went to the staging host and could not resolve it: ${(err as Error).message}`);
  t.match((err as Error).message, /ENOTFOUND/);
  if (!m) return;
  t.equal(Number(m[1]), w.port);
  t.equal(await put(`${m[2]}?sig=${'0'.repeat(32)}`, 'forged'), 403, 'a wrong signature is refused');
  t.equal(await put(m[2]!, 'unsigned'), 403, 'no signature is refused');
  t.equal(await put(`${m[2]}?sig=${m[3]}`, 'hello'), 200, 'its own signature works');
  t.equal(await readFile(join(root, 'data', 'volumes', 'main', 'pi', 'pi_agent', 'x', 'a.txt'), 'utf8'), 'hello');
});
