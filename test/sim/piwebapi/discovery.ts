/** Landing page, system info, data server and PI point discovery routes (fidelity §1–§2). */
import type { WebIdType } from '../../../agent/pi/webid.js';
import { webIdTypeOf } from './fields.js';
import { markerOf, onServer } from './webids.js';
import { nameFilterToRegExp } from './namefilter.js';
import { errors, q, type Router, type SimRequest, type SimResponse } from './router.js';
import { SimError, type Simulator } from './simulator.js';

/** A data server's id is its GUID; its name payload the server's name (fidelity §9 sample `F1DS…`, the spec's `I1DS` example). */
export function dataServerWebId(sim: Simulator, type: WebIdType = 'Full'): string {
  return sim.webIds.encode({ marker: 'DS', guids: [sim.serverGuid] }, type, `\\\\${sim.serverName}`);
}

export function dataServerJson(sim: Simulator, type: WebIdType): Record<string, unknown> {
  const w = dataServerWebId(sim, type);
  const self = `${sim.baseUrl}/dataservers/${w}`;
  return {
    WebId: w,
    Id: sim.serverGuid,
    Name: sim.serverName,
    Path: `\\\\PIServers[${sim.serverName}]`,
    IsConnected: true,
    ServerVersion: '3.4.440.477',
    ServerTime: sim.nowIso(),
    Links: { Self: self, Points: `${self}/points`, EnumerationSets: `${self}/enumerationsets` },
  };
}

export function pointJson(sim: Simulator, i: number, type: WebIdType): Record<string, unknown> {
  const m = sim.tagMeta(i);
  const w = sim.tagWebId(i, type);
  const b = sim.baseUrl;
  return {
    WebId: w,
    Id: m.id,
    Name: m.name,
    Path: sim.tagPath(i),
    Descriptor: m.descriptor,
    PointClass: m.pointClass,
    PointType: m.pointType,
    DigitalSetName: m.digitalSet?.name ?? '',
    EngineeringUnits: m.engineeringUnits,
    Span: m.span,
    Zero: m.zero,
    Step: m.step,
    Future: m.future,
    DisplayDigits: m.displayDigits,
    Links: {
      Self: `${b}/points/${w}`,
      DataServer: `${b}/dataservers/${dataServerWebId(sim, type)}`,
      Attributes: `${b}/points/${w}/attributes`,
      InterpolatedData: `${b}/streams/${w}/interpolated`,
      RecordedData: `${b}/streams/${w}/recorded`,
      PlotData: `${b}/streams/${w}/plot`,
      SummaryData: `${b}/streams/${w}/summary`,
      Value: `${b}/streams/${w}/value`,
      EndValue: `${b}/streams/${w}/end`,
    },
  };
}

/** PI point attributes (`/points/{webId}/attributes`): what the Data Archive's point table holds. */
function pointAttributes(sim: Simulator, i: number): Array<[string, unknown]> {
  const m = sim.tagMeta(i);
  const created = sim.historyStart;
  return [
    ['tag', m.name],
    ['descriptor', m.descriptor],
    ['exdesc', ''],
    ['engunits', m.engineeringUnits],
    ['pointsource', m.pointSource],
    ['pointtype', m.pointType],
    ['ptclassname', m.pointClass],
    ['digitalset', m.digitalSet?.name ?? ''],
    ['span', m.span],
    ['zero', m.zero],
    ['step', m.step ? 1 : 0],
    ['future', 0],
    ['displaydigits', m.displayDigits],
    ['location1', 1],
    ['location4', 1 + (i % 10)],
    ['instrumenttag', `ns=2;s=Plant.${m.name}`],
    ['compressing', 1],
    ['compdev', 0.2],
    ['excdev', 0.1],
    ['pointid', m.id],
    ['recno', m.id],
    ['archiving', 1],
    ['shutdown', 1],
    ['scan', 1],
    ['creationdate', new Date(Math.floor((m.createdAt ?? created) / 65536) * 1000).toISOString().replace('.000Z', 'Z')],
  ];
}

/** Parse a non-negative integer query parameter. */
export function intParam(req: SimRequest, name: string, dflt: number): number {
  const v = q(req, name);
  if (v === undefined || v === '') return dflt;
  if (!/^-?\d+$/.test(v.trim())) throw new SimError(400, `The value '${v}' is not valid for ${name}.`);
  return Number(v);
}

function lookupPoint(sim: Simulator, webId: string): number {
  // The release's own format(s): webids.ts.
  if (markerOf(sim.webIds, webId) !== 'DP') throw new SimError(400, `Unknown or invalid WebID format: '${webId}'.`);
  return sim.resolveStream(webId).index;
}

export function guard(fn: (req: SimRequest, params: Record<string, string>) => SimResponse | Promise<SimResponse>) {
  return async (req: SimRequest, params: Record<string, string>): Promise<SimResponse> => {
    try {
      return await fn(req, params);
    } catch (err) {
      if (err instanceof SimError) return errors(err.status, err.message);
      throw err;
    }
  };
}

export function registerDiscoveryRoutes(router: Router, sim: Simulator): void {
  router.add('GET', '/', () => {
    const b = sim.baseUrl;
    return {
      status: 200,
      body: { Links: { Self: `${b}/`, AssetServers: `${b}/assetservers`, DataServers: `${b}/dataservers`, Search: `${b}/search`, System: `${b}/system` } },
    };
  });

  // The release's answers (versions.ts); shapes: swagger-2018sp1.json System Landing (ProductTitle,
  // ProductVersion) and GET system/versions (a map of component name to version information).
  router.add('GET', '/system', () => ({
    status: 200,
    body: {
      Links: { Self: `${sim.baseUrl}/system` },
      ProductTitle: `${sim.version.title} (simulator)`,
      ProductVersion: sim.version.productVersion,
    },
  }));

  router.add('GET', '/system/versions', () => {
    const full = sim.version.productVersion;
    const parts = full.split('.');
    return {
      status: 200,
      body: { 'OSIsoft.REST.Core': { FullVersion: full, MajorMinorRevision: parts.slice(0, 3).join('.'), Build: parts[3] ?? '' } },
    };
  });

  router.add(
    'GET',
    '/dataservers',
    guard((req) => {
      const type = webIdTypeOf(req, sim.webIds.defaultType);
      const path = q(req, 'path');
      if (path !== undefined) {
        const name = path.replace(/^\\\\/, '').replace(/^PIServers\[(.*)\]$/i, '$1');
        if (name.toUpperCase() !== sim.serverName) throw new SimError(404, `The specified data server '${path}' was not found.`);
        return { status: 200, body: dataServerJson(sim, type) };
      }
      return { status: 200, body: { Links: {}, Items: [dataServerJson(sim, type)] } };
    }),
  );

  router.add(
    'GET',
    '/dataservers/{webId}',
    guard((req, p) => {
      checkDataServer(sim, p.webId!);
      return { status: 200, body: dataServerJson(sim, webIdTypeOf(req, sim.webIds.defaultType)) };
    }),
  );

  router.add(
    'GET',
    '/dataservers/{webId}/points',
    guard((req, p) => {
      checkDataServer(sim, p.webId!);
      const type = webIdTypeOf(req, sim.webIds.defaultType);
      const nameFilter = q(req, 'nameFilter') ?? '*';
      // Releases before sourceFilter (not a parameter in the 2018 SP1 spec) ignore it: every point (versions.ts).
      const sourceFilter = sim.version.sourceFilter ? q(req, 'sourceFilter') : undefined;
      const startIndex = intParam(req, 'startIndex', 0);
      const maxCount = intParam(req, 'maxCount', 1000);
      if (startIndex < 0 || maxCount < 0) throw new SimError(400, 'startIndex and maxCount must not be negative.');
      if (maxCount > sim.maxReturnedItemsPerCall) {
        throw new SimError(400, `Parameter 'maxCount' is greater than the maximum allowed (${sim.maxReturnedItemsPerCall}).`);
      }
      const nameRe = nameFilter === '*' || nameFilter === '' ? undefined : nameFilterToRegExp(nameFilter);
      const srcRe = sourceFilter === undefined || sourceFilter === '*' || sourceFilter === '' ? undefined : nameFilterToRegExp(sourceFilter);
      const items: unknown[] = [];
      let seen = 0;
      for (const i of sim.tags.live()) {
        if (nameRe && !nameRe.test(sim.tagName(i))) continue;
        if (srcRe && !srcRe.test(sim.tagMeta(i).pointSource)) continue;
        if (seen++ < startIndex) continue;
        if (items.length >= maxCount) break;
        items.push(pointJson(sim, i, type));
      }
      return { status: 200, body: { Links: {}, Items: items } };
    }),
  );

  router.add(
    'GET',
    '/points',
    guard((req) => {
      const path = q(req, 'path');
      if (path === undefined) throw new SimError(400, "The 'path' parameter is required.");
      const i = sim.tags.indexByPath(path);
      if (i === undefined) throw new SimError(404, `PI Point not found '${path}'.`);
      return { status: 200, body: pointJson(sim, i, webIdTypeOf(req, sim.webIds.defaultType)) };
    }),
  );

  router.add(
    'GET',
    '/points/{webId}',
    guard((req, p) => ({ status: 200, body: pointJson(sim, lookupPoint(sim, p.webId!), webIdTypeOf(req, sim.webIds.defaultType)) })),
  );

  router.add(
    'GET',
    '/points/{webId}/attributes',
    guard((req, p) => {
      const i = lookupPoint(sim, p.webId!);
      const names = new Set([...new URLSearchParams(req.query)].filter(([k]) => k.toLowerCase() === 'name').map(([, v]) => v.toLowerCase()));
      const filter = q(req, 'nameFilter');
      const re = filter ? nameFilterToRegExp(filter) : undefined;
      const w = p.webId!;
      const items = pointAttributes(sim, i)
        .filter(([n]) => (names.size === 0 || names.has(n)) && (!re || re.test(n)))
        .map(([Name, Value]) => ({ Name, Value, Links: { Self: `${sim.baseUrl}/points/${w}/attributes/${Name}`, Point: `${sim.baseUrl}/points/${w}` } }));
      return { status: 200, body: { Links: {}, Items: items } };
    }),
  );

  router.add(
    'GET',
    '/points/{webId}/attributes/{name}',
    guard((_req, p) => {
      const i = lookupPoint(sim, p.webId!);
      const a = pointAttributes(sim, i).find(([n]) => n === p.name!.toLowerCase());
      if (!a) throw new SimError(404, `Point attribute '${p.name}' not found.`);
      return { status: 200, body: { Name: a[0], Value: a[1], Links: { Self: `${sim.baseUrl}/points/${p.webId}/attributes/${a[0]}` } } };
    }),
  );
}

function checkDataServer(sim: Simulator, webId: string): void {
  let parts;
  try {
    parts = sim.webIds.decode(webId);
  } catch {
    throw new SimError(400, `Unknown or invalid WebID format: '${webId}'.`);
  }
  const ok =
    parts.marker === 'DS' &&
    (parts.type === 'PathOnly' ? (parts.name ?? '').replace(/^PIServers\[(.*)\]$/i, '$1').toUpperCase() === sim.serverName : onServer(parts, sim.serverGuid));
  if (!ok) throw new SimError(404, `The specified data server was not found. WebId: '${webId}'.`);
}
