// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Modules that do I/O: forbidden in shared/core, which must stay pure (see ARCHITECTURE.md). */
const IO_MODULES = [
  'fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'child_process', 'dgram', 'dns', 'tls',
  'cluster', 'worker_threads', 'readline', 'os', 'process',
];

/**
 * The layer picture of ARCHITECTURE.md ("Layers": imports only point down), one entry per layer:
 * the folders it must not import. Relative imports are matched by the folder names they pass
 * through (`../engine/…`, `../../shared/aws/…`); `test/unit/architecture/layers.test.ts` proves
 * every arrow is enforced.
 *
 * `local/` may import `infra/` (the local cloud runs the definitions the CDK app synthesizes, and
 * the job tags it reads) but nothing above it.
 */
export const LAYERS = [
  { files: 'shared/core/**/*.ts', forbidden: ['aws', 'engine', 'wiring', 'lambdas', 'infra', 'local', 'cli', 'bench', 'test'], sdk: false },
  { files: 'shared/aws/**/*.ts', forbidden: ['engine', 'wiring', 'lambdas', 'infra', 'local', 'cli', 'bench', 'test'], sdk: true },
  { files: 'shared/engine/**/*.ts', forbidden: ['aws', 'wiring', 'lambdas', 'infra', 'local', 'cli', 'bench', 'test'], sdk: false },
  { files: 'shared/wiring/**/*.ts', forbidden: ['lambdas', 'infra', 'local', 'cli', 'bench', 'test'], sdk: true },
  { files: 'lambdas/**/*.ts', forbidden: ['shared/aws', 'infra', 'local', 'cli', 'bench', 'test'], sdk: true },
  { files: 'infra/**/*.ts', forbidden: ['shared/aws', 'local', 'cli', 'bench', 'test'], sdk: true },
  { files: 'local/**/*.ts', forbidden: ['cli', 'bench', 'test'], sdk: true },
  { files: 'cli/**/*.ts', forbidden: ['bench', 'test'], sdk: true },
  { files: 'bench/**/*.ts', forbidden: ['test'], sdk: true },
];

/** A regex matching an import path that passes through folder `folder` (`a/b` for nested ones). */
function throughFolder(folder) {
  return `(^|/)${folder.replace('/', '\\/')}(/|$)`;
}

/** The `no-restricted-imports` patterns of one layer. */
function layerPatterns(layer) {
  const patterns = layer.forbidden.map((folder) => ({
    regex: throughFolder(folder),
    message: `${layer.files.split('/**')[0]} must not import ${folder}/ (ARCHITECTURE.md, Layers: imports only point down).`,
  }));
  if (!layer.sdk) {
    patterns.push({ regex: '^@(aws-sdk|smithy)/', message: `${layer.files.split('/**')[0]} talks to AWS only through ports (shared/core/ports); the adapters live in shared/aws.` });
  }
  return patterns;
}

const PURE_CORE_PATHS = [...IO_MODULES, ...IO_MODULES.map((m) => `node:${m}`)].map((name) => ({
  name, message: 'shared/core is pure: no I/O. Put I/O in shared/aws or shared/engine.',
}));

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
  ...LAYERS.map((layer) => ({
    files: [layer.files],
    rules: {
      'no-restricted-imports': ['error', {
        paths: layer.files.startsWith('shared/core/') ? PURE_CORE_PATHS : [],
        patterns: layerPatterns(layer),
      }],
    },
  })),
  {
    files: ['shared/core/**/*.ts'],
    rules: {
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
