/**
 * The AF source's progress: per object its content hash and database (changes.ts), one space per
 * kind of object, keyed by IDOnly WebID.
 */
import { ProgressSpace } from '../../store/progress.js';

/** Progress value per object: content hash and the database it belongs to. */
export type Known = [hash: string, database: string];

export const AF_TEMPLATES = new ProgressSpace<Known>('af', 'aft:');
export const AF_ELEMENTS = new ProgressSpace<Known>('af', 'afe:');
export const AF_ATTRIBUTES = new ProgressSpace<Known>('af', 'afa:');
