// Planted bug: setup throws (a missing configuration value).
import { defineRunner } from '@troupe/runtime/worker';

export default defineRunner({
  setup() {
    throw new Error('planted: DATABASE_URL is not set');
  },
  handlers: {
    work: (n) => n * 2,
  },
});
