import { defineConfig } from 'vitest/config';

// End-to-end: web mode served from the built renderer (npm run build first), driven in Debian's Chromium
// by playwright-core; through Playwright's _electron as well where an Electron binary exists.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/helpers/global-tmp.ts'],
    maxWorkers: 1,
  },
});
