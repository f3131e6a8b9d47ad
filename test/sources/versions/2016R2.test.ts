/**
 * The end-to-end files, exact, against PI Web API 2016R2 (matrix.ts), and the AF crash test: its
 * killed and restarted children must find the server's WebID 1.0 ids in the store.
 */
import { runAgainst } from './matrix.js';

await runAgainst('2016R2', ['../af/crash.test.js']);
