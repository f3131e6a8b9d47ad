/**
 * Single values as written in YAML: booleans and whole numbers taken as YAML typed them, sizes
 * written as a bare number, and text with `${VAR}` expanded before its kind converts it.
 */
import { isScalar, type Scalar } from 'yaml';
import type { Spec } from './fields.js';
import { checkText, scalarHint } from './text-values.js';
import { addProblem, describe, offsetOf, unmask, type ValidationContext, type Yn } from './validation-context.js';
import { parseSize } from './values.js';

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

type SpecOf<K extends Spec['kind']> = Extract<Spec, { kind: K }>;

/** Scalar text with `${VAR}` expanded; undefined (and a problem) when a variable is missing. */
function scalarText(ctx: ValidationContext, node: Yn, path: string, fallback: number): string | undefined {
  if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
    addProblem(ctx, offsetOf(node, fallback), `${path} must be text, got ${describe(node)}`, 'write a single value on the same line');
    return undefined;
  }
  // A number or boolean written where text is expected is taken as the text the user wrote.
  const raw = typeof node.value === 'string' ? unmask(node.value) : String(node.source ?? node.value);
  let ok = true;
  const text = raw.replace(ENV_REF, (_, name: string) => {
    const v = ctx.env[name];
    if (v === undefined) {
      ok = false;
      addProblem(ctx, offsetOf(node, fallback), `${path}: environment variable ${name} is not set`, `set ${name} in the service environment`);
      return '';
    }
    return v;
  });
  return ok ? text : undefined;
}

function checkBoolean(ctx: ValidationContext, node: Scalar, path: string, at: number): unknown {
  if (typeof node.value !== 'boolean') {
    addProblem(ctx, at, `${path} must be true or false, got ${describe(node)}`, `write ${path.split('.').pop()}: true or false`);
    return undefined;
  }
  return node.value;
}

function checkInteger(ctx: ValidationContext, node: Scalar, spec: SpecOf<'integer'>, path: string, at: number): unknown {
  const v = node.value;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    addProblem(ctx, at, `${path} must be a whole number, got ${describe(node)}`, scalarHint(spec, path));
    return undefined;
  }
  if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
    addProblem(ctx, at, `${path} is ${v}, outside ${spec.min ?? '-∞'}..${spec.max ?? '∞'}`, `write a number from ${spec.min} to ${spec.max}`);
    return undefined;
  }
  return v;
}

/** A size written as a bare number of bytes or as text with a unit. */
function checkSizeValue(ctx: ValidationContext, node: Scalar, spec: SpecOf<'size'>, path: string, at: number): unknown {
  const v = node.value;
  const text = typeof v === 'number' ? v : scalarText(ctx, node, path, at);
  if (text === undefined) return undefined;
  const bytes = parseSize(text);
  if (bytes === undefined) {
    addProblem(ctx, at, `${path}: '${String(text)}' is not a size`, `write a size such as ${spec.example} (units B, KB, MB, GB, TB; 1KB = 1024 bytes)`);
    return undefined;
  }
  return bytes;
}

/** Converts a single value (any kind but the structural ones and secrets); undefined after a problem. */
export function checkScalar(ctx: ValidationContext, node: Yn, spec: Spec, path: string, at: number): unknown {
  if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
    addProblem(ctx, at, `${path} must be a single value, got ${describe(node)}`, scalarHint(spec, path));
    return undefined;
  }
  if (spec.kind === 'boolean') return checkBoolean(ctx, node, path, at);
  if (spec.kind === 'integer') return checkInteger(ctx, node, spec, path, at);
  if (spec.kind === 'size') return checkSizeValue(ctx, node, spec, path, at);
  if (typeof node.value !== 'string' && spec.kind !== 'string' && spec.kind !== 'pipath') {
    addProblem(ctx, at, `${path} must be text, got ${describe(node)}`, scalarHint(spec, path));
    return undefined;
  }
  const text = scalarText(ctx, node, path, at);
  if (text === undefined) return undefined;
  return checkText(ctx, text, spec, path, at);
}
