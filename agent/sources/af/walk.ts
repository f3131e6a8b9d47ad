/**
 * The walk of one AF database: its element templates, then the whole element tree with every
 * element's attributes and the values of static ones, each object offered to the cycle's changes.
 */
import { idOnlyWebId } from '../../pi/webid.js';
import type { PiClient } from '../../pi/client.js';
import type { Store } from '../../store/store.js';
import type { AfChanges } from './changes.js';
import type { AfAttributeJson, AfDatabaseJson, AfElementJson, AfTemplateJson, AfValueJson } from './json.js';
import { batchGet, batchItems, oneCall, pages, type GetRequest } from './read.js';
import { attributeRow, elementRow, templateRow } from './rows.js';

export interface WalkOptions {
  site: string;
  client: PiClient;
  store: Store;
  signal?: AbortSignal;
}

/** Statuses of a static-value read that mean "this attribute has no readable value", not an outage. */
const NO_VALUE = [400, 404, 409, 501] as const;

/** Query common to every AF read: IDOnly WebIDs (stable keys, shorter responses). */
const ID_ONLY = { webIdType: 'IDOnly' } as const;

/** An attribute without a data reference holds a static value (configuration data). */
function isStatic(a: AfAttributeJson): boolean {
  return !a.DataReferencePlugIn;
}

export class DatabaseWalk {
  /** Progress keys of every object this walk returned (what was not returned may be deleted). */
  readonly seen = new Set<string>();

  private constructor(
    private readonly o: WalkOptions,
    private readonly changes: AfChanges,
    private readonly dbId: string,
    /** The database's path as PI returned it. */
    readonly dbName: string,
  ) {}

  static async open(o: WalkOptions, dbPath: string, changes: AfChanges): Promise<DatabaseWalk> {
    const db = await o.client.get<AfDatabaseJson>('/assetdatabases', { path: dbPath, ...ID_ONLY });
    return new DatabaseWalk(o, changes, idOnlyWebId(db.WebId), db.Path || dbPath);
  }

  /** Every element template in one call: the route has no `startIndex` to page with (read.ts oneCall). */
  async templates(): Promise<void> {
    const { o, changes, dbName } = this;
    const all = await oneCall<AfTemplateJson>(o.client, `/assetdatabases/${encodeURIComponent(this.dbId)}/elementtemplates`, { ...ID_ONLY }, o.signal);
    for (const t of all) {
      const webId = idOnlyWebId(t.WebId);
      changes.offer('template', webId, dbName, templateRow(o.site, dbName, webId, t), this.seen);
    }
    changes.commitIfDue();
  }

  /**
   * The whole tree in one paged listing; each element names its parent in Links.Parent (§6).
   * Returns false when the buffer filled: what was read is committed and the walk stopped.
   */
  async elements(): Promise<boolean> {
    const { o, changes } = this;
    const elementsPath = `/assetdatabases/${encodeURIComponent(this.dbId)}/elements`;
    for await (const page of pages<AfElementJson>(o.client, elementsPath, { searchFullHierarchy: true, ...ID_ONLY }, o.signal)) {
      if (o.store.isBufferFull()) {
        changes.commit();
        return false;
      }
      const attrLists = await this.attributesOf(page);
      const statics = await this.staticValues(attrLists.flat());
      page.forEach((e, i) => this.offerElement(e, attrLists[i]!, statics));
      changes.commitIfDue();
    }
    return true;
  }

  private attributesOf(page: AfElementJson[]): Promise<AfAttributeJson[][]> {
    return batchItems<AfAttributeJson>(
      this.o.client,
      page.map((e) => ({
        path: `/elements/${encodeURIComponent(idOnlyWebId(e.WebId))}/attributes`,
        query: { searchFullHierarchy: true, showHidden: true, showExcluded: true, ...ID_ONLY },
      })),
      this.o.signal,
    );
  }

  /** Values of the static attributes among `attrs` by WebID; null when an attribute has none readable. */
  private async staticValues(attrs: AfAttributeJson[]): Promise<Map<string, AfValueJson | null>> {
    const statics = new Map<string, AfValueJson | null>();
    const wanted = attrs.filter(isStatic);
    const values = await batchGet<AfValueJson>(
      this.o.client,
      wanted.map((a): GetRequest => ({ path: `/streams/${encodeURIComponent(idOnlyWebId(a.WebId))}/value` })),
      NO_VALUE,
      this.o.signal,
    );
    wanted.forEach((a, i) => statics.set(idOnlyWebId(a.WebId), values[i]!.status >= 200 && values[i]!.status < 300 ? (values[i]!.content ?? null) : null));
    return statics;
  }

  private offerElement(e: AfElementJson, attrs: AfAttributeJson[], statics: Map<string, AfValueJson | null>): void {
    const { o, changes, dbName } = this;
    const webId = idOnlyWebId(e.WebId);
    changes.offer('element', webId, dbName, elementRow(o.site, dbName, webId, e), this.seen);
    const byPath = new Map(attrs.map((a) => [a.Path.toUpperCase(), idOnlyWebId(a.WebId)]));
    for (const a of attrs) {
      const aId = idOnlyWebId(a.WebId);
      changes.offer('attribute', aId, dbName, attributeRow(o.site, webId, aId, a, { byPath, statics }), this.seen);
    }
  }
}
