/**
 * The destination tables: one definition each, shared by the Parquet encoder (agent/batch), the
 * directory sink, the Databricks sink's DDL and MERGE, and the tests. Contract columns are listed in
 * design.md ("Contracts that acceptance checks rely on"); extend, never rename.
 *
 * Timestamps are microseconds since the Unix epoch, UTC (`timestamp_us`). PI sub-second times are
 * multiples of 1/65536 s (~15.3 µs), so rounding PI's 100 ns ticks to microseconds never merges two
 * distinct PI timestamps.
 */

export type ColumnType = 'string' | 'int32' | 'int64' | 'double' | 'boolean' | 'timestamp_us';

export interface Column {
  name: string;
  type: ColumnType;
  /** false only for key columns and `op`/`site`/`ingested_at`. */
  nullable: boolean;
  comment: string;
}

export interface TableDef {
  name: TableName;
  comment: string;
  columns: Column[];
  /** Row key: what MERGE matches on and what makes a row unique. Always starts with `site`. */
  key: string[];
  /** Liquid clustering columns (Databricks `CLUSTER BY`). */
  clusterBy: string[];
}

export type TableName =
  | 'pi_timeseries'
  | 'pi_tags'
  | 'pi_af_elements'
  | 'pi_af_attributes'
  | 'pi_af_templates'
  | 'pi_event_frames'
  | 'pi_event_frame_attributes'
  | 'pi_event_frame_elements'
  | 'pi_agent_status';

export type Op = 'insert' | 'update' | 'delete';

const req = (name: string, type: ColumnType, comment: string): Column => ({ name, type, nullable: false, comment });
const opt = (name: string, type: ColumnType, comment: string): Column => ({ name, type, nullable: true, comment });

const SITE = req('site', 'string', 'Plant / agent site name from the agent config');
const INGESTED = req('ingested_at', 'timestamp_us', 'When the agent read this row from PI (UTC)');
const OP = req('op', 'string', 'Change operation: insert | update | delete (batch files; tables keep the latest)');

/** Typed value columns, shared by time series and event frame attribute values (fidelity §4). */
const VALUE_COLUMNS: Column[] = [
  opt('value_double', 'double', 'Numeric (floating point) value'),
  opt('value_int', 'int64', 'Integer value (Int16/Int32 points)'),
  opt('value_string', 'string', 'String value; JSON text for arrays and other structured values'),
  opt('value_bool', 'boolean', 'Boolean value'),
  opt('value_timestamp', 'timestamp_us', 'Timestamp value (Timestamp points), UTC'),
  opt('digital_name', 'string', 'Digital or system state name'),
  opt('digital_code', 'int32', 'Digital or system state code'),
  opt('is_system_state', 'boolean', 'true when the value is a PI system digital state (Shutdown, I/O Timeout, ...)'),
  opt('good', 'boolean', 'PI Good flag'),
  opt('questionable', 'boolean', 'PI Questionable flag'),
  opt('substituted', 'boolean', 'PI Substituted flag (value edited after archiving)'),
  opt('annotated', 'boolean', 'PI Annotated flag'),
  opt('units', 'string', 'Units abbreviation'),
];

export const TABLES: Record<TableName, TableDef> = {
  pi_timeseries: {
    name: 'pi_timeseries',
    comment: 'Recorded PI events at raw resolution, one row per event (pi-agent)',
    columns: [
      SITE,
      req('tag_webid', 'string', 'PI point WebID'),
      req('timestamp', 'timestamp_us', 'Event timestamp, UTC, microseconds'),
      req('ordinal', 'int32', 'Position of the event among events of the same tag at the same timestamp (0-based)'),
      ...VALUE_COLUMNS,
      INGESTED,
      OP,
    ],
    key: ['site', 'tag_webid', 'timestamp', 'ordinal'],
    clusterBy: ['tag_webid', 'timestamp'],
  },
  pi_tags: {
    name: 'pi_tags',
    comment: 'PI point metadata, upserted (pi-agent)',
    columns: [
      SITE,
      req('tag_webid', 'string', 'PI point WebID'),
      opt('point_id', 'int32', 'PI point id on its data server'),
      opt('name', 'string', 'Tag name'),
      opt('path', 'string', 'Tag path \\\\server\\tag'),
      opt('dataserver', 'string', 'Data server name'),
      opt('descriptor', 'string', 'Descriptor'),
      opt('point_class', 'string', 'Point class'),
      opt('point_type', 'string', 'Point type (Float32, Int32, Digital, String, ...)'),
      opt('digital_set_name', 'string', 'Digital state set for digital points'),
      opt('engineering_units', 'string', 'Engineering units'),
      opt('span', 'double', 'Span'),
      opt('zero', 'double', 'Zero'),
      opt('step', 'boolean', 'Stepped (no interpolation)'),
      opt('future', 'boolean', 'Future data point'),
      INGESTED,
      OP,
    ],
    key: ['site', 'tag_webid'],
    clusterBy: ['tag_webid'],
  },
  pi_af_elements: {
    name: 'pi_af_elements',
    comment: 'PI Asset Framework elements, upserted with deletions marked (pi-agent)',
    columns: [
      SITE,
      req('element_webid', 'string', 'Element WebID'),
      opt('element_id', 'string', 'Element GUID'),
      opt('database_path', 'string', 'AF database path'),
      opt('parent_webid', 'string', 'Parent element WebID; NULL at the top of a database'),
      opt('name', 'string', 'Element name'),
      opt('path', 'string', 'Element path'),
      opt('depth', 'int32', 'Depth below the database (top-level elements are 1)'),
      opt('template_name', 'string', 'Element template'),
      opt('category_names', 'string', 'Categories, JSON array'),
      opt('description', 'string', 'Description'),
      opt('has_children', 'boolean', 'Has child elements'),
      INGESTED,
      OP,
    ],
    key: ['site', 'element_webid'],
    clusterBy: ['element_webid'],
  },
  pi_af_attributes: {
    name: 'pi_af_attributes',
    comment: 'PI Asset Framework attributes, upserted with deletions marked (pi-agent)',
    columns: [
      SITE,
      req('attribute_webid', 'string', 'Attribute WebID'),
      opt('element_webid', 'string', 'Owning element WebID'),
      opt('parent_attribute_webid', 'string', 'Parent attribute WebID for child attributes'),
      opt('name', 'string', 'Attribute name'),
      opt('path', 'string', 'Attribute path \\\\AF\\DB\\Element|Attribute'),
      opt('type', 'string', 'Value type'),
      opt('units', 'string', 'Default units'),
      opt('data_reference', 'string', 'Data reference plug-in ("PI Point" for tag-backed attributes)'),
      opt('config_string', 'string', 'Data reference configuration string'),
      opt('point_webid', 'string', 'WebID of the referenced PI point, for PI Point references'),
      opt('static_value', 'string', 'Value of a static (configuration) attribute, JSON'),
      opt('is_configuration_item', 'boolean', 'Configuration item'),
      opt('category_names', 'string', 'Categories, JSON array'),
      INGESTED,
      OP,
    ],
    key: ['site', 'attribute_webid'],
    clusterBy: ['element_webid'],
  },
  pi_af_templates: {
    name: 'pi_af_templates',
    comment: 'PI Asset Framework element templates (pi-agent)',
    columns: [
      SITE,
      req('template_webid', 'string', 'Element template WebID'),
      opt('name', 'string', 'Template name'),
      opt('path', 'string', 'Template path'),
      opt('database_path', 'string', 'AF database path'),
      opt('base_template', 'string', 'Base template name'),
      opt('description', 'string', 'Description'),
      opt('category_names', 'string', 'Categories, JSON array'),
      INGESTED,
      OP,
    ],
    key: ['site', 'template_webid'],
    clusterBy: ['template_webid'],
  },
  pi_event_frames: {
    name: 'pi_event_frames',
    comment: 'PI event frames, upserted by WebID; open frames have a NULL end_time (pi-agent)',
    columns: [
      SITE,
      req('event_frame_webid', 'string', 'Event frame WebID'),
      opt('event_frame_id', 'string', 'Event frame GUID'),
      opt('database_path', 'string', 'AF database path'),
      opt('parent_webid', 'string', 'Parent event frame WebID for child frames'),
      opt('name', 'string', 'Name'),
      opt('path', 'string', 'Path'),
      opt('description', 'string', 'Description'),
      opt('template_name', 'string', 'Template'),
      opt('category_names', 'string', 'Categories, JSON array'),
      opt('start_time', 'timestamp_us', 'Start time, UTC'),
      opt('end_time', 'timestamp_us', 'End time, UTC; NULL while the frame is in progress'),
      opt('severity', 'string', 'Severity'),
      opt('is_acknowledged', 'boolean', 'Acknowledged'),
      opt('can_be_acknowledged', 'boolean', 'Can be acknowledged'),
      opt('is_annotated', 'boolean', 'Annotated'),
      opt('is_locked', 'boolean', 'Locked'),
      opt('are_values_captured', 'boolean', 'Attribute values captured'),
      INGESTED,
      OP,
    ],
    key: ['site', 'event_frame_webid'],
    clusterBy: ['start_time'],
  },
  pi_event_frame_attributes: {
    name: 'pi_event_frame_attributes',
    comment: 'Attributes of PI event frames with their (captured) values (pi-agent)',
    columns: [
      SITE,
      req('attribute_webid', 'string', 'Attribute WebID'),
      req('event_frame_webid', 'string', 'Event frame WebID'),
      opt('name', 'string', 'Attribute name'),
      opt('path', 'string', 'Attribute path'),
      opt('type', 'string', 'Value type'),
      opt('timestamp', 'timestamp_us', 'Value timestamp, UTC'),
      ...VALUE_COLUMNS,
      INGESTED,
      OP,
    ],
    key: ['site', 'attribute_webid'],
    clusterBy: ['event_frame_webid'],
  },
  pi_event_frame_elements: {
    name: 'pi_event_frame_elements',
    comment: 'Elements referenced by PI event frames (pi-agent)',
    columns: [
      SITE,
      req('event_frame_webid', 'string', 'Event frame WebID'),
      req('element_webid', 'string', 'Referenced element WebID'),
      opt('primary', 'boolean', 'Primary referenced element'),
      INGESTED,
      OP,
    ],
    key: ['site', 'event_frame_webid', 'element_webid'],
    clusterBy: ['event_frame_webid'],
  },
  pi_agent_status: {
    name: 'pi_agent_status',
    comment: 'One heartbeat row per agent and interval (pi-agent)',
    columns: [
      SITE,
      req('agent_id', 'string', 'Agent instance (host name and state directory)'),
      req('reported_at', 'timestamp_us', 'Heartbeat time, UTC'),
      opt('version', 'string', 'pi-agent version'),
      opt('max_lag_seconds', 'double', 'Largest lag of any source'),
      opt('sources_json', 'string', 'Per-source lag, last success and last error, JSON'),
      opt('buffer_rows', 'int64', 'Rows waiting in the local buffer'),
      opt('buffer_bytes', 'int64', 'Bytes waiting in the local buffer'),
      opt('last_error', 'string', 'Last error, if any'),
      opt('store_id', 'string', "Id of the agent's store (state directory): two stores beating for one site extract twice"),
      opt('host', 'string', 'Host name of the agent'),
      opt('shard', 'string', 'Time-series shard as index/count (timeseries.shards); NULL when not sharded'),
      INGESTED,
      OP,
    ],
    key: ['site', 'agent_id', 'reported_at'],
    clusterBy: ['reported_at'],
  },
};

/** A row as the sources produce it: column name → value (number for timestamps in µs; bigint allowed for int64). */
export type Row = Record<string, string | number | bigint | boolean | null>;
