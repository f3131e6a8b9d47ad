/** Deterministic pseudo-randomness for the simulator: everything derives from (seed, ...ints). */

/** A 32-bit hash of a list of integers (murmur3-style finaliser per step). */
export function hash32(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    // Split into two 32-bit halves so large integers (time buckets, units) hash fully.
    const lo = x >>> 0;
    const hi = Math.floor(x / 4294967296) >>> 0;
    for (const v of [lo, hi]) {
      h ^= v;
      h = Math.imul(h, 0x01000193);
      h ^= h >>> 15;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

/** mulberry32: a small, fast, seedable generator. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
}

/** A GUID derived from (seed, ...salt), stable across runs. */
export function seededGuid(...xs: number[]): string {
  const words = [hash32(...xs, 1), hash32(...xs, 2), hash32(...xs, 3), hash32(...xs, 4)];
  const hex = words.map((w) => w.toString(16).padStart(8, '0')).join('');
  // Version 4 / RFC variant bits, so it looks like any other GUID.
  const h = hex.slice(0, 12) + '4' + hex.slice(13, 16) + ((parseInt(hex[16]!, 16) & 3) | 8).toString(16) + hex.slice(17);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
