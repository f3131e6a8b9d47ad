/**
 * The Asset Framework source (design.md "sources"): a snapshot of each configured AF database —
 * element templates, the whole element tree and every element attribute — sent to pi_af_templates,
 * pi_af_elements and pi_af_attributes as changes against the previous snapshot.
 *
 * - Keys are IDOnly WebIDs (pi/webid.ts `idOnlyWebId`): a rename or move is an `update` of the same row.
 * - A content hash per object lives in the store (`aft:`, `afe:`, `afa:` + WebID → [hash, database
 *   path]); only new or changed objects produce rows, committed with their hashes in one step.
 * - Deletions are computed per database only after its walk completed, and each one is confirmed by
 *   a 404 on the object itself, so a failed or concurrent walk never deletes anything that exists.
 * - Objects of a database removed from the config are soft-deleted (no 404 check: they still exist
 *   in PI, they are just no longer wanted), but only after every configured database was walked
 *   completely: a configured database that is unreachable fails the cycle before anything is removed.
 *   Event frames of a removed database are kept (history; eventframes/extract.ts).
 */
import type { Row } from '../../batch/tables.js';
import { PiError } from '../../errors.js';
import type { PiClient } from '../../pi/client.js';
import { idOnlyWebId, webIdOfLink } from '../../pi/webid.js';
import type { Store } from '../../store/store.js';
import { batchGet, batchItems, contentHash, emptyToNull, jsonList, pages, type GetRequest } from './read.js';

export interface AfDatabaseJson {
  WebId: string;
  Id?: string;
  Name: string;
  Path: string;
}

export interface AfTemplateJson {
  WebId: string;
  Id?: string;
  Name: string;
  Description?: string;
  Path: string;
  BaseTemplate?: string;
  InstanceType?: string;
  CategoryNames?: string[];
}

export interface AfElementJson {
  WebId: string;
  Id?: string;
  Name: string;
  Description?: string;
  Path: string;
  TemplateName?: string;
  HasChildren?: boolean;
  CategoryNames?: string[];
  Links?: Record<string, string>;
}

export interface AfAttributeJson {
  WebId: string;
  Id?: string;
  Name: string;
  Description?: string;
  Path: string;
  Type?: string;
  DefaultUnitsName?: string;
  DefaultUnitsNameAbbreviation?: string;
  DataReferencePlugIn?: string;
  ConfigString?: string;
  IsConfigurationItem?: boolean;
  IsExcluded?: boolean;
  IsHidden?: boolean;
  CategoryNames?: string[];
  Links?: Record<string, string>;
}

interface ValueJson {
  Timestamp?: string;
  Value?: unknown;
}

export interface AfResult {
  elements: number;
  attributes: number;
  templates: number;
  upserts: number;
  deletes: number;
  /** true when the walk stopped early (buffer full or aborted): nothing was deleted. */
  paused: boolean;
  /** Of `deletes`: objects of databases no longer configured. */
  removed: number;
}

/** Progress value per object: content hash and the database it belongs to. */
type Known = [hash: string, database: string];

const KINDS = {
  template: { prefix: 'aft:', table: 'pi_af_templates', key: 'template_webid', path: 'elementtemplates' },
  element: { prefix: 'afe:', table: 'pi_af_elements', key: 'element_webid', path: 'elements' },
  attribute: { prefix: 'afa:', table: 'pi_af_attributes', key: 'attribute_webid', path: 'attributes' },
} as const;
type Kind = keyof typeof KINDS;
const COUNT = { template: 'templates', element: 'elements', attribute: 'attributes' } as const;

/** Objects per committed step (rows + hashes in one transaction). */
const COMMIT_EVERY = 5000;

/** Statuses of a static-value read that mean "this attribute has no readable value", not an outage. */
const NO_VALUE = [400, 404, 409, 501] as const;

/** Query common to every AF read: IDOnly WebIDs (stable keys, shorter responses). */
const ID_ONLY = { webIdType: 'IDOnly' } as const;

export async function extractAf(o: { site: string; client: PiClient; store: Store; databases: string[]; signal?: AbortSignal; commitEvery?: number }): Promise<AfResult> {
  const result: AfResult = { elements: 0, attributes: 0, templates: 0, upserts: 0, deletes: 0, paused: false, removed: 0 };
  const configured = new Set<string>();
  const known = {
    template: o.store.getProgressByPrefix<Known>(KINDS.template.prefix),
    element: o.store.getProgressByPrefix<Known>(KINDS.element.prefix),
    attribute: o.store.getProgressByPrefix<Known>(KINDS.attribute.prefix),
  };
  const commitEvery = o.commitEvery ?? COMMIT_EVERY;

  let rows: Record<Kind, Row[]> = { template: [], element: [], attribute: [] };
  let progress: { key: string; value: Known }[] = [];
  const flush = (): void => {
    if (progress.length === 0) return;
    o.store.commitStep((Object.keys(rows) as Kind[]).map((k) => ({ table: KINDS[k].table, rows: rows[k] })), progress);
    for (const p of progress) known[kindOfKey(p.key)].set(p.key, p.value);
    rows = { template: [], element: [], attribute: [] };
    progress = [];
  };
  /** Queue `row` when its content differs from what was last sent. */
  const offer = (kind: Kind, webId: string, db: string, row: Row, seen: Set<string>): void => {
    const key = KINDS[kind].prefix + webId;
    // Paging over a tree that changes meanwhile can return an object twice: send it once.
    if (seen.has(key)) return;
    seen.add(key);
    result[COUNT[kind]]++;
    const { ingested_at: _i, op: _op, ...content } = row;
    const hash = contentHash(content);
    const before = known[kind].get(key);
    if (before && before[0] === hash && before[1] === db) return;
    rows[kind].push(row);
    progress.push({ key, value: [hash, db] });
    result.upserts++;
  };

  for (const dbPath of o.databases) {
    o.signal?.throwIfAborted();
    if (o.store.isBufferFull()) {
      result.paused = true;
      return result;
    }
    const db = await o.client.get<AfDatabaseJson>('/assetdatabases', { path: dbPath, ...ID_ONLY });
    const dbId = idOnlyWebId(db.WebId);
    const dbName = db.Path || dbPath;
    configured.add(dbName.toUpperCase());
    const seen = new Set<string>();
    const now = (): number => Date.now() * 1000;

    for await (const page of pages<AfTemplateJson>(o.client, `/assetdatabases/${encodeURIComponent(dbId)}/elementtemplates`, { ...ID_ONLY }, o.signal)) {
      for (const t of page) {
        const webId = idOnlyWebId(t.WebId);
        offer('template', webId, dbName, {
          site: o.site, template_webid: webId, name: t.Name, path: t.Path, database_path: dbName,
          base_template: emptyToNull(t.BaseTemplate), description: emptyToNull(t.Description),
          category_names: jsonList(t.CategoryNames ?? []), ingested_at: now(), op: 'update',
        }, seen);
      }
      if (progress.length >= commitEvery) flush();
    }

    // The whole tree in one paged listing; each element names its parent in Links.Parent (§6).
    const elementsPath = `/assetdatabases/${encodeURIComponent(dbId)}/elements`;
    for await (const page of pages<AfElementJson>(o.client, elementsPath, { searchFullHierarchy: true, ...ID_ONLY }, o.signal)) {
      if (o.store.isBufferFull()) {
        flush();
        result.paused = true;
        return result;
      }
      const attrLists = await batchItems<AfAttributeJson>(o.client, page.map((e) => ({
        path: `/elements/${encodeURIComponent(idOnlyWebId(e.WebId))}/attributes`,
        query: { searchFullHierarchy: true, showHidden: true, showExcluded: true, ...ID_ONLY },
      })), o.signal);
      const statics = new Map<string, ValueJson | null>();
      const wanted = attrLists.flat().filter(isStatic);
      const values = await batchGet<ValueJson>(o.client, wanted.map((a): GetRequest => ({ path: `/streams/${encodeURIComponent(idOnlyWebId(a.WebId))}/value` })), NO_VALUE, o.signal);
      wanted.forEach((a, i) => statics.set(idOnlyWebId(a.WebId), values[i]!.status >= 200 && values[i]!.status < 300 ? (values[i]!.content ?? null) : null));

      page.forEach((e, i) => {
        const webId = idOnlyWebId(e.WebId);
        const depth = depthBelow(dbName, e.Path);
        const parent = depth > 1 ? idOnlyWebId(webIdOfLink(e.Links?.['Parent'])) : undefined;
        if (depth > 1 && parent === undefined) {
          throw new PiError('PI_BAD_RESPONSE', `AF element ${e.Path} came without Links.Parent: cannot place it in the hierarchy`, { retryable: true });
        }
        offer('element', webId, dbName, {
          site: o.site, element_webid: webId, element_id: e.Id ?? null, database_path: dbName, parent_webid: parent ?? null,
          name: e.Name, path: e.Path, depth, template_name: emptyToNull(e.TemplateName), category_names: jsonList(e.CategoryNames ?? []),
          description: emptyToNull(e.Description), has_children: e.HasChildren ?? null, ingested_at: now(), op: 'update',
        }, seen);
        const attrs = attrLists[i]!;
        const byPath = new Map(attrs.map((a) => [a.Path.toUpperCase(), idOnlyWebId(a.WebId)]));
        for (const a of attrs) {
          const aId = idOnlyWebId(a.WebId);
          const bar = a.Path.lastIndexOf('|');
          const parentPath = a.Path.slice(0, bar);
          const parentAttr = idOnlyWebId(webIdOfLink(a.Links?.['Parent'])) ?? (parentPath.includes('|') ? byPath.get(parentPath.toUpperCase()) : undefined);
          const isPoint = a.DataReferencePlugIn === 'PI Point';
          const pointLink = isPoint ? idOnlyWebId(webIdOfLink(a.Links?.['Point'])) : undefined;
          const sv = statics.get(aId);
          offer('attribute', aId, dbName, {
            site: o.site, attribute_webid: aId, element_webid: webId, parent_attribute_webid: parentAttr ?? null,
            name: a.Name, path: a.Path, type: emptyToNull(a.Type),
            units: emptyToNull(a.DefaultUnitsNameAbbreviation) ?? emptyToNull(a.DefaultUnitsName),
            data_reference: emptyToNull(a.DataReferencePlugIn), config_string: emptyToNull(a.ConfigString),
            point_webid: pointLink ?? null,
            static_value: sv === undefined || sv === null ? null : JSON.stringify(sv.Value ?? null),
            is_configuration_item: a.IsConfigurationItem ?? null, category_names: jsonList(a.CategoryNames ?? []),
            ingested_at: now(), op: 'update',
          }, seen);
        }
      });
      if (progress.length >= commitEvery) flush();
    }
    flush();
    result.deletes += await deleteVanished(o, known, seen, dbName);
  }
  // Reached only when every configured database was walked completely (a failure throws, a pause
  // returns). An empty list (the config requires one) removes nothing rather than everything.
  if (configured.size > 0) result.removed = removeUnconfigured(o, known, configured);
  result.deletes += result.removed;
  return result;
}

/**
 * Soft-deletes (op=delete rows) every known object of a database not in `configured` (upper-cased
 * paths as PI returned them) and forgets its progress, attributes first, in steps of commitEvery.
 */
function removeUnconfigured(
  o: { site: string; store: Store; commitEvery?: number },
  known: Record<Kind, Map<string, Known>>,
  configured: Set<string>,
): number {
  let removed = 0;
  const step = o.commitEvery ?? COMMIT_EVERY;
  for (const kind of ['attribute', 'element', 'template'] as const) {
    const { prefix, table, key } = KINDS[kind];
    const gone = [...known[kind]].filter(([, v]) => !configured.has(v[1].toUpperCase())).map(([k]) => k);
    for (let i = 0; i < gone.length; i += step) {
      const keys = gone.slice(i, i + step);
      const ingested = Date.now() * 1000;
      o.store.commitStep([{ table, rows: keys.map((k) => ({ site: o.site, [key]: k.slice(prefix.length), ingested_at: ingested, op: 'delete' })) }], [], keys);
      for (const k of keys) known[kind].delete(k);
      removed += keys.length;
    }
  }
  return removed;
}

function kindOfKey(key: string): Kind {
  return key.startsWith(KINDS.template.prefix) ? 'template' : key.startsWith(KINDS.element.prefix) ? 'element' : 'attribute';
}

/** An attribute without a data reference holds a static value (configuration data). */
function isStatic(a: AfAttributeJson): boolean {
  return !a.DataReferencePlugIn;
}

/** Depth of an element below its database path: `\\AF\DB\A` → 1, `\\AF\DB\A\B` → 2. */
function depthBelow(dbPath: string, path: string): number {
  const rest = path.slice(dbPath.length).replace(/^\\/, '');
  if (!path.toUpperCase().startsWith(dbPath.toUpperCase() + '\\') || rest === '') {
    throw new PiError('PI_BAD_RESPONSE', `AF element path ${path} is not below its database ${dbPath}`, { retryable: true });
  }
  return rest.split('\\').length;
}

/**
 * Objects of `db` known from earlier snapshots but not seen in this complete walk: each is looked up
 * by WebID, and only a 404 makes it a `delete` row (soft delete). One still found was missed by a
 * concurrent change and is kept for the next snapshot.
 */
async function deleteVanished(
  o: { site: string; client: PiClient; store: Store; signal?: AbortSignal; commitEvery?: number },
  known: Record<Kind, Map<string, Known>>,
  seen: Set<string>,
  db: string,
): Promise<number> {
  let deleted = 0;
  for (const kind of ['attribute', 'element', 'template'] as const) {
    const { prefix, table, key, path } = KINDS[kind];
    const gone = [...known[kind]].filter(([k, v]) => v[1] === db && !seen.has(k)).map(([k]) => k);
    const step = o.commitEvery ?? COMMIT_EVERY;
    for (let i = 0; i < gone.length; i += step) {
      const keys = gone.slice(i, i + step);
      const checks = await batchGet(o.client, keys.map((k) => ({ path: `/${path}/${encodeURIComponent(k.slice(prefix.length))}`, query: { selectedFields: 'WebId' } })), [404], o.signal);
      const confirmed = keys.filter((_k, j) => checks[j]!.status === 404);
      if (confirmed.length === 0) continue;
      const ingested = Date.now() * 1000;
      o.store.commitStep(
        [{ table, rows: confirmed.map((k) => ({ site: o.site, [key]: k.slice(prefix.length), ingested_at: ingested, op: 'delete' })) }],
        [],
        confirmed,
      );
      for (const k of confirmed) known[kind].delete(k);
      deleted += confirmed.length;
    }
  }
  return deleted;
}
