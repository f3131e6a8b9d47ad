/**
 * The rows of event frames: pi_event_frames, pi_event_frame_attributes (with each attribute's value)
 * and pi_event_frame_elements (referenced elements), as PI returned a frame or as its deletion.
 */
import { idOnlyWebId, webIdOfLink } from '../../pi/webid.js';
import type { Row } from '../../batch/tables.js';
import { parsePiTimestamp } from '../../pi/time.js';
import type { StepTable } from '../../store/store.js';
import type { AfAttributeJson, AfObjectJson } from '../af/json.js';
import { contentHash, emptyToNull, jsonList, type GetResult } from '../af/read.js';
import { NULL_VALUE, typeValue, type PiValueItem } from '../timeseries/values.js';

export interface EventFrameJson extends AfObjectJson {
  TemplateName?: string;
  CategoryNames?: string[];
  StartTime: string;
  EndTime?: string;
  Severity?: string;
  IsAcknowledged?: boolean;
  CanBeAcknowledged?: boolean;
  IsAnnotated?: boolean;
  IsLocked?: boolean;
  AreValuesCaptured?: boolean;
  RefElementWebIds?: string[];
  Links?: Record<string, string>;
}

/** PI renders the end of an in-progress frame as 31 Dec 9999 (fidelity §7). */
const OPEN_FROM_US = Date.UTC(9999, 0, 1) * 1000;

/** AF value types → the PI point type names typeValue understands. */
function pointTypeOf(afType: string | undefined): string | undefined {
  switch ((afType ?? '').toLowerCase()) {
    case 'int16':
    case 'int32':
    case 'int64':
    case 'byte':
      return 'Int32';
    case 'datetime':
      return 'Timestamp';
    default:
      return afType;
  }
}

const usOf = (s: string): number => parsePiTimestamp(s).us;

/** The frame's end in µs; null while in progress. */
function endOf(f: EventFrameJson): number | null {
  const endRaw = f.EndTime ? usOf(f.EndTime) : OPEN_FROM_US;
  return endRaw >= OPEN_FROM_US ? null : endRaw;
}

const strip = (r: Row): Row => {
  const { ingested_at: _i, op: _o, ...rest } = r;
  return rest;
};

/** The rows of the three tables that one commit step writes. */
export class FrameTables {
  readonly frames: Row[] = [];
  readonly attributes: Row[] = [];
  readonly elements: Row[] = [];

  step(): StepTable[] {
    return [
      { table: 'pi_event_frames', rows: this.frames },
      { table: 'pi_event_frame_attributes', rows: this.attributes },
      { table: 'pi_event_frame_elements', rows: this.elements },
    ];
  }
}

/** The pi_event_frames row and pi_event_frame_elements rows of a frame as PI returned it. */
export function frameRowsOf(site: string, dbName: string, f: EventFrameJson, ingested: number): { webId: string; frame: Row; refIds: string[]; refs: Row[] } {
  const webId = idOnlyWebId(f.WebId);
  const frame: Row = {
    site,
    event_frame_webid: webId,
    event_frame_id: f.Id ?? null,
    database_path: dbName,
    parent_webid: idOnlyWebId(webIdOfLink(f.Links?.['Parent'])) ?? null,
    name: f.Name,
    path: f.Path,
    description: emptyToNull(f.Description),
    template_name: emptyToNull(f.TemplateName),
    category_names: jsonList(f.CategoryNames ?? []),
    start_time: usOf(f.StartTime),
    end_time: endOf(f),
    severity: emptyToNull(f.Severity),
    is_acknowledged: f.IsAcknowledged ?? null,
    can_be_acknowledged: f.CanBeAcknowledged ?? null,
    is_annotated: f.IsAnnotated ?? null,
    is_locked: f.IsLocked ?? null,
    are_values_captured: f.AreValuesCaptured ?? null,
    ingested_at: ingested,
    op: 'update',
  };
  const refIds = (f.RefElementWebIds ?? []).map((w) => idOnlyWebId(w));
  const refs: Row[] = refIds.map((r, j) => ({ site, event_frame_webid: webId, element_webid: r, primary: j === 0, ingested_at: ingested, op: 'update' }));
  return { webId, frame, refIds, refs };
}

/** A frame attribute's row with the value read for it (no readable value: a null, not-good value). */
export function frameAttributeRow(site: string, frameWebId: string, a: AfAttributeJson, res: GetResult<PiValueItem>, ingested: number): Row {
  const ok = res.status >= 200 && res.status < 300 && res.content !== undefined && res.content !== null;
  const item = ok ? res.content! : undefined;
  const units = emptyToNull(a.DefaultUnitsNameAbbreviation) ?? undefined;
  const typed = item ? typeValue(item, pointTypeOf(a.Type), units, usOf) : { ...NULL_VALUE, good: false };
  return {
    site,
    attribute_webid: idOnlyWebId(a.WebId),
    event_frame_webid: frameWebId,
    name: a.Name,
    path: a.Path,
    type: emptyToNull(a.Type),
    timestamp: item?.Timestamp ? usOf(item.Timestamp) : null,
    ...typed,
    ingested_at: ingested,
    op: 'update',
  };
}

/** The content hash of a frame's rows (what changed since the frame was last sent). */
export function frameHash(frame: Row, attrs: Row[], refs: Row[]): string {
  return contentHash([strip(frame), attrs.map(strip), refs.map(strip)]);
}

export function frameDelete(site: string, frameWebId: string, ingested: number): Row {
  return { site, event_frame_webid: frameWebId, ingested_at: ingested, op: 'delete' };
}

export function attributeDelete(site: string, attributeWebId: string, frameWebId: string, ingested: number): Row {
  return { site, attribute_webid: attributeWebId, event_frame_webid: frameWebId, ingested_at: ingested, op: 'delete' };
}

export function referenceDelete(site: string, frameWebId: string, elementWebId: string, ingested: number): Row {
  return { site, event_frame_webid: frameWebId, element_webid: elementWebId, ingested_at: ingested, op: 'delete' };
}
