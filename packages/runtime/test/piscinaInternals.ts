// piscina 5.3.2's own error classes and abort plumbing, loaded from its
// dist (they are not exported), so tests check against the real shapes
// rather than replicas. No threads are started.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const dist = dirname(require.resolve('piscina'));

/** piscina's AbortError: name 'AbortError', message 'The task has been aborted'. */
export const PiscinaAbortError = (
  require(join(dist, 'abort.js')) as { AbortError: new (reason?: unknown) => Error }
).AbortError;

/** piscina's `onabort(signal, listener)`: returns the remover. */
export const piscinaOnAbort = (
  require(join(dist, 'abort.js')) as {
    onabort: (signal: object, listener: () => void) => () => void;
  }
).onabort;

/** piscina's error factories (`ThreadTermination` is what destroy() rejects with). */
export const PiscinaErrors = (
  require(join(dist, 'errors.js')) as { Errors: { ThreadTermination: () => Error } }
).Errors;

interface TaskInfoLike {
  aborted: boolean;
  onAbort(listener: () => void): void;
  setAbortListener(signal: object): void;
  done(err: Error | null, result?: unknown): void;
}

/** piscina's per-task record, which wires the task's signal. */
export const PiscinaTaskInfo = (
  require(join(dist, 'task_queue', 'index.js')) as {
    TaskInfo: new (
      init: {
        task: unknown;
        transferList: unknown[];
        filename: string;
        name: string;
        abortSignal: object | null;
        triggerAsyncId: number;
      },
      callback: (err: Error | null, result: unknown) => void,
    ) => TaskInfoLike;
  }
).TaskInfo;
