/**
 * The agent's side of PI Web API, assembled from config: the client, and the adapters the sources
 * read through (recorded pages for many tags in one `/batch` call, point discovery, server time).
 */
import { readFileSync } from 'node:fs';
import type { AgentConfig } from '../config/types.js';
import { PiError } from '../errors.js';
import { createPiAuth } from '../pi/auth/index.js';
import { postBatch, type BatchResult } from '../pi/batch.js';
import { PiClient, type RequestInfo } from '../pi/client.js';
import { DISCOVERY_POINT_FIELDS, findDataServer, getPointByPath, listPoints } from '../pi/points.js';
import { STREAM_RECORDED_FIELDS } from '../pi/recorded.js';
import { formatPiTime, parsePiTimestamp } from '../pi/time.js';
import type { BatchRequest, DataServer, PiPoint } from '../pi/types.js';
import type { WebIdAliasStore } from '../pi/webid-aliases.js';
import { pollOutcomeOf, pollSubRequest, registerUpdates, type RegisterOutcome } from '../pi/updates.js';
import { piVersion, requireSupportedPi } from '../pi/version.js';
import type { PointDirectory } from './tags/discover.js';
import type { RecordedReader, RecordedRequest, RecordedResult } from './timeseries/extract.js';
import type { PolledStream, PollItem, UpdatesFeed } from './timeseries/updates.js';
import type { PiValueItem } from './timeseries/values.js';

export async function openPi(config: AgentConfig, onRequest?: (info: RequestInfo) => void, webIdAliases?: WebIdAliasStore): Promise<PiClient> {
  const ca = config.pi.ca ? readFileSync(config.pi.ca) : undefined;
  const authOpts: { baseUrl: string; ca?: Buffer } = { baseUrl: config.pi.url };
  if (ca) authOpts.ca = ca;
  const auth = await createPiAuth(config.pi.auth, authOpts);
  const opts: ConstructorParameters<typeof PiClient>[0] = {
    baseUrl: config.pi.url,
    auth,
    concurrency: config.pi.concurrency,
    timeoutMs: config.pi.timeout,
    userAgent: 'pi-agent',
  };
  if (ca) opts.ca = ca;
  if (onRequest) opts.onRequest = onRequest;
  if (webIdAliases) opts.webIdAliases = webIdAliases;
  return new PiClient(opts);
}

export const parseTimeUs = (s: string): number => parsePiTimestamp(s).us;

const FIELDS_QUERY = new URLSearchParams({ selectedFields: STREAM_RECORDED_FIELDS }).toString();

/**
 * Recorded pages for many tags in ONE HTTP request: `/batch` with one `/streams/{webId}/recorded`
 * sub-request per tag, each with its own time range (a streamset call shares one range, and tags
 * that are behind need their own start). Each sub-request is checked on its own (fidelity §5).
 */
export class BatchRecordedReader implements RecordedReader {
  constructor(private readonly client: PiClient) {}

  async read(reqs: RecordedRequest[]): Promise<RecordedResult[]> {
    const batch: Record<string, BatchRequest> = {};
    reqs.forEach((r, i) => {
      batch[String(i)] = recordedSubRequest(this.client, r);
    });
    const res = await postBatch(this.client, batch);
    return reqs.map((_, i) => recordedResultOf(res[String(i)]!));
  }
}

/** The `/batch` sub-request reading one stream's recorded values. */
function recordedSubRequest(client: PiClient, r: RecordedRequest): BatchRequest {
  const q = new URLSearchParams({
    startTime: formatPiTime(r.startUs),
    endTime: formatPiTime(r.endUs),
    maxCount: String(r.maxCount),
    boundaryType: 'Inside',
  });
  return { Method: 'GET', Resource: `${client.urlOf('/streams/')}${encodeURIComponent(r.webId)}/recorded?${q}&${FIELDS_QUERY}` };
}

/** One recorded-values sub-request's answer, checked (fidelity §4, §5). */
function recordedResultOf(entry: BatchResult): RecordedResult {
  if (entry.error) return { items: [], error: entry.error };
  const content = entry.content as { Items?: PiValueItem[]; UnitsAbbreviation?: string } | undefined;
  if (!content || !Array.isArray(content.Items)) {
    return { items: [], error: new PiError('PI_BAD_RESPONSE', 'a recorded-values sub-request came back without Items', { retryable: true }) };
  }
  const bad = content.Items.find((it) => Array.isArray(it.Errors) && it.Errors.length > 0);
  if (bad) {
    // A per-value error (fidelity §4) fails this tag's page: its progress stays put and the
    // page is read again next cycle, so nothing is skipped silently.
    return {
      items: [],
      error: new PiError('PI_BAD_RESPONSE', `PI reported an error for the value at ${bad.Timestamp}: ${JSON.stringify(bad.Errors).slice(0, 200)}`, { valueError: true }),
    };
  }
  const out: RecordedResult = { items: content.Items };
  if (content.UnitsAbbreviation) out.units = content.UnitsAbbreviation;
  return out;
}

/** Stream updates (fidelity §8) for the change detector, one `/batch` per call. */
export class PiUpdatesFeed implements UpdatesFeed {
  constructor(private readonly client: PiClient) {}
  /**
   * Registration as the server's release allows (agent/pi/version.ts, read once): before 2018 SP1
   * every stream is `unsupported` without asking; an unknown release is probed (registerUpdates).
   */
  async register(webIds: string[]): Promise<Map<string, RegisterOutcome>> {
    const v = await piVersion(this.client);
    if (v && v.features.streamUpdates !== 'current') {
      const what = v.features.streamUpdates === 'preview' ? 'has stream updates as a preview only' : 'has no stream updates';
      const error = new PiError('PI_NOT_FOUND', `this PI Web API ${v.release} (${v.version}) ${what}; it needs PI Web API 2018 SP1 or later`);
      return new Map(webIds.map((w) => [w, { kind: 'unsupported', error }]));
    }
    return registerUpdates(this.client, webIds);
  }
  /**
   * One `/batch`: each stream's poll, and where asked, a recorded read that PI runs after that poll
   * (ParentIds): everything the poll has not reported was in the archive before the read ran. A
   * failed poll leaves its read unrun (409).
   */
  async poll(items: PollItem[]): Promise<Map<string, PolledStream>> {
    const batch: Record<string, BatchRequest> = {};
    items.forEach((it, i) => {
      batch[`p${i}`] = pollSubRequest(this.client, it.marker);
      if (it.read) batch[`r${i}`] = { ...recordedSubRequest(this.client, it.read), ParentIds: [`p${i}`] };
    });
    const res = await postBatch(this.client, batch);
    const out = new Map<string, PolledStream>();
    items.forEach((it, i) => {
      const polled: PolledStream = pollOutcomeOf(res[`p${i}`]!, it.webId);
      if (it.read && polled.kind === 'ok') polled.read = recordedResultOf(res[`r${i}`]!);
      out.set(it.webId, polled);
    });
    return out;
  }
}

export class PiPointDirectory implements PointDirectory {
  private readonly servers = new Map<string, DataServer>();
  constructor(private readonly client: PiClient) {}

  async dataServer(name: string): Promise<DataServer> {
    let ds = this.servers.get(name.toUpperCase());
    if (!ds) {
      await requireSupportedPi(this.client);
      ds = await findDataServer(this.client, name);
      this.servers.set(name.toUpperCase(), ds);
    }
    return ds;
  }

  async *listPoints(dataserver: string, filter: { nameFilter?: string; sourceFilter?: string }): AsyncIterable<PiPoint> {
    const ds = await this.dataServer(dataserver);
    yield* listPoints(this.client, ds.WebId, { ...filter, selectedFields: DISCOVERY_POINT_FIELDS });
  }

  async pointByPath(path: string): Promise<PiPoint> {
    await requireSupportedPi(this.client);
    return getPointByPath(this.client, path);
  }
}

/** The PI server's clock (µs): extraction windows end at PI's "now", not the agent host's. */
export async function piServerNowUs(client: PiClient, dir: PiPointDirectory, dataserver: string): Promise<number> {
  const ds = await client.get<DataServer>(`/dataservers/${encodeURIComponent((await dir.dataServer(dataserver)).WebId)}`, { selectedFields: 'ServerTime' });
  if (!ds.ServerTime) return Date.now() * 1000;
  return parsePiTimestamp(ds.ServerTime).us;
}
