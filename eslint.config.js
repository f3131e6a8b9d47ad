// ESLint (flat config): eslint's and typescript-eslint's recommended rules, type-aware, tuned to what
// the code follows. Each rule turned off or loosened says why. `npm run lint`.
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'out/', 'demo-work/', 'state/', 'tmp/', '.tap/'] },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { project: './tsconfig.eslint.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_name` marks what is left unused on purpose: `const { op: _op, ...rest } = row` drops a key,
      // `(_req) =>` keeps a handler's signature.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // `let { start, reread } = ...` where only one of the two is reassigned stays one statement.
      // A teardown registered before the one assignment it reads (`let service; t.teardown(() =>
      // service?.kill()); ... service = spawn(...)`) cannot be a const.
      'prefer-const': ['error', { destructuring: 'all', ignoreReadBeforeAssign: true }],
      // An options interface per command that adds nothing yet (`interface StatusOptions extends CommandIo {}`).
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      // A query string is built as `?${new URLSearchParams(q)}`; Node's URLSearchParams (not lib.dom's,
      // which the default allows) prints as the query.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allow: [
            { name: ['Error', 'URL', 'URLSearchParams'], from: 'lib' },
            { name: 'URLSearchParams', from: 'package', package: 'url' },
          ],
        },
      ],
      // tap's t.test() returns a promise that tap itself awaits (subtests run in order); the tests
      // call it without `await` everywhere (350 places), as tap's docs do.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] }],
      // An async function without `await` is how the code implements a Promise-returning contract
      // (Command.run, fake servers' handlers, `attempt('x', async () => syncStep())` so that a throw
      // becomes a rejection): 109 places, none a bug.
      '@typescript-eslint/require-await': 'off',
      // String(v) on a value of unknown type (a YAML scalar, a log field, a DuckDB cell) is the code's
      // way to print it; the rule flags each one because the type could be an object. 29 places, none
      // printed [object Object].
      '@typescript-eslint/no-base-to-string': 'off',
      // It flags defensive initial values (`let ok = false;` before a try whose finally reads it,
      // `let len = 0;` before the loop that assigns it first): 4 places, none a bug.
      'no-useless-assignment': 'off',
    },
  },
  {
    files: ['test/**'],
    rules: {
      // The tests read the simulator's and the agent's JSON answers as `any` and assert on them
      // (`res.body.Items.map((e: any) => e.Name)`); a wrong field fails the assertion. ~900 places.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // The regexes match column-aligned CLI output (`/^  -h, --help +show this help$/m`): the spaces
      // are the columns, clearer written out than as ` {2}`.
      'no-regex-spaces': 'off',
      // Test helpers return objects of closures typed with method signatures (`{ close(): void }`);
      // destructuring them (`const { logger, close } = createLogger(...)`) is safe.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // The encoder compiles, once per table, its row loops with new Function: literal property names
    // keep each read monomorphic, several times faster than a `row[name]` loop (encode.ts says so).
    // The generated text embeds only static column names, via JSON.stringify.
    files: ['agent/batch/**'],
    rules: { '@typescript-eslint/no-implied-eval': 'off' },
  },
  {
    // apache-arrow types a column's chunks as Data<any> (Table.getChild(...).data, makeData, a
    // Dictionary's value type): the encoder and the MERGE dedupe pass them on as they come, and the
    // tests read every file back. Typing each through would be casts, not checks.
    files: ['agent/batch/**', 'agent/sinks/databricks/arrow.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The benchmark scripts print what DuckDB and the agent's children hand back (`unknown` cells,
    // parquet-wasm's WebAssembly memory, whose type does not resolve): printing them is the point.
    files: ['scripts/**'],
    rules: {
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    // esbuild injects this file into the single binary's CommonJS bundle, where `require` is the way in.
    files: ['scripts/sea-import-meta.mjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
);
