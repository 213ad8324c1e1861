// A worker with per-thread setup/teardown and a context for each task.
import { defineRunner, type TaskContext } from '@troupe/runtime/worker';

let vocabulary: string[] = [];

export default defineRunner({
  setup() {
    vocabulary = ['actors', 'on', 'worker', 'threads', 'never', 'lose', 'work'];
  },
  teardown() {
    vocabulary = [];
  },
  handlers: {
    async generate(tokens: number, ctx: TaskContext<{ type: 'token'; text: string }>) {
      for (let i = 0; i < tokens; i++) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        await ctx.emit({ type: 'token', text: vocabulary[i % vocabulary.length] ?? '' });
      }
      return { tokens, taskId: ctx.taskId };
    },
  },
});
