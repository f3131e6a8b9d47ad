/**
 * The config file's shape, declared once. The validator (validate.ts) walks the YAML against it and
 * the editor JSON Schema (conf/pi-agent.schema.json) is generated from it (json-schema.ts), so the
 * two cannot drift apart.
 */

import { nonEmpty, str, type Field, type ObjectSpec, type Spec } from './fields.js';
import { SINK_SECTIONS } from '../sinks/sections.js';
import { SOURCE_SECTIONS } from '../sources/sections.js';

const piAuth: Spec = {
  kind: 'tagged',
  description: 'How the agent authenticates to PI Web API',
  variants: {
    anonymous: { kind: 'object', description: 'No authentication (test servers only)', fields: {} },
    basic: {
      kind: 'object',
      description: 'HTTP Basic over TLS',
      fields: {
        username: { spec: str('PI Web API user', { pattern: nonEmpty }), required: true },
        password: { spec: { kind: 'secret', description: 'Password reference', envExample: 'PI_PASSWORD' }, required: true },
      },
    },
    kerberos: {
      kind: 'object',
      description: "Kerberos (SPNEGO) with the service account's own ticket or keytab; no password in the config",
      fields: {
        spn: { spec: str('Service principal, default HTTP/<host of pi.url>', { pattern: nonEmpty, example: 'HTTP/pi.plant.local' }) },
        delegate: {
          spec: {
            kind: 'boolean',
            description:
              'Ask for a delegated credential (Kerberos double hop: PI Web API reading a Data Archive or AF server on another host); constrained delegation is set up in Active Directory',
          },
          default: false,
        },
      },
    },
    ntlm: {
      kind: 'object',
      description: 'NTLM with an explicit account',
      fields: {
        username: { spec: str('Windows account name', { pattern: nonEmpty }), required: true },
        password: { spec: { kind: 'secret', description: 'Password reference', envExample: 'PI_PASSWORD' }, required: true },
        domain: { spec: str('Windows domain', { pattern: nonEmpty }) },
        workstation: { spec: str('Workstation name sent in the NTLM handshake', { pattern: nonEmpty }) },
      },
    },
    bearer: {
      kind: 'object',
      description: 'A static bearer token',
      fields: { token: { spec: { kind: 'secret', description: 'Token reference', envExample: 'PI_TOKEN' }, required: true } },
    },
    oidc: {
      kind: 'object',
      description: 'OpenID Connect client credentials',
      fields: {
        client_id: { spec: str('OIDC client id', { pattern: nonEmpty }), required: true },
        client_secret: { spec: { kind: 'secret', description: 'Client secret reference', envExample: 'PI_CLIENT_SECRET' }, required: true },
        token_url: { spec: { kind: 'url', description: 'Token endpoint; default from the discovery document' } },
        scope: { spec: str('Scope requested', { pattern: nonEmpty }) },
      },
    },
  },
};

export const CONFIG_SPEC: ObjectSpec = {
  kind: 'object',
  description: 'pi-agent configuration',
  fields: {
    site: {
      spec: {
        kind: 'string',
        description: 'Name of this plant/PI server; stored in every row',
        pattern: /^[a-z0-9_-]+$/,
        maxLength: 64,
        hint: 'lower-case letters, digits, - and _ only, e.g. site: plant-a',
        example: 'plant-a',
      },
      required: true,
    },
    state_dir: { spec: { kind: 'path', description: 'Directory of the SQLite store, logs and lock (relative to this file)' }, default: './state' },
    log: {
      spec: {
        kind: 'object',
        description: 'Logging',
        fields: {
          level: { spec: { kind: 'enum', description: 'Log level', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] }, default: 'info' },
          file: { spec: { kind: 'path', description: 'Log file; default <state_dir>/logs/pi-agent.log' } },
          max_size: { spec: { kind: 'size', description: 'Rotate the log file at this size', example: '10MB' }, default: '10MB' },
          max_files: { spec: { kind: 'integer', description: 'Rotated log files kept', min: 1, max: 1000, example: 5 }, default: 5 },
        },
      },
    },
    metrics: {
      spec: {
        kind: 'object',
        description: 'Prometheus metrics endpoint (loopback only)',
        fields: {
          enabled: { spec: { kind: 'boolean', description: 'Serve /metrics' }, default: false },
          port: { spec: { kind: 'integer', description: 'TCP port', min: 1, max: 65535, example: 9464 }, default: 9464 },
          host: { spec: { kind: 'enum', description: 'Listen address; loopback only, the endpoint has no authentication', values: ['127.0.0.1'] }, default: '127.0.0.1' },
        },
      },
    },
    pi: {
      required: true,
      spec: {
        kind: 'object',
        description: 'PI Web API connection',
        example: 'url: https://pi.plant.local/piwebapi',
        fields: {
          url: { spec: { kind: 'url', description: 'PI Web API base URL' }, required: true },
          auth: { spec: piAuth, default: 'anonymous' },
          ca: { spec: { kind: 'path', description: 'Extra CA bundle (PEM) to trust', mustExist: true } },
          concurrency: { spec: { kind: 'integer', description: 'Requests in flight at once', min: 1, max: 64, example: 8 }, default: 8 },
          timeout: { spec: { kind: 'duration', description: 'Per-request timeout', example: '120s' }, default: '120s' },
          max_count: { spec: { kind: 'integer', description: 'Values per recorded-values request (maxCount)', min: 1, max: 1_000_000, example: 10000 }, default: 10000 },
          tags_per_request: { spec: { kind: 'integer', description: 'Streams per streamset request', min: 1, max: 10_000, example: 200 }, default: 200 },
        },
      },
    },
    // Each source's keys, declared with it (sources/<name>/config.ts), in the order of its list.
    ...Object.fromEntries(SOURCE_SECTIONS.flatMap((s): [string, Field][] => Object.entries(s.fields))),
    buffer: {
      spec: {
        kind: 'object',
        description: 'Store-and-forward buffer',
        fields: { max_bytes: { spec: { kind: 'size', description: 'Sources pause above this size (backpressure, never loss)', example: '2GB' }, default: '2GB' } },
      },
    },
    sink: {
      required: true,
      spec: {
        kind: 'tagged',
        description: 'Where batches go',
        // Each kind's variant, declared with it (sinks/<kind>/config.ts).
        variants: Object.fromEntries(SINK_SECTIONS.map((s) => [s.type, s.spec])),
      },
    },
  },
};

/** Every dotted key path the spec knows (`pi.auth.password`, `tags[].dataserver`...), for tests and docs. */
export function knownKeyPaths(spec: Spec = CONFIG_SPEC, prefix = ''): Set<string> {
  const out = new Set<string>();
  const visit = (s: Spec, p: string): void => {
    switch (s.kind) {
      case 'object':
        for (const [k, f] of Object.entries(s.fields)) {
          const kp = p ? `${p}.${k}` : k;
          out.add(kp);
          visit(f.spec, kp);
        }
        break;
      case 'list':
        visit(s.items, `${p}[]`);
        break;
      case 'tagged':
        out.add(`${p}.type`);
        for (const v of Object.values(s.variants)) visit(v, p);
        break;
      case 'oneOfKeys':
        for (const v of s.variants) visit(v, p);
        break;
      default:
        break;
    }
  };
  visit(spec, prefix);
  return out;
}
