import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import secai from './ops/lint/packageBoundaries.mjs';

// I/O that a pure module (rules, deciders, machines, projections) never does itself: the bus, HTTP,
// the disk, processes. Hashing (`node:crypto`) and URL parsing stay allowed where rules need them.
const IO_MODULES = [
  '@nats-io/*',
  'fastify',
  '@fastify/*',
  'node:fs',
  'node:fs/promises',
  'node:child_process',
  'node:worker_threads',
  'node:net',
  'node:http',
  'node:https',
  'node:dgram',
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'eslint.config.mjs', 'ops/lint/*.d.mts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: true },
    plugins: { secai },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      'secai/package-boundaries': 'error',
    },
  },
  {
    // The page (services/ui/web) is its own program: DOM, no Node types, JSX for Preact.
    files: ['services/ui/web/src/**/*.{ts,tsx}', 'services/ui/web/test/**/*.{ts,tsx}'],
    languageOptions: {
      globals: globals.browser,
      parserOptions: {
        project: './services/ui/web/tsconfig.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  // Vite's config runs in Node at build time and belongs to no type-checked program.
  { files: ['services/ui/web/vite.config.ts'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  {
    // Pure rule modules: evaluation, domains, matchers, classifiers, run deciders, restart
    // policy. They take what they need as arguments; the edges around them do the I/O.
    files: [
      'services/policy-engine/src/evaluate.ts',
      'services/policy-engine/src/decision.ts',
      'services/policy-engine/src/normalize.ts',
      'services/policy-engine/src/domains/**/*.ts',
      'services/policy-engine/src/match/**/*.ts',
      'services/incident-recorder/src/classifier.ts',
      'services/quarantine/src/service/run.ts',
      'services/integrity-monitor/src/modelRules.ts',
      'services/integrity-monitor/src/patterns.ts',
      'services/appliance/src/restartPolicy.ts',
      'services/runtime-attestor/src/quote.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: IO_MODULES }] },
  },
  {
    // Deciders, machines and projections are pure: no I/O, no clock, no NATS (no node:* at all).
    files: ['**/decider.ts', '**/machine.ts', 'projections/src/**/*.ts'],
    // Hashing and bundle files are I/O by nature; the projections themselves stay pure.
    ignores: ['projections/src/chain/**', 'projections/src/bundle/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', ...IO_MODULES] }],
    },
  },
);
