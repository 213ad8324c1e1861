// Planted bug: setup takes a lock (workerData.lock) and only teardown gives it
// back. A thread that crashes never gives it back, so the replacement's setup
// waits for it forever.
import { defineRunner } from '@troupe/runtime/worker';

let lock;
export default defineRunner({
  async setup({ workerData }) {
    lock = workerData.lock;
    while (Atomics.compareExchange(lock, 0, 0, 1) !== 0) {
      await Atomics.waitAsync(lock, 0, 1, 1_000).value;
    }
  },
  teardown() {
    Atomics.store(lock, 0, 0);
    Atomics.notify(lock, 0);
  },
  handlers: {
    work: (n) => n * 2,
  },
});
