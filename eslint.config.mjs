// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'build/', '.tools/', '.hs/', '.models/', 'bin/', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Use the seeded PRNG in workflows/core/rng.ts.' }],
    },
  },
  {
    // Workflow code runs in the deterministic sandbox: only core, the workflow SDK, zod, and types from activities.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['../activities/*', '../../activities/*', '../workers/*', '../scripts/*'], allowTypeImports: true, message: 'Workflows may import activities only with `import type`.' },
          { group: ['node:*', 'fs', 'path', 'crypto', 'child_process', 'openai'], message: 'No I/O in workflow code.' },
        ],
      }],
    },
  },
  {
    // The pure core: no Temporal, no I/O.
    files: ['workflows/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['@temporalio/*', '../*.workflow', '../proxies', '../messages', 'node:*', 'fs', 'path', 'crypto', 'openai'], message: 'workflows/core is pure: no Temporal, no I/O.' },
        ],
      }],
      'no-restricted-globals': ['error', { name: 'Date', message: 'No clock in core.' }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
