/** The end-to-end files, exact, against PI Web API 2021 (matrix.ts). */
import { runAgainst } from './matrix.js';

await runAgainst('2021');
