// Bundles the worker entry (and what it imports: the error classes, Comlink)
// into one file. Every thread of every runner loads it in a fresh isolate,
// so one module instead of a graph of ten cuts runner startup by about a
// fifth (see BENCHMARKS.md).
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/worker/entry.js'],
  outfile: 'dist/worker/entry.bundle.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  logLevel: 'warning',
});
