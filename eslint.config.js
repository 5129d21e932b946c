// ESLint for the whole workspace (`pnpm lint`, which also runs `prettier --check`). TypeScript
// gets typescript-eslint's type-aware rules through the project service: each file is checked
// with the tsconfig that `tsc -b` builds it with. Formatting is Prettier's alone.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Build output, dependencies, and what runs and tests write (see .prettierignore).
    ignores: ['**/dist/', '**/node_modules/', '**/.data/', '**/logs/', '.tap/', 'coverage/', 'loadtests/results/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { globals: globals.node },
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The rule's own defaults (the recommended preset's): numbers, booleans and a possibly
      // undefined value read fine in messages and URLs; objects and arrays stay flagged.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // With noUncheckedIndexedAccess, `!` marks an index the code has just established exists;
      // a runtime check there could never fail.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Fastify handlers and hooks, and tap subtests, are async to use the promise-returning
      // style (a sync Fastify handler's return value is not sent), not because they await.
      '@typescript-eslint/require-await': 'off',
      // `() => server.close()` as a callback says the same as a block body, in one line.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `const { dropped: _dropped, ...rest }` is how a key is left out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_' }],
      // Environment variables are unset with `delete env[name]` (assigning undefined to
      // process.env would store the string 'undefined').
      '@typescript-eslint/no-dynamic-delete': 'off',
      // Catch callbacks name the Error type this code rejects with: only-throw-error and
      // prefer-promise-reject-errors keep every rejection an Error.
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'off',
      // tap waits for every subtest of a test before ending it: `t.test(...)` need not be awaited.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
    },
  },
  {
    // Tests assert on JSON bodies (`response.json()` is `any`) with tap's matchers, which are
    // the type check there: rules against using `any` would demand a cast per property read.
    files: ['**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowAny: true }],
      '@typescript-eslint/restrict-plus-operands': ['error', { allowAny: true }],
    },
  },
  {
    // The web UI's page runs in the browser.
    files: ['packages/web-ui/src/**'],
    languageOptions: { globals: globals.browser },
  },
  {
    // k6 scripts run in k6's JavaScript runtime, which provides __ENV, __VU and __ITER.
    files: ['loadtests/k6/**/*.js'],
    languageOptions: { globals: { __ENV: 'readonly', __VU: 'readonly', __ITER: 'readonly' } },
  },
  prettier,
);
