import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // End-to-end tests share one dockerd and one registry; keep files in one process pool but parallel.
    pool: 'forks',
  },
});
