/**
 * WebID 1.0 servers (PI Web API 2016 R2 and 2017): the agent keys every object by its IDOnly 2.0
 * WebID (pi/webid.ts idOnlyWebId), which such a server does not read. The PI client translates at
 * the wire, so no source knows the difference:
 * - inbound, every 1.0 id of a known layout in an answer (`WebId`, `...WebId`, `...WebIds`, the
 *   ids inside `Links` URLs) becomes its key, and the pair (key → the server's id) is remembered;
 * - outbound, a remembered key in a request's path, query or /batch body goes out as the
 *   server's own id.
 *
 * A 1.0 id embeds the object's path, so the same object's id changes on a rename: its key does
 * not, and the newest id the server wrote is the one sent (the older one still addresses it too;
 * AVEVA, "WebID": ids created by 2017 and earlier remain valid). Pairs are kept in the store
 * (`pi_webids`) so a restarted agent can read the tags it knows before discovery runs again.
 */
import { webId1Key } from './webid.js';

/**
 * Where the pairs persist: the store's `pi_webids` table, read one key at a time (the pairs of a
 * long-running agent grow with every event frame attribute it saw: they stay on disk). Absent in
 * `check`, which keeps its few in memory.
 */
export interface WebIdAliasStore {
  /** Is any pair kept, i.e. did this server write WebID 1.0 before? */
  hasAny(): boolean;
  get(key: string): string | undefined;
  save(pairs: [key: string, webId: string][]): void;
}

/** The first WebId of an answer: its version character tells a 1.0 server from a 2.0 one. */
const FIRST_WEBID = /"WebId"\s*:\s*"[A-Za-z]([01])/;

/**
 * Could the answer hold a 1.0 id at all: a quote, slash or `=`, a marker character, `0`, then at
 * least a GUID's worth of URL-safe base64. Recorded values hold none: their pages are not walked.
 */
const MAY_HOLD_WEBID1 = /["/=][A-Za-z]0[A-Za-z0-9_-]{20}/;

/** Keys in request text: IDOnly 2.0 ids are URL-safe base64, at least 26 characters (`I1DS` + a GUID). */
const TOKEN = /[A-Za-z0-9_-]{26,}/g;

/** Pairs held in memory at most (least recently used dropped first); the store has all of them. */
const CACHED_PAIRS = 50_000;

export class WebIdAliases {
  /** key → the server's id; every pair when there is no store, the recently used ones otherwise. */
  private readonly cache = new Map<string, string>();
  private formatRead = false;
  /**
   * Which WebIDs the server writes: known from its release (pi/version.ts), from pairs in the
   * store, or else from the first WebId an answer carries (sniff); unknown until then.
   */
  private format: 'unknown' | '1.0' | '2.0' = 'unknown';

  constructor(private readonly store?: WebIdAliasStore) {}

  /**
   * The server's release says which format it writes (pi/version.ts). A 2.0 server stops the
   * translation even with pairs in the store (PI Web API upgraded from 2017): its own ids are the
   * keys, and it would read the old 1.0 ids too.
   */
  setFormat(format: '1.0' | '2.0'): void {
    this.formatRead = true;
    this.format = format;
  }

  get isActive(): boolean {
    this.fromStore();
    return this.format === '1.0';
  }

  /**
   * Until the format is known, the raw text of each answer is searched for its first WebId (one
   * search per answer, none once known): a call made before the release was read (a source run
   * on its own, `check`) still translates.
   */
  sniff(text: string): void {
    this.fromStore();
    if (this.format !== 'unknown') return;
    const m = FIRST_WEBID.exec(text);
    if (m) this.format = m[1] === '0' ? '1.0' : '2.0';
  }

  /** The server's id for a key (the key itself when none is known). */
  webIdOf(key: string): string {
    return this.lookup(key) ?? key;
  }

  /** Request text (path and query, or a JSON body) with every known key replaced by the server's id. */
  outbound(text: string): string {
    if (!this.isActive) return text;
    return text.replace(TOKEN, (t) => this.lookup(t) ?? t);
  }

  /**
   * Rewrites the 1.0 ids of an answer to keys, in place, and remembers each new pair. `text`, the
   * answer as it came, spares the walk of one that cannot hold any.
   */
  inbound<T>(json: T, text?: string): T {
    if (!this.isActive || json === null || typeof json !== 'object') return json;
    if (text !== undefined && !MAY_HOLD_WEBID1.test(text)) return json;
    const fresh: [string, string][] = [];
    this.walk(json, fresh);
    if (fresh.length > 0) this.store?.save(fresh);
    return json;
  }

  /** Pairs in the store mean a 1.0 server, unless its release said otherwise. Asked once. */
  private fromStore(): void {
    if (this.formatRead) return;
    this.formatRead = true;
    if (this.format === 'unknown' && this.store?.hasAny()) this.format = '1.0';
  }

  private lookup(key: string): string | undefined {
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      // Most recently used last: the first entry is the one to drop.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const stored = this.store?.get(key);
    if (stored !== undefined) this.remember(key, stored);
    return stored;
  }

  private remember(key: string, webId: string): void {
    this.cache.delete(key);
    if (this.store && this.cache.size >= CACHED_PAIRS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, webId);
  }

  private keyOf(webId: string, fresh: [string, string][]): string {
    const key = webId1Key(webId);
    if (key === undefined) return webId; // not a 1.0 id of a known layout (pi/webid.ts): kept as written
    if (this.lookup(key) !== webId) {
      this.remember(key, webId);
      fresh.push([key, webId]);
    }
    return key;
  }

  private linkOf(url: string, fresh: [string, string][]): string {
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const rewritten = path
      .split('/')
      .map((seg) => this.keyOf(seg, fresh))
      .join('/');
    return q < 0 ? rewritten : rewritten + url.slice(q);
  }

  private walk(node: object, fresh: [string, string][]): void {
    if (Array.isArray(node)) {
      for (const v of node) if (v !== null && typeof v === 'object') this.walk(v as object, fresh);
      return;
    }
    const o = node as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'string') {
        if (k.endsWith('WebId')) o[k] = this.keyOf(v, fresh);
      } else if (Array.isArray(v) && k.endsWith('WebIds')) {
        o[k] = (v as unknown[]).map((w) => (typeof w === 'string' ? this.keyOf(w, fresh) : w));
      } else if (k === 'Links' && v !== null && typeof v === 'object') {
        const links = v as Record<string, unknown>;
        for (const [lk, lv] of Object.entries(links)) if (typeof lv === 'string') links[lk] = this.linkOf(lv, fresh);
      } else if (v !== null && typeof v === 'object') {
        this.walk(v, fresh);
      }
    }
  }
}
