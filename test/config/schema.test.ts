import { readFileSync } from 'node:fs';
import t from 'tap';
import { configJsonSchema } from '../../agent/config/json-schema.js';
import { knownKeyPaths } from '../../agent/config/spec.js';

const schemaFile = new URL('../../conf/pi-agent.schema.json', import.meta.url);
const onDisk = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;

type S = { properties?: Record<string, S>; items?: S; oneOf?: S[]; anyOf?: S[] };

/** Dotted key paths of a JSON Schema, in the notation of knownKeyPaths (`tags[].path`). */
function schemaKeyPaths(s: S, prefix = '', out = new Set<string>()): Set<string> {
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.add(p);
    schemaKeyPaths(sub, p, out);
  }
  if (s.items) schemaKeyPaths(s.items, `${prefix}[]`, out);
  for (const v of [...(s.oneOf ?? []), ...(s.anyOf ?? [])]) schemaKeyPaths(v, prefix, out); // anyOf: a shorthand or its mapping
  return out;
}

t.test('conf/pi-agent.schema.json knows exactly the keys the validator knows', async (t) => {
  const fromSchema = [...schemaKeyPaths(onDisk)].sort();
  const fromValidator = [...knownKeyPaths()].sort();
  t.same(fromSchema, fromValidator);
  // A few that must be there, so an empty pair of sets cannot pass.
  for (const k of ['site', 'pi.auth.password', 'tags[].af_element', 'sink.http_path', 'timeseries.shards.index', 'sink.type']) t.ok(fromValidator.includes(k), k);
});

t.test('conf/pi-agent.schema.json is the generated schema (regenerate: see agent/config/json-schema.ts)', async (t) => {
  t.same(onDisk, configJsonSchema());
  t.equal(onDisk.$schema, 'https://json-schema.org/draft/2020-12/schema');
});

t.test('every key of the spec is documented in conf/pi-agent.example.yaml', async (t) => {
  const example = readFileSync(new URL('../../conf/pi-agent.example.yaml', import.meta.url), 'utf8');
  const leaves = new Set(
    [...knownKeyPaths()].map((p) =>
      p
        .split(/[.[\]]+/)
        .filter(Boolean)
        .pop()!,
    ),
  );
  const missing = [...leaves].filter((k) => !new RegExp(`\\b${k}\\b\\s*:`).test(example));
  t.same(missing, []);
});
