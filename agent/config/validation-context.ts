/**
 * What a validation pass carries and how it speaks: the parsed document, where its nodes are
 * (`file:line:col`), the problems and warnings found so far, and the small readings of YAML nodes
 * every check shares (aliases, empty values, how a value is described back to the operator).
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { AclOptions } from './acl.js';
import type { DpapiOptions } from './dpapi.js';

export interface ValidationContext {
  file: string;
  doc: Document;
  lc: LineCounter;
  env: NodeJS.ProcessEnv;
  /** Directory relative paths are resolved against. */
  baseDir: string;
  checkPermissions: boolean;
  /** false: secret references are checked for form only and left empty (read-only commands). */
  resolveSecrets: boolean;
  dpapi: DpapiOptions;
  /** How Windows ACLs are read (load.ts). */
  acl: AclOptions;
  problems: { offset: number; text: string; insecure?: boolean }[];
  warnings: { offset: number; text: string }[];
}

export type Yn = Node | null | undefined;

export const offsetOf = (node: Yn, fallback: number): number => node?.range?.[0] ?? fallback;

export function location(ctx: ValidationContext, offset: number): string {
  const { line, col } = ctx.lc.linePos(offset);
  return `${ctx.file}:${line}:${col}`;
}

export function addProblem(ctx: ValidationContext, offset: number, message: string, hint?: string, insecure = false): void {
  ctx.problems.push({ offset, text: `${location(ctx, offset)}: ${message}${hint ? ` — ${hint}` : ''}`, insecure });
}

export function warn(ctx: ValidationContext, offset: number, message: string): void {
  ctx.warnings.push({ offset, text: `${location(ctx, offset)}: ${message}` });
}

export function deref(ctx: ValidationContext, node: Yn): Yn {
  return isAlias(node) ? node.resolve(ctx.doc) : node;
}

/** True for an absent key or one written with nothing after the colon. */
export function isEmpty(node: Yn): boolean {
  return node == null || (isScalar(node) && node.value === null);
}

export const describe = (node: Yn): string => {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'number') return `the number ${String(node.source ?? v)}`;
    if (typeof v === 'boolean') return `the boolean ${String(v)}`;
    return `'${unmask(String(v))}'`;
  }
  return 'nothing';
};

/** Undoes load.ts `maskEnvRefs`: `$«NAME»` back to `${NAME}`. */
export const unmask = (s: string): string => s.replace(/\$\u00ab([A-Za-z_][A-Za-z0-9_]*)\u00bb/g, (_, n: string) => `\${${n}}`);

/**
 * Position of a key path in the document, for problems found after conversion: the value's start,
 * or with `key` the key's own start (for problems about a whole section).
 */
export function offsetAt(ctx: ValidationContext, keys: string[], which: 'value' | 'key' = 'value'): number {
  let node: Yn = ctx.doc.contents;
  let found = 0;
  for (const k of keys) {
    node = deref(ctx, node);
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isScalar(p.key) && unmask(String(p.key.value)) === k);
    if (!pair) break;
    const keyNode = pair.key as Yn;
    const valueNode = deref(ctx, pair.value as Yn);
    found = which === 'key' && k === keys[keys.length - 1] ? offsetOf(keyNode, found) : offsetOf(valueNode, offsetOf(keyNode, found));
    node = valueNode;
  }
  return found;
}
