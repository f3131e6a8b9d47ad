import { createHash } from 'node:crypto';

/** A stable hex digest of a text (metadata change detection, tag sharding). */
export function hashText(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
