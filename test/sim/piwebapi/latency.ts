/**
 * Per-request serving cost, to model a production PI Web API + Data Archive where a request costs
 * milliseconds (on loopback the simulator answers in microseconds, which hides what many small
 * requests cost). The server holds each response until its cost has passed since the request
 * arrived (the simulator's own work counts towards it), so a response is never earlier than its
 * cost and concurrent requests overlap their waits, as on a multi-threaded server.
 *
 * The model, for one HTTP request:
 *   cost = requestMs + max(largest item, sum of items / parallelism)
 * where the items are the internal calls the request makes:
 *   - a stream read (`/streams/{id}/recorded`, `/value`, ...): one item of
 *     streamMs + valueUs × values (one PI Data Archive call for the point, then the values);
 *   - a streamset read of N streams: N such items (PI Web API reads the points with one bulk call
 *     that the archive serves in parallel);
 *   - a `/batch`: each sub-request is an item (a stream read as above, a streamset as its streams,
 *     anything else streamMs), run `parallelism` at a time (a real PI Web API runs the sub-requests
 *     of a batch that do not depend on each other in parallel); requestMs is charged once;
 *   - anything else (discovery, listings): no item, requestMs only.
 * requestMs stands for the network round trip, HTTP.sys/OWIN, authentication and PI Web API's
 * routing; valueUs for reading one value from the archive and serialising it to JSON.
 */

export interface LatencyOptions {
  /** Every HTTP request, ms. */
  requestMs?: number;
  /** Every stream read (one PI Data Archive call) and every other batch sub-request, ms. */
  streamMs?: number;
  /** Every value served, µs. */
  valueUs?: number;
  /** Items of one request the server runs at once (default 8). */
  parallelism?: number;
}

/** What the server has served and charged since it started (always counted when latency is on). */
export interface ServedStats {
  /** HTTP requests through the PI Web API routes (not the control API). */
  requests: number;
  /** Batch sub-requests (templated ones counted per item). */
  subRequests: number;
  /** Stream reads (single streams, streamset members, batch sub-requests reading a stream). */
  streams: number;
  /** Values served by stream reads. */
  values: number;
  /** Sum of the modelled costs, ms. */
  chargedMs: number;
  /** Sum of the waits actually added (cost minus the simulator's own time), ms. */
  delayedMs: number;
}

export function newServedStats(): ServedStats {
  return { requests: 0, subRequests: 0, streams: 0, values: 0, chargedMs: 0, delayedMs: 0 };
}

export interface RequestWork {
  /** Cost of each internal call, ms. */
  items: number[];
  subRequests: number;
  streams: number;
  values: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Values per stream read in a response body; [] when it reads no stream. */
export function streamReads(body: unknown): number[] {
  if (!isObj(body)) return [];
  const items = body.Items;
  if (Array.isArray(items)) {
    const first = items.find(isObj);
    if (first === undefined) return 'UnitsAbbreviation' in body ? [0] : [];
    // A streamset: each member carries its own Items (or a single Value for /streamsets/value).
    if (Array.isArray(first.Items) || ('WebId' in first && 'Value' in first)) {
      return items.map((m) => (isObj(m) && Array.isArray(m.Items) ? m.Items.length : isObj(m) && 'Value' in m ? 1 : 0));
    }
    if ('Timestamp' in first) return [items.length];
    return [];
  }
  if ('Timestamp' in body && 'Value' in body) return [1];
  return [];
}

/** The internal calls of one HTTP request (see the model above). */
export function requestWork(path: string, body: unknown, o: LatencyOptions): RequestWork {
  const streamMs = o.streamMs ?? 0;
  const valueUs = o.valueUs ?? 0;
  const w: RequestWork = { items: [], subRequests: 0, streams: 0, values: 0 };
  const addReads = (reads: number[]): void => {
    for (const v of reads) {
      w.items.push(streamMs + (v * valueUs) / 1000);
      w.streams++;
      w.values += v;
    }
  };
  if (path.toLowerCase() === '/batch' && isObj(body)) {
    const sub = (content: unknown): void => {
      w.subRequests++;
      const reads = streamReads(content);
      if (reads.length > 0) addReads(reads);
      else w.items.push(streamMs);
    };
    for (const r of Object.values(body)) {
      if (!isObj(r)) continue;
      const c = r.Content;
      // A RequestTemplate entry: Content.Items are the sub-requests' results.
      if (isObj(c) && Array.isArray(c.Items) && c.Items.length > 0 && c.Items.every((x) => isObj(x) && 'Status' in x && 'Content' in x)) {
        for (const x of c.Items as Record<string, unknown>[]) sub(x.Content);
      } else sub(c);
    }
    return w;
  }
  addReads(streamReads(body));
  return w;
}

/** Modelled cost of a request, ms. */
export function requestCost(w: RequestWork, o: LatencyOptions): number {
  const par = Math.max(1, o.parallelism ?? 8);
  let sum = 0;
  let max = 0;
  for (const x of w.items) {
    sum += x;
    if (x > max) max = x;
  }
  return (o.requestMs ?? 0) + Math.max(max, sum / par);
}

/** `REQUEST_MS[,STREAM_MS[,VALUE_US[,PARALLELISM]]]` (the simulator's and the bench's `--latency`); `0` = none. */
export function parseLatency(s: string): LatencyOptions | undefined {
  const parts = s.split(',').map((x) => x.trim());
  if (parts.length > 4 || parts.some((x) => x === '' || !(Number(x) >= 0))) {
    throw new Error(`--latency: expected REQUEST_MS[,STREAM_MS[,VALUE_US[,PARALLELISM]]] (non-negative numbers), got '${s}'`);
  }
  const [requestMs = 0, streamMs = 0, valueUs = 0, parallelism = 8] = parts.map(Number);
  if (requestMs === 0 && streamMs === 0 && valueUs === 0) return undefined;
  return { requestMs, streamMs, valueUs, parallelism: Math.max(1, Math.round(parallelism)) };
}
