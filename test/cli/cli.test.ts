import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { commandHelp } from '../../agent/cli/command.js';
import { COMMANDS, main, reportFailure } from '../../agent/cli/main.js';
import { SinkError } from '../../agent/errors.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const dir = mkdtempSync(join(tmpdir(), 'pi-agent-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

// Each process spends seconds loading TypeScript on a busy machine: at most 3 run at once, all
// started up front (below) so they overlap with each other and with the in-process tests.
let running = 0;
const waiting: (() => void)[] = [];
async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  if (running >= 3) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await spawnCli(args, env);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      // Absolute loader URL: the command runs in a scratch directory, where `tsx` would not resolve.
      ['--import', import.meta.resolve('tsx'), join(root, 'agent/cli/main.ts'), ...args],
      { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 50_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, 0o600);
  return file;
}

const GOOD = writeConfig(
  'good.yaml',
  `site: plant-a
pi:
  url: https://pi.plant/piwebapi
  auth: { type: bearer, token: \${PI_TOKEN} }
sink: { type: directory, path: out }
`,
);
const BAD = writeConfig(
  'bad.yaml',
  `site: plant-a
pi:
  url: https://pi.plant/piwebapi
  concurency: 4
sink: { type: directory, path: out, compress: true }
`,
);

const runs = {
  statusHelp: cli(['status', '--help']),
  version: cli(['version']),
  unknown: cli(['frobnicate']),
  badConfig: cli(['status', '--config', BAD]),
  missingEnv: cli(['check', '--offline', '--config', GOOD]),
  missingFile: cli(['run', '--once']),
  resetUnattended: cli(['reset', '--all'], { PI_TOKEN: 'x', PI_AGENT_CONFIG: GOOD }),
};

t.test('global help lists every command and the exit codes', async (t) => {
  const r = await inProcess(['--help']);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  t.same(
    COMMANDS.map((c) => c.name),
    ['run', 'status', 'flush', 'check', 'backfill', 'reset', 'setup', 'version'],
  );
  for (const c of COMMANDS) t.match(r.stdout, new RegExp(`^  ${c.name} +\\S`, 'm'), c.name);
  t.match(r.stdout, /^Exit codes:\n  0 /m);
  t.match(r.stdout, /^  3    partial/m);
});

t.test('every command has --help with its usage, options and exit codes', async (t) => {
  // One real process for one command; the others through main() in this process (each spawn
  // costs seconds of TypeScript loading on a shared machine).
  const spawned = await runs.statusHelp;
  t.equal(spawned.code, 0);
  t.equal(spawned.stdout, commandHelp(COMMANDS.find((c) => c.name === 'status')!));
  for (const c of COMMANDS) {
    const r = await inProcess([c.name, '--help']);
    t.equal(r.code, 0, `${c.name} exit code`);
    t.ok(r.stdout.startsWith(`Usage: pi-agent ${c.name} [options]\n\n`), `${c.name} usage line`);
    t.match(r.stdout, /^  -h, --help +show this help$/m, `${c.name} --help`);
    t.match(r.stdout, /^Exit codes:$/m, `${c.name} exit codes`);
    if (c.name !== 'version') t.match(r.stdout, /^  -c, --config FILE +the YAML config/m, `${c.name} --config`);
  }
  t.match((await inProcess(['run', '--help'])).stdout, /^      --once +one cycle/m);
  t.match((await inProcess(['status', '--help'])).stdout, /^      --json +print the status as one JSON object$/m);
  t.match((await inProcess(['setup', '--help'])).stdout, /^      --print-sql /m);
  t.match((await inProcess(['setup', '--help'])).stdout, /^      --principal NAME +the user or service principal the printed GRANTs name$/m);
  t.match((await inProcess(['backfill', '--help'])).stdout, /^      --tag PATH +a tag path.*\(repeatable\)$/m);
  t.equal((await inProcess(['help', 'flush'])).stdout, (await inProcess(['flush', '-h'])).stdout);
});

/** main() with stdout/stderr captured (only for output that needs no config or process state). */
async function inProcess(args: string[]): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = (chunk: string) => out.push(chunk) > 0;
  process.stderr.write = (chunk: string) => err.push(chunk) > 0;
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

t.test('version prints the package version', async (t) => {
  const r = await runs.version;
  t.same(r, { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
});

t.test('usage errors exit 2 with a pointer to --help', async (t) => {
  t.same(await runs.unknown, { code: 2, stdout: '', stderr: "pi-agent: unknown command 'frobnicate'\nRun 'pi-agent --help' for usage.\n" });
  t.same(await inProcess(['status', '--bogus']), { code: 2, stdout: '', stderr: "pi-agent: unknown option '--bogus'\nRun 'pi-agent status --help' for usage.\n" });
  t.same(await inProcess(['flush', '--config', GOOD, '--timeout', 'soon']), {
    code: 2,
    stdout: '',
    stderr: "pi-agent: --timeout 'soon' is not a duration (write e.g. 90s, 10m, 1h)\nRun 'pi-agent flush --help' for usage.\n",
  });
  t.same(await inProcess(['reset', '--config', GOOD, '--all', '--yes', '--source', 'nope']), {
    code: 2,
    stdout: '',
    stderr: "pi-agent: --source must be one of tags, timeseries, af, event_frames\nRun 'pi-agent reset --help' for usage.\n",
  });
  t.same(await inProcess(['setup', '--config', GOOD, '--principal', 'sp']), {
    code: 2,
    stdout: '',
    stderr: "pi-agent: --principal goes with --print-sql\nRun 'pi-agent setup --help' for usage.\n",
  });
  const nothing = await inProcess([]);
  t.equal(nothing.code, 2);
  t.match(nothing.stdout, /^Usage: pi-agent <command>/m);
});

t.test('a bad config exits 2 with every problem as file:line:col and no stack trace', async (t) => {
  const r = await runs.badConfig;
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  t.equal(
    r.stderr,
    `pi-agent: CONFIG_INVALID: 2 problems in the config:
${BAD}:4:3: unknown key 'concurency' in pi — did you mean 'concurrency'?
${BAD}:5:37: unknown key 'compress' in sink — known keys here: path, parquet
`,
  );
  t.notMatch(r.stderr, /^\s+at /m);
});

t.test('a missing secret variable exits 2 naming it; a missing file says how to pass one', async (t) => {
  const [r, missing] = await Promise.all([runs.missingEnv, runs.missingFile]);
  t.equal(r.code, 2);
  t.match(r.stderr, `${GOOD}:4:32: pi.auth.token: environment variable PI_TOKEN is not set`);
  t.same(missing, {
    code: 2,
    stdout: '',
    stderr: 'pi-agent: CONFIG_INVALID: a problem in the config:\n./pi-agent.yaml: no such file — pass --config FILE, or start from conf/pi-agent.example.yaml\n',
  });
});

t.test('check --offline validates the config only', async (t) => {
  process.env.PI_TOKEN = 'tok-123456';
  t.teardown(() => delete process.env.PI_TOKEN);
  const r = await inProcess(['check', '--offline', '--config', GOOD]);
  t.same(r, { code: 0, stdout: `${GOOD}: ok (site plant-a)\n`, stderr: '' });
});

t.test('reset refuses to run unattended without --yes', async (t) => {
  t.same(await runs.resetUnattended, {
    code: 2,
    stdout: '',
    stderr: "pi-agent: reset changes progress: confirm with --yes when not run from a terminal\nRun 'pi-agent reset --help' for usage.\n",
  });
});

t.test('failures: AgentError is one line (exit 1), anything else points at the log file', async (t) => {
  const capture = (fn: () => number): { code: number; stderr: string } => {
    const err: string[] = [];
    const e = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string) => err.push(chunk) > 0;
    try {
      return { code: fn(), stderr: err.join('') };
    } finally {
      process.stderr.write = e;
    }
  };
  t.same(
    capture(() =>
      reportFailure(new SinkError('SINK_UNREACHABLE', 'warehouse did not answer with token tok-999', { retryable: true }), {
        redact: (s) => s.replaceAll('tok-999', '***'),
      }),
    ),
    {
      code: 1,
      stderr: 'pi-agent: SINK_UNREACHABLE: warehouse did not answer with token ***\n',
    },
  );
  t.same(
    capture(() => reportFailure(new TypeError("Cannot read properties of undefined (reading 'x')"), { logFile: '/var/lib/pi-agent/logs/pi-agent.log' })),
    {
      code: 1,
      stderr: "pi-agent: unexpected error: Cannot read properties of undefined (reading 'x')\nDetails (stack trace) are in /var/lib/pi-agent/logs/pi-agent.log\n",
    },
  );
});

t.test('a config the command cannot use exits 2, as exit.ts promises (CONFIG_INVALID from the service)', async (t) => {
  const before = process.env.PI_TOKEN;
  process.env.PI_TOKEN = 'a-token-for-this-test';
  t.teardown(() => {
    if (before === undefined) delete process.env.PI_TOKEN;
    else process.env.PI_TOKEN = before;
  });
  t.same(await inProcess(['reset', '--config', GOOD, '--all', '--yes', '--source', 'timeseries']), {
    code: 2,
    stdout: '',
    stderr: 'pi-agent: CONFIG_INVALID: timeseries is not configured\n',
  });
});
