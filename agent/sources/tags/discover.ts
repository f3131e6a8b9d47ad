/**
 * Tag selection (issue: "Tag selection"): PI points by data server + name filter and/or point
 * source, by explicit path, or behind the attributes of an AF element (af-element.ts). Point
 * metadata goes to `pi_tags`, only when it changed.
 *
 * Tags are keyed by their IDOnly WebID (data server GUID + point id, fidelity §9): a Full WebID
 * embeds the tag name, so a rename would otherwise split one tag's history in two.
 */
import type { Row } from '../../batch/tables.js';
import { idOnlyWebId } from '../../pi/webid.js';
import type { PiPoint } from '../../pi/types.js';
import { AgentError } from '../../errors.js';
import type { AfElementSelector, ElementPoints, ElementPointSource } from './af-element.js';
import { hashText } from './hash.js';
import { TAGS } from './progress.js';

export type TagSelector = { dataserver: string; name_filter?: string; point_source?: string } | { path: string } | AfElementSelector;

/** What the tags source needs from PI. */
export interface PointDirectory {
  listPoints(dataserver: string, filter: { nameFilter?: string; sourceFilter?: string }): AsyncIterable<PiPoint>;
  pointByPath(path: string): Promise<PiPoint>;
}

/** One selected tag, as remembered in the store under `tag:<webId>`. */
export interface TagMeta {
  webId: string;
  name: string;
  path: string;
  pointType: string | undefined;
  /** Hash of the metadata last sent to pi_tags. */
  hash: string;
}

export interface TagStore {
  getProgressByPrefix<T>(prefix: string): Map<string, T>;
  commitStep(steps: { table: 'pi_tags'; rows: Row[] }[], progress: { key: string; value: unknown }[], deleteKeys?: string[]): void;
}

function dataserverOf(path: string): string {
  const m = /^\\\\([^\\]+)\\/.exec(path);
  return m ? m[1]! : '';
}

function tagRow(site: string, webId: string, p: PiPoint | undefined, ingestedAt: number, op: 'update' | 'delete'): Row {
  return {
    site,
    tag_webid: webId,
    point_id: p?.Id ?? null,
    name: p?.Name ?? null,
    path: p?.Path ?? null,
    dataserver: p ? dataserverOf(p.Path) : null,
    descriptor: p?.Descriptor ?? null,
    point_class: p?.PointClass ?? null,
    point_type: p?.PointType ?? null,
    digital_set_name: p?.DigitalSetName ?? null,
    engineering_units: p?.EngineeringUnits ?? null,
    span: p?.Span ?? null,
    zero: p?.Zero ?? null,
    step: p?.Step ?? null,
    future: p?.Future ?? null,
    ingested_at: ingestedAt,
    op,
  };
}

/** Keeps a tag when it belongs to this agent's shard (tag sharding in config). */
export function inShard(webId: string, shards: { count: number; index: number } | undefined): boolean {
  if (!shards || shards.count <= 1) return true;
  return Number.parseInt(hashText(webId).slice(0, 8), 16) % shards.count === shards.index;
}

export interface DiscoverResult {
  tags: TagMeta[];
  added: number;
  changed: number;
  removed: number;
  /** Unresolvable AF references (at most 50 per selector; each selector's `unresolved` counts all). */
  warnings: string[];
  /** What each af_element selector resolved to, in selector order. */
  elements: { selector: AfElementSelector; result: ElementPoints }[];
}

/**
 * Resolve the selectors, upsert changed metadata into pi_tags, mark vanished tags deleted, and
 * return the current tag list. Commits in steps of `commitEvery` tags to bound memory.
 */
export async function discoverTags(o: {
  site: string;
  selectors: TagSelector[];
  directory: PointDirectory;
  /** Needed when a selector is an af_element. */
  elements?: ElementPointSource;
  store: TagStore;
  shards?: { count: number; index: number };
  commitEvery?: number;
}): Promise<DiscoverResult> {
  const known = new Map<string, TagMeta>();
  for (const value of TAGS.values(o.store)) known.set(value.webId, value);
  const seen = new Map<string, TagMeta>();
  const commitEvery = o.commitEvery ?? 5000;
  let rows: Row[] = [];
  let progress: { key: string; value: unknown }[] = [];
  let added = 0;
  let changed = 0;
  const flush = () => {
    if (progress.length === 0) return;
    o.store.commitStep(rows.length ? [{ table: 'pi_tags', rows }] : [], progress);
    rows = [];
    progress = [];
  };
  const consider = (p: PiPoint) => {
    const webId = idOnlyWebId(p.WebId);
    if (seen.has(webId) || !inShard(webId, o.shards)) return;
    const hash = hashText(
      JSON.stringify([p.Name, p.Path, p.Descriptor, p.PointClass, p.PointType, p.DigitalSetName, p.EngineeringUnits, p.Span, p.Zero, p.Step, p.Future]),
    );
    const meta: TagMeta = { webId, name: p.Name, path: p.Path, pointType: p.PointType, hash };
    seen.set(webId, meta);
    const before = known.get(webId);
    if (before?.hash === hash) return;
    if (before) changed++;
    else added++;
    rows.push(tagRow(o.site, webId, p, Date.now() * 1000, 'update'));
    progress.push(TAGS.entry(webId, meta));
    if (progress.length >= commitEvery) flush();
  };
  const warnings: string[] = [];
  const elements: DiscoverResult['elements'] = [];
  for (const sel of o.selectors) {
    if ('path' in sel) consider(await o.directory.pointByPath(sel.path));
    else if ('af_element' in sel) {
      if (!o.elements) throw new AgentError('INTERNAL', 'an af_element tag selector needs an AF point source');
      const r = await o.elements.resolve(sel);
      elements.push({ selector: sel, result: r });
      warnings.push(...r.warnings);
      for (const p of r.points) consider(p);
    } else {
      const filter: { nameFilter?: string; sourceFilter?: string } = {};
      if (sel.name_filter !== undefined) filter.nameFilter = sel.name_filter;
      if (sel.point_source !== undefined) filter.sourceFilter = sel.point_source;
      for await (const p of o.directory.listPoints(sel.dataserver, filter)) consider(p);
    }
  }
  flush();
  // Tags no longer selected: marked deleted in pi_tags; their time-series progress is kept so a tag
  // that comes back continues where it stopped.
  const gone = [...known.keys()].filter((w) => !seen.has(w));
  for (const w of gone) {
    rows.push(tagRow(o.site, w, undefined, Date.now() * 1000, 'delete'));
  }
  if (gone.length)
    o.store.commitStep(
      [{ table: 'pi_tags', rows }],
      [],
      gone.map((w) => TAGS.key(w)),
    );
  return { tags: [...seen.values()], added, changed, removed: gone.length, warnings, elements };
}
