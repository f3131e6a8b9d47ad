/** The Databricks sink's part of the config file: `sink: { type: databricks }`. */
import { identifier, nameList, nonEmpty, str, type ObjectSpec, type Spec } from '../../config/fields.js';
import { sinkSection } from '../../config/sections.js';
import { PARQUET_FIELD, type SinkParquetConfig } from '../../config/parquet.js';

export type DatabricksAuthConfig = { type: 'token'; token: string } | { type: 'oauth'; client_id: string; client_secret: string };

/** `sink.proxy`: the plant's HTTP proxy (README "Proxy"); the URL is http://host:port, no login inside. */
export interface ProxyConfig {
  url: string;
  username?: string;
  password?: string;
  /** Hosts reached directly (names match their subdomains; IPs and CIDR ranges match addresses). */
  no_proxy?: string[];
}

export interface DatabricksSinkConfig {
  type: 'databricks';
  /** Host name only, no scheme. */
  host: string;
  port: number;
  http_path: string;
  auth: DatabricksAuthConfig;
  /** Absolute path of an extra CA bundle (PEM). */
  ca?: string;
  catalog: string;
  schema: string;
  volume: string;
  /** Upper bound of one coalesced upload unit, bytes. */
  max_upload_bytes: number;
  /** Interval of `pi_agent_status` rows, milliseconds. */
  heartbeat_interval: number;
  proxy?: ProxyConfig;
  parquet: SinkParquetConfig;
}

const proxySpec: ObjectSpec = {
  kind: 'object',
  description: "The plant's HTTP proxy for the warehouse, the OAuth token endpoint and the presigned uploads",
  example: 'url: http://proxy.plant.local:3128',
  shorthand: 'url',
  fields: {
    url: { spec: { kind: 'url', proxy: true, description: 'Proxy URL, http://host:port' }, required: true },
    username: { spec: str('Proxy login (HTTP Basic)', { pattern: nonEmpty }) },
    password: { spec: { kind: 'secret', description: 'Proxy password reference', envExample: 'PROXY_PASSWORD' } },
    no_proxy: { spec: nameList('Hosts reached directly: names (with their subdomains), IP addresses, CIDR ranges, or *') },
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

export const DATABRICKS_SINK_SPEC: ObjectSpec = {
  kind: 'object',
  description: 'Databricks SQL warehouse and Unity Catalog volume',
  fields: {
    host: {
      spec: str('Workspace host name, no scheme', {
        pattern: /^[A-Za-z0-9.-]+$/,
        hint: 'the host name only, e.g. host: adb-123.azuredatabricks.net',
        example: 'adb-123.azuredatabricks.net',
      }),
      required: true,
    },
    port: { spec: { kind: 'integer', description: 'HTTPS port', min: 1, max: 65535, example: 443 }, default: 443 },
    http_path: {
      spec: str('Warehouse HTTP path', {
        pattern: /^\/\S+$/,
        hint: 'the path from the warehouse connection details, e.g. /sql/1.0/warehouses/abc123',
        example: '/sql/1.0/warehouses/abc123',
      }),
      required: true,
    },
    auth: { spec: databricksAuth, required: true },
    ca: { spec: { kind: 'path', description: 'Extra CA bundle (PEM) to trust', mustExist: true } },
    catalog: { spec: identifier('Unity Catalog catalog', 'main'), required: true },
    schema: { spec: identifier('Schema of the pi_* tables', 'pi'), required: true },
    volume: { spec: identifier('Volume for uploaded batch files', 'pi_agent'), required: true },
    max_upload_bytes: { spec: { kind: 'size', description: 'Largest coalesced upload unit', example: '256MB' }, default: '256MB' },
    heartbeat_interval: { spec: { kind: 'duration', description: 'Interval of pi_agent_status rows', example: '60s' }, default: '60s' },
    proxy: { spec: proxySpec },
    parquet: PARQUET_FIELD,
  },
};

/** The Databricks sink: its variant of `sink`, and its kind, loaded (with the SQL driver) only when configured. */
export const databricksSection = sinkSection<DatabricksSinkConfig>()({
  type: 'databricks',
  spec: DATABRICKS_SINK_SPEC,
  heartbeatIntervalMs: (sink) => sink.heartbeat_interval,
  load: () => import('./index.js').then((m) => m.databricksSink),
});
