/**
 * The shape issue 20 set for agent/: no function longer than 80 lines, no file longer than 400
 * (scripts/code-shape.ts measures; it prints what is over).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { codeShape, longFunctions } from '../scripts/code-shape.js';

const AGENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../agent');

t.test('agent/ has no function over 80 lines and no file over 400', async (t) => {
  t.same(
    codeShape(AGENT, 80, 400).map((f) => `${path.relative(AGENT, f.file)}:${f.line}: ${f.what}: ${f.lines} lines`),
    [],
  );
});

t.test('the measure sees a long function, nested ones on their own', async (t) => {
  const found = longFunctions(fileURLToPath(new URL('../scripts/code-shape.ts', import.meta.url)), 10);
  t.ok(
    found.some((f) => f.what === 'function longFunctions'),
    'longFunctions itself is over 10 lines',
  );
  t.ok(
    found.every((f) => f.lines > 10),
    'only functions over the limit',
  );
});
