/** The end-to-end files, exact, against PI Web API 2017R2 (matrix.ts). */
import { runAgainst } from './matrix.js';

await runAgainst('2017R2');
