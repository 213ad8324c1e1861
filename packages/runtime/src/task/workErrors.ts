import {
  DataCloneError,
  TaskAbortedError,
  TaskFailedError,
  TroupeError,
  WorkerCrashedError,
  fromErrorData,
  toTroupeError,
  type ErrorData,
} from '@troupe/core';
import { describeValue } from '../describeValue.js';

/** How a rejection from the pool came about. */
export type WorkErrorKind =
  /** The thread exited, threw outside the handler, or ran out of memory. */
  | 'crash'
  /** The pool was destroyed under it (a restart, a close, the drain deadline). */
  | 'terminated'
  /** Its abort hook fired (the caller already has its TroupeError). */
  | 'aborted'
  /** The payload or the result could not be cloned. */
  | 'clone'
  /** The handler itself threw (plain modules only). */
  | 'handler';

const EXIT_MESSAGE = /^worker exited with code: -?\d+$/;

/**
 * Classifies an error piscina 5.3.2 rejected a task with. piscina gives no
 * codes: a crash is an Error "worker exited with code: N", the error the
 * Worker emitted (`fromThread`: the pool saw it as the thread's 'error'
 * event), or `ERR_WORKER_OUT_OF_MEMORY`; destroy() rejects with
 * "Terminating worker thread"; its abort path with an `AbortError`.
 */
export function classifyWorkError(error: unknown, fromThread: boolean): WorkErrorKind {
  if (typeof error !== 'object' || error === null) return 'handler';
  if (fromThread) {
    return (error as { name?: unknown }).name === 'DataCloneError' ? 'clone' : 'crash';
  }
  const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
  if (name === 'DataCloneError') return 'clone';
  if (code === 'ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST') return 'clone';
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') return 'crash';
  if (typeof message === 'string') {
    if (EXIT_MESSAGE.test(message)) return 'crash';
    if (message === 'Terminating worker thread') return 'terminated';
  }
  if (name === 'AbortError' && message === 'The task has been aborted') return 'aborted';
  return 'handler';
}

/** Why the runner took its threads away while the task ran, read from its statechart. */
export type TeardownCause = 'restart' | 'drainDeadline' | 'close' | null;

/** What a task's failure is mapped from. */
export interface WorkErrorFacts {
  readonly runnerId: string;
  readonly taskId: string;
  readonly handler: string;
  /** The pool saw this error object as its thread's 'error' event. */
  readonly fromThread: boolean;
  /** The crash note of the thread that ran the task, if it died with one. */
  readonly note: ErrorData | null;
  readonly teardown: TeardownCause;
  /** The runner's failure (e.g. its restart limit), if it failed. */
  readonly failure: ErrorData | null;
}

function message(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : describeValue(error);
}

/** The TroupeError a task rejects with, from what the pool rejected it with. */
export function mapWorkError(error: unknown, facts: WorkErrorFacts): TroupeError {
  const { taskId, handler } = facts;
  const context = { runnerId: facts.runnerId, taskId, handler, operation: 'run' as const };
  if (facts.note !== null && facts.teardown !== 'drainDeadline') {
    const cause = fromErrorData(facts.note);
    if (facts.note.name === 'DataCloneError') {
      return new DataCloneError(
        `task ${taskId}: its result could not be cloned (${facts.note.message}); the thread was replaced`,
        { cause, context },
      );
    }
    return new WorkerCrashedError(`the thread running task ${taskId} crashed: ${cause.message}`, {
      cause,
      context,
    });
  }
  const kind = classifyWorkError(error, facts.fromThread);
  if (facts.teardown === 'drainDeadline' && kind !== 'clone' && kind !== 'handler') {
    return new TaskAbortedError(
      `task ${taskId} was aborted: its thread was terminated at the shutdown deadline`,
      { cause: error, context },
    );
  }
  switch (kind) {
    case 'crash':
      return new WorkerCrashedError(
        `the thread running task ${taskId} crashed: ${message(error)}`,
        {
          cause: error,
          context,
        },
      );
    case 'terminated':
      if (facts.failure !== null) {
        const failed = fromErrorData(facts.failure);
        return toTroupeError(failed, 'ERR_RESTART_LIMIT', failed.message, context);
      }
      if (facts.teardown === 'restart') {
        return new WorkerCrashedError(
          `task ${taskId} was lost: runner "${facts.runnerId}" restarted its pool while it ran`,
          { cause: error, context: { ...context, restart: true } },
        );
      }
      return new TaskAbortedError(
        `task ${taskId} was aborted: runner "${facts.runnerId}" closed its threads`,
        { cause: error, context },
      );
    case 'aborted':
      return new TaskAbortedError(`task ${taskId} was aborted`, { cause: error, context });
    case 'clone':
      return new DataCloneError(
        `task ${taskId}: payload or result could not be cloned: ${message(error)}`,
        { cause: error, context },
      );
    case 'handler':
      if (error instanceof TroupeError) return error;
      return new TaskFailedError(`task ${taskId} failed in "${handler}": ${message(error)}`, {
        cause: error,
        context,
      });
  }
}

const PASSED_THROUGH: ReadonlySet<string> = new Set([
  'ERR_TASK_ABORTED',
  'ERR_TASK_TIMEOUT',
  'ERR_UNKNOWN_HANDLER',
  'ERR_DATA_CLONE',
]);

/** The TroupeError of a `defineRunner` handler that threw (its failure came back as data). */
export function mapHandlerFailure(
  data: ErrorData,
  facts: Pick<WorkErrorFacts, 'runnerId' | 'taskId' | 'handler' | 'teardown'>,
): TroupeError {
  const cause = fromErrorData(data);
  const context = {
    runnerId: facts.runnerId,
    taskId: facts.taskId,
    handler: facts.handler,
    operation: 'run' as const,
  };
  if (cause instanceof TroupeError && PASSED_THROUGH.has(cause.code)) return cause;
  if (facts.teardown === 'drainDeadline') {
    return new TaskAbortedError(`task ${facts.taskId} was aborted at the drain deadline`, {
      cause,
      context,
    });
  }
  return new TaskFailedError(
    `task ${facts.taskId} failed in "${facts.handler}": ${cause.message}`,
    { cause, context },
  );
}
