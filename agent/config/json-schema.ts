/**
 * The editor JSON Schema (draft 2020-12), generated from CONFIG_SPEC. conf/pi-agent.schema.json is
 * this function's output; test/config/schema.test.ts fails when they differ. Regenerate with
 *   node --import tsx -e "import('./agent/config/json-schema.ts').then(m => process.stdout.write(m.configJsonSchemaText()))" > conf/pi-agent.schema.json
 */
import type { ObjectSpec, Spec } from './fields.js';
import { CONFIG_SPEC } from './spec.js';
import { DURATION_PATTERN, SIZE_PATTERN, TIMESTAMP_PATTERN } from './values.js';

type Json = { [k: string]: unknown };

function objectSchema(spec: ObjectSpec, extra: Json = {}, extraRequired: string[] = []): Json {
  const properties: Json = { ...extra };
  const required: string[] = [...extraRequired];
  for (const [k, f] of Object.entries(spec.fields)) {
    const s = toSchema(f.spec);
    if (f.default !== undefined) s.default = f.spec.kind === 'tagged' ? { type: f.default } : f.default;
    properties[k] = s;
    if (f.required) required.push(k);
  }
  return {
    type: 'object',
    description: spec.description,
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

function toSchema(spec: Spec): Json {
  const d = { description: spec.description };
  switch (spec.kind) {
    case 'string':
      return { type: 'string', ...d, ...(spec.pattern ? { pattern: spec.pattern.source } : {}), ...(spec.maxLength ? { maxLength: spec.maxLength } : {}) };
    case 'enum':
      return { ...d, enum: [...spec.values] };
    case 'integer':
      return { type: 'integer', ...d, ...(spec.min !== undefined ? { minimum: spec.min } : {}), ...(spec.max !== undefined ? { maximum: spec.max } : {}) };
    case 'boolean':
      return { type: 'boolean', ...d };
    case 'duration':
      if (spec.keywords)
        return { ...d, anyOf: [{ enum: [...spec.keywords] }, { type: 'string', pattern: DURATION_PATTERN }], examples: [...spec.keywords, spec.example] };
      return { type: 'string', ...d, pattern: DURATION_PATTERN, examples: [spec.example] };
    case 'size':
      return {
        ...d,
        anyOf: [
          { type: 'integer', minimum: 0 },
          { type: 'string', pattern: SIZE_PATTERN },
        ],
        examples: [spec.example],
      };
    case 'cron':
      return { type: 'string', ...d, examples: ['*/5 * * * *'] };
    case 'timestamp':
      return { type: 'string', ...d, pattern: TIMESTAMP_PATTERN, examples: ['2026-01-01T00:00:00Z'] };
    case 'url':
      return { type: 'string', ...d, format: 'uri', pattern: spec.proxy ? '^http://[^/@]+/?$' : '^https?://' };
    case 'path':
      return { type: 'string', ...d, minLength: 1 };
    case 'pipath':
      return { type: 'string', ...d, pattern: '^\\\\\\\\[^\\\\]+\\\\.+', examples: [spec.example] };
    case 'secret':
      return { type: 'string', ...d, pattern: '^(\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}|file:.+)$', examples: [`\${${spec.envExample}}`] };
    case 'object':
      return spec.shorthand ? { anyOf: [toSchema(spec.fields[spec.shorthand]!.spec), objectSchema(spec)] } : objectSchema(spec);
    case 'list':
      return { type: 'array', ...d, items: toSchema(spec.items), ...(spec.minItems ? { minItems: spec.minItems } : {}) };
    case 'tagged':
      return {
        ...d,
        type: 'object',
        required: ['type'],
        oneOf: Object.entries(spec.variants).map(([name, v]) => objectSchema(v, { type: { const: name } }, ['type'])),
      };
    case 'oneOfKeys':
      return { ...d, type: 'object', oneOf: spec.variants.map((v) => objectSchema(v)) };
  }
}

export function configJsonSchema(): Json {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/pi-agent/pi-agent/conf/pi-agent.schema.json',
    title: 'pi-agent configuration',
    ...objectSchema(CONFIG_SPEC),
  };
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
