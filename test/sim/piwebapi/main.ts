/**
 * `npm run sim -- --port P --tags N --seed S [--auth none|basic|bearer|negotiate|ntlm] [--tz ZONE]
 *   [--now ISO] [--realtime] [--https [--cert FILE --key FILE]] [--history-start ISO]
 *   [--max-items N] [--rate-limit N] [--interval SEC] [--mix test|plant]
 *   [--latency REQUEST_MS[,STREAM_MS[,VALUE_US[,PARALLELISM]]]]
 *   [--version 2016R2|2017|2017R2|2018|2018SP1|2019SP1|2021|2023]` (default the newest; versions.ts)
 * Prints one line with the base URL once the simulator accepts requests (design.md, contracts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimAuth, SimAuthMode } from './auth-types.js';
import { parseLatency } from './latency.js';
import { startSimulator, type SimOptions } from './server.js';
import { isValidZone } from './time.js';
import { isSimVersion, SIM_VERSION_NAMES } from './versions.js';

function usage(msg: string): never {
  process.stderr.write(
    `sim: ${msg}\nusage: npm run sim -- --port P --tags N --seed S [--auth none|basic|bearer|negotiate|ntlm] [--tz ZONE] [--now ISO] [--realtime] [--https] [--interval SEC] [--mix test|plant] [--latency MS[,STREAM_MS[,VALUE_US[,PAR]]]] [--version ${SIM_VERSION_NAMES.join('|')}]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (!a.startsWith('--')) usage(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      out.set(a.slice(2, eq), a.slice(eq + 1));
      continue;
    }
    const next = argv[k + 1];
    if (next !== undefined && !next.startsWith('--')) {
      out.set(a.slice(2), next);
      k++;
    } else out.set(a.slice(2), true);
  }
  return out;
}

function num(args: Map<string, string | true>, name: string): number | undefined {
  const v = args.get(name);
  if (v === undefined) return undefined;
  if (v === true || !/^\d+$/.test(v)) usage(`--${name} needs a non-negative integer`);
  return Number(v);
}

function str(args: Map<string, string | true>, name: string): string | undefined {
  const v = args.get(name);
  if (v === true) usage(`--${name} needs a value`);
  return v;
}

/** A throwaway self-signed certificate for 127.0.0.1/localhost (written next to the process). */
function selfSigned(): { cert: string; key: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pisim-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '30',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8'), dir };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const opts: SimOptions = {};
  const port = num(args, 'port');
  if (port !== undefined) opts.port = port;
  const tags = num(args, 'tags');
  if (tags !== undefined) opts.tags = tags;
  const seed = num(args, 'seed');
  if (seed !== undefined) opts.seed = seed;
  const maxItems = num(args, 'max-items');
  if (maxItems !== undefined) opts.maxReturnedItemsPerCall = maxItems;
  const rate = num(args, 'rate-limit');
  if (rate !== undefined) opts.rateLimit = rate;
  const tz = str(args, 'tz');
  if (tz !== undefined) {
    if (!isValidZone(tz)) usage(`unknown time zone '${tz}'`);
    opts.timeZone = tz;
  }
  const now = str(args, 'now');
  if (now !== undefined) {
    if (!Number.isFinite(Date.parse(now))) usage(`--now: cannot parse '${now}'`);
    opts.now = now;
  }
  const hs = str(args, 'history-start');
  if (hs !== undefined) opts.historyStart = hs;
  if (args.has('realtime')) opts.realtime = true;
  const interval = str(args, 'interval');
  if (interval !== undefined) {
    if (!(Number(interval) > 0)) usage('--interval needs a positive number of seconds');
    opts.intervalSec = Number(interval);
  }
  const mix = str(args, 'mix');
  if (mix !== undefined) {
    if (mix !== 'test' && mix !== 'plant') usage(`unknown --mix '${mix}'`);
    opts.mix = mix;
  }
  const latency = str(args, 'latency');
  if (latency !== undefined) {
    try {
      opts.latency = parseLatency(latency);
    } catch (err) {
      usage((err as Error).message);
    }
  }

  const version = str(args, 'version');
  if (version !== undefined) {
    if (!isSimVersion(version)) usage(`unknown --version '${version}' (one of ${SIM_VERSION_NAMES.join(', ')})`);
    opts.version = version;
  }

  let tlsDir: string | undefined;
  if (args.has('https')) {
    const certFile = str(args, 'cert');
    const keyFile = str(args, 'key');
    if (certFile && keyFile) opts.tls = { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
    else {
      const s = selfSigned();
      tlsDir = s.dir;
      opts.tls = { cert: s.cert, key: s.key };
    }
  }

  const authArg = str(args, 'auth') ?? 'none';
  const modes = authArg.split(',') as SimAuthMode[];
  for (const m of modes) if (!['none', 'basic', 'bearer', 'negotiate', 'ntlm'].includes(m)) usage(`unknown --auth '${m}'`);
  if (!(modes.length === 1 && modes[0] === 'none')) {
    let mod: { createSimAuth?: (o: { mode: SimAuthMode | SimAuthMode[] }) => Promise<SimAuth> };
    try {
      const spec = './auth.js';
      mod = (await import(spec)) as typeof mod;
    } catch (err) {
      process.stderr.write(`sim: --auth ${authArg} needs test/sim/piwebapi/auth.ts, which could not be loaded: ${(err as Error).message}\n`);
      process.exit(2);
    }
    if (typeof mod.createSimAuth !== 'function') {
      process.stderr.write('sim: test/sim/piwebapi/auth.ts does not export createSimAuth\n');
      process.exit(2);
    }
    opts.auth = await mod.createSimAuth({ mode: modes.length === 1 ? modes[0]! : modes });
  }

  const running = await startSimulator(opts);
  const extra = tlsDir ? ` cert=${join(tlsDir, 'cert.pem')}` : '';
  process.stdout.write(
    `pi-web-api-simulator listening on ${running.url} tags=${running.sim.tagCount()} seed=${running.sim.seed} auth=${authArg} version=${running.sim.version.name}${extra}\n`,
  );

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    running.close().then(
      () => {
        if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`sim: ${(err as Error).message}\n`);
  process.exit(1);
});
