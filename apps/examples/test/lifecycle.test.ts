// apps/examples/test/lifecycle.test.ts
// Model-tests the README's streaming worker against the runner lifecycle.
import { testRunnerLifecycle } from '@troupe/testing';
import { describe, it } from 'vitest';

describe('the streaming worker follows the runner lifecycle', () => {
  for (const lifecycleCase of testRunnerLifecycle({
    worker: new URL('../dist/streaming-worker.js', import.meta.url),
    task: { handler: 'generate', payload: 50 },
    // Runs until aborted, honouring ctx.signal: adds the drain-deadline paths.
    longTask: { handler: 'generate', payload: 1e9, honoursAbort: true },
  })) {
    it(lifecycleCase.name, lifecycleCase.run, 30_000);
  }
});
