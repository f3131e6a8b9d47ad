/**
 * ELF symbol versions, read with binutils' `objdump -T`: which glibc, libstdc++ and libgcc versions a
 * native file asks for, and the ELF files embedded in a single executable (SEA assets are stored
 * as-is in the binary's NODE_SEA_BLOB section).
 */
import { execFileSync } from 'node:child_process';

/**
 * The oldest runtime the Linux binary supports: glibc 2.28 (Node 22's own floor; RHEL 8) with GCC 8's
 * libstdc++ and libgcc_s (RHEL 8 and Debian 10 ship those). A file may ask for no version above these.
 */
export const FLOORS: Readonly<Record<string, string>> = { GLIBC: '2.28', GLIBCXX: '3.4.25', CXXABI: '1.3.11', GCC: '7.0.0' };

export interface DynSymbol {
  name: string;
  /** e.g. GLIBC_2.34; 'Base' or '' when unversioned. */
  version: string;
  /** false for a reference (*UND*). */
  defined: boolean;
  /** For a definition: false when it is a hidden (compat, parenthesised) version. */
  isDefault: boolean;
}

/** The dynamic symbols of an ELF file. */
export function dynamicSymbols(file: string): DynSymbol[] {
  const text = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const out: DynSymbol[] = [];
  for (const line of text.split('\n')) {
    // 0000000000089380 g    DF .text	0000000000000eed  GLIBC_2.34  pthread_create
    const m = /^[0-9a-f]+ .{7} (\S+)\s+[0-9a-f]+\s+(\()?([^\s()]*)\)?\s+(\S+)\s*$/.exec(line);
    if (!m) continue;
    out.push({ name: m[4]!, version: m[3]!, defined: m[1] !== '*UND*', isDefault: m[2] === undefined });
  }
  return out;
}

/** Splits `GLIBC_2.2.5` into its family and numbers; undefined for other names (Base, GLIBC_PRIVATE). */
export function parseVersion(version: string): { family: string; parts: number[] } | undefined {
  const m = /^([A-Z]+)_(\d+(?:\.\d+)*)$/.exec(version);
  return m ? { family: m[1]!, parts: m[2]!.split('.').map(Number) } : undefined;
}

export function compareParts(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether a version is newer than its family's floor in FLOORS (families without a floor never are). */
export function aboveFloor(version: string, floors: Readonly<Record<string, string>> = FLOORS): boolean {
  const v = parseVersion(version);
  const floor = v ? floors[v.family] : undefined;
  return v !== undefined && floor !== undefined && compareParts(v.parts, floor.split('.').map(Number)) > 0;
}

/** The newest version a file asks for in each family, e.g. { GLIBC: '2.28', GLIBCXX: '3.4.21' }. */
export function newestRequired(file: string): Record<string, string> {
  const newest: Record<string, { parts: number[]; text: string }> = {};
  for (const s of dynamicSymbols(file)) {
    if (s.defined) continue;
    const v = parseVersion(s.version);
    if (!v) continue;
    const cur = newest[v.family];
    if (!cur || compareParts(v.parts, cur.parts) > 0) newest[v.family] = { parts: v.parts, text: v.parts.join('.') };
  }
  return Object.fromEntries(Object.entries(newest).map(([k, v]) => [k, v.text]));
}

/** The references of a file newer than the floors, as `name@VERSION`. */
export function referencesAboveFloor(file: string, floors: Readonly<Record<string, string>> = FLOORS): string[] {
  return dynamicSymbols(file)
    .filter((s) => !s.defined && aboveFloor(s.version, floors))
    .map((s) => `${s.name}@${s.version}`);
}

/**
 * The x86-64 shared objects stored inside a file (past its own header): each found by its ELF
 * header and cut at the end of its section header table, which ends a file as the linker writes it.
 */
export function embeddedSharedObjects(bytes: Buffer): Buffer[] {
  const magic = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]); // ELF, 64-bit, little-endian, version 1
  const found: Buffer[] = [];
  for (let at = bytes.indexOf(magic, 1); at > 0; at = bytes.indexOf(magic, at + 1)) {
    if (at + 64 > bytes.length) break;
    const type = bytes.readUInt16LE(at + 16);
    const machine = bytes.readUInt16LE(at + 18);
    const ehsize = bytes.readUInt16LE(at + 52);
    const shentsize = bytes.readUInt16LE(at + 58);
    const shnum = bytes.readUInt16LE(at + 60);
    const shoff = Number(bytes.readBigUInt64LE(at + 40));
    const end = at + shoff + shnum * shentsize;
    if (type !== 3 || machine !== 62 || ehsize !== 64 || shentsize !== 64 || shnum === 0 || end > bytes.length) continue;
    found.push(bytes.subarray(at, end));
    at = end - 1;
  }
  return found;
}

/** The libraries a file names as NEEDED (loaded with it, so they must exist). */
export function neededLibraries(file: string): string[] {
  const text = execFileSync('objdump', ['-p', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return [...text.matchAll(/^\s*NEEDED\s+(\S+)$/gm)].map((m) => m[1]!);
}
