/**
 * The config file's shape, declared once. The validator (validate.ts) walks the YAML against it and
 * the editor JSON Schema (conf/pi-agent.schema.json) is generated from it (json-schema.ts), so the
 * two cannot drift apart.
 */

interface Base {
  description: string;
}

export type Spec =
  | (Base & { kind: 'string'; pattern?: RegExp; hint?: string; example?: string; maxLength?: number })
  | (Base & { kind: 'enum'; values: readonly string[] })
  | (Base & { kind: 'integer'; min?: number; max?: number; example?: number })
  | (Base & { kind: 'boolean' })
  /** `2h`, `90s` → milliseconds; or one of `keywords`, kept as written. */
  | (Base & { kind: 'duration'; example: string; keywords?: readonly string[] })
  /** `2GB` → bytes. */
  | (Base & { kind: 'size'; example: string })
  | (Base & { kind: 'cron' })
  /** ISO 8601 → normalised ISO UTC string. */
  | (Base & { kind: 'timestamp' })
  | (Base & { kind: 'url' })
  /** A file system path, resolved against the config file's directory. */
  | (Base & { kind: 'path'; mustExist?: boolean })
  /** A PI or AF path such as `\\SERVER\Name`. */
  | (Base & { kind: 'pipath'; example: string })
  /** A credential: only `${ENV_VAR}` or `file:/path` references are accepted. */
  | (Base & { kind: 'secret'; envExample: string })
  | ObjectSpec
  | (Base & { kind: 'list'; items: Spec; minItems?: number })
  /** Objects told apart by their `type` key. */
  | (Base & { kind: 'tagged'; variants: Record<string, ObjectSpec> })
  /** Objects told apart by which of their key fields is present (the first field of each variant). */
  | (Base & { kind: 'oneOfKeys'; variants: ObjectSpec[] });

export interface Field {
  spec: Spec;
  required?: boolean;
  /** Filled in when the key is absent (before conversion: as it would be written in YAML). */
  default?: string | number | boolean;
}

export interface ObjectSpec extends Base {
  kind: 'object';
  fields: Record<string, Field>;
  /** A line to show when the object is missing or empty, e.g. `lookback: 2h`. */
  example?: string;
}

const cron = (description: string): Spec => ({ kind: 'cron', description });
const str = (description: string, extra: Partial<{ pattern: RegExp; hint: string; example: string }> = {}): Spec => ({ kind: 'string', description, ...extra });
const nonEmpty = /\S/;
const dbPaths = (what: string): Spec => ({
  kind: 'list',
  minItems: 1,
  description: `${what} AF database paths`,
  items: { kind: 'pipath', description: 'AF database path', example: '\\\\AFSERVER\\Database' },
});
const nameList = (description: string): Spec => ({ kind: 'list', description, items: str(description, { pattern: nonEmpty }) });

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
      fields: { spn: { spec: str('Service principal, default HTTP/<host of pi.url>', { pattern: nonEmpty, example: 'HTTP/pi.plant.local' }) } },
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

const databricksAuth: Spec = {
  kind: 'tagged',
  description: 'How the agent authenticates to Databricks',
  variants: {
    token: {
      kind: 'object',
      description: 'Personal access token or service principal token',
      fields: { token: { spec: { kind: 'secret', description: 'Token reference', envExample: 'DATABRICKS_TOKEN' }, required: true } },
    },
    oauth: {
      kind: 'object',
      description: 'OAuth machine-to-machine (service principal)',
      fields: {
        client_id: { spec: str('Service principal application id', { pattern: nonEmpty }), required: true },
        client_secret: { spec: { kind: 'secret', description: 'OAuth secret reference', envExample: 'DATABRICKS_CLIENT_SECRET' }, required: true },
      },
    },
  },
};

const identifier = (description: string, example: string): Spec =>
  str(description, { pattern: /^[A-Za-z0-9_]+$/, hint: `letters, digits and _ only, e.g. ${example}`, example });

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
    tags: {
      spec: {
        kind: 'list',
        description: 'Which PI points to extract',
        items: {
          kind: 'oneOfKeys',
          description: 'A tag selector: by data server search, by path, or by AF element attributes',
          variants: [
            {
              kind: 'object',
              description: 'Points of a data server matching a name filter and/or point source',
              fields: {
                dataserver: { spec: str('Data server name', { pattern: nonEmpty, example: 'PISRV01' }), required: true },
                name_filter: { spec: str('Name filter, e.g. * or FIC*', { pattern: nonEmpty }) },
                point_source: { spec: str('Point source, e.g. OPC', { pattern: nonEmpty }) },
              },
            },
            {
              kind: 'object',
              description: 'One point by path',
              fields: { path: { spec: { kind: 'pipath', description: 'Point path', example: '\\\\PISRV01\\TAG1' }, required: true } },
            },
            {
              kind: 'object',
              description: 'Points referenced by the attributes of an AF element',
              fields: {
                af_element: { spec: { kind: 'pipath', description: 'AF element path', example: '\\\\AFSERVER\\Database\\Area\\Unit' }, required: true },
                template: { spec: str('Only elements of this template', { pattern: nonEmpty }) },
                recursive: { spec: { kind: 'boolean', description: 'Include child elements' }, default: false },
              },
            },
          ],
        },
      },
    },
    tags_refresh: { spec: cron('When tag discovery runs again (cron)'), default: '0 * * * *' },
    timeseries: {
      spec: {
        kind: 'object',
        description: 'Recorded values of the selected tags; omit to skip',
        example: 'start: "2026-01-01T00:00:00Z"',
        fields: {
          start: { spec: { kind: 'timestamp', description: "Where a new tag's history begins (ISO 8601)" }, required: true },
          lookback: { spec: { kind: 'duration', description: 'Window re-read for late data and edits', example: '2h' }, default: '2h' },
          lookback_every: { spec: { kind: 'duration', keywords: ['auto'], description: 'How often a cycle re-reads the lookback window (other cycles read only what is new): auto = every cycle for tags PI reports stream updates for (the re-read then reads only from the oldest change reported, usually with no request of its own), every 15m for the others; or a duration (0s = every cycle)', example: '15m' }, default: 'auto' },
          lookback_full_every: { spec: { kind: 'duration', description: 'Where stream updates work, a re-read starts at the oldest change PI reported since the previous one; the whole lookback window is still re-read at least this often, each tag at its own phase (a few tags each cycle); 0s = always the whole window', example: '6h' }, default: '6h' },
          stream_updates: { spec: { kind: 'enum', description: 'PI Web API stream updates (2018 SP1+) find changes older than the lookback window: auto = use them where the server has them, off = never (only the lookback window is checked)', values: ['auto', 'off'] }, default: 'auto' },
          schedule: { spec: cron('When extraction runs (cron)'), default: '*/1 * * * *' },
          shards: {
            spec: {
              kind: 'object',
              description: 'Split a large server across agents: this agent takes the tags whose hash modulo count equals index',
              fields: {
                count: { spec: { kind: 'integer', description: 'Number of agents', min: 1, max: 1024, example: 4 }, required: true },
                index: { spec: { kind: 'integer', description: "This agent's shard, 0-based", min: 0, max: 1023 }, required: true },
              },
            },
          },
        },
      },
    },
    af: {
      spec: {
        kind: 'object',
        description: 'AF hierarchy (elements, attributes, templates); omit to skip',
        example: "databases: ['\\\\AFSERVER\\Database']",
        fields: {
          databases: { spec: dbPaths('Extracted'), required: true },
          schedule: { spec: cron('When the hierarchy is re-read (cron)'), default: '0 * * * *' },
        },
      },
    },
    event_frames: {
      spec: {
        kind: 'object',
        description: 'Event frames; omit to skip',
        example: "databases: ['\\\\AFSERVER\\Database']",
        fields: {
          databases: { spec: dbPaths('Searched'), required: true },
          start: { spec: { kind: 'timestamp', description: 'Oldest frame start extracted (ISO 8601)' }, required: true },
          schedule: { spec: cron('When frames are searched (cron)'), default: '*/5 * * * *' },
          rescan_horizon: { spec: { kind: 'duration', description: 'How far back a rescan searches for frames entered or deleted late (back-dated frames)', example: '7d' }, default: '7d' },
          rescan_every: { spec: { kind: 'duration', description: 'How often a cycle searches the whole rescan horizon instead of the last window', example: '1h' }, default: '1h' },
          templates: { spec: nameList('Only frames of these templates') },
          categories: { spec: nameList('Only frames of these categories') },
        },
      },
    },
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
        variants: {
          directory: {
            kind: 'object',
            description: 'A local folder of Parquet files: <path>/<table>/...parquet',
            fields: { path: { spec: { kind: 'path', description: 'Output directory (relative to this file)' }, required: true } },
          },
          databricks: {
            kind: 'object',
            description: 'Databricks SQL warehouse and Unity Catalog volume',
            fields: {
              host: {
                spec: str('Workspace host name, no scheme', { pattern: /^[A-Za-z0-9.-]+$/, hint: 'the host name only, e.g. host: adb-123.azuredatabricks.net', example: 'adb-123.azuredatabricks.net' }),
                required: true,
              },
              port: { spec: { kind: 'integer', description: 'HTTPS port', min: 1, max: 65535, example: 443 }, default: 443 },
              http_path: { spec: str('Warehouse HTTP path', { pattern: /^\/\S+$/, hint: 'the path from the warehouse connection details, e.g. /sql/1.0/warehouses/abc123', example: '/sql/1.0/warehouses/abc123' }), required: true },
              auth: { spec: databricksAuth, required: true },
              ca: { spec: { kind: 'path', description: 'Extra CA bundle (PEM) to trust', mustExist: true } },
              catalog: { spec: identifier('Unity Catalog catalog', 'main'), required: true },
              schema: { spec: identifier('Schema of the pi_* tables', 'pi'), required: true },
              volume: { spec: identifier('Volume for uploaded batch files', 'pi_agent'), required: true },
              max_upload_bytes: { spec: { kind: 'size', description: 'Largest coalesced upload unit', example: '256MB' }, default: '256MB' },
              heartbeat_interval: { spec: { kind: 'duration', description: 'Interval of pi_agent_status rows', example: '60s' }, default: '60s' },
            },
          },
        },
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
