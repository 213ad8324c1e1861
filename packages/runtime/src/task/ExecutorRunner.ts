import type { ErrorData, TroupeError, TroupeErrorContext } from '@troupe/core';
import type { ThreadChannels } from '../channel/ThreadChannels.js';
import type { ErrorRecord } from '../errors/ErrorHandler.js';
import type { Inspection } from '../inspection/Inspection.js';
import type { TaskDurations } from '../metrics/TaskDurations.js';
import type { ThreadPool } from '../pool/ThreadPool.js';
import type { TaskEventMeta, TaskSettledEvent } from './types.js';
import type { TeardownCause } from './workErrors.js';

/** What the runner's statechart allows right now, cached on every snapshot. */
export interface AdmissionFlags {
  /** `run()` takes new tasks (tag `accepting`). */
  readonly accepting: boolean;
  /** Queued tasks go to threads (tag `dispatching`). */
  readonly dispatching: boolean;
  /** Threads up to take tasks. */
  readonly slots: number;
}

/** What the executor needs from the troupe (a subset of the runner's host). */
export interface ExecutorHost {
  readonly inspect: Inspection | undefined;
  readonly wantsTaskEvents: boolean;
  readonly retryBackoff: { readonly baseMs: number; readonly capMs: number };
  phase(): string;
  /** The troupe's coordinator admits new work (running, or SIGNALING's readiness delay). */
  admits(): boolean;
  reportError(error: unknown, context: TroupeErrorContext): ErrorRecord;
  resolveErrors(records: readonly ErrorRecord[], how: 'retry'): void;
  listenerFailed(error: unknown, listener: string, context: TroupeErrorContext): void;
  isRetryable(error: unknown, context: TroupeErrorContext): boolean;
  emitTaskSettled(event: TaskSettledEvent): void;
  refusedAfterFinal(runnerId: string): void;
  /** Where the runner's task durations go (`troupe_task_duration_seconds`); none in unit tests. */
  taskDurations?(runnerId: string): TaskDurations;
}

/** What the executor needs from the runner it serves. */
export interface ExecutorRunner {
  readonly id: string;
  readonly host: ExecutorHost;
  readonly moduleUrl: string;
  readonly capacity: number;
  readonly taskTimeoutMs: number | undefined;
  readonly abortGraceMs: number;
  readonly channels: ThreadChannels;
  pool(): ThreadPool | null;
  kind(): 'plain' | 'defined';
  hasHandler(name: string): boolean;
  handlerNames(): readonly string[];
  /** The error a refused task gets, built now. */
  refusal(): TroupeError;
  /** Why the pool was taken away under running tasks, if it was. */
  teardownCause(): TeardownCause;
  failure(): ErrorData | null;
  /** The crash note a thread sent before it died. */
  noteOf(threadId: number): ErrorData | null;
  /** Accepted tasks went from none to some, or back. */
  loadChanged(): void;
  /** An event a task emitted, for `runner.on('event')`. */
  emitEvent(event: unknown, meta: TaskEventMeta): void;
  /** The runner is done: its counts were handed to the troupe already. */
  done(): boolean;
}
