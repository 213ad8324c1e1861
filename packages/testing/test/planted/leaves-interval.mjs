// Planted bug: setup starts a timer that teardown never clears.
import { defineRunner } from '@troupe/runtime/worker';

export default defineRunner({
  setup() {
    setInterval(() => {}, 1_000);
  },
  handlers: {
    work: (n) => n * 2,
  },
});
