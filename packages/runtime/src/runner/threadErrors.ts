import {
  RunnerStartupError,
  ThreadStartupError,
  TroupeError,
  WorkerCrashedError,
  fromErrorData,
  type ErrorData,
} from '@troupe/core';
import { describeValue } from '../describeValue.js';

/** Where a runner's errors come from. */
export interface ThreadErrorSource {
  readonly runnerId: string;
  readonly workerPath: string;
  /** It served before: a start failure is `ERR_THREAD_STARTUP`, not `ERR_RUNNER_STARTUP`. */
  readonly everReady: boolean;
}

/** A start that failed: the runner's first (`ERR_RUNNER_STARTUP`) or a later one. */
export function startFailure(
  source: ThreadErrorSource,
  message: string,
  cause: unknown,
  threadId?: number,
): TroupeError {
  const options = {
    ...(cause === undefined ? {} : { cause }),
    context: {
      runnerId: source.runnerId,
      ...(threadId === undefined ? {} : { threadId }),
      workerPath: source.workerPath,
      operation: 'start' as const,
    },
  };
  return source.everReady
    ? new ThreadStartupError(message, options)
    : new RunnerStartupError(message, options);
}

/** A thread whose hello says the module failed to load (or its `setup` failed). */
export function loadFailure(
  source: ThreadErrorSource,
  threadId: number,
  error: ErrorData | null,
): TroupeError {
  const cause = error === null ? undefined : fromErrorData(error);
  return startFailure(
    source,
    `worker module ${source.workerPath} failed to load in thread ${threadId}: ${cause?.message ?? 'unknown error'}`,
    cause,
    threadId,
  );
}

/**
 * What a thread's exit says, with the thread's own account first: an error
 * that crossed the thread boundary may have lost its shape, its crash note
 * did not.
 */
export function exitError(
  runnerId: string,
  exit: { readonly threadId: number; readonly exitCode: number; readonly error: unknown },
  note: ErrorData | undefined,
): WorkerCrashedError {
  const { threadId, exitCode } = exit;
  const cause: unknown =
    note !== undefined && !(exit.error instanceof Error) ? fromErrorData(note) : exit.error;
  const known = cause !== null && cause !== undefined;
  const why = known ? `: ${cause instanceof Error ? cause.message : describeValue(cause)}` : '';
  return new WorkerCrashedError(
    `thread ${threadId} of runner "${runnerId}" exited with code ${exitCode}${why}`,
    {
      ...(known ? { cause } : {}),
      context: { runnerId, threadId, exitCode, operation: 'thread' },
    },
  );
}

/** A first start's failure names the worker module (`context.workerPath`). */
export function withWorkerPath(error: Error, runnerId: string, workerPath: string): Error {
  if (!(error instanceof TroupeError) || error.code !== 'ERR_RUNNER_STARTUP') return error;
  if (error.context.workerPath !== undefined) return error;
  return new RunnerStartupError(error.message, {
    ...(error.cause === undefined ? {} : { cause: error.cause }),
    context: { ...error.context, runnerId, workerPath },
  });
}
