import { defineConfig } from 'vitest/config';

// Real worker threads on a 2-core machine: one test file at a time keeps
// deadlines and timings honest.
export default defineConfig({
  test: {
    include: ['integration/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    setupFiles: ['helpers/unhandled.ts'],
  },
});
