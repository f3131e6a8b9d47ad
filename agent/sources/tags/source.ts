/**
 * The tags source: discovers the selected PI points (discover.ts, af-element.ts), keeps them in its
 * progress space and sends their metadata to `pi_tags`. The other sources read the tag list from
 * here (knownTags), never from the store's keys.
 */
import { idOnlyWebId } from '../../pi/webid.js';
import type { AgentConfig } from '../../config/types.js';
import { tagsSection, type TagSelector as ConfigTagSelector } from './config.js';
import { AgentError } from '../../errors.js';
import type { PiClient } from '../../pi/client.js';
import { findDataServer, getPointByPath, listPoints } from '../../pi/points.js';
import type { Store } from '../../store/store.js';
import { piServerNowUs } from '../pi.js';
import { clearProgress, recordingFailure, type CheckContext, type Source, type SourceContext } from '../source.js';
import { describeElementPoints, emptyHint, PiElementPoints } from './af-element.js';
import { discoverTags, type TagMeta, type TagSelector } from './discover.js';
import { TAGS } from './progress.js';

/** The tags discovery last found, in key order. */
export function knownTags(store: Pick<Store, 'getProgressByPrefix'>): TagMeta[] {
  return TAGS.values(store);
}

/** How many tags discovery last found (status: a count, no tag read). */
export function tagCount(store: Pick<Store, 'countProgressByPrefix'>): number {
  return TAGS.count(store);
}

/** A tag's path for messages (its WebID when the tag is no longer known). */
export function tagPath(store: Pick<Store, 'getProgress'>, webId: string): string {
  return TAGS.get(store, webId)?.path ?? webId;
}

/**
 * The known tags of these paths (case-insensitive; all known tags when none is named). A path not
 * known is looked up in PI when `pointByPath` is given, else refused.
 */
export async function resolveTags(
  store: Store,
  paths: string[],
  pointByPath?: (p: string) => Promise<{ WebId: string; Path: string; PointType?: string }>,
): Promise<TagMeta[]> {
  const known = knownTags(store);
  if (paths.length === 0) return known;
  const out: TagMeta[] = [];
  for (const p of paths) {
    const hit = known.find((t) => t.path.toLowerCase() === p.toLowerCase());
    if (hit) out.push(hit);
    else if (pointByPath) {
      const pt = await pointByPath(p);
      out.push({ webId: idOnlyWebId(pt.WebId), name: p, path: pt.Path, pointType: pt.PointType, hash: '' });
    } else throw new AgentError('CONFIG_INVALID', `tag ${p} is not among the selected tags (run the agent once, or check the path)`);
  }
  return out;
}

/** The data server whose clock ends extraction windows. */
function clockServer(config: AgentConfig, tags: TagMeta[]): string | undefined {
  for (const s of config.tags) if ('dataserver' in s) return s.dataserver;
  const m = tags[0] && /^\\\\([^\\]+)\\/.exec(tags[0].path);
  return m?.[1];
}

/** PI's current time (µs) from the data server's clock; the host's clock when no data server is known. */
export async function piNowUs(ctx: SourceContext, tags: TagMeta[]): Promise<number> {
  const server = clockServer(ctx.config, tags);
  return server ? piServerNowUs(ctx.client, ctx.directory, server) : Date.now() * 1000;
}

function pointSelectors(config: AgentConfig): TagSelector[] {
  return config.tags.map((s: ConfigTagSelector): TagSelector => ({ ...s }));
}

/** Discovers the selected tags; resolves to the current list. */
export async function runTagDiscovery(ctx: SourceContext): Promise<TagMeta[]> {
  const selectors = pointSelectors(ctx.config);
  return recordingFailure(ctx.store, 'tags', async () => {
    const opts: Parameters<typeof discoverTags>[0] = { site: ctx.config.site, selectors, directory: ctx.directory, store: ctx.store };
    if (selectors.some((s) => 'af_element' in s)) opts.elements = new PiElementPoints(ctx.client);
    if (ctx.config.timeseries?.shards) opts.shards = ctx.config.timeseries.shards;
    const r = await discoverTags(opts);
    // Dangling AF references skip their attribute, not the discovery (af-element.ts).
    for (const w of r.warnings) ctx.logger.warn({ source: 'tags' }, w);
    for (const { selector, result } of r.elements) {
      const more = result.unresolved - result.warnings.length;
      if (more > 0) ctx.logger.warn({ source: 'tags', af_element: selector.af_element }, `${more} more unresolvable PI Point reference(s) under ${result.element.path}`);
      const hint = emptyHint(selector, result);
      if (hint) ctx.logger.warn({ source: 'tags', af_element: selector.af_element }, hint);
    }
    ctx.store.recordSourceSuccess('tags', { lagSeconds: null });
    ctx.logger.info(
      {
        source: 'tags',
        tags: r.tags.length,
        added: r.added,
        changed: r.changed,
        removed: r.removed,
        unresolved_af_references: r.elements.reduce((n, e) => n + e.result.unresolved, 0),
      },
      'tag discovery done',
    );
    return r.tags;
  });
}

/** One point of a data-server selection, for the sample read (undefined if it selects none). */
async function firstPoint(client: PiClient, dataServerWebId: string, sel: { name_filter?: string; point_source?: string }): Promise<string | undefined> {
  const filter: Parameters<typeof listPoints>[2] = { nameFilter: sel.name_filter ?? '*', pageSize: 1, selectedFields: 'Items.WebId' };
  if (sel.point_source) filter.sourceFilter = sel.point_source;
  for await (const p of listPoints(client, dataServerWebId, filter)) return p.WebId;
  return undefined;
}

/** `check`: each selector resolves (the same resolution discovery runs); the first point found is the sample. */
async function checkSelector(ctx: CheckContext, sel: ConfigTagSelector): Promise<void> {
  if ('dataserver' in sel) {
    const ds = await findDataServer(ctx.client, sel.dataserver);
    ctx.ok(`data server ${sel.dataserver} found${ds.IsConnected === false ? ' (but PI Web API says it is not connected)' : ''}`);
    ctx.sample ??= await firstPoint(ctx.client, ds.WebId, sel);
  } else if ('path' in sel) {
    const p = await getPointByPath(ctx.client, sel.path);
    ctx.sample ??= p.WebId;
    ctx.ok(`tag ${sel.path} found`);
  } else {
    let r;
    try {
      r = await new PiElementPoints(ctx.client).resolve(sel);
    } catch (err) {
      ctx.fail('tag selector af_element', err);
      return;
    }
    ctx.sample ??= r.points[0]?.WebId;
    ctx.ok(describeElementPoints(sel, r));
    for (const w of r.warnings.slice(0, 10)) ctx.warn(w);
    if (r.unresolved > 10) ctx.warn(`${r.unresolved - 10} more unresolvable PI Point reference(s) under ${r.element.path}`);
    const hint = emptyHint(sel, r);
    if (hint) ctx.warn(hint);
  }
}

export const tagsSource: Source = {
  name: tagsSection.name,
  progress: [TAGS],
  pausesWhenFull: false,
  resetsTags: tagsSection.resetsTags,
  enabled: () => true,
  schedule: (config) => config.tags_refresh,
  async runCycle(ctx) {
    await runTagDiscovery(ctx);
    return { problems: [] };
  },
  async reset(store) {
    const n = clearProgress(store, tagsSource);
    return `reset tags: ${n} tag(s) will be discovered again (metadata re-sent as upserts)`;
  },
  status: (store) => ({ tags: tagCount(store) }),
  async check(ctx) {
    for (const sel of ctx.config.tags) {
      try {
        await checkSelector(ctx, sel);
      } catch (err) {
        ctx.fail(`tags ${JSON.stringify(sel)}`, err);
      }
    }
  },
};
