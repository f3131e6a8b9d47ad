/**
 * One database's event frame cycle (extract.ts): the search over its window, the upsert of new or
 * changed frames, and the re-read and deletion of known frames the search no longer returned. Each
 * step commits its rows with the progress of its frames (exactly once).
 */
import { idOnlyWebId } from '../../pi/webid.js';
import { PiError } from '../../errors.js';
import type { PiClient } from '../../pi/client.js';
import { formatPiTime } from '../../pi/time.js';
import type { Store } from '../../store/store.js';
import type { AfAttributeJson } from '../af/json.js';
import { batchGet, batchItems, pages, type GetResult } from '../af/read.js';
import type { PiValueItem } from '../timeseries/values.js';
import { FRAMES, type FrameProgress } from './progress.js';
import { attributeDelete, frameAttributeRow, frameDelete, frameHash, frameRowsOf, FrameTables, referenceDelete, type EventFrameJson } from './rows.js';
import type { SearchWindow } from './window.js';

export interface CycleOptions {
  site: string;
  client: PiClient;
  store: Store;
  templates?: string[];
  categories?: string[];
  signal?: AbortSignal;
}

/** What a cycle counts of the frames it read and wrote. */
export interface FrameCounts {
  frames: number;
  open: number;
  upserts: number;
  deletes: number;
}

/** Statuses of a value read that mean "no readable value" rather than an outage. */
const NO_VALUE = [400, 404, 409, 501] as const;
/** Frames per processing step (their attributes are read in one or two `/batch` calls). */
const STEP = 100;

type AttributeRead = [AfAttributeJson, GetResult<PiValueItem>];

export class DatabaseCycle {
  /** Progress keys of every frame this cycle read. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly o: CycleOptions,
    /** Every frame the store knows (all databases), kept in step with each commit. */
    private readonly known: Map<string, FrameProgress>,
    private readonly counts: FrameCounts,
    private readonly dbName: string,
    private readonly dbId: string,
    private readonly window: SearchWindow,
  ) {}

  /** Every frame overlapping the window, step by step; false when the buffer filled (the cycle stops). */
  async search(): Promise<boolean> {
    const { o, window } = this;
    const framesPath = `/assetdatabases/${encodeURIComponent(this.dbId)}/eventframes`;
    for (const filter of filters(o.templates, o.categories)) {
      const query = {
        searchMode: 'Overlapped',
        startTime: formatPiTime(window.from),
        endTime: formatPiTime(window.to),
        searchFullHierarchy: true,
        webIdType: 'IDOnly',
        sortField: 'StartTime',
        ...filter,
      };
      for await (const page of pages<EventFrameJson>(o.client, framesPath, query, o.signal)) {
        for (let i = 0; i < page.length; i += STEP) {
          if (o.store.isBufferFull()) return false;
          await this.upsert(page.slice(i, i + STEP));
        }
      }
    }
    return true;
  }

  /** Known frames that overlap the window but were not returned: deleted, or changed out of it. */
  async deleteMissing(): Promise<void> {
    const { from, to } = this.window;
    const missing = [...this.known].filter(([k, p]) => p.d === this.dbName && !this.seen.has(k) && p.s <= to && (p.e === null || p.e >= from)).map(([k]) => k);
    for (let i = 0; i < missing.length; i += STEP) {
      // A key may already be gone as the child of a frame deleted in an earlier step.
      const keys = missing.slice(i, i + STEP).filter((k) => this.known.has(k));
      if (keys.length === 0) continue;
      const gone = await this.reread(keys);
      if (gone.length === 0) continue;
      this.deleteFrames(this.withKnownDescendants(gone));
    }
  }

  /** Rows and progress for a step of frames, committed together; unchanged frames produce nothing. */
  private async upsert(frames: EventFrameJson[]): Promise<void> {
    const fresh = frames.filter((f) => !this.seen.has(FRAMES.key(idOnlyWebId(f.WebId))));
    for (const f of fresh) this.seen.add(FRAMES.key(idOnlyWebId(f.WebId)));
    if (fresh.length === 0) return;
    const reads = await this.attributesOf(fresh);
    const tables = new FrameTables();
    const progress: { key: string; value: FrameProgress }[] = [];
    const ingested = Date.now() * 1000;
    fresh.forEach((f, i) => {
      const changed = this.diff(f, reads[i]!, ingested, tables);
      if (changed) progress.push(changed);
    });
    if (progress.length === 0) return;
    this.o.store.commitStep(tables.step(), progress);
    for (const p of progress) this.known.set(p.key, p.value);
  }

  /** Each frame's attributes with their values, in frame order. */
  private async attributesOf(frames: EventFrameJson[]): Promise<AttributeRead[][]> {
    const { o } = this;
    const attrLists = await batchItems<AfAttributeJson>(
      o.client,
      frames.map((f) => ({
        path: `/eventframes/${encodeURIComponent(idOnlyWebId(f.WebId))}/attributes`,
        query: { searchFullHierarchy: true, showHidden: true, showExcluded: true, webIdType: 'IDOnly' },
      })),
      o.signal,
    );
    const values = await batchGet<PiValueItem>(
      o.client,
      attrLists.flat().map((a) => ({ path: `/streams/${encodeURIComponent(idOnlyWebId(a.WebId))}/value` })),
      NO_VALUE,
      o.signal,
    );
    let v = 0;
    return attrLists.map((attrs) => attrs.map((a): AttributeRead => [a, values[v++]!]));
  }

  /**
   * Adds the rows of `f` to `tables` when they differ from what was last sent, with deletions of
   * the attributes and references it no longer has; returns its new progress, or undefined when unchanged.
   */
  private diff(f: EventFrameJson, reads: AttributeRead[], ingested: number, tables: FrameTables): { key: string; value: FrameProgress } | undefined {
    const { site } = this.o;
    const { webId, frame, refIds, refs } = frameRowsOf(site, this.dbName, f, ingested);
    const key = FRAMES.key(webId);
    const start = frame['start_time'] as number;
    const end = frame['end_time'] as number | null;
    this.counts.frames++;
    if (end === null) this.counts.open++;
    const attrs = reads.map(([a, res]) => frameAttributeRow(site, webId, a, res, ingested));
    const hash = frameHash(frame, attrs, refs);
    const before = this.known.get(key);
    if (before && before.h === hash && before.d === this.dbName) return undefined;
    const attrIds = attrs.map((a) => a['attribute_webid'] as string);
    tables.frames.push(frame);
    tables.attributes.push(...attrs);
    tables.elements.push(...refs);
    // What the previous version had and this one has not: gone attributes and references.
    for (const a of before?.a ?? []) if (!attrIds.includes(a)) tables.attributes.push(attributeDelete(site, a, webId, ingested));
    for (const r of before?.r ?? []) if (!refIds.includes(r)) tables.elements.push(referenceDelete(site, webId, r, ingested));
    const value: FrameProgress = { d: this.dbName, h: hash, s: start, e: end, a: attrIds, r: refIds };
    if (typeof frame['parent_webid'] === 'string') value.p = frame['parent_webid'];
    this.counts.upserts++;
    return { key, value };
  }

  /** Reads `keys` by WebID: frames still found are upserted; returns the keys PI answered 404 for. */
  private async reread(keys: string[]): Promise<string[]> {
    const { o } = this;
    const reads = await batchGet<EventFrameJson>(
      o.client,
      keys.map((k) => ({ path: `/eventframes/${encodeURIComponent(FRAMES.idOf(k))}`, query: { webIdType: 'IDOnly' } })),
      [404],
      o.signal,
    );
    const found = reads.filter((r) => r.status !== 404).map((r) => r.content!);
    if (found.some((f) => !f || typeof f.WebId !== 'string'))
      throw new PiError('PI_BAD_RESPONSE', 'PI Web API answered an event frame read without a WebId', { retryable: true });
    await this.upsert(found);
    return keys.filter((_k, j) => reads[j]!.status === 404);
  }

  /** PI deletes a frame's child frames with it: `gone` with its known descendants the search did not return. */
  private withKnownDescendants(gone: string[]): string[] {
    const kids = new Map<string, string[]>();
    for (const [k, p] of this.known) if (p.p !== undefined) kids.set(FRAMES.key(p.p), [...(kids.get(FRAMES.key(p.p)) ?? []), k]);
    for (let j = 0; j < gone.length; j++) {
      for (const c of kids.get(gone[j]!) ?? []) if (!this.seen.has(c) && !gone.includes(c)) gone.push(c);
    }
    return gone;
  }

  /** `delete` rows for the frames of `gone`, their attributes and references, with their progress forgotten in the same step. */
  private deleteFrames(gone: string[]): void {
    const { site } = this.o;
    const ingested = Date.now() * 1000;
    const tables = new FrameTables();
    for (const k of gone) {
      const webId = FRAMES.idOf(k);
      const p = this.known.get(k)!;
      tables.frames.push(frameDelete(site, webId, ingested));
      for (const a of p.a) tables.attributes.push(attributeDelete(site, a, webId, ingested));
      for (const r of p.r) tables.elements.push(referenceDelete(site, webId, r, ingested));
    }
    this.o.store.commitStep(tables.step(), [], gone);
    for (const k of gone) this.known.delete(k);
    this.counts.deletes += gone.length;
  }
}

/** One search per template × category (PI takes one of each per call); none → one unfiltered search. */
function filters(templates: string[] | undefined, categories: string[] | undefined): Record<string, string>[] {
  const ts = templates?.length ? templates : [undefined];
  const cs = categories?.length ? categories : [undefined];
  const out: Record<string, string>[] = [];
  for (const t of ts) {
    for (const c of cs) {
      const f: Record<string, string> = {};
      if (t !== undefined) f['templateName'] = t;
      if (c !== undefined) f['categoryName'] = c;
      out.push(f);
    }
  }
  return out;
}
