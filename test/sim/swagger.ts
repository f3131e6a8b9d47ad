/**
 * Validates JSON bodies against OSIsoft's PI Web API 2018 SP1 Swagger spec
 * (../shared/piwebapi/swagger-2018sp1.json): finds the spec's operation for a request, takes the
 * schema of the response status, and checks the body against it: every field the body has must
 * be declared, with the declared type. Swagger 2.0 has no `nullable`: a null is accepted for a
 * declared field (PI Web API sends nulls for unset values).
 */
import { readFileSync } from 'node:fs';

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
}

interface Operation {
  responses: Record<string, { schema?: Schema }>;
}

interface Spec {
  basePath: string;
  paths: Record<string, Record<string, Operation>>;
  definitions: Record<string, Schema>;
}

const specUrl = new URL('../../../shared/piwebapi/swagger-2018sp1.json', import.meta.url);

/** The spec lives in the workplace's shared/ folder, beside the repository (as in CI). */
export function loadSpec(): Spec {
  let text: string;
  try {
    text = readFileSync(specUrl, 'utf8');
  } catch (err) {
    throw new Error(
      `PI Web API spec not found at ${specUrl.pathname}: the simulator's contract tests need shared/piwebapi beside the repository (${(err as Error).message})`,
      { cause: err },
    );
  }
  return JSON.parse(text) as Spec;
}

/** The spec's path template for a request: `/streams/{webId}/recorded`, or `/dataservers#path` for GetByPath. */
export function findOperation(spec: Spec, method: string, path: string, query: URLSearchParams): { template: string; op: Operation } | undefined {
  const segs = path.split('/').filter(Boolean);
  const queryNames = new Set([...query.keys()].map((k) => k.toLowerCase()));
  let best: { template: string; op: Operation; score: number } | undefined;
  for (const [template, ops] of Object.entries(spec.paths)) {
    const op = ops[method.toLowerCase()];
    if (!op) continue;
    const [p, variant] = template.split('#');
    const parts = p!.split('/').filter(Boolean);
    if (parts.length !== segs.length) continue;
    let literals = 0;
    let ok = true;
    for (let i = 0; i < parts.length; i++) {
      if (parts[i]!.startsWith('{')) continue;
      if (parts[i]!.toLowerCase() !== segs[i]!.toLowerCase()) {
        ok = false;
        break;
      }
      literals++;
    }
    if (!ok) continue;
    // `#path` variants apply when that query parameter is given, the plain template otherwise.
    if (variant !== undefined && !queryNames.has(variant.toLowerCase())) continue;
    const score = literals * 2 + (variant !== undefined ? 1 : 0);
    if (!best || score > best.score) best = { template, op, score };
  }
  return best && { template: best.template, op: best.op };
}

/**
 * Fields the real server sends that the 2018 SP1 definitions leave out, by definition name; each
 * is documented in piwebapi-fidelity.md. Everything else undeclared is an error.
 */
export const DOCUMENTED_EXTRAS: Record<string, string[]> = {
  // §3: a recorded response is `{"Items":[...],"UnitsAbbreviation":"m","Links":{}}`.
  ExtendedTimedValues: ['Links'],
  TimedValues: ['Links'],
  // §3: in a streamset, a failing stream carries `Errors` without failing the call.
  StreamValues: ['Errors'],
};

export function validate(spec: Spec, schema: Schema, value: unknown, where = '$', errors: string[] = [], defName?: string): string[] {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/definitions/', '');
    const def = spec.definitions[name];
    if (!def) errors.push(`${where}: unknown definition ${name}`);
    else validate(spec, def, value, where, errors, name);
    return errors;
  }
  if (value === null) return errors;
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') errors.push(`${where}: expected string, got ${JSON.stringify(value)}`);
      else if (schema.format === 'date-time' && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?(Z|[+-]\d\d:\d\d)$/.test(value))
        errors.push(`${where}: not a date-time: ${value}`);
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) errors.push(`${where}: expected integer, got ${JSON.stringify(value)}`);
      break;
    case 'number':
      if (typeof value !== 'number') errors.push(`${where}: expected number, got ${JSON.stringify(value)}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(`${where}: expected boolean, got ${JSON.stringify(value)}`);
      break;
    case 'array':
      if (!Array.isArray(value)) errors.push(`${where}: expected array`);
      else if (schema.items) value.forEach((v, i) => validate(spec, schema.items!, v, `${where}[${i}]`, errors));
      break;
    case 'object':
    case undefined: {
      // An object with neither properties nor additionalProperties is "any JSON" (e.g. TimedValue.Value).
      if (!schema.properties && schema.additionalProperties === undefined) break;
      if (typeof value !== 'object' || Array.isArray(value)) {
        errors.push(`${where}: expected object, got ${JSON.stringify(value)?.slice(0, 60)}`);
        break;
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const prop = schema.properties?.[k];
        if (prop) validate(spec, prop, v, `${where}.${k}`, errors);
        else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') validate(spec, schema.additionalProperties, v, `${where}.${k}`, errors);
        else if (schema.additionalProperties !== true && !(defName && DOCUMENTED_EXTRAS[defName]?.includes(k)))
          errors.push(`${where}: field ${k} is not in the spec${defName ? ` (${defName})` : ''}`);
      }
      break;
    }
    default:
      break;
  }
  return errors;
}
