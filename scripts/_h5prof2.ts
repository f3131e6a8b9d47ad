import { timeseriesRows } from './bench-batch.js';
import { encodeBatch } from '../agent/batch/encode.js';
import { TABLES } from '../agent/batch/tables.js';
const rows = timeseriesRows(1000, 1000);
encodeBatch(TABLES.pi_timeseries, rows.slice(0, 1000));
let t0 = performance.now();
encodeBatch(TABLES.pi_timeseries, rows);
console.log('encode', performance.now() - t0);
