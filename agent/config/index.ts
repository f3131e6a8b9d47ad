/** The config module's public face: load, types, redaction, state directory. */
export { loadConfig, type LoadOptions } from './load.js';
export { redactor, secretValues, SECRET_KEYS } from './redact.js';
export { ensureStateDir } from './permissions.js';
export { parseDuration, parseSize, parseTimestamp } from './values.js';
export type * from './types.js';
