/**
 * A tiny Prometheus registry (text exposition format 0.0.4): counters and gauges with labels,
 * served on loopback only. Gauges may be computed at scrape time (`collect`), e.g. from the store.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError } from '../errors.js';

export type Labels = Record<string, string>;

interface Sample {
  labels: Labels;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function labelKey(labels: Labels): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

abstract class Metric {
  protected readonly samples = new Map<string, Sample>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {
    if (!NAME.test(name)) throw new AgentError('INTERNAL', `invalid metric name ${name}`);
  }

  protected sample(labels: Labels): Sample {
    for (const k of Object.keys(labels)) if (!LABEL.test(k)) throw new AgentError('INTERNAL', `invalid label name ${k} on ${this.name}`);
    const key = labelKey(labels);
    let s = this.samples.get(key);
    if (!s) {
      s = { labels: { ...labels }, value: 0 };
      this.samples.set(key, s);
    }
    return s;
  }

  /** Current samples (computed ones included). */
  collect(): Sample[] {
    return [...this.samples.values()];
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const s of this.collect()) {
      const keys = Object.keys(s.labels).sort();
      const l = keys.length ? `{${keys.map((k) => `${k}="${escapeLabel(s.labels[k]!)}"`).join(',')}}` : '';
      lines.push(`${this.name}${l} ${formatValue(s.value)}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

export class Counter extends Metric {
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new AgentError('INTERNAL', `counter ${this.name} cannot decrease`);
    this.sample(labels).value += by;
  }
}

export class Gauge extends Metric {
  constructor(
    name: string,
    help: string,
    private readonly compute?: () => Sample[],
  ) {
    super(name, help, 'gauge');
  }
  set(labels: Labels, value: number): void {
    this.sample(labels).value = value;
  }
  inc(labels: Labels = {}, by = 1): void {
    this.sample(labels).value += by;
  }
  override collect(): Sample[] {
    return this.compute ? this.compute() : super.collect();
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }

  /** `compute`, when given, is called at each scrape and replaces set()/inc() values. */
  gauge(name: string, help: string, compute?: () => Sample[]): Gauge {
    return this.add(new Gauge(name, help, compute));
  }

  private add<M extends Metric>(m: M): M {
    const existing = this.metrics.get(m.name);
    if (existing) {
      if (existing.type !== m.type) throw new AgentError('INTERNAL', `metric ${m.name} registered twice with different types`);
      return existing as M;
    }
    this.metrics.set(m.name, m);
    return m;
  }

  render(): string {
    return [...this.metrics.values()].map((m) => m.render()).join('');
  }
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` on 127.0.0.1 (port 0 = any free port). */
export async function serveMetrics(registry: MetricsRegistry, opts: { port: number; host?: string }): Promise<MetricsServer> {
  const host = opts.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new AgentError('CONFIG_INVALID', `metrics.host must be 127.0.0.1 (the endpoint has no authentication), got ${host}`);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    let body: string;
    try {
      body = registry.render();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new AgentError(
          'INTERNAL',
          err.code === 'EADDRINUSE' ? `metrics port ${opts.port} is in use — set metrics.port to a free port` : `cannot serve metrics: ${err.message}`,
        ),
      ),
    );
    server.listen(opts.port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
