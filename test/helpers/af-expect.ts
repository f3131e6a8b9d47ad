/** Ground truth of the AF source tests: the simulator's truth as rows of the destination tables. */
import type { Test } from 'tap';
import type { Row } from '../../agent/batch/tables.js';
import type { AfModel } from '../sim/piwebapi/af.js';
import { type Destination, SITE, differences, idOnly } from './af-harness.js';

function pick(r: Row, cols: string[]): Record<string, unknown> {
  return Object.fromEntries(cols.map((c) => [c, r[c] ?? null]));
}

export const ELEMENT_COLS = [
  'element_webid',
  'element_id',
  'database_path',
  'parent_webid',
  'name',
  'path',
  'depth',
  'template_name',
  'category_names',
  'description',
  'has_children',
];
export const ATTRIBUTE_COLS = [
  'attribute_webid',
  'element_webid',
  'parent_attribute_webid',
  'name',
  'path',
  'type',
  'data_reference',
  'config_string',
  'point_webid',
  'static_value',
  'is_configuration_item',
];

export function expectedElements(af: AfModel): Map<string, Record<string, unknown>> {
  return new Map(
    af.truthElements().map((e) => {
      const id = idOnly(e.webId);
      return [
        `${SITE}|${id}`,
        {
          element_webid: id,
          element_id: e.id,
          database_path: e.databasePath,
          parent_webid: e.parentWebId === null ? null : idOnly(e.parentWebId),
          name: e.name,
          path: e.path,
          depth: e.depth,
          template_name: e.templateName || null,
          category_names: JSON.stringify(e.categoryNames),
          description: e.description || null,
          has_children: e.hasChildren,
        },
      ];
    }),
  );
}

export function expectedAttributes(af: AfModel): Map<string, Record<string, unknown>> {
  return new Map(
    af.truthAttributes().map((a) => {
      const id = idOnly(a.webId);
      return [
        `${SITE}|${id}`,
        {
          attribute_webid: id,
          element_webid: idOnly(a.ownerWebId),
          parent_attribute_webid: a.parentAttributeWebId === null ? null : idOnly(a.parentAttributeWebId),
          name: a.name,
          path: a.path,
          type: a.type,
          data_reference: a.dataReference || null,
          config_string: a.configString || null,
          point_webid: a.pointWebId === null ? null : idOnly(a.pointWebId),
          static_value: a.dataReference === 'PI Point' ? null : JSON.stringify(a.value),
          is_configuration_item: a.isConfigurationItem,
        },
      ];
    }),
  );
}

export function actualAf(
  dest: Destination,
  table: 'pi_af_elements' | 'pi_af_attributes',
  cols: string[] = table === 'pi_af_elements' ? ELEMENT_COLS : ATTRIBUTE_COLS,
): Map<string, Record<string, unknown>> {
  return new Map([...dest.table(table)].map(([k, r]) => [k, pick(r, cols)]));
}

export function compareAf(t: Test, dest: Destination, af: AfModel, label: string): void {
  const ee = expectedElements(af);
  const ae = actualAf(dest, 'pi_af_elements', ELEMENT_COLS);
  t.equal(ae.size, ee.size, `${label}: element count`);
  t.strictSame(differences(ae, ee), [], `${label}: elements exact`);
  const ea = expectedAttributes(af);
  const aa = actualAf(dest, 'pi_af_attributes', ATTRIBUTE_COLS);
  t.equal(aa.size, ea.size, `${label}: attribute count`);
  t.strictSame(differences(aa, ea), [], `${label}: attributes exact`);
}
