/**
 * The event frame source's progress (extract.ts): per frame `ef:<IDOnly WebID>`, and per database
 * its window end `efw:<database>` and last rescan `efw:<database>|rescan` (under `efw:` so a reset
 * clears it).
 */
import { ProgressSpace } from '../../store/progress.js';

/** What the store remembers of a frame. */
export interface FrameProgress {
  d: string;
  h: string;
  /** Parent frame (IDOnly WebID) of a child frame. */
  p?: string;
  s: number;
  e: number | null;
  a: string[];
  r: string[];
}

export const FRAMES = new ProgressSpace<FrameProgress>('event_frames', 'ef:');
/** Per database: µs on PI's clock (the window's end, or the last rescan). */
export const WINDOWS = new ProgressSpace<number>('event_frames', 'efw:');
