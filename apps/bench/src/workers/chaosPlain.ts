// A plain (piscina-style) worker module that misbehaves on request; the soak
// picks what each task does. Used by the plain chaos runner and, with a
// small heap limit, by the heap-limited runner.
import type { PlainTask } from '../soak/tasks.js';

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the thread's event loop does not run
  }
}

export default function chaos(task: PlainTask): unknown {
  switch (task.kind) {
    case 'ok':
      return task.n;
    case 'exit':
      // The thread dies mid-task with a non-zero code.
      return process.exit(3);
    case 'throw':
      // Uncaught, outside the task's own promise: the thread dies.
      return new Promise(() => {
        setTimeout(() => {
          throw new Error(`injected uncaught error in task ${task.n}`);
        }, 1);
      });
    case 'hog': {
      // Allocates until the thread's resourceLimits stop it.
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array<number>(250_000).fill(hoard.length));
    }
    case 'hang':
      // Never returns: only the task timeout's thread termination ends it.
      for (;;) spin(1_000);
  }
}
