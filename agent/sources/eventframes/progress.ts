/**
 * The event frame source's progress (extract.ts): per frame `ef:<IDOnly WebID>`, and per database
 * its window end `efw:<database>` and last rescan `efw:<database>|rescan` (under `efw:` so a reset
 * clears it).
 */
import { ProgressSpace } from '../../store/progress.js';
import type { FrameProgress } from './extract.js';

export const FRAMES = new ProgressSpace<FrameProgress>('event_frames', 'ef:');
/** Per database: µs on PI's clock (the window's end, or the last rescan). */
export const WINDOWS = new ProgressSpace<number>('event_frames', 'efw:');
