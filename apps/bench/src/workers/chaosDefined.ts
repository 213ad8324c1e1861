// A defineRunner module that misbehaves on request; the soak picks what each
// task does.
import { defineRunner } from '@troupe/runtime/worker';
import type { DefinedTask } from '../soak/tasks.js';

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the thread's event loop (and its channel) does not run
  }
}

export default defineRunner({
  handlers: {
    async task(task: DefinedTask, ctx) {
      switch (task.kind) {
        case 'ok':
          for (let i = 0; i < task.emits; i++) await ctx.emit({ n: task.n, i });
          return task.n;
        case 'stall':
          // Emits without awaiting, then blocks the thread: the acks and any
          // control call (health probe, abort) wait until it yields.
          void ctx.emit({ n: task.n, i: 0 });
          spin(task.stallMs);
          await ctx.emit({ n: task.n, i: 1 });
          return task.n;
        case 'fail':
          throw new RangeError(`injected handler failure in task ${task.n}`);
        case 'hang':
          // Ignores ctx.signal: timeout, abort grace, then termination.
          return new Promise<never>(() => {});
      }
    },
  },
});
