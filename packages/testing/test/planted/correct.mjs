// A correct defined worker: setup starts a timer, teardown clears it, the
// long task honours ctx.signal.
import { defineRunner } from '@troupe/runtime/worker';

let timer = null;
export default defineRunner({
  setup() {
    timer = setInterval(() => {}, 1_000);
  },
  teardown() {
    clearInterval(timer);
  },
  handlers: {
    async work(n) {
      return n * 2;
    },
    async long(_n, ctx) {
      await new Promise((resolve, reject) => {
        const wait = setTimeout(resolve, 60_000);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(wait);
          reject(ctx.signal.reason);
        });
      });
    },
  },
});
