import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The page, built into dist/page and shipped with the package: served by
// the troupe itself, offline, under any prefix (relative asset URLs).
export default defineConfig({
  root: fileURLToPath(new URL('./page', import.meta.url)),
  base: './',
  build: {
    outDir: fileURLToPath(new URL('./dist/page', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2_000,
  },
});
