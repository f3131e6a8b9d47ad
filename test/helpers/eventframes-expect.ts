/** Ground truth of the event frame source tests: the simulator's truth as destination rows. */
import type { Test } from 'tap';
import type { Row } from '../../agent/batch/tables.js';
import type { AfModel } from '../sim/piwebapi/af.js';
import { type Destination, SITE, differences, idOnly } from './af-harness.js';

export const START_US = Date.parse('2026-01-01T00:00:00Z') * 1000;

const FRAME_COLS = [
  'event_frame_webid',
  'event_frame_id',
  'database_path',
  'parent_webid',
  'name',
  'path',
  'template_name',
  'category_names',
  'start_time',
  'end_time',
  'severity',
];
const pick = (r: Row, cols: string[]) => Object.fromEntries(cols.map((c) => [c, r[c] ?? null]));

export function expectedFrames(af: AfModel) {
  const frames = new Map<string, Record<string, unknown>>();
  const attrs = new Map<string, Record<string, unknown>>();
  const refs = new Map<string, Record<string, unknown>>();
  for (const f of af.truthEventFrames()) {
    const id = idOnly(f.webId);
    frames.set(`${SITE}|${id}`, {
      event_frame_webid: id,
      event_frame_id: f.id,
      database_path: f.databasePath,
      parent_webid: f.parentWebId === null ? null : idOnly(f.parentWebId),
      name: f.name,
      path: f.path,
      template_name: f.templateName,
      category_names: JSON.stringify(f.categoryNames),
      start_time: f.startTime * 1000,
      end_time: f.endTime === null ? null : f.endTime * 1000,
      severity: f.severity,
    });
    for (const a of f.attributes) {
      const aid = idOnly(a.webId);
      attrs.set(`${SITE}|${aid}`, {
        attribute_webid: aid,
        event_frame_webid: id,
        name: a.name,
        path: a.path,
        value_double: typeof a.value === 'number' ? a.value : null,
        value_string: typeof a.value === 'string' ? a.value : null,
      });
    }
    f.refElementWebIds.forEach((r, j) => {
      refs.set(`${SITE}|${id}|${idOnly(r)}`, { event_frame_webid: id, element_webid: idOnly(r), primary: j === 0 });
    });
  }
  return { frames, attrs, refs };
}

export function actualFrames(dest: Destination) {
  const m = (table: 'pi_event_frames' | 'pi_event_frame_attributes' | 'pi_event_frame_elements', cols: string[]) =>
    new Map([...dest.table(table)].map(([k, r]) => [k, pick(r, cols)]));
  return {
    frames: m('pi_event_frames', FRAME_COLS),
    attrs: m('pi_event_frame_attributes', ['attribute_webid', 'event_frame_webid', 'name', 'path', 'value_double', 'value_string']),
    refs: m('pi_event_frame_elements', ['event_frame_webid', 'element_webid', 'primary']),
  };
}

export function compareFrames(t: Test, dest: Destination, af: AfModel, label: string): void {
  const e = expectedFrames(af);
  const a = actualFrames(dest);
  t.equal(a.frames.size, e.frames.size, `${label}: frame count`);
  t.strictSame(differences(a.frames, e.frames), [], `${label}: frames exact`);
  t.strictSame(differences(a.attrs, e.attrs), [], `${label}: frame attributes exact`);
  t.strictSame(differences(a.refs, e.refs), [], `${label}: referenced elements exact`);
}
