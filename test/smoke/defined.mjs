import { defineRunner } from '@troupe/runtime/worker';
let model;
export default defineRunner({
  setup() { model = new Float64Array(1000).fill(1); },
  handlers: {
    async generate(prompt, ctx) {
      for (let i = 0; i < 3; i++) await ctx.emit({ type: 'chunk', i, text: prompt });
      return model.length;
    },
    async hang(_, ctx) { await new Promise((r) => ctx.signal.addEventListener('abort', r)); throw ctx.signal.reason; },
    fail() { throw new RangeError('bad'); },
  },
});
