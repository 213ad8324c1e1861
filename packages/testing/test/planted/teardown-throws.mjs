// Planted bug: teardown throws.
import { defineRunner } from '@troupe/runtime/worker';

export default defineRunner({
  teardown() {
    throw new Error('planted: the connection pool was already closed');
  },
  handlers: {
    work: (n) => n * 2,
  },
});
