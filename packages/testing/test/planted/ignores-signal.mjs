// Planted bug: the long task never looks at ctx.signal (its author says it does).
import { defineRunner } from '@troupe/runtime/worker';

export default defineRunner({
  handlers: {
    work: (n) => n * 2,
    async long() {
      await new Promise((resolve) => setTimeout(resolve, 60_000));
    },
  },
});
