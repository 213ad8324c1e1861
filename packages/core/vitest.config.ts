import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // A test may import '@troupe/core' as a user does (the README's examples):
  // it gets these sources, not the last build.
  resolve: {
    alias: [
      {
        find: /^@troupe\/core$/,
        replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
  },
});
