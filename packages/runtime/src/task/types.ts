import type { Transferable } from 'node:worker_threads';
import type { ErrorCode } from '@troupe/core';

/** Where an event emitted by a task came from. */
export interface TaskEventMeta {
  readonly runnerId: string;
  readonly taskId: string;
  readonly threadId: number;
}

/** Options of `runner.run()`. */
export interface RunOptions<TEvent = unknown> {
  /** The handler to call: a named export (plain module) or a `handlers` key (`defineRunner`). Default `'default'`. */
  readonly handler?: string;
  /** Cancels the task: the promise rejects with `ERR_TASK_ABORTED` at once. */
  readonly signal?: AbortSignal;
  /** Transferred, not cloned (ArrayBuffers, MessagePorts). */
  readonly transfer?: readonly Transferable[];
  /** Rejects with `ERR_TASK_TIMEOUT` after this long. Default: the runner's `taskTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Receives the events this task emits (before the promise settles). */
  readonly onEvent?: (event: TEvent, meta: TaskEventMeta) => void;
  /**
   * Retry failed attempts up to this many times, with full-jitter backoff,
   * when the error handler's action for the error is RETRY or RESTART
   * (timeouts, a full queue, a crashed thread by default). Requires
   * `idempotent: true`: a retried task may run more than once.
   */
  readonly retries?: number;
  /** The task may safely run more than once. Required by `retries`. */
  readonly idempotent?: boolean;
  /** Backoff of this task's retries. Default: the troupe's `errors.retry`. */
  readonly retryBackoff?: { readonly baseMs: number; readonly capMs: number };
}

/** `task:settled` event payload. */
export interface TaskSettledEvent {
  readonly runnerId: string;
  readonly taskId: string;
  readonly handler: string;
  readonly ok: boolean;
  readonly code: ErrorCode | null;
  readonly durationMs: number;
}
