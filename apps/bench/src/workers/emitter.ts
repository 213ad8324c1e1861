// A defineRunner module whose task awaits `ctx.emit` n times in a row: one
// event round trip (thread → main → ack) at a time.
import { defineRunner } from '@troupe/runtime/worker';

export default defineRunner({
  handlers: {
    async emits(n: number, ctx) {
      for (let i = 0; i < n; i++) await ctx.emit(i);
      return n;
    },
  },
});
