import { request } from 'node:http';
import t from 'tap';
import { MetricsRegistry, serveMetrics } from '../../agent/observe/metrics.js';

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('counters and gauges in the Prometheus text format', async (t) => {
  const r = new MetricsRegistry();
  const values = r.counter('pi_agent_values_extracted_total', 'PI events read');
  values.inc({ source: 'timeseries' }, 5);
  values.inc({ source: 'timeseries' });
  values.inc({ source: 'af' }, 2);
  const lag = r.gauge('pi_agent_source_lag_seconds', 'Lag per source');
  lag.set({ source: 'timeseries' }, 12.5);
  r.gauge('pi_agent_buffer_bytes', 'Bytes in the store', () => [{ labels: {}, value: 1024 }]);
  r.counter('pi_agent_errors_total', 'Errors by code').inc({ code: 'PI_TIMEOUT', detail: 'a "quoted"\\path\nline' });
  t.equal(r.counter('pi_agent_values_extracted_total', 'again'), values, 'registering twice returns the same metric');
  t.throws(() => values.inc({}, -1));
  t.throws(() => r.gauge('pi_agent_values_extracted_total', 'wrong type'));
  t.equal(
    r.render(),
    `# HELP pi_agent_values_extracted_total PI events read
# TYPE pi_agent_values_extracted_total counter
pi_agent_values_extracted_total{source="timeseries"} 6
pi_agent_values_extracted_total{source="af"} 2
# HELP pi_agent_source_lag_seconds Lag per source
# TYPE pi_agent_source_lag_seconds gauge
pi_agent_source_lag_seconds{source="timeseries"} 12.5
# HELP pi_agent_buffer_bytes Bytes in the store
# TYPE pi_agent_buffer_bytes gauge
pi_agent_buffer_bytes 1024
# HELP pi_agent_errors_total Errors by code
# TYPE pi_agent_errors_total counter
pi_agent_errors_total{code="PI_TIMEOUT",detail="a \\"quoted\\"\\\\path\\nline"} 1
`,
  );
});

t.test('served on loopback at /metrics', async (t) => {
  const r = new MetricsRegistry();
  r.gauge('pi_agent_up', 'Agent running').set({}, 1);
  const server = await serveMetrics(r, { port: 0 });
  t.teardown(() => server.close());
  const ok = await get(server.port, '/metrics');
  t.equal(ok.status, 200);
  t.equal(ok.type, 'text/plain; version=0.0.4; charset=utf-8');
  t.equal(ok.body, '# HELP pi_agent_up Agent running\n# TYPE pi_agent_up gauge\npi_agent_up 1\n');
  t.equal((await get(server.port, '/other')).status, 404);
  await t.rejects(serveMetrics(r, { port: 0, host: '0.0.0.0' }), { code: 'CONFIG_INVALID' });
});
