// ctx.log: the worker writes to the troupe's logger, in the main thread.
import { defineRunner, type TaskContext } from '@troupe/runtime/worker';

export default defineRunner({
  setup(ctx) {
    ctx.log.info({ vocabulary: 7 }, 'model loaded'); // bound: runnerId, threadId
  },
  handlers: {
    summarize(text: string, ctx: TaskContext) {
      const words = text.split(/\s+/).length;
      ctx.log.debug({ words }, 'counted'); // bound: runnerId, threadId, taskId
      if (words > 5) ctx.log.warn({ words, limit: 5 }, 'long input');
      return words;
    },
  },
});
