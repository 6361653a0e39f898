import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: true },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  {
    // Deciders, machines and projections are pure: no I/O, no clock, no NATS.
    files: ['**/decider.ts', '**/machine.ts', 'projections/src/**/*.ts'],
    // Hashing and bundle files are I/O by nature; the projections themselves stay pure.
    ignores: ['projections/src/chain/**', 'projections/src/bundle/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', '@nats-io/*', 'fastify'] }],
    },
  },
);
