/** The end-to-end files, exact, against PI Web API 2018SP1 (matrix.ts). */
import { runAgainst } from './matrix.js';

await runAgainst('2018SP1');
