/**
 * Secret references: `${VAR}`, `file:<path>` or `dpapi:<base64>`, resolved to the secret (or, for
 * read-only commands, checked for form only). A secret written in clear is refused, and the value
 * is never echoed back: it may be the secret itself.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isScalar } from 'yaml';
import { unprotectDpapi } from './dpapi.js';
import { insecureFileProblem } from './permissions.js';
import type { Spec } from './fields.js';
import { addProblem, describe, unmask, type ValidationContext, type Yn } from './validation-context.js';

type SecretSpec = Extract<Spec, { kind: 'secret' }>;

export function checkSecret(ctx: ValidationContext, node: Yn, spec: SecretSpec, path: string, at: number): string | undefined {
  const key = path.split('.').pop()!;
  const how = `write ${key}: \${${spec.envExample}} (environment variable), ${key}: file:/etc/pi-agent/${key.replace(/_/g, '-')} (a file readable only by the service) or, on Windows, ${key}: dpapi:<base64> (installer/windows/README.md)`;
  if (!isScalar(node) || node.value === null) {
    addProblem(ctx, at, `${path} must be a secret reference, got ${describe(node)}`, how);
    return undefined;
  }
  const raw = typeof node.value === 'string' ? unmask(node.value).trim() : '';
  const env = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(raw);
  const dpapi = raw.startsWith('dpapi:');
  if ((env || dpapi || raw.startsWith('file:')) && !ctx.resolveSecrets) return '';
  if (dpapi) {
    const r = unprotectDpapi(raw.slice(6), ctx.dpapi);
    if ('problem' in r) {
      addProblem(ctx, at, `${path}: ${r.problem}`, r.hint);
      return undefined;
    }
    return r.value;
  }
  if (env) return secretFromEnv(ctx, env[1]!, path, at);
  if (raw.startsWith('file:')) return secretFromFile(ctx, raw.slice(5), path, at);
  addProblem(ctx, at, `${path} is written in clear in the config file`, how);
  return undefined;
}

function secretFromEnv(ctx: ValidationContext, name: string, path: string, at: number): string | undefined {
  const value = ctx.env[name];
  if (value === undefined || value === '') {
    addProblem(
      ctx,
      at,
      `${path}: environment variable ${name} is ${value === undefined ? 'not set' : 'empty'}`,
      `set ${name} in the service environment (systemd: EnvironmentFile=; Windows: the service's environment)`,
    );
    return undefined;
  }
  return value;
}

function secretFromFile(ctx: ValidationContext, rel: string, path: string, at: number): string | undefined {
  const file = isAbsolute(rel) ? rel : resolve(ctx.baseDir, rel);
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch {
    addProblem(ctx, at, `${path}: cannot read secret file ${file}`, 'check the path and that the service account can read it');
    return undefined;
  }
  if (ctx.checkPermissions) {
    const p = insecureFileProblem(file, `${path}: secret file ${file}`, ctx.acl);
    if (p) {
      addProblem(ctx, at, p, undefined, true);
      return undefined;
    }
  }
  const value = content.replace(/\r?\n$/, '');
  if (!value) {
    addProblem(ctx, at, `${path}: secret file ${file} is empty`, 'write the secret into it');
    return undefined;
  }
  return value;
}
