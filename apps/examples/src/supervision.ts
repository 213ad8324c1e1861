import { createTroupe, isTroupeError } from '@troupe/runtime';

const troupe = createTroupe({
  errors: {
    escalation: 'degrade', // a runner over its restart limit fails; the rest keeps serving
    retry: { baseMs: 20, capMs: 500 }, // full-jitter backoff between task retries
  },
});
troupe.on('alert', (alert) => console.log('alert:', alert.code, alert.decision));

const runner = await troupe.spawnRunner({
  id: 'flaky',
  worker: new URL('./flaky-worker.js', import.meta.url),
  threads: 1,
  workerData: { calls: new Int32Array(new SharedArrayBuffer(4)), crashFirst: 1 },
  restart: { policy: 'permanent', maxRestarts: 2, windowMs: 60_000 },
});

// The first call crashes its thread; the task is idempotent, so it is retried
// on the replacement thread.
console.log('result:', await runner.run({ n: 21 }, { retries: 2, idempotent: true }));

// Two more crashes in the window: the third restart is one too many.
const failed = new Promise((resolve) => runner.on('state', (s) => s === 'failed' && resolve(s)));
await runner.run({ n: 0, crash: true }).catch(() => {});
await runner.run({ n: 0, crash: true }).catch(() => {});
console.log('runner:', await failed);
await runner.run({ n: 1 }).catch((error: unknown) => {
  if (isTroupeError(error)) console.log('then:', error.code);
});

const { crashes, restarts } = runner.stats();
console.log(
  'crashes:',
  crashes,
  'restarts:',
  restarts,
  'resolved by retry:',
  troupe.errors.stats().resolved.retry,
);
await troupe.shutdown();
