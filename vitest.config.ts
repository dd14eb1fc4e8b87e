import { defineConfig } from 'vitest/config';

// Unit and integration tests run the TypeScript sources directly; the E2E test (test/e2e) drives a real
// browser against the built renderer and is started by scripts/run-e2e.js after `npm run build`.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/faults/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/helpers/global-tmp.ts'],
    maxWorkers: 2,
  },
});
