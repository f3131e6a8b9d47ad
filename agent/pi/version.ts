/**
 * Which PI Web API release the agent talks to, read once per client from `GET /system`
 * (swagger-2018sp1.json System Landing: ProductTitle, ProductVersion), and the features the agent
 * takes from it: the decision is made from the version, not from the shape of an error body.
 *
 * - Product versions: 2018 SP1 = 1.11.1 (the spec's info.version 1.11.1.5383). The other releases'
 *   numbers (2016 R2 1.8, 2017 1.9, 2017 R2 1.10, 2018 1.11.0, 2019 1.12, 2019 SP1 1.13, 2021 1.15,
 *   2023 1.19) follow OSIsoft's numbering as users report it; they are not confirmed by an AVEVA
 *   document, so a version between known ones is named by its number only.
 * - WebID 2.0 came with 2017 R2 (AVEVA "PI Web API - Using Web ID 2.0"); 2016 R2 and 2017 write
 *   WebID 1.0: on them the client translates between the agent's keys and the server's ids
 *   (pi/webid-aliases.ts). Releases before 2016 R2 are refused: not modelled or tested.
 * - Stream updates: a preview (CTP) in 2018 (PI Developers Club, "What's new in PI Web API 2018?");
 *   2018 SP1 changed it (PI Developers Club, "Stream Updates: new features in PI Web API 2018 SP1":
 *   metadata-change Exceptions and marker errors, which the agent relies on to know a signup ended).
 *   So the agent uses stream updates from 2018 SP1 on only.
 * - `sourceFilter` on GET dataservers/{webId}/points: not a parameter in the 2018 SP1 spec (such a
 *   server ignores it and returns every point); in AVEVA's current (2023) reference, DataServer
 *   GetPoints. The release that added it is not pinned, so only 2023 and later are trusted with it;
 *   elsewhere the agent checks each point's `pointsource` attribute itself (agent/pi/points.ts).
 */
import { PiError } from '../errors.js';
import type { PiClient } from './client.js';

export interface PiFeatures {
  /** The server writes WebID 2.0 and takes `webIdType`. */
  webId2: boolean;
  /** Stream updates: none, the 2018 preview (not used), or the 2018 SP1 feature. */
  streamUpdates: 'absent' | 'preview' | 'current';
  /** GET dataservers/{webId}/points filters by `sourceFilter`. */
  sourceFilter: boolean;
}

export interface PiVersion {
  /** As the server sent it, e.g. `1.11.1.5383`. */
  version: string;
  /** e.g. `2018 SP1`, or `1.14` when the number is not a known release. */
  release: string;
  /** 2016 R2 (1.8) or later: a release pi-agent is tested with. */
  tested: boolean;
  features: PiFeatures;
}

/** Known releases by major.minor(.revision) (see the header for how sure each number is). */
const RELEASES: ReadonlyArray<[number, number, number | undefined, string]> = [
  [1, 7, undefined, '2016'],
  [1, 8, undefined, '2016 R2'],
  [1, 9, undefined, '2017'],
  [1, 10, undefined, '2017 R2'],
  [1, 11, 0, '2018'],
  [1, 11, 1, '2018 SP1'],
  [1, 12, undefined, '2019'],
  [1, 13, undefined, '2019 SP1'],
  [1, 15, undefined, '2021'],
  [1, 19, undefined, '2023'],
];

/** `1.11.1.5383` → release and features; undefined when it is not a dotted version number. */
export function parsePiVersion(text: string | undefined): PiVersion | undefined {
  const m = /^\s*(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(text ?? '');
  if (!m) return undefined;
  const [maj, min, rev] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  const at = (a: number, b: number, c = 0): boolean => maj > a || (maj === a && (min > b || (min === b && rev >= c)));
  const known = RELEASES.find(([a, b, c]) => a === maj && b === min && (c === undefined || c === rev));
  return {
    version: text!.trim(),
    release: known ? known[3] : `${maj}.${min}`,
    tested: at(1, 8),
    features: {
      webId2: at(1, 10),
      streamUpdates: at(1, 11, 1) ? 'current' : at(1, 11) ? 'preview' : 'absent',
      sourceFilter: at(1, 19),
    },
  };
}

/** Why the agent cannot work with this release (undefined when it can). */
export function unsupportedReason(v: PiVersion): string | undefined {
  if (!v.tested) {
    return `PI Web API ${v.release} (${v.version}) is older than any release pi-agent is tested with; it needs PI Web API 2016 R2 (1.8) or later`;
  }
  return undefined;
}

/** One line for `check`: the release and which features the agent uses on it. */
export function describePiVersion(v: PiVersion): string {
  const su = { absent: 'off (none before 2018 SP1)', preview: 'off (2018 has a preview only; needs 2018 SP1)', current: 'on' }[v.features.streamUpdates];
  const sf = v.features.sourceFilter ? 'sourceFilter by the server' : 'point_source checked by pi-agent (pointsource attribute)';
  const ids = v.features.webId2 ? '' : ', WebID 1.0 (translated by pi-agent)';
  return `PI Web API ${v.release} (${v.version}): stream updates ${su}, ${sf}${ids}`;
}

/** The System Landing fields the agent reads (swagger-2018sp1.json System Landing). */
export interface PiSystem {
  ProductTitle?: string;
  ProductVersion?: string;
}

const landing = new WeakMap<PiClient, Promise<PiSystem>>();
const read = new WeakMap<PiClient, Promise<PiVersion | undefined>>();

/**
 * GET /system, read once per client: `check` prints it and piVersion parses it from the same
 * answer. A failed read (any error, 404 and 403 too) rejects and is not remembered.
 */
export function piSystem(client: PiClient): Promise<PiSystem> {
  let p = landing.get(client);
  if (!p) {
    p = client.get<PiSystem>('/system');
    const mine = p;
    mine.catch(() => {
      if (landing.get(client) === mine) landing.delete(client);
    });
    landing.set(client, p);
  }
  return p;
}

/**
 * The server's release, read once per client (piSystem). Undefined when the server does not say
 * (no /system, or no ProductVersion): the caller then falls back to what it did before (a probe for
 * stream updates, its own point_source check). A failed read is not remembered: asked again next time.
 */
export function piVersion(client: PiClient): Promise<PiVersion | undefined> {
  let p = read.get(client);
  if (!p) {
    p = piSystem(client).then(
      (sys) => {
        const v = parsePiVersion(typeof sys?.ProductVersion === 'string' ? sys.ProductVersion : undefined);
        if (v) client.webIds.setFormat(v.features.webId2 ? '2.0' : '1.0');
        return v;
      },
      (err: unknown) => {
        if (err instanceof PiError && (err.status === 404 || err.status === 403)) return undefined;
        read.delete(client);
        throw err;
      },
    );
    read.set(client, p);
  }
  return p;
}

/** Throws PI_VERSION_UNSUPPORTED when the server is a release the agent cannot work with. */
export async function requireSupportedPi(client: PiClient): Promise<PiVersion | undefined> {
  const v = await piVersion(client);
  const why = v && unsupportedReason(v);
  if (why) throw new PiError('PI_VERSION_UNSUPPORTED', why);
  return v;
}
