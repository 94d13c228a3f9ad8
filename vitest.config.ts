import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // End-to-end tests share one dockerd and one registry, started on first use by whichever test
    // file needs them and stopped at teardown (test/support/services.ts). Files run in parallel
    // in separate processes.
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    // Leave time for dockerd to stop its containers at teardown.
    teardownTimeout: 60_000,
  },
});
