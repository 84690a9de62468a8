// CommonJS on purpose: ts-jest runs our TypeScript as CommonJS, and @middy/* ships ESM only,
// so it is transformed too (transformIgnorePatterns below).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true }, diagnostics: false }],
  },
  transformIgnorePatterns: ['node_modules/(?!(@middy)/)'],
  // Integration suites start servers on loopback; give them room on a 2-core machine.
  testTimeout: 60_000,
  maxWorkers: 2,
};
