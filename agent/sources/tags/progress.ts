/** The tags source's progress: each selected tag under `tag:<IDOnly WebID>` (sources/tags/discover.ts). */
import { ProgressSpace } from '../../store/progress.js';
import type { TagMeta } from './discover.js';

export const TAGS = new ProgressSpace<TagMeta>('tags', 'tag:');
