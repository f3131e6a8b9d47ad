/** The pi_af_templates, pi_af_elements and pi_af_attributes rows of AF objects as PI returned them. */
import { idOnlyWebId, webIdOfLink } from '../../pi/webid.js';
import type { Row } from '../../batch/tables.js';
import { PiError } from '../../errors.js';
import type { AfAttributeJson, AfElementJson, AfTemplateJson, AfValueJson } from './json.js';
import { emptyToNull, jsonList } from './read.js';

const nowUs = (): number => Date.now() * 1000;

export function templateRow(site: string, db: string, webId: string, t: AfTemplateJson): Row {
  return {
    site,
    template_webid: webId,
    name: t.Name,
    path: t.Path,
    database_path: db,
    base_template: emptyToNull(t.BaseTemplate),
    description: emptyToNull(t.Description),
    category_names: jsonList(t.CategoryNames ?? []),
    ingested_at: nowUs(),
    op: 'update',
  };
}

/** An element's row; it names its parent from Links.Parent (§6), which every element below the top needs. */
export function elementRow(site: string, db: string, webId: string, e: AfElementJson): Row {
  const depth = depthBelow(db, e.Path);
  const parent = depth > 1 ? idOnlyWebId(webIdOfLink(e.Links?.['Parent'])) : undefined;
  if (depth > 1 && parent === undefined) {
    throw new PiError('PI_BAD_RESPONSE', `AF element ${e.Path} came without Links.Parent: cannot place it in the hierarchy`, { retryable: true });
  }
  return {
    site,
    element_webid: webId,
    element_id: e.Id ?? null,
    database_path: db,
    parent_webid: parent ?? null,
    name: e.Name,
    path: e.Path,
    depth,
    template_name: emptyToNull(e.TemplateName),
    category_names: jsonList(e.CategoryNames ?? []),
    description: emptyToNull(e.Description),
    has_children: e.HasChildren ?? null,
    ingested_at: nowUs(),
    op: 'update',
  };
}

/** The attributes of one element: WebIDs by upper-cased path (to find a parent attribute) and static values by WebID. */
export interface ElementAttributes {
  byPath: Map<string, string>;
  statics: Map<string, AfValueJson | null>;
}

export function attributeRow(site: string, elementWebId: string, webId: string, a: AfAttributeJson, of: ElementAttributes): Row {
  const bar = a.Path.lastIndexOf('|');
  const parentPath = a.Path.slice(0, bar);
  const parentAttr = idOnlyWebId(webIdOfLink(a.Links?.['Parent'])) ?? (parentPath.includes('|') ? of.byPath.get(parentPath.toUpperCase()) : undefined);
  const isPoint = a.DataReferencePlugIn === 'PI Point';
  const pointLink = isPoint ? idOnlyWebId(webIdOfLink(a.Links?.['Point'])) : undefined;
  const sv = of.statics.get(webId);
  return {
    site,
    attribute_webid: webId,
    element_webid: elementWebId,
    parent_attribute_webid: parentAttr ?? null,
    name: a.Name,
    path: a.Path,
    type: emptyToNull(a.Type),
    units: emptyToNull(a.DefaultUnitsNameAbbreviation) ?? emptyToNull(a.DefaultUnitsName),
    data_reference: emptyToNull(a.DataReferencePlugIn),
    config_string: emptyToNull(a.ConfigString),
    point_webid: pointLink === undefined ? null : idOnlyWebId(pointLink),
    static_value: sv === undefined || sv === null ? null : JSON.stringify(sv.Value ?? null),
    is_configuration_item: a.IsConfigurationItem ?? null,
    category_names: jsonList(a.CategoryNames ?? []),
    ingested_at: nowUs(),
    op: 'update',
  };
}

/** Depth of an element below its database path: `\\AF\DB\A` → 1, `\\AF\DB\A\B` → 2. */
function depthBelow(dbPath: string, path: string): number {
  const rest = path.slice(dbPath.length).replace(/^\\/, '');
  if (!path.toUpperCase().startsWith(dbPath.toUpperCase() + '\\') || rest === '') {
    throw new PiError('PI_BAD_RESPONSE', `AF element path ${path} is not below its database ${dbPath}`, { retryable: true });
  }
  return rest.split('\\').length;
}
