// Planted bug: teardown waits for something that never comes.
import { defineRunner } from '@troupe/runtime/worker';

export default defineRunner({
  teardown() {
    return new Promise(() => {});
  },
  handlers: {
    work: (n) => n * 2,
  },
});
