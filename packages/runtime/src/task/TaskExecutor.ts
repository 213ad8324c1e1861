import type { Transferable } from 'node:worker_threads';
import {
  DataCloneError,
  QueueFullError,
  TaskAbortedError,
  TaskTimeoutError,
  UnknownHandlerError,
  toErrorData,
  type ErrorData,
  type TroupeError,
  type TroupeErrorContext,
} from '@troupe/core';
import { TaskQueue, type Queueable } from '../admission/TaskQueue.js';
import { QueueWaits, type QueueWaitWindow } from './QueueWaits.js';
import { drainDeadlineRejection, queuedRejection } from '../admission/refusal.js';
import type { ThreadPool, PoolTaskOptions } from '../pool/ThreadPool.js';
import { isTaskFailure, kDispatchName, kFailureKey, type TaskEnvelope } from '../protocol.js';
import type { TaskDurations } from '../metrics/TaskDurations.js';
import { AbortHook } from './AbortHook.js';
import { checkRunOptions } from './checkRunOptions.js';
import type { AdmissionFlags, ExecutorRunner } from './ExecutorRunner.js';
import { runWithRetries, type AttemptMeta } from './runWithRetries.js';
import type { RunOptions, TaskEventMeta } from './types.js';
import { classifyWorkError, mapHandlerFailure, mapWorkError } from './workErrors.js';

export type { AdmissionFlags, ExecutorHost, ExecutorRunner } from './ExecutorRunner.js';

const EMPTY: PoolTaskOptions = Object.freeze({});
const DISPATCH: PoolTaskOptions = Object.freeze({ name: kDispatchName });

class TaskRecord implements Queueable {
  queued = false;
  settled = false;
  onThread = false;
  threadId = -1;
  pool: ThreadPool | null = null;
  hook: AbortHook | null = null;
  timer: NodeJS.Timeout | undefined = undefined;
  grace: NodeJS.Timeout | undefined = undefined;
  startedAt = 0;
  /** When it was first queued (performance.now()); 0 while it never waited. */
  queuedAt = 0;
  onAbort: (() => void) | null = null;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;

  constructor(
    readonly seq: number,
    readonly taskId: string,
    readonly handler: string,
    readonly payload: unknown,
    readonly options: RunOptions | undefined,
    readonly meta: AttemptMeta | null,
  ) {}
}

/**
 * Runs the tasks of one runner: admission (what the statechart's tags
 * allow, capacity `threads + maxQueue`), the queue of accepted tasks
 * waiting for a thread, dispatch to a free thread (so the thread of every
 * task is known), timeouts, cooperative aborts routed to that thread, the
 * abort hook past the grace period, retries, and the mapping of every
 * failure to a TroupeError. Lifecycle decisions are not made here: the
 * runner core reads them from the statechart into {@link flags}.
 */
export class TaskExecutor {
  readonly #runner: ExecutorRunner;
  readonly #queue = new TaskQueue<TaskRecord>();
  readonly #onThreads = new Map<number, TaskRecord>();
  readonly #withListener = new Map<number, TaskRecord>();
  /** Tasks the pool queued itself (no free thread when submitted): their thread comes later. */
  readonly #unplaced = new Set<TaskRecord>();
  readonly #retrying = new Set<(error: TroupeError) => void>();
  /** Queue waits of tasks that reached a thread, for the health monitor. */
  readonly #waits = new QueueWaits();
  #flags: AdmissionFlags = { accepting: false, dispatching: false, slots: 0 };
  #seq = 0;
  #retrySeq = 0;
  #load = 0;
  #running = 0;
  submitted = 0;
  completed = 0;
  failed = 0;
  aborted = 0;
  rejected = 0;
  retried = 0;
  /** `troupe_task_duration_seconds` of this runner: one `observe()` per task that reached a thread. */
  readonly #durations: TaskDurations | null;

  constructor(runner: ExecutorRunner) {
    this.#runner = runner;
    this.#durations = runner.host.taskDurations?.(runner.id) ?? null;
  }

  /** Accepted tasks not settled yet (running or queued). */
  get load(): number {
    return this.#load;
  }

  /** Accepted tasks waiting for a thread. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Threads busy with a task (an aborted one included until its thread is free). */
  get running(): number {
    return this.#running;
  }

  /** A task the pool had to queue went to this thread: the oldest one still unplaced. */
  placedLate(threadId: number): void {
    for (const record of this.#unplaced) {
      this.#unplaced.delete(record);
      if (!record.onThread) continue;
      record.threadId = threadId;
      this.#onThreads.set(threadId, record);
      return;
    }
  }

  /** When the oldest task still queued was queued (performance.now()), or null. */
  get oldestQueuedAt(): number | null {
    return this.#queue.peek()?.queuedAt ?? null;
  }

  /** How long tasks that reached a thread since the last call waited in the queue. */
  takeQueueWaits(): QueueWaitWindow {
    return this.#waits.take();
  }

  /**
   * The thread was found hung (the runner's statechart said so): its task
   * fails now with `error`; the thread is terminated next. False when it
   * had no unsettled task.
   */
  failOnThread(threadId: number, error: TroupeError): boolean {
    const record = this.#onThreads.get(threadId);
    if (record === undefined || record.settled) return false;
    this.#fail(record, error);
    return true;
  }

  /** The task a thread is running, if any. */
  taskOn(threadId: number): { readonly taskId: string; readonly startedAt: number } | undefined {
    return this.#onThreads.get(threadId);
  }

  /** Applies what the statechart allows now; queued tasks go to free threads. */
  set flags(flags: AdmissionFlags) {
    this.#flags = flags;
    this.#pump();
  }

  run(payload: unknown, options: RunOptions | undefined): Promise<unknown> {
    this.submitted += 1;
    // A call on a runner that is done is refused; the troupe still counts it.
    if (this.#runner.done()) this.#runner.host.refusedAfterFinal(this.#runner.id);
    if (options !== undefined) {
      const invalid = checkRunOptions(this.#runner.id, options);
      if (invalid !== null) return this.#refuse(invalid, null);
      if (options.retries !== undefined) return this.#withRetries(payload, options);
    }
    return this.#admit(payload, options, null);
  }

  // ---- admission ----------------------------------------------------------

  #admit(payload: unknown, options: RunOptions | undefined, meta: AttemptMeta | null) {
    const runner = this.#runner;
    // Both statecharts must admit: the runner's (`accepting`) and the
    // troupe's coordinator (set by the chart's `admissionClosed` entry
    // action, so a `shutdown:phase` listener already sees SIGNALING refuse
    // work, unless a readiness delay keeps admission open).
    if (!this.#flags.accepting || !runner.host.admits()) {
      return this.#refuse(runner.refusal(), meta);
    }
    if (this.#load >= runner.capacity) {
      return this.#refuse(
        new QueueFullError(
          `runner "${runner.id}" is full: ${this.#load} task(s) running or queued, the limit is threads + maxQueue (${runner.capacity})`,
          { context: { runnerId: runner.id, capacity: runner.capacity, operation: 'admit' } },
        ),
        meta,
      );
    }
    const seq = ++this.#seq;
    const handler = options?.handler ?? 'default';
    const record = new TaskRecord(seq, `${runner.id}#${seq}`, handler, payload, options, meta);
    const signal = options?.signal;
    if (signal?.aborted === true) {
      this.aborted += 1;
      const error = this.#abortedError(record, signal.reason);
      this.#record(error, record, 'run');
      return Promise.reject(error);
    }
    const promise = new Promise<unknown>((resolve, reject) => {
      record.resolve = resolve;
      record.reject = reject;
    });
    if (this.#load++ === 0) runner.loadChanged();
    const timeoutMs = options?.timeoutMs ?? runner.taskTimeoutMs;
    if (timeoutMs !== undefined) {
      record.timer = setTimeout(() => {
        this.#cancel(
          record,
          new TaskTimeoutError(
            `task ${record.taskId} (handler "${handler}") timed out after ${timeoutMs} ms`,
            {
              context: {
                runnerId: runner.id,
                taskId: record.taskId,
                handler,
                timeoutMs,
                operation: 'run',
              },
            },
          ),
        );
      }, timeoutMs);
      // The task itself keeps the process alive while it runs.
      record.timer.unref();
    }
    if (signal !== undefined) {
      record.onAbort = () => {
        this.#cancel(record, this.#abortedError(record, signal.reason));
      };
      signal.addEventListener('abort', record.onAbort, { once: true });
    }
    const flags = this.#flags;
    if (flags.dispatching && this.#running < flags.slots && this.#queue.size === 0) {
      this.#dispatch(record);
    } else {
      record.queuedAt = performance.now();
      this.#queue.push(record);
    }
    return promise;
  }

  #refuse(error: TroupeError, meta: AttemptMeta | null): Promise<never> {
    this.rejected += 1;
    const record = this.#runner.host.reportError(error, {
      component: 'runner',
      runnerId: this.#runner.id,
      operation: 'admit',
      ...(meta === null ? {} : { attempt: meta.attempt }),
    });
    meta?.records.push(record);
    return Promise.reject(error);
  }

  #record(error: TroupeError, record: TaskRecord, operation: 'run' | 'admit'): void {
    const reported = this.#runner.host.reportError(error, {
      component: 'runner',
      runnerId: this.#runner.id,
      operation,
      taskId: record.taskId,
      handler: record.handler,
      ...(record.meta === null ? {} : { attempt: record.meta.attempt }),
    });
    record.meta?.records.push(reported);
  }

  // ---- dispatch -------------------------------------------------------------

  #pump(): void {
    const flags = this.#flags;
    if (this.#runner.pool() === null) return;
    while (flags.dispatching && this.#running < flags.slots && this.#queue.size > 0) {
      const record = this.#queue.shift();
      if (record !== undefined) this.#dispatch(record);
    }
  }

  #dispatch(record: TaskRecord): void {
    const runner = this.#runner;
    const pool = runner.pool();
    if (pool === null) {
      // Not dispatching without a pool (the statechart says so); never lose the task.
      if (record.queuedAt === 0) record.queuedAt = performance.now();
      this.#queue.push(record);
      return;
    }
    if (!runner.hasHandler(record.handler)) {
      const names = runner.handlerNames();
      this.#finish(record);
      this.rejected += 1;
      const error = new UnknownHandlerError(
        `runner "${runner.id}" has no handler "${record.handler}" (it has: ${names.join(', ') || 'none'})`,
        {
          context: {
            runnerId: runner.id,
            handler: record.handler,
            taskId: record.taskId,
            operation: 'admit',
          },
        },
      );
      this.#record(error, record, 'admit');
      record.reject(error);
      return;
    }
    const options = record.options;
    let task: unknown = record.payload;
    let poolOptions: PoolTaskOptions;
    if (runner.kind() === 'defined') {
      task = { s: record.seq, h: record.handler, p: record.payload } satisfies TaskEnvelope;
      poolOptions = DISPATCH;
    } else if (record.handler === 'default') {
      poolOptions = EMPTY;
    } else {
      poolOptions = { filename: runner.moduleUrl, name: record.handler };
    }
    if (
      options !== undefined &&
      (options.transfer !== undefined || record.timer !== undefined || options.signal !== undefined)
    ) {
      poolOptions = { ...poolOptions };
      if (options.transfer !== undefined) {
        poolOptions.transferList = options.transfer as Transferable[];
      }
      if (record.timer !== undefined || options.signal !== undefined) {
        record.hook = new AbortHook();
        poolOptions.signal = record.hook;
      }
    } else if (record.timer !== undefined) {
      record.hook = new AbortHook();
      poolOptions = { ...poolOptions, signal: record.hook };
    }
    record.onThread = true;
    record.pool = pool;
    record.startedAt = performance.now();
    if (record.queuedAt === 0) this.#waits.direct();
    else this.#waits.waited(record.startedAt - record.queuedAt);
    this.#running += 1;
    if (options?.onEvent !== undefined) this.#withListener.set(record.seq, record);
    const work = pool.run(task, poolOptions);
    record.threadId = pool.lastPlacement;
    if (record.threadId >= 0) this.#onThreads.set(record.threadId, record);
    else this.#unplaced.add(record);
    work.then(
      (value: unknown) => {
        this.#onValue(record, value);
      },
      (error: unknown) => {
        this.#onError(record, error);
      },
    );
  }

  #offThread(record: TaskRecord): void {
    record.onThread = false;
    this.#unplaced.delete(record);
    clearTimeout(record.grace);
    this.#running -= 1;
    if (this.#onThreads.get(record.threadId) === record) this.#onThreads.delete(record.threadId);
  }

  // ---- settlement -------------------------------------------------------------

  #onValue(record: TaskRecord, value: unknown): void {
    this.#offThread(record);
    if (!record.settled) {
      if (this.#runner.kind() === 'defined' && isTaskFailure(value)) {
        this.#fail(record, mapHandlerFailure(value[kFailureKey], this.#facts(record)));
      } else {
        this.#finish(record);
        this.completed += 1;
        this.#emitSettled(record, null);
        record.resolve(value);
      }
    }
    this.#pump();
  }

  #onError(record: TaskRecord, error: unknown): void {
    this.#offThread(record);
    if (!record.settled) {
      const pool = record.pool;
      const fromThread = pool?.threadOfError(error) !== undefined;
      const kind = classifyWorkError(error, fromThread);
      if ((kind === 'crash' || (kind === 'clone' && fromThread)) && pool !== null) {
        // The thread's own account (its crash note) arrives before its exit.
        void pool.exited(record.threadId).then(() => {
          if (!record.settled) this.#fail(record, this.#mapError(record, error, fromThread));
        });
      } else {
        this.#fail(record, this.#mapError(record, error, fromThread));
      }
    }
    this.#pump();
  }

  #facts(record: TaskRecord) {
    return {
      runnerId: this.#runner.id,
      taskId: record.taskId,
      handler: record.handler,
      teardown: this.#runner.teardownCause(),
    };
  }

  #mapError(record: TaskRecord, error: unknown, fromThread: boolean): TroupeError {
    return mapWorkError(error, {
      ...this.#facts(record),
      fromThread,
      note: record.threadId >= 0 ? this.#runner.noteOf(record.threadId) : null,
      failure: this.#runner.failure(),
    });
  }

  /** Settles the caller's promise with `error` (the thread may still be busy with it). */
  #fail(record: TaskRecord, error: TroupeError): void {
    if (record.settled) return;
    this.#finish(record);
    if (error.code === 'ERR_TASK_ABORTED' || error.code === 'ERR_TASK_TIMEOUT') this.aborted += 1;
    else this.failed += 1;
    this.#record(error, record, 'run');
    this.#emitSettled(record, error);
    record.reject(error);
  }

  /** Marks the caller's side done: the task no longer counts as accepted. */
  #finish(record: TaskRecord): void {
    record.settled = true;
    clearTimeout(record.timer);
    if (record.onAbort !== null) {
      record.options?.signal?.removeEventListener('abort', record.onAbort);
      record.onAbort = null;
    }
    this.#withListener.delete(record.seq);
    if (--this.#load === 0) this.#runner.loadChanged();
  }

  #emitSettled(record: TaskRecord, error: TroupeError | null): void {
    const host = this.#runner.host;
    // A task that never reached a thread (aborted while queued) has no duration.
    const durationMs = record.startedAt === 0 ? 0 : performance.now() - record.startedAt;
    if (record.startedAt !== 0) this.#durations?.observe(durationMs / 1000);
    if (!host.wantsTaskEvents) return;
    host.emitTaskSettled({
      runnerId: this.#runner.id,
      taskId: record.taskId,
      handler: record.handler,
      ok: error === null,
      code: error?.code ?? null,
      durationMs,
    });
  }

  // ---- cancellation -------------------------------------------------------------

  /** The task's signal fired or its timeout passed: reject now, stop the work. */
  #cancel(record: TaskRecord, error: TroupeError): void {
    if (record.settled) return;
    if (this.#queue.remove(record)) {
      // Never reached a thread: nothing to stop.
      this.#fail(record, error);
      return;
    }
    this.#fail(record, error);
    if (!record.onThread) return;
    this.#stopWork(record, error);
  }

  #stopWork(record: TaskRecord, reason: TroupeError): void {
    const runner = this.#runner;
    const pool = record.pool;
    const hook = record.hook;
    if (runner.kind() === 'defined') {
      // Cooperative first: ctx.signal aborts in the thread; its thread is
      // terminated only if the task outlives the grace period.
      const data = toErrorData(reason);
      if (record.threadId >= 0) runner.channels.abort(record.threadId, record.seq, data);
      record.grace = setTimeout(() => {
        if (record.onThread && hook !== null && pool !== null) pool.abort(hook, reason);
      }, runner.abortGraceMs);
      record.grace.unref();
    } else if (hook !== null && pool !== null) {
      pool.abort(hook, reason);
    }
  }

  /** The drain deadline passed: queued tasks that never started are aborted. */
  abortQueued(): void {
    for (const record of this.#queue.drain())
      this.#fail(record, drainDeadlineRejection(this.#runner.id));
  }

  /** The runner closes: whatever is still queued is rejected (with its failure, if any). */
  rejectQueued(failure: ErrorData | null = this.#runner.failure()): void {
    for (const record of this.#queue.drain()) {
      this.#fail(record, queuedRejection(this.#runner.id, failure));
    }
  }

  /** The thread's reply could not be read here: its task fails, and the thread is replaced. */
  undeliverable(threadId: number, error: unknown): void {
    const record = this.#onThreads.get(threadId);
    if (record !== undefined) {
      this.#fail(
        record,
        new DataCloneError(
          `task ${record.taskId}: its reply could not be read on the main thread (${error instanceof Error ? error.message : String(error)}); the thread was replaced`,
          {
            cause: error,
            context: {
              runnerId: this.#runner.id,
              taskId: record.taskId,
              handler: record.handler,
              threadId,
              operation: 'run',
            },
          },
        ),
      );
    }
    record?.pool?.terminate(threadId);
  }

  /** The runner is done: retries waiting between attempts are cancelled with `error`. */
  cancelRetries(error: TroupeError): void {
    for (const cancel of this.#retrying) cancel(error);
  }

  // ---- events -------------------------------------------------------------------

  /** An event a task emitted: to its `onEvent`, then `runner.on('event')`. */
  onEvent(threadId: number, seq: number, event: unknown): void {
    const record = this.#withListener.get(seq);
    const meta: TaskEventMeta = {
      runnerId: this.#runner.id,
      taskId: `${this.#runner.id}#${seq}`,
      threadId,
    };
    if (record?.options?.onEvent !== undefined) {
      try {
        record.options.onEvent(event, meta);
      } catch (error) {
        this.#runner.host.listenerFailed(error, 'onEvent', {
          runnerId: this.#runner.id,
          taskId: meta.taskId,
        });
      }
    }
    this.#runner.emitEvent(event, meta);
  }

  // ---- retries --------------------------------------------------------------------

  #withRetries(payload: unknown, options: RunOptions): Promise<unknown> {
    return runWithRetries({
      id: `${this.#runner.id}/retry-${++this.#retrySeq}`,
      runnerId: this.#runner.id,
      host: this.#runner.host,
      payload,
      options,
      attempt: (attemptOptions, meta) => {
        if (meta.attempt > 1) {
          this.submitted += 1;
          this.retried += 1;
        }
        return this.#admit(payload, attemptOptions, meta);
      },
      refusal: () => this.#runner.refusal(),
      onCancel: (cancel) => {
        this.#retrying.add(cancel);
        return () => this.#retrying.delete(cancel);
      },
    });
  }

  #abortedError(record: TaskRecord, reason: unknown): TaskAbortedError {
    const context: TroupeErrorContext = {
      runnerId: this.#runner.id,
      taskId: record.taskId,
      handler: record.handler,
      operation: 'run',
    };
    return new TaskAbortedError(`task ${record.taskId} (handler "${record.handler}") was aborted`, {
      ...(reason === undefined ? {} : { cause: reason }),
      context,
    });
  }
}
