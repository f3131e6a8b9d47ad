/** `pi-agent check`: the config, PI Web API (each source's part) and the sink, one line per check. */
import type { AgentConfig } from '../config/types.js';
import { describeError, PiError } from '../errors.js';
import { openSink } from '../sinks/index.js';
import { enabledSources, type CheckContext } from '../sources/index.js';
import { openPi } from '../sources/pi.js';
import { describePiVersion, piSystem, piVersion, unsupportedReason } from '../pi/version.js';
import type { CommandIo, Outcome } from './outcome.js';

export interface CheckOptions extends Omit<CommandIo, 'signal'> {
  /** Contact PI Web API (authenticate, resolve the selection, read one tag). */
  pi: boolean;
  /** Contact the sink (directory writable / Databricks session, catalog objects present). */
  sink: boolean;
}

type Report = Omit<CheckContext, 'config' | 'client' | 'sample'> & { failures: () => number };

function reportTo(print: (t: string) => void): Report {
  let failures = 0;
  return {
    ok: (msg) => print(`ok    ${msg}\n`),
    warn: (msg) => print(`warn  ${msg}\n`),
    fail: (msg, err) => {
      failures++;
      print(`FAIL  ${msg}: ${describeError(err)}\n`);
    },
    failures: () => failures,
  };
}

async function checkPi(config: AgentConfig, report: Report): Promise<void> {
  let client;
  try {
    client = await openPi(config);
    const sys = await piSystem(client);
    report.ok(`PI Web API ${config.pi.url} answers (${sys.ProductTitle ?? 'PI Web API'} ${sys.ProductVersion ?? ''}`.trimEnd() + `, auth ${config.pi.auth.type})`);
    const v = await piVersion(client);
    if (v) {
      const why = unsupportedReason(v);
      if (why) {
        report.fail(`PI Web API ${v.release} (${v.version})`, new PiError('PI_VERSION_UNSUPPORTED', why));
        return;
      }
      report.ok(describePiVersion(v));
    } else report.warn('PI Web API did not say its version (GET /system has no ProductVersion): features are probed');
    const ctx: CheckContext = { ...report, config, client };
    for (const source of await enabledSources(config)) await source.check?.(ctx);
  } catch (err) {
    report.fail(`PI Web API ${config.pi.url}`, err);
  } finally {
    await client?.close();
  }
}

async function checkSink(config: AgentConfig, o: CheckOptions, report: Report): Promise<void> {
  let sink;
  try {
    sink = await openSink(config, o.logger);
    report.ok(await sink.check());
  } catch (err) {
    report.fail(sink?.label ?? `sink ${config.sink.type}`, err);
  } finally {
    await sink?.close();
  }
}

export async function check(config: AgentConfig, o: CheckOptions): Promise<Outcome> {
  const report = reportTo(o.print);
  report.ok(`config ${config.config_file}`);
  for (const w of config.warnings) report.warn(w);
  if (o.pi) await checkPi(config, report);
  if (o.sink) await checkSink(config, o, report);
  const failures = report.failures();
  o.print(failures === 0 ? 'all checks passed\n' : `${failures} check(s) failed\n`);
  return failures === 0 ? 'ok' : 'failed';
}
