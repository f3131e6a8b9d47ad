/**
 * Walks a parsed YAML document against CONFIG_SPEC, collecting every problem in one pass with its
 * line and column, and builds the converted value (defaults, absolute paths, ms, bytes, secrets).
 * This file walks the structure (mappings, lists, variants); single values are converted in
 * scalars.ts and text-values.ts, secrets in secrets.ts.
 */
import { isMap, isScalar, isSeq, type YAMLMap } from 'yaml';
import { checkScalar } from './scalars.js';
import { checkSecret } from './secrets.js';
import type { Field, ObjectSpec, Spec } from './fields.js';
import { closest } from './suggest.js';
import { checkText, scalarHint } from './text-values.js';
import { addProblem, deref, describe, isEmpty, offsetOf, unmask, type ValidationContext, type Yn } from './validation-context.js';

type SpecOf<K extends Spec['kind']> = Extract<Spec, { kind: K }>;

/** Converts one value; returns undefined after recording a problem. */
function check(ctx: ValidationContext, nodeIn: Yn, spec: Spec, path: string, fallback: number): unknown {
  const node = deref(ctx, nodeIn);
  const at = offsetOf(node, fallback);
  switch (spec.kind) {
    case 'object':
      if (spec.shorthand && isScalar(node)) return checkShorthand(ctx, node, spec, spec.shorthand, path, fallback);
      return checkObject(ctx, node, spec, path, fallback);
    case 'list':
      return checkList(ctx, node, spec, path, at);
    case 'tagged':
      return checkTagged(ctx, node, spec, path, fallback);
    case 'oneOfKeys':
      return checkOneOfKeys(ctx, node, spec, path, fallback);
    case 'secret':
      return checkSecret(ctx, node, spec, path, at);
    default:
      return checkScalar(ctx, node, spec, path, at);
  }
}

/** A single value written in place of the mapping: the value of its shorthand field, the rest absent. */
function checkShorthand(ctx: ValidationContext, node: Yn, spec: ObjectSpec, field: string, path: string, fallback: number): unknown {
  const value = check(ctx, node, spec.fields[field]!.spec, path, fallback);
  const rest = checkObject(ctx, null, { ...spec, fields: Object.fromEntries(Object.entries(spec.fields).filter(([k]) => k !== field)) }, path, fallback);
  return value === undefined ? undefined : { ...(rest as object), [field]: value };
}

function checkList(ctx: ValidationContext, node: Yn, spec: SpecOf<'list'>, path: string, at: number): unknown {
  if (!isSeq(node)) {
    addProblem(ctx, at, `${path} must be a list, got ${describe(node)}`, `write a YAML list, e.g. ${path.split('.').pop()}: [first, second]`);
    return undefined;
  }
  if (spec.minItems && node.items.length < spec.minItems)
    addProblem(ctx, at, `${path} needs at least ${spec.minItems} item(s)`, 'add one, or remove the section to skip it');
  return node.items.map((item, i) => check(ctx, item as Yn, spec.items, `${path}[${i}]`, offsetOf(item as Yn, at)));
}

/** A mapping whose `type` key picks the variant its other keys are checked against. */
function checkTagged(ctx: ValidationContext, node: Yn, spec: SpecOf<'tagged'>, path: string, fallback: number): unknown {
  const at = offsetOf(node, fallback);
  if (!isMap(node)) {
    addProblem(ctx, at, `${path} must be a mapping, got ${describe(node)}`, `write e.g. ${path.split('.').pop()}: { type: ${Object.keys(spec.variants)[0]} }`);
    return undefined;
  }
  const typeNode = deref(ctx, node.get('type', true));
  const kinds = Object.keys(spec.variants);
  if (isEmpty(typeNode)) {
    addProblem(ctx, fallback, `${path}: missing required key 'type'`, `add type: one of ${kinds.join(', ')}`);
    return undefined;
  }
  const t = isScalar(typeNode) ? unmask(String(typeNode.value)) : '';
  const variant = spec.variants[t];
  if (!variant) {
    const s = closest(t, kinds);
    addProblem(
      ctx,
      offsetOf(typeNode, at),
      `${path}.type: unknown type '${t}'`,
      s ? `did you mean '${s}'? (one of ${kinds.join(', ')})` : `write one of ${kinds.join(', ')}`,
    );
    return undefined;
  }
  const rest = checkObject(ctx, node, variant, path, fallback, ['type']);
  return rest === undefined ? undefined : { type: t, ...(rest as object) };
}

/** A mapping that is one of several shapes, told apart by which leading key it has. */
function checkOneOfKeys(ctx: ValidationContext, node: Yn, spec: SpecOf<'oneOfKeys'>, path: string, fallback: number): unknown {
  const at = offsetOf(node, fallback);
  if (!isMap(node)) {
    addProblem(ctx, at, `${path} must be a mapping, got ${describe(node)}`, `write e.g. { ${Object.keys(spec.variants[0]!.fields)[0]}: ... }`);
    return undefined;
  }
  const leads = spec.variants.map((v) => Object.keys(v.fields)[0]!);
  const present = spec.variants.filter((v) => node.has(Object.keys(v.fields)[0]!));
  if (present.length !== 1) {
    addProblem(
      ctx,
      at,
      present.length ? `${path} mixes ${leads.filter((k) => node.has(k)).join(' and ')}` : `${path} has none of ${leads.join(', ')}`,
      `write exactly one of ${leads.join(', ')} per entry`,
    );
    return undefined;
  }
  return checkObject(ctx, node, present[0]!, path, fallback);
}

/** The keys written in a mapping that the spec knows (unknown ones are problems), with their positions. */
function knownKeys(
  ctx: ValidationContext,
  map: YAMLMap | undefined,
  spec: ObjectSpec,
  path: string,
  at: number,
  extraKeys: string[],
): { seen: Map<string, Yn>; keyAt: Map<string, number> } {
  const known = Object.keys(spec.fields);
  const seen = new Map<string, Yn>();
  const keyAt = new Map<string, number>();
  for (const pair of map?.items ?? []) {
    const keyNode = pair.key as Yn;
    const key = isScalar(keyNode) ? unmask(String(keyNode.value)) : '';
    const kat = offsetOf(keyNode, at);
    if (extraKeys.includes(key)) continue;
    if (!(key in spec.fields)) {
      const where = path ? ` in ${path}` : '';
      const s = closest(key, known);
      addProblem(
        ctx,
        kat,
        `unknown key '${key}'${where}`,
        s ? `did you mean '${s}'?` : known.length ? `known keys here: ${known.join(', ')}` : 'this section takes no keys',
      );
      continue;
    }
    seen.set(key, pair.value as Yn);
    keyAt.set(key, kat);
  }
  return { seen, keyAt };
}

function checkObject(ctx: ValidationContext, node: Yn, spec: ObjectSpec, path: string, fallback: number, extraKeys: string[] = []): unknown {
  const at = offsetOf(node, fallback);
  let map: YAMLMap | undefined;
  if (isMap(node)) map = node;
  else if (!isEmpty(node)) {
    addProblem(
      ctx,
      at,
      `${path || 'the file'} must be a mapping (key: value lines), got ${describe(node)}`,
      spec.example ? `write e.g. ${spec.example} on the next line, indented` : 'see conf/pi-agent.example.yaml',
    );
    return undefined;
  }
  const { seen, keyAt } = knownKeys(ctx, map, spec, path, at, extraKeys);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(spec.fields)) {
    const kp = path ? `${path}.${key}` : key;
    const valueNode = seen.get(key);
    if (!isEmpty(valueNode)) {
      const v = check(ctx, valueNode, field.spec, kp, keyAt.get(key) ?? at);
      if (v !== undefined) out[key] = v;
      continue;
    }
    // A missing key is reported where its section starts (the section's own key), 1:1 for the file.
    const v = absentValue(ctx, field, kp, keyAt.get(key) ?? fallback);
    if (v !== MISSING && v !== undefined) out[key] = v;
  }
  // Partial on failure, so rules across keys (load.ts crossCheck) still see what was valid.
  return out;
}

const MISSING = Symbol('missing');

/** The value of a key that is absent or empty: its default, nothing, or a "missing" problem. */
function absentValue(ctx: ValidationContext, field: Field, path: string, at: number): unknown {
  const spec = field.spec;
  if (field.required) {
    addProblem(ctx, at, `missing required key '${path}'`, requiredHint(spec, path));
    return MISSING;
  }
  if (field.default !== undefined) {
    if (spec.kind === 'tagged') return { type: field.default };
    if (typeof field.default !== 'string') return field.default;
    const v = checkText(ctx, field.default, spec, path, at);
    return v === undefined ? MISSING : v;
  }
  // Sections whose keys all have defaults exist even when not written (log, metrics, buffer).
  if (spec.kind === 'object' && Object.values(spec.fields).every((f) => !f.required)) return checkObject(ctx, null, spec, path, at) ?? MISSING;
  return undefined;
}

function requiredHint(spec: Spec, path: string): string {
  const key = path.split('.').pop()!;
  switch (spec.kind) {
    case 'object':
      return `add ${key}: with ${spec.example ?? 'its keys'} under it`;
    case 'tagged':
      return `add ${key}: { type: ${Object.keys(spec.variants).join(' | ')}, ... }`;
    case 'string':
      return `add ${key}: ${spec.example ?? '<value>'}`;
    case 'secret':
      return `add ${key}: \${${spec.envExample}}`;
    case 'list':
      return `add ${key}: [ ... ]`;
    default:
      return scalarHint(spec, path).replace(/^write/, 'add');
  }
}

/** Validates the whole document; the result is meaningful only when ctx.problems is empty. */
export function validateDocument(ctx: ValidationContext, root: ObjectSpec): Record<string, unknown> | undefined {
  return checkObject(ctx, ctx.doc.contents, root, '', 0) as Record<string, unknown> | undefined;
}
