// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Modules that do I/O: forbidden in shared/core, which must stay pure (see ARCHITECTURE.md). */
const IO_MODULES = [
  'fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'child_process', 'dgram', 'dns', 'tls',
  'cluster', 'worker_threads', 'readline', 'os', 'process',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'cdk.out/**', 'bench/results/**', 'coverage/**', '.ebs-cdp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'error',
    },
  },
  {
    // CommonJS scripts (the bin shim, jest.config.js).
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['shared/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [...IO_MODULES, ...IO_MODULES.map((m) => `node:${m}`)].map((name) => ({
          name, message: 'shared/core is pure: no I/O. Put I/O in shared/aws or shared/engine.',
        })),
        patterns: [{ group: ['@aws-sdk/*', '@smithy/*'], message: 'shared/core must not import the AWS SDK.' }],
      }],
      'no-restricted-globals': ['error',
        { name: 'fetch', message: 'shared/core is pure: no I/O.' },
        { name: 'process', message: 'shared/core is pure: no environment or process access.' },
      ],
    },
  },
  {
    // Tests may use non-null assertions on values they have just checked.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
