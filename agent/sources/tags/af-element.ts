/**
 * Tag selection by AF element (issue 3): the PI points behind the "PI Point" data references of an
 * element's attributes (child attributes included), optionally of its whole subtree and only of
 * elements of one template.
 *
 * Semantics (also in conf/pi-agent.example.yaml):
 * - `recursive: false` reads the element itself only; `recursive: true` the element and every
 *   descendant (`searchFullHierarchy=true`, paged to the end: no silent cap, fidelity §6, §11).
 * - `template` filters every element whose attributes are used, the root included: an element
 *   counts when its template is `template` or derives from it (the swagger's `templateName`
 *   meaning, applied by PI to the descendants and here, through the base-template chain, to the root).
 * - Hidden attributes count (hidden is a display setting); excluded ones do not (AF marks an
 *   attribute excluded when the element does not use it; PI Web API's default).
 * - The point comes from the attribute's `Links.Point` (the 2018 SP1 swagger has no
 *   `/attributes/{webId}/point`); without it, from the `\\server\tag` path in `ConfigString`.
 *   A reference that cannot be resolved (point deleted, substitution left in the config string)
 *   is a warning, never a failure of the whole discovery. Anything else (element missing, PI down,
 *   a failed sub-request) fails the discovery, so no tag is marked removed on a transient error.
 */
import { PiError } from '../../errors.js';
import type { PiClient } from '../../pi/client.js';
import type { Query } from '../../pi/http.js';
import type { PiPoint } from '../../pi/types.js';
import { idOnlyWebId, webIdOfLink } from '../../pi/webid.js';
import { batchGet, batchItems, pages, PAGE_SIZE, type GetRequest } from '../af/read.js';

export interface AfElementSelector {
  af_element: string;
  template?: string;
  recursive?: boolean;
}

/** What one af_element selector resolved to. */
export interface ElementPoints {
  /** The selector's element as PI knows it. */
  element: { path: string; templateName: string };
  /** Elements whose attributes were read (after the template filter). */
  elements: number;
  /** Attributes with a PI Point data reference among them. */
  pointAttributes: number;
  /** The distinct points (by IDOnly WebID), full metadata as `GET /points/{webId}` returns it. */
  points: PiPoint[];
  /** References that could not be resolved; at most MAX_WARNINGS, `unresolved` counts them all. */
  warnings: string[];
  unresolved: number;
}

/** What tag discovery needs to expand af_element selectors. */
export interface ElementPointSource {
  resolve(sel: AfElementSelector): Promise<ElementPoints>;
}

const MAX_WARNINGS = 50;
const ID_ONLY = { webIdType: 'IDOnly' } as const;
const ELEMENT_FIELDS = 'WebId;Name;Path;TemplateName;HasChildren';
const ATTRIBUTE_FIELDS = 'Items.Name;Items.Path;Items.DataReferencePlugIn;Items.ConfigString;Items.Links.Point';

interface ElementJson {
  WebId: string;
  Name: string;
  Path: string;
  TemplateName?: string;
  HasChildren?: boolean;
}

interface AttributeJson {
  Name: string;
  Path: string;
  DataReferencePlugIn?: string;
  ConfigString?: string;
  Links?: { Point?: string };
}

interface TemplateJson {
  Name: string;
  BaseTemplate?: string;
}

/** `\\server\tag` from a PI Point ConfigString (`\\server\tag;ReadOnly=False`, `\\server\tag?123`); undefined when not resolvable. */
export function pointPathOfConfig(config: string | undefined): string | undefined {
  if (!config) return undefined;
  const path = config
    .split(';')[0]!
    .replace(/\?[^\\]*$/, '')
    .trim();
  // `%Element%`-style substitutions are AF's to resolve; a path without a server needs AF's default server.
  if (path.includes('%') || !/^\\\\[^\\]+\\[^\\]+/.test(path)) return undefined;
  return path;
}

const sameName = (a: string, b: string): boolean => a.localeCompare(b, undefined, { sensitivity: 'accent' }) === 0;

/** What resolving one selector collects: point references by link or by path, the points, what cannot be resolved. */
class References {
  readonly byLink = new Map<string, { webId: string; attr: string }>();
  readonly byPath = new Map<string, { path: string; attr: string }>();
  private readonly seenPoints = new Set<string>();

  constructor(readonly out: ElementPoints) {}

  warn(text: string): void {
    this.out.unresolved++;
    if (this.out.warnings.length < MAX_WARNINGS) this.out.warnings.push(text);
  }

  /** Notes a PI Point data reference (by the point's link, else by the path in its ConfigString). */
  addAttribute(a: AttributeJson): void {
    if ((a.DataReferencePlugIn ?? '').toLowerCase() !== 'pi point') return;
    this.out.pointAttributes++;
    const link = webIdOfLink(a.Links?.Point);
    if (link) {
      const k = idOnlyWebId(link);
      if (!this.byLink.has(k)) this.byLink.set(k, { webId: link, attr: a.Path });
      return;
    }
    const path = pointPathOfConfig(a.ConfigString);
    if (path) {
      const k = path.toUpperCase();
      if (!this.byPath.has(k)) this.byPath.set(k, { path, attr: a.Path });
    } else {
      this.warn(
        `AF attribute ${a.Path} has a PI Point data reference that names no resolvable point (ConfigString ${JSON.stringify(a.ConfigString ?? '')}): skipped; fix the data reference in PI System Explorer`,
      );
    }
  }

  /** A point found, once per point. */
  take(p: PiPoint | undefined): void {
    if (!p || typeof p.WebId !== 'string') return;
    const k = idOnlyWebId(p.WebId);
    if (this.seenPoints.has(k)) return;
    this.seenPoints.add(k);
    this.out.points.push(p);
  }
}

/** `\\AF\DB\A\B` → `\\AF\DB`. */
function databasePathOf(elementPath: string): string {
  const segs = elementPath.slice(2).split('\\');
  return `\\\\${segs[0]}\\${segs[1] ?? ''}`;
}

export class PiElementPoints implements ElementPointSource {
  private readonly pageSize: number;
  private readonly signal: AbortSignal | undefined;

  /** `pageSize` (default 1000, PI's) only for tests of paging. */
  constructor(
    private readonly client: PiClient,
    opts: { pageSize?: number; signal?: AbortSignal } = {},
  ) {
    this.pageSize = opts.pageSize ?? PAGE_SIZE;
    this.signal = opts.signal;
  }

  async resolve(sel: AfElementSelector): Promise<ElementPoints> {
    const root = await this.element(sel.af_element);
    const refs = new References({
      element: { path: root.Path || sel.af_element, templateName: root.TemplateName ?? '' },
      elements: 0,
      pointAttributes: 0,
      points: [],
      warnings: [],
      unresolved: 0,
    });
    if (!sel.template || (await this.derivesFrom(root, sel.template))) await this.readAttributes([root], refs);
    if (sel.recursive && root.HasChildren !== false) await this.readDescendants(root, sel, refs);
    await this.fetchPoints(refs);
    return refs.out;
  }

  /** The PI Point references of these elements' attributes. */
  private async readAttributes(elements: ElementJson[], refs: References): Promise<void> {
    if (elements.length === 0) return;
    refs.out.elements += elements.length;
    const lists = await batchItems<AttributeJson>(
      this.client,
      elements.map((e): GetRequest => ({
        path: `/elements/${encodeURIComponent(e.WebId)}/attributes`,
        query: { searchFullHierarchy: true, showHidden: true, showExcluded: false, selectedFields: ATTRIBUTE_FIELDS, ...ID_ONLY },
      })),
      this.signal,
    );
    for (const a of lists.flat()) refs.addAttribute(a);
  }

  /** Every element below the root (of the template, if one is named), page by page. */
  private async readDescendants(root: ElementJson, sel: AfElementSelector, refs: References): Promise<void> {
    const query: Query = {
      searchFullHierarchy: true,
      selectedFields: ELEMENT_FIELDS.split(';')
        .map((f) => `Items.${f}`)
        .join(';'),
      ...ID_ONLY,
    };
    if (sel.template) query['templateName'] = sel.template;
    const seen = new Set<string>([root.WebId]);
    for await (const page of pages<ElementJson>(this.client, `/elements/${encodeURIComponent(root.WebId)}/elements`, query, this.signal, this.pageSize)) {
      // A hierarchy changing between pages can repeat an element: read each once.
      const fresh: ElementJson[] = [];
      for (const e of page) {
        if (seen.has(e.WebId)) continue;
        seen.add(e.WebId);
        fresh.push(e);
      }
      await this.readAttributes(fresh, refs);
    }
  }

  /** Points: one GET per distinct point, through /batch; 404/400 = the reference is dangling. */
  private async fetchPoints(refs: References): Promise<void> {
    const links = [...refs.byLink.values()];
    const fetched = await batchGet<PiPoint>(
      this.client,
      links.map((l) => ({ path: `/points/${encodeURIComponent(l.webId)}`, query: { ...ID_ONLY } })),
      [400, 404],
      this.signal,
    );
    fetched.forEach((r, i) => {
      if (r.status >= 200 && r.status < 300) refs.take(r.content);
      else refs.warn(`AF attribute ${links[i]!.attr} references a PI point that does not exist (GET /points/${links[i]!.webId}: ${r.status}): skipped`);
    });
    const paths = [...refs.byPath.values()].filter((p) => !refs.out.points.some((x) => x.Path.toUpperCase() === p.path.toUpperCase()));
    const byPathRes = await batchGet<PiPoint>(
      this.client,
      paths.map((p) => ({ path: '/points', query: { path: p.path, ...ID_ONLY } })),
      [400, 404],
      this.signal,
    );
    byPathRes.forEach((r, i) => {
      if (r.status >= 200 && r.status < 300) refs.take(r.content);
      else refs.warn(`AF attribute ${paths[i]!.attr} references PI point ${paths[i]!.path}, which does not exist (${r.status}): skipped`);
    });
  }

  /** The element by path; a missing one names the deepest part of the path that exists. */
  private async element(path: string): Promise<ElementJson> {
    try {
      const e = await this.client.get<ElementJson>('/elements', { path, selectedFields: ELEMENT_FIELDS, ...ID_ONLY });
      if (!e || typeof e.WebId !== 'string') throw new PiError('PI_BAD_RESPONSE', `PI Web API answered GET /elements?path=${path} without a WebId`, { retryable: true });
      return e;
    } catch (err) {
      if (!(err instanceof PiError) || err.code !== 'PI_NOT_FOUND') throw err;
      throw new PiError('PI_NOT_FOUND', `AF element ${path} was not found: ${await this.deepestExisting(path)}`, { status: 404, cause: err });
    }
  }

  /** An actionable hint for a missing element path: which prefix exists. */
  private async deepestExisting(path: string): Promise<string> {
    const segs = path.replace(/^\\\\/, '').split('\\');
    const hint = 'check the tag selector (\\\\AFSERVER\\Database\\Element\\...)';
    if (segs.length < 3) return `the path must name an asset server, a database and an element; ${hint}`;
    const exists = async (route: string, p: string): Promise<boolean> => {
      try {
        await this.client.get(route, { path: p, selectedFields: 'WebId', ...ID_ONLY });
        return true;
      } catch {
        return false;
      }
    };
    const db = `\\\\${segs[0]}\\${segs[1]}`;
    if (!(await exists('/assetdatabases', db))) return `AF database ${db} does not exist (or this account cannot see it); ${hint}`;
    let found = db;
    for (let i = 2; i < segs.length - 1; i++) {
      const p = `${found}\\${segs[i]}`;
      if (!(await exists('/elements', p))) break;
      found = p;
    }
    const next = path.slice(found.length + 1).split('\\')[0];
    return `${found} exists but has no child element ${JSON.stringify(next)}; ${hint}`;
  }

  /** Is the element's template `name` or derived from it (walking BaseTemplate)? */
  private async derivesFrom(e: ElementJson, name: string): Promise<boolean> {
    let t = e.TemplateName ?? '';
    const db = databasePathOf(e.Path);
    for (let hops = 0; t && hops < 32; hops++) {
      if (sameName(t, name)) return true;
      const tpl = await this.client.get<TemplateJson>('/elementtemplates', { path: `${db}\\ElementTemplates[${t}]`, selectedFields: 'Name;BaseTemplate' });
      t = tpl.BaseTemplate ?? '';
    }
    return false;
  }
}

/** One line for logs and `check`: what a selector resolved to. */
export function describeElementPoints(sel: AfElementSelector, r: ElementPoints): string {
  const scope = sel.recursive ? 'the element and its descendants' : 'the element only';
  const tpl = sel.template ? `, template ${sel.template}` : '';
  return `AF element ${r.element.path} found (template ${r.element.templateName || 'none'}): ${r.points.length} PI point(s) from ${r.pointAttributes} attribute(s) of ${r.elements} element(s) (${scope}${tpl})`;
}

/** Why a selector yields nothing, as an action; undefined when it yields points. */
export function emptyHint(sel: AfElementSelector, r: ElementPoints): string | undefined {
  if (r.points.length > 0) return undefined;
  if (r.elements === 0 && sel.template && !sel.recursive) {
    return `AF element ${r.element.path} is of template ${JSON.stringify(r.element.templateName || 'none')}, not ${sel.template}: set recursive: true to select its descendants of that template, or drop template`;
  }
  if (r.elements === 0) return `no element under ${r.element.path} is of template ${sel.template}: check the template name`;
  if (r.pointAttributes === 0) {
    return `no attribute of ${r.elements} element(s) under ${r.element.path} has a PI Point data reference${sel.recursive ? '' : ' (set recursive: true to include child elements)'}`;
  }
  return `none of the ${r.pointAttributes} PI Point reference(s) under ${r.element.path} resolves to an existing point`;
}
