import { access } from 'node:fs/promises';
import type { Transferable, Worker } from 'node:worker_threads';
import {
  DataCloneError,
  InvalidConfigError,
  QueueFullError,
  RunnerStartupError,
  RunnerStoppedError,
  TaskAbortedError,
  TaskFailedError,
  TaskTimeoutError,
  TroupeError,
  UnknownHandlerError,
  WorkerCrashedError,
  fromErrorData,
  isTroupeError,
  retryMachine,
  runnerMachine,
  runnerStateOf,
  toErrorData,
  toTroupeError,
  type ErrorData,
  type RunnerEvent,
  type RunnerState,
} from '@troupe/core';
import { EventEmitter } from 'eventemitter3';
import { Piscina } from 'piscina';
import { createActor, fromPromise, type Actor, type SnapshotFrom } from 'xstate';
import { Channel } from '../channel/Channel.js';
import type { ErrorRecord } from '../errors/ErrorHandler.js';
import { describeValue } from '../describeValue.js';
import type { ResolvedRunnerSpec } from '../options/resolveRunnerSpec.js';
import {
  isCrashNote,
  isHelloMessage,
  isTaskFailure,
  kBootKey,
  kCrashKey,
  kDispatchName,
  kFailureKey,
  kHelloKey,
  type ControlApi,
  type EventsApi,
  type HelloMessage,
  type TaskEnvelope,
  type WorkerBoot,
  type WorkerModuleKind,
} from '../protocol.js';
import { AbortHook } from './AbortHook.js';
import type { RunOptions, RunnerHost, RunnerStats, TaskEventMeta } from './types.js';
import { classifyWorkError, isOpaqueCrash } from './workErrors.js';

// The worker entry, bundled into one module at build time (scripts/bundle-worker.mjs).
const ENTRY_URL = new URL('../worker/entry.bundle.js', import.meta.url).href;

type ThreadChannel = Channel<ControlApi, EventsApi>;

interface ThreadRecord {
  readonly threadId: number;
  readonly worker: Worker;
  hello: boolean;
  channel: ThreadChannel | null;
  lastError: unknown;
  watchdog: NodeJS.Timeout | null;
  readonly exited: Promise<number>;
  /** Its exit was reported as a crash (so teardown does not report it again). */
  crashReported: boolean;
}

interface StartupWaiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  remaining: number;
}

/** Per-attempt bookkeeping of a task run with `retries`. */
interface AttemptMeta {
  readonly attempt: number;
  readonly records: ErrorRecord[];
}

interface HeldTask {
  readonly payload: unknown;
  readonly options: RunOptions | undefined;
  readonly meta: AttemptMeta | null;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Events of a runner (`runner.on(...)`). */
export interface RunnerEvents {
  /** An event a task emitted with `ctx.emit()`. */
  event: [event: unknown, meta: TaskEventMeta];
  /** The runner changed state. */
  state: [state: RunnerState, previous: RunnerState | null];
}

const GATE_OPEN = 0;
const GATE_HOLD = 1;
const GATE_CLOSED = 2;

const EMPTY_RUN_OPTIONS: RunOptions = Object.freeze({});

function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

/**
 * A supervised pool of worker threads running one worker module. Its
 * lifecycle is a {@link runnerMachine} actor; tasks go straight to piscina
 * under Troupe's admission control. Create runners with
 * `troupe.spawnRunner()`.
 *
 * @example
 * ```ts
 * const runner = await troupe.spawnRunner({ id: 'llm-0', worker: new URL('./worker.js', import.meta.url) });
 * runner.on('event', (e, { taskId }) => console.log(taskId, e));
 * const out = await runner.run({ prompt: 'hi' }, { handler: 'generate', timeoutMs: 5_000 });
 * await runner.stop();
 * ```
 */
export class Runner extends EventEmitter<RunnerEvents> {
  readonly id: string;
  readonly workerPath: string;
  readonly #spec: ResolvedRunnerSpec;
  readonly #host: RunnerHost;
  readonly #actor: Actor<typeof runnerMachine>;
  readonly #threads = new Map<number, ThreadRecord>();
  readonly #known = new WeakSet<Worker>();
  readonly #crashErrors = new WeakSet<object>();
  readonly #terminatedByUs = new Set<number>();
  readonly #taskListeners = new Map<number, (event: unknown, meta: TaskEventMeta) => void>();
  readonly #capacity: number;
  readonly #final: Promise<void>;
  #pool: Piscina | null = null;
  #poolClosing = false;
  #firingAbort = false;
  #forcedAbort = false;
  #kind: WorkerModuleKind = 'plain';
  #handlers: ReadonlySet<string> = new Set();
  #gate = GATE_HOLD;
  #refusalError: TroupeError | null = null;
  #fast = false;
  #held: HeldTask[] = [];
  #startup: StartupWaiter | null = null;
  #state: RunnerState = 'starting';
  #stopping: Promise<void> | null = null;
  #shutdownBegun = false;
  #drainWaiters: (() => void)[] = [];
  #edgeScheduled = false;
  #reportedBusy = false;
  #seq = 0;
  #inFlight = 0;
  #submitted = 0;
  #completed = 0;
  #failed = 0;
  #aborted = 0;
  #rejected = 0;
  #crashes = 0;
  #threadsStarted = 0;
  #crashNote: { error: ErrorData; at: number } | null = null;
  /** Ids of this runner's thread and channel resources. */
  readonly #ownResources = new Set<string>();
  #retrySeq = 0;
  #retried = 0;
  readonly #retrying = new Set<(error: TroupeError) => void>();
  /** Crash records waiting for the replacement thread (or restarted pool) to be ready. */
  #awaitingRestart: ErrorRecord[] = [];
  #crashNoteWaiters: ((error: ErrorData) => void)[] = [];
  #threadsExited = 0;
  #started: { resolve: () => void; reject: (error: unknown) => void } | null = null;

  /** @internal Use `troupe.spawnRunner()`. */
  constructor(id: string, spec: ResolvedRunnerSpec, host: RunnerHost) {
    super();
    this.id = id;
    this.workerPath = spec.workerPath;
    this.#spec = spec;
    this.#host = host;
    this.#capacity = spec.threads + spec.maxQueue;
    const machine = runnerMachine.provide({
      actors: {
        startPool: fromPromise(({ signal }) => this.#startPool(signal)),
        releasePool: fromPromise(() => this.#releasePool()),
        terminateThreads: fromPromise(() => this.#terminateThreads()),
        closePool: fromPromise(() => this.#closePool()),
      },
      actions: {
        notifyDraining: () => {
          this.#notifyThreads();
        },
        abortInFlight: () => {
          this.#abortInFlight();
        },
      },
    });
    this.#actor = createActor(machine, {
      id: `runner:${id}`,
      input: {
        id,
        restart: spec.restart,
        startupTimeoutMs: spec.startupTimeoutMs,
        drainTimeoutMs: host.drainingMs,
        abortGraceMs: spec.abortGraceMs,
        closeTimeoutMs: spec.closeTimeoutMs,
      },
      ...(host.inspect === undefined ? {} : { inspect: host.inspect }),
    });
    this.#final = new Promise<void>((resolve) => {
      this.#actor.subscribe({
        next: (snapshot) => {
          this.#onSnapshot(snapshot);
          if (snapshot.status === 'done') resolve();
        },
        error: (error) => {
          this.#host.reportError(error, { runnerId: id, component: 'runner', operation: 'actor' });
          this.#close(new RunnerStoppedError(`runner "${id}" failed internally`, { cause: error }));
          void this.#destroyPool().finally(resolve);
        },
      });
    });
  }

  /** The runner's state: `starting`, `ready`, `busy`, `restarting`, `draining`, `closing`, `stopped` or `failed`. */
  get state(): RunnerState {
    return this.#state;
  }

  /** The runner's statechart actor (inspect it, subscribe to it). */
  get actor(): Actor<typeof runnerMachine> {
    return this.#actor;
  }

  /** The number of threads the runner keeps. */
  get threadCount(): number {
    return this.#spec.threads;
  }

  /** Ids of the resources this runner uses (`dependsOn`). */
  get dependsOn(): readonly string[] {
    return this.#spec.dependsOn;
  }

  /** Thread ids currently alive. */
  get threadIds(): number[] {
    return [...this.#threads.keys()];
  }

  /** `'plain'` (piscina-style module) or `'defined'` (`defineRunner`). */
  get moduleKind(): WorkerModuleKind {
    return this.#kind;
  }

  /** Handler names the worker module provides. */
  get handlers(): readonly string[] {
    return [...this.#handlers];
  }

  /** Counters of this runner. */
  stats(): RunnerStats {
    return {
      id: this.id,
      state: this.#state,
      threads: this.#threads.size,
      inFlight: this.#inFlight,
      queued: this.#held.length,
      submitted: this.#submitted,
      completed: this.#completed,
      failed: this.#failed,
      aborted: this.#aborted,
      rejected: this.#rejected,
      restarts: this.#actor.getSnapshot().context.restartCount,
      crashes: this.#crashes,
      retried: this.#retried,
    };
  }

  /** @internal Threads started and exited over the runner's life. */
  get threadCounts(): { started: number; exited: number } {
    return { started: this.#threadsStarted, exited: this.#threadsExited };
  }

  /** piscina's run/wait time histograms (for health figures). */
  get histogram(): Piscina['histogram'] | null {
    return this.#pool?.histogram ?? null;
  }

  /**
   * Runs a task on one of the runner's threads and resolves with its result.
   * Rejects with a `TroupeError`: `ERR_QUEUE_FULL`, `ERR_TASK_TIMEOUT`,
   * `ERR_TASK_ABORTED`, `ERR_WORKER_CRASHED`, `ERR_DATA_CLONE`,
   * `ERR_TASK_FAILED` (the handler threw; see `cause`), `ERR_UNKNOWN_HANDLER`,
   * `ERR_RUNNER_STOPPED`, `ERR_SHUTDOWN_IN_PROGRESS` or `ERR_RESTART_LIMIT`.
   */
  run<TResult = unknown, TEvent = unknown>(
    payload?: unknown,
    options?: RunOptions<TEvent>,
  ): Promise<TResult> {
    this.#submitted += 1;
    if (this.#fast && options === undefined && this.#inFlight < this.#capacity) {
      // The hot path: a plain module's default export, nothing to track per task.
      this.#begin();
      return (this.#pool as Piscina)
        .run(payload)
        .then(this.#onPlainValue, this.#onPlainError) as Promise<TResult>;
    }
    if (options?.retries !== undefined) {
      return this.#runWithRetries(payload, options as RunOptions) as Promise<TResult>;
    }
    return this.#admit(payload, options as RunOptions | undefined, null) as Promise<TResult>;
  }

  /**
   * Stops this runner with the three-phase protocol: admission closes, tasks
   * in flight drain (aborted at the drain deadline), teardown runs, threads
   * exit. Resolves once every thread exited and every port closed; the id
   * can then be reused. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#close(this.#host.refusal() ?? this.#stoppedError());
      this.#syncEdge();
      this.#send({
        type: 'troupe.runner.stop',
        reason: 'stop',
        closeWhenDrained: true,
        drainTimeoutMs: this.#host.drainingMs,
      });
      await this.#final;
      await this.#releaseResources(true);
    })();
    return this.#stopping;
  }

  // ---- lifecycle hooks used by the troupe ---------------------------------

  /** @internal Starts the actor; resolves when ready, rejects with the startup failure. */
  start(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      this.#started = { resolve, reject };
    });
    this.#actor.start();
    return ready;
  }

  /** @internal Refuses new work from now on (shutdown was called). Idempotent. */
  closeAdmission(refusal: TroupeError): void {
    this.#close(refusal);
  }

  /**
   * @internal SIGNALING: refuse work, start draining, post the shutdown
   * notice to every thread. The runner acknowledges once that is done; a
   * thread blocked in synchronous work reads the notice when it yields, so
   * its reply is not awaited.
   */
  beginShutdown(refusal: TroupeError): void {
    if (this.#shutdownBegun) return;
    this.#shutdownBegun = true;
    this.#close(refusal);
    this.#syncEdge();
    this.#send({
      type: 'troupe.runner.stop',
      reason: 'shutdown',
      closeWhenDrained: false,
      // The coordinator's DRAINING deadline decides (it sends abort); this
      // is only a backstop should the coordinator never get there.
      drainTimeoutMs: this.#host.drainingMs + this.#host.signalingMs + this.#spec.abortGraceMs,
    });
  }

  /** @internal DRAINING: resolves when nothing is in flight (or the runner is done). */
  whenDrained(): Promise<void> {
    if (this.#isDrained()) return Promise.resolve();
    return new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }

  /** @internal The draining deadline passed: cooperative abort, then terminate. */
  forceDrain(): Promise<void> {
    this.#send({ type: 'troupe.runner.abort' });
    return this.whenDrained();
  }

  /** @internal CLOSING (as a resource): teardown, close channels, terminate threads. */
  async closeNow(): Promise<void> {
    this.#send({ type: 'troupe.runner.close' });
    await this.#final;
    await this.#releaseResources(false);
  }

  /** @internal The closing deadline passed: terminate whatever is left. */
  async forceClose(): Promise<void> {
    this.#forcedAbort = true;
    this.#send({ type: 'troupe.runner.close' });
    await this.#destroyPool();
    await Promise.race([this.#final, new Promise((r) => setTimeout(r, 100).unref())]);
  }

  /** @internal Resolves when every thread this runner started has exited. */
  async threadsExited(): Promise<void> {
    await Promise.allSettled([...this.#threads.values()].map((t) => t.exited));
  }

  /** @internal True when this runner's drain or close missed a deadline. */
  get forced(): boolean {
    return this.#actor.getSnapshot().context.forced;
  }

  /** @internal Resolves when the actor reached `stopped` or `failed`. */
  get final(): Promise<void> {
    return this.#final;
  }

  /** @internal Pings every live thread over its channel. */
  async probe(timeoutMs: number): Promise<{ threadId: number; ok: boolean; active: number }[]> {
    const threads = [...this.#threads.values()];
    return Promise.all(
      threads.map(async (t) => {
        if (t.channel === null) return { threadId: t.threadId, ok: false, active: 0 };
        let timer: NodeJS.Timeout | undefined;
        try {
          const answer = await Promise.race([
            t.channel.call('ping'),
            new Promise<null>((resolve) => {
              timer = setTimeout(() => {
                resolve(null);
              }, timeoutMs);
              timer.unref();
            }),
          ]);
          return answer === null
            ? { threadId: t.threadId, ok: false, active: 0 }
            : { threadId: t.threadId, ok: true, active: answer.active };
        } catch {
          return { threadId: t.threadId, ok: false, active: 0 };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  /** @internal Asks for a full restart (health recovery); `record` is resolved once it is ready again. */
  requestRestart(error: unknown, record?: ErrorRecord): void {
    if (record !== undefined) this.#awaitingRestart.push(record);
    this.#send({ type: 'troupe.runner.restart', error: toErrorData(error), at: Date.now() });
  }

  /** Sends to the runner actor unless it already reached a final state. */
  #send(event: RunnerEvent): void {
    if (this.#actor.getSnapshot().status === 'active') this.#actor.send(event);
  }

  // ---- admission ----------------------------------------------------------

  #admit(
    payload: unknown,
    options: RunOptions | undefined,
    meta: AttemptMeta | null,
  ): Promise<unknown> {
    if (this.#gate === GATE_CLOSED) {
      return this.#refuse(this.#refusalError ?? this.#stoppedError(), meta);
    }
    if (this.#inFlight + this.#held.length >= this.#capacity) {
      return this.#refuse(
        new QueueFullError(
          `runner "${this.id}" is full: ${this.#inFlight + this.#held.length} task(s) running or queued, the limit is threads (${this.#spec.threads}) + maxQueue (${this.#spec.maxQueue})`,
          { context: { runnerId: this.id, maxQueue: this.#spec.maxQueue } },
        ),
        meta,
      );
    }
    if (this.#gate === GATE_HOLD) {
      return new Promise((resolve, reject) => {
        this.#held.push({ payload, options, meta, resolve, reject });
      });
    }
    return this.#execute(payload, options ?? EMPTY_RUN_OPTIONS, meta);
  }

  #refuse(error: TroupeError, meta: AttemptMeta | null = null): Promise<never> {
    this.#rejected += 1;
    this.#record(error, meta, { operation: 'admit' });
    return Promise.reject(error);
  }

  /** Reports a task's failure to the error handler (per attempt when retried). */
  #record(
    error: TroupeError,
    meta: AttemptMeta | null,
    extra: { operation: string; taskId?: string; handler?: string },
  ): void {
    const record = this.#host.reportError(error, {
      component: 'runner',
      runnerId: this.id,
      ...extra,
      ...(meta === null ? {} : { attempt: meta.attempt }),
    });
    meta?.records.push(record);
  }

  #runWithRetries(payload: unknown, options: RunOptions): Promise<unknown> {
    const { retries, idempotent, retryBackoff, ...attemptOptions } = options;
    const invalid =
      typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0
        ? new InvalidConfigError(
            `invalid "run options.retries": expected a whole number >= 0; got ${describeValue(retries)}`,
            { context: { runnerId: this.id, field: 'retries' } },
          )
        : idempotent !== true
          ? new InvalidConfigError(
              'invalid "run options.retries": retries need `idempotent: true` (a retried task may run more than once)',
              { context: { runnerId: this.id, field: 'idempotent' } },
            )
          : null;
    if (invalid !== null) return this.#refuse(invalid, null);
    const backoff = retryBackoff ?? this.#host.retryBackoff;
    const records: ErrorRecord[] = [];
    const id = `${this.id}/retry-${++this.#retrySeq}`;
    const machine = retryMachine.provide({
      actors: {
        attempt: fromPromise<unknown, { id: string; attempt: number }>(({ input }) => {
          if (input.attempt > 1) {
            this.#submitted += 1;
            this.#retried += 1;
          }
          return this.#admit(payload, attemptOptions, { attempt: input.attempt, records });
        }),
      },
      guards: {
        retryable: ({ event }: { event: unknown }) =>
          this.#host.isRetryable((event as { error?: unknown }).error, {
            component: 'runner',
            runnerId: this.id,
          }),
      },
    });
    const actor = createActor(machine, {
      id,
      input: { id, maxAttempts: (retries as number) + 1, backoff },
      ...(this.#host.inspect === undefined ? {} : { inspect: this.#host.inspect }),
    });
    return new Promise((resolve, reject) => {
      const signal = attemptOptions.signal;
      const onAbort = (): void => {
        actor.send({ type: 'troupe.retry.cancel', reason: signal?.reason });
      };
      const cancelOnClose = (error: TroupeError): void => {
        actor.send({ type: 'troupe.retry.cancel', reason: error });
      };
      this.#retrying.add(cancelOnClose);
      const finish = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#retrying.delete(cancelOnClose);
      };
      actor.subscribe({
        next: (snapshot) => {
          if (snapshot.status !== 'done') return;
          finish();
          const output = snapshot.output;
          switch (output.outcome) {
            case 'succeeded':
              this.#host.resolveErrors(records, 'retry');
              resolve(output.value);
              break;
            case 'exhausted':
            case 'rejected':
              reject(toTroupeError(output.lastError));
              break;
            case 'cancelled': {
              const reason = snapshot.context.cancelReason;
              reject(
                reason instanceof TroupeError
                  ? reason
                  : new TaskAbortedError(`task ${id} was cancelled between attempts`, {
                      ...(reason === undefined ? {} : { cause: reason }),
                      context: { runnerId: this.id, attempt: output.attempts },
                    }),
              );
              break;
            }
          }
        },
        error: (error) => {
          finish();
          reject(toTroupeError(error));
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      actor.start();
    });
  }

  #execute(payload: unknown, options: RunOptions, meta: AttemptMeta | null): Promise<unknown> {
    const invalid = this.#checkOptions(options);
    if (invalid !== null) return this.#refuse(invalid, meta);
    const handler = options.handler ?? 'default';
    const seq = ++this.#seq;
    if (!this.#handlers.has(handler)) {
      return this.#refuse(
        new UnknownHandlerError(
          `runner "${this.id}" has no handler "${handler}" (it has: ${[...this.#handlers].join(', ') || 'none'})`,
          { context: { runnerId: this.id, handler, taskId: `${this.id}#${seq}` } },
        ),
        meta,
      );
    }
    const signal = options.signal;
    if (signal?.aborted === true) {
      this.#aborted += 1;
      const aborted = this.#abortedError(seq, handler, signal.reason);
      this.#record(aborted, meta, { operation: 'run', handler, taskId: `${this.id}#${seq}` });
      return Promise.reject(aborted);
    }
    const pool = this.#pool as Piscina;
    const transferList = options.transfer as Transferable[] | undefined;
    let task: unknown = payload;
    let runOptions: {
      name?: string;
      filename?: string;
      transferList?: Transferable[];
      signal?: AbortHook;
    };
    if (this.#kind === 'defined') {
      task = { s: seq, h: handler, p: payload } satisfies TaskEnvelope;
      runOptions = { name: kDispatchName };
    } else if (handler === 'default') {
      runOptions = {};
    } else {
      runOptions = { filename: this.#spec.moduleUrl, name: handler };
    }
    if (transferList !== undefined) runOptions.transferList = transferList;
    if (options.onEvent !== undefined) {
      this.#taskListeners.set(seq, options.onEvent);
    }
    const timeoutMs = options.timeoutMs ?? this.#spec.taskTimeoutMs;
    const startedAt = this.#host.wantsTaskEvents ? performance.now() : 0;
    this.#begin();
    if (signal === undefined && timeoutMs === undefined) {
      return pool.run(task, runOptions).then(
        (value: unknown) => this.#settle(seq, handler, startedAt, value, null, false, meta),
        (error: unknown) => this.#settle(seq, handler, startedAt, undefined, error, true, meta),
      );
    }
    const hook = new AbortHook();
    runOptions.signal = hook;
    const work = pool.run(task, runOptions);
    return this.#abortable(work, hook, seq, handler, startedAt, signal, timeoutMs, meta);
  }

  #abortable(
    work: Promise<unknown>,
    hook: AbortHook,
    seq: number,
    handler: string,
    startedAt: number,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    meta: AttemptMeta | null,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let grace: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const cancel = (error: TroupeError): void => {
        if (done) return;
        done = true;
        cleanup();
        this.#aborted += 1;
        this.#record(error, meta, { operation: 'run', handler, taskId: `${this.id}#${seq}` });
        this.#emitSettled(seq, handler, startedAt, error);
        reject(error);
        if (this.#kind === 'defined') {
          // Cooperative first: ctx.signal aborts in the thread; piscina
          // terminates the thread only if the task outlives the grace period.
          this.#broadcastAbort(seq, toErrorData(error));
          grace = setTimeout(() => {
            this.#fireHook(hook, error);
          }, this.#spec.abortGraceMs);
        } else {
          this.#fireHook(hook, error);
        }
      };
      const onAbort = (): void => {
        cancel(this.#abortedError(seq, handler, signal?.reason));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          cancel(
            new TaskTimeoutError(
              `task ${this.id}#${seq} (handler "${handler}") timed out after ${timeoutMs} ms`,
              {
                context: { runnerId: this.id, taskId: `${this.id}#${seq}`, handler, timeoutMs },
              },
            ),
          );
        }, timeoutMs);
      }
      const finish = (value: unknown, error: unknown, failed: boolean): void => {
        clearTimeout(grace);
        if (done) {
          // The caller already has its abort error; only account for the work.
          this.#taskListeners.delete(seq);
          this.#end();
          return;
        }
        done = true;
        cleanup();
        try {
          resolve(this.#settle(seq, handler, startedAt, value, error, failed, meta));
        } catch (settled) {
          reject(settled instanceof Error ? settled : new Error('task failed', { cause: settled }));
        }
      };
      work.then(
        (value) => {
          finish(value, null, false);
        },
        (error: unknown) => {
          finish(undefined, error, true);
        },
      );
    });
  }

  #fireHook(hook: AbortHook, reason: unknown): void {
    this.#firingAbort = true;
    try {
      hook.fire(reason);
    } finally {
      this.#firingAbort = false;
    }
  }

  #checkOptions(options: RunOptions): InvalidConfigError | null {
    if (typeof options !== 'object' || (options as unknown) === null) {
      return new InvalidConfigError(`invalid "run options": expected an object`, {
        context: { runnerId: this.id, field: 'options' },
      });
    }
    const bad = (field: string, expected: string, value: unknown): InvalidConfigError =>
      new InvalidConfigError(
        `invalid "run options.${field}": expected ${expected}; got ${describeValue(value)}`,
        { context: { runnerId: this.id, field } },
      );
    const { handler, timeoutMs, signal, transfer, onEvent } = options;
    if (handler !== undefined && (typeof handler !== 'string' || handler.length === 0)) {
      return bad('handler', 'a non-empty string', handler);
    }
    if (
      timeoutMs !== undefined &&
      (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)
    ) {
      return bad('timeoutMs', 'a positive number of ms', timeoutMs);
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return bad('signal', 'an AbortSignal', signal);
    }
    if (transfer !== undefined && !Array.isArray(transfer)) {
      return bad('transfer', 'an array of transferables', transfer);
    }
    if (onEvent !== undefined && typeof onEvent !== 'function') {
      return bad('onEvent', 'a function', onEvent);
    }
    return null;
  }

  // ---- settlement ---------------------------------------------------------

  readonly #onPlainValue = (value: unknown): unknown => {
    this.#end();
    this.#completed += 1;
    return value;
  };

  readonly #onPlainError = (error: unknown): Promise<never> => {
    this.#end();
    return this.#fail(error, 0, 'default', 0, null);
  };

  /** Accounts for a settled task; returns its value or a rejected promise. */
  #settle(
    seq: number,
    handler: string,
    startedAt: number,
    value: unknown,
    error: unknown,
    failed: boolean,
    meta: AttemptMeta | null,
  ): unknown {
    this.#taskListeners.delete(seq);
    this.#end();
    if (failed) return this.#fail(error, seq, handler, startedAt, meta);
    if (this.#kind === 'defined' && isTaskFailure(value)) {
      return this.#failWith(
        this.#handlerError(value[kFailureKey], seq, handler),
        seq,
        handler,
        startedAt,
        meta,
      );
    }
    this.#completed += 1;
    this.#emitSettled(seq, handler, startedAt, null);
    return value;
  }

  #fail(
    error: unknown,
    seq: number,
    handler: string,
    startedAt: number,
    meta: AttemptMeta | null,
  ): Promise<never> {
    if (isOpaqueCrash(error, this.#crashErrors)) {
      // The thread's own account of what killed it arrives a moment later.
      return this.#nextCrashNote().then((note) =>
        this.#failWith(
          this.#mapWorkError(error, seq, handler, note),
          seq,
          handler,
          startedAt,
          meta,
        ),
      );
    }
    return this.#failWith(
      this.#mapWorkError(error, seq, handler, null),
      seq,
      handler,
      startedAt,
      meta,
    );
  }

  #failWith(
    mapped: TroupeError,
    seq: number,
    handler: string,
    startedAt: number,
    meta: AttemptMeta | null,
  ): Promise<never> {
    this.#record(mapped, meta, {
      operation: 'run',
      handler,
      ...(seq === 0 ? {} : { taskId: `${this.id}#${seq}` }),
    });
    this.#count(mapped);
    this.#emitSettled(seq, handler, startedAt, mapped);
    return Promise.reject(mapped);
  }

  #nextCrashNote(): Promise<ErrorData | null> {
    const recent = this.#crashNote;
    if (recent !== null && performance.now() - recent.at < 1_000) {
      this.#crashNote = null;
      return Promise.resolve(recent.error);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#crashNoteWaiters = this.#crashNoteWaiters.filter((w) => w !== waiter);
        resolve(null);
      }, 250);
      const waiter = (error: ErrorData): void => {
        clearTimeout(timer);
        resolve(error);
      };
      this.#crashNoteWaiters.push(waiter);
    });
  }

  #count(error: TroupeError): void {
    if (error.code === 'ERR_TASK_ABORTED' || error.code === 'ERR_TASK_TIMEOUT') this.#aborted += 1;
    else this.#failed += 1;
  }

  #emitSettled(seq: number, handler: string, startedAt: number, error: TroupeError | null): void {
    if (!this.#host.wantsTaskEvents) return;
    this.#host.emitTaskSettled({
      runnerId: this.id,
      taskId: `${this.id}#${seq}`,
      handler,
      ok: error === null,
      code: error?.code ?? null,
      durationMs: startedAt === 0 ? 0 : performance.now() - startedAt,
    });
  }

  #handlerError(data: ErrorData, seq: number, handler: string): TroupeError {
    const cause = fromErrorData(data);
    const context = { runnerId: this.id, taskId: `${this.id}#${seq}`, handler };
    if (cause instanceof TroupeError && cause.code === 'ERR_TASK_ABORTED') return cause;
    if (cause instanceof TroupeError && cause.code === 'ERR_TASK_TIMEOUT') return cause;
    if (cause instanceof TroupeError && cause.code === 'ERR_UNKNOWN_HANDLER') return cause;
    if (this.#forcedAbort) {
      return new TaskAbortedError(`task ${context.taskId} was aborted at the drain deadline`, {
        cause,
        context,
      });
    }
    return new TaskFailedError(`task ${context.taskId} failed in "${handler}": ${cause.message}`, {
      cause,
      context,
    });
  }

  #mapWorkError(error: unknown, seq: number, handler: string, note: ErrorData | null): TroupeError {
    const taskId = seq === 0 ? undefined : `${this.id}#${seq}`;
    const context = { runnerId: this.id, handler, ...(taskId === undefined ? {} : { taskId }) };
    if (note !== null && !this.#forcedAbort) {
      const cause = fromErrorData(note);
      if (note.name === 'DataCloneError') {
        return new DataCloneError(
          `task ${taskId ?? 'on ' + this.id}: its result could not be cloned (${note.message}); the thread was replaced`,
          { cause, context },
        );
      }
      return new WorkerCrashedError(
        `the thread running task ${taskId ?? 'on ' + this.id} crashed: ${cause.message}`,
        { cause, context },
      );
    }
    const kind = classifyWorkError(error, this.#crashErrors);
    const failure = this.#actor.getSnapshot().context.failure;
    if (this.#forcedAbort && (kind === 'terminated' || kind === 'crash' || kind === 'aborted')) {
      return new TaskAbortedError(
        `task ${taskId ?? 'on ' + this.id} was aborted: its thread was terminated at the shutdown deadline`,
        { cause: error, context },
      );
    }
    switch (kind) {
      case 'crash':
        return new WorkerCrashedError(
          `the thread running task ${taskId ?? 'on ' + this.id} crashed: ${errorMessage(error)}`,
          { cause: error, context },
        );
      case 'terminated':
        if (failure !== null) {
          const failed = fromErrorData(failure);
          return toTroupeError(failed, 'ERR_RESTART_LIMIT', failed.message, context);
        }
        if (this.#gate === GATE_CLOSED) {
          return new TaskAbortedError(
            `task ${taskId ?? 'on ' + this.id} was aborted: runner "${this.id}" closed its threads`,
            { cause: error, context },
          );
        }
        return new WorkerCrashedError(
          `task ${taskId ?? 'on ' + this.id} was lost: runner "${this.id}" is restarting its pool`,
          { cause: error, context },
        );
      case 'aborted':
        return new TaskAbortedError(`task ${taskId ?? 'on ' + this.id} was aborted`, {
          cause: error,
          context,
        });
      case 'clone':
        return new DataCloneError(
          `task ${taskId ?? 'on ' + this.id}: payload or result could not be cloned: ${errorMessage(error)}`,
          { cause: error, context },
        );
      case 'handler':
        if (error instanceof TroupeError) return error;
        return new TaskFailedError(
          `task ${taskId ?? 'on ' + this.id} failed in "${handler}": ${errorMessage(error)}`,
          { cause: error, context },
        );
    }
  }

  #abortedError(seq: number, handler: string, reason: unknown): TaskAbortedError {
    return new TaskAbortedError(`task ${this.id}#${seq} (handler "${handler}") was aborted`, {
      ...(reason === undefined ? {} : { cause: reason }),
      context: { runnerId: this.id, taskId: `${this.id}#${seq}`, handler },
    });
  }

  #stoppedError(): RunnerStoppedError {
    return new RunnerStoppedError(`runner "${this.id}" is ${this.#state} and takes no new tasks`, {
      context: { runnerId: this.id, state: this.#state },
    });
  }

  // ---- in-flight accounting -------------------------------------------------

  #begin(): void {
    if (this.#inFlight++ === 0) this.#edge();
  }

  #end(): void {
    if (--this.#inFlight === 0) this.#edge();
  }

  #edge(): void {
    if (this.#edgeScheduled) return;
    this.#edgeScheduled = true;
    // Coalesced: a burst of tasks (or await-run-await-run) costs at most one
    // busy and one idle event, not two per task.
    setImmediate(this.#syncEdgeCallback);
  }

  readonly #syncEdgeCallback = (): void => {
    this.#edgeScheduled = false;
    this.#syncEdge();
  };

  #syncEdge(): void {
    const busy = this.#inFlight > 0;
    if (busy === this.#reportedBusy) return;
    this.#reportedBusy = busy;
    this.#send({ type: busy ? 'troupe.runner.busy' : 'troupe.runner.idle' });
    if (!busy) this.#wakeDrainWaiters();
  }

  #isDrained(): boolean {
    const snapshot = this.#actor.getSnapshot();
    return (
      snapshot.status === 'done' ||
      snapshot.matches({ draining: 'drained' }) ||
      snapshot.matches('closing')
    );
  }

  #wakeDrainWaiters(): void {
    if (this.#drainWaiters.length === 0 || !this.#isDrained()) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // ---- state ----------------------------------------------------------------

  #onSnapshot(snapshot: SnapshotFrom<typeof runnerMachine>): void {
    const state = runnerStateOf(snapshot.value);
    const previous = this.#state;
    if (state !== previous) {
      this.#state = state;
      this.#applyGate(state);
      this.emit('state', state, previous);
      this.#host.emitState(this.id, state, previous);
      this.#host.logger.debug({ runnerId: this.id, state, previous }, 'runner state');
    }
    this.#wakeDrainWaiters();
    if (snapshot.status === 'done') this.#onDone(snapshot.context.failure);
  }

  #applyGate(state: RunnerState): void {
    switch (state) {
      case 'ready':
      case 'busy':
        if (this.#gate !== GATE_CLOSED) {
          if (this.#gate === GATE_HOLD && this.#awaitingRestart.length > 0) {
            this.#host.resolveErrors(this.#awaitingRestart.splice(0), 'restart');
          }
          this.#gate = GATE_OPEN;
          this.#updateFast();
          this.#started?.resolve();
          this.#started = null;
          this.#flushHeld();
        }
        break;
      case 'starting':
      case 'restarting':
        if (this.#gate === GATE_OPEN) {
          this.#gate = GATE_HOLD;
          this.#updateFast();
        }
        break;
      case 'draining':
      case 'closing':
      case 'stopped':
      case 'failed': {
        // On its way to `failed` (restart limit), refuse with the failure itself.
        const failure = this.#actor.getSnapshot().context.failure;
        this.#close(
          failure === null
            ? (this.#host.refusal() ?? this.#stoppedError())
            : toTroupeError(fromErrorData(failure), 'ERR_RUNNER_STOPPED'),
        );
        break;
      }
    }
  }

  #updateFast(): void {
    this.#fast =
      this.#gate === GATE_OPEN &&
      this.#kind === 'plain' &&
      this.#handlers.has('default') &&
      this.#spec.taskTimeoutMs === undefined &&
      !this.#host.wantsTaskEvents;
  }

  /** @internal The troupe's `task:settled` listeners changed. */
  refreshFastPath(): void {
    this.#updateFast();
  }

  #close(error: TroupeError): void {
    if (this.#gate === GATE_CLOSED && this.#refusalError !== null) {
      // Keep the most specific refusal: a failure beats "stopped".
      if (error.code === 'ERR_RUNNER_STOPPED' || error.code === 'ERR_SHUTDOWN_IN_PROGRESS') return;
    }
    this.#gate = GATE_CLOSED;
    this.#refusalError = error;
    this.#fast = false;
    const held = this.#held;
    this.#held = [];
    for (const task of held) {
      this.#rejected += 1;
      task.reject(error);
    }
  }

  #flushHeld(): void {
    const held = this.#held;
    this.#held = [];
    for (const task of held) {
      this.#execute(task.payload, task.options ?? EMPTY_RUN_OPTIONS, task.meta).then(
        task.resolve,
        task.reject,
      );
    }
  }

  #onDone(failure: ErrorData | null): void {
    for (const cancel of this.#retrying) cancel(this.#refusalError ?? this.#stoppedError());
    if (failure !== null) {
      this.#host.reportError(this.#withWorkerPath(fromErrorData(failure)), {
        runnerId: this.id,
        component: 'runner',
        operation: this.#actor.getSnapshot().context.everReady ? 'supervise' : 'start',
      });
    }
    if (this.#started !== null) {
      const started = this.#started;
      this.#started = null;
      if (failure !== null) {
        const error = fromErrorData(failure);
        started.reject(this.#withWorkerPath(error));
      } else {
        started.reject(this.#host.refusal() ?? this.#stoppedError());
      }
    }
    for (const t of this.#threads.values()) if (t.watchdog !== null) clearTimeout(t.watchdog);
    this.#host.onFinal(this.id);
  }

  #withWorkerPath(error: Error): Error {
    if (!(error instanceof TroupeError) || error.code !== 'ERR_RUNNER_STARTUP') return error;
    if (error.context.workerPath !== undefined) return error;
    return new RunnerStartupError(error.message, {
      ...(error.cause === undefined ? {} : { cause: error.cause }),
      context: { ...error.context, runnerId: this.id, workerPath: this.workerPath },
    });
  }

  // ---- pool and threads ------------------------------------------------------

  async #startPool(signal: AbortSignal): Promise<void> {
    const { everReady, attempt } = this.#actor.getSnapshot().context;
    try {
      await this.#createPool(signal);
    } catch (error) {
      if (everReady && !signal.aborted) {
        // A restart attempt that failed to start: the statechart decides
        // what next; the error handler records it.
        this.#awaitingRestart.push(
          this.#host.reportError(error, {
            runnerId: this.id,
            component: 'runner',
            operation: 'restart',
            attempt,
          }),
        );
      }
      throw error;
    }
  }

  async #createPool(signal: AbortSignal): Promise<void> {
    this.#poolClosing = false;
    try {
      await access(this.workerPath);
    } catch (error) {
      throw new RunnerStartupError(`worker module not found: ${this.workerPath}`, {
        cause: error,
        context: { runnerId: this.id, workerPath: this.workerPath },
      });
    }
    // Stopped (or timed out) while checking the module: create nothing.
    if (signal.aborted) throw new Error('startup abandoned');
    const boot: WorkerBoot = {
      runnerId: this.id,
      moduleUrl: this.#spec.moduleUrl,
      userData: this.#spec.workerData,
    };
    const started = new Promise<void>((resolve, reject) => {
      this.#startup = { resolve, reject, remaining: this.#spec.threads };
    });
    started.catch(() => {});
    signal.addEventListener(
      'abort',
      () => {
        this.#startupFailed(new Error('startup abandoned'));
      },
      { once: true },
    );
    let pool: Piscina;
    try {
      pool = new Piscina({
        filename: ENTRY_URL,
        minThreads: this.#spec.threads,
        maxThreads: this.#spec.threads,
        idleTimeout: Infinity,
        maxQueue: Infinity,
        concurrentTasksPerWorker: 1,
        atomics: this.#spec.atomics,
        workerData: { [kBootKey]: boot },
        ...(this.#spec.resourceLimits === undefined
          ? {}
          : { resourceLimits: this.#spec.resourceLimits }),
        ...(this.#spec.env === undefined ? {} : { env: { ...this.#spec.env } }),
        ...(this.#spec.execArgv === undefined ? {} : { execArgv: [...this.#spec.execArgv] }),
      });
    } catch (error) {
      this.#startup = null;
      throw new RunnerStartupError(`runner "${this.id}" could not create its threads`, {
        cause: error,
        context: { runnerId: this.id, workerPath: this.workerPath },
      });
    }
    this.#pool = pool;
    pool.on('error', (error: unknown) => {
      this.#onPoolError(error);
    });
    pool.on('message', (message: unknown) => {
      this.#onWorkerMessage(message);
    });
    pool.on('workerDestroy', (info: { id: number }) => {
      if (this.#firingAbort) this.#terminatedByUs.add(info.id);
    });
    this.#trackThreads();
    await started;
  }

  #startupFailed(error: unknown): void {
    const startup = this.#startup;
    if (startup === null) return;
    this.#startup = null;
    startup.reject(error);
  }

  #onPoolError(error: unknown): void {
    if (typeof error === 'object' && error !== null) this.#crashErrors.add(error);
    if (this.#startup !== null) {
      this.#startupFailed(
        new RunnerStartupError(`a thread of runner "${this.id}" failed during startup`, {
          cause: error,
          context: { runnerId: this.id, workerPath: this.workerPath },
        }),
      );
      return;
    }
    this.#host.logger.debug({ runnerId: this.id, err: error }, 'pool error');
  }

  #trackThreads(): void {
    const pool = this.#pool;
    if (pool === null) return;
    for (const worker of pool.threads) {
      if (this.#known.has(worker)) continue;
      this.#known.add(worker);
      this.#attach(worker);
    }
  }

  #attach(worker: Worker): void {
    const threadId = worker.threadId;
    let onExit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => {
      onExit = resolve;
    });
    const record: ThreadRecord = {
      threadId,
      worker,
      hello: false,
      channel: null,
      lastError: null,
      watchdog: null,
      exited,
      crashReported: false,
    };
    this.#threads.set(threadId, record);
    this.#threadsStarted += 1;
    worker.on('error', (error: unknown) => {
      if (typeof error === 'object' && error !== null) this.#crashErrors.add(error);
      // Keep the thread's own crash note over an error that lost its shape.
      if (record.lastError === null || error instanceof Error) record.lastError = error;
    });
    worker.once('exit', (code: number) => {
      this.#threadsExited += 1;
      onExit(code);
      this.#onThreadExit(record, code);
    });
    if (this.#startup === null && this.#actor.getSnapshot().context.everReady) {
      // A replacement thread: it must say hello within the startup deadline.
      record.watchdog = setTimeout(() => {
        record.watchdog = null;
        if (!record.hello && this.#threads.get(threadId) === record) {
          this.#broken(
            new RunnerStartupError(
              `replacement thread ${threadId} of runner "${this.id}" did not start within ${this.#spec.startupTimeoutMs} ms`,
              { context: { runnerId: this.id, threadId, workerPath: this.workerPath } },
            ),
          );
        }
      }, this.#spec.startupTimeoutMs);
      record.watchdog.unref();
    }
  }

  #onWorkerMessage(message: unknown): void {
    if (isHelloMessage(message)) {
      this.#onHello(message);
      return;
    }
    if (isCrashNote(message)) {
      const { threadId, error } = message[kCrashKey];
      const record = this.#threads.get(threadId);
      if (record !== undefined) record.lastError = fromErrorData(error);
      const waiters = this.#crashNoteWaiters;
      this.#crashNoteWaiters = [];
      if (waiters.length === 0) this.#crashNote = { error, at: performance.now() };
      for (const resolve of waiters) resolve(error);
    }
  }

  #onHello(message: HelloMessage): void {
    const hello = message[kHelloKey];
    let record = this.#threads.get(hello.threadId);
    if (record === undefined) {
      this.#trackThreads();
      record = this.#threads.get(hello.threadId);
    }
    if (record === undefined) {
      // The thread is already gone.
      message.control.close();
      message.events.close();
      return;
    }
    record.hello = true;
    if (record.watchdog !== null) {
      clearTimeout(record.watchdog);
      record.watchdog = null;
    }
    const threadId = hello.threadId;
    record.channel = new Channel<ControlApi, EventsApi>(`${this.id}/thread-${threadId}`, {
      callEndpoint: message.control,
      exposeEndpoint: message.events,
      localApi: {
        emit: (seq: number, event: unknown) => {
          this.#onTaskEvent(threadId, seq, event);
        },
      },
      closeTimeoutMs: this.#spec.closeTimeoutMs,
      ...(this.#host.inspect === undefined ? {} : { inspect: this.#host.inspect }),
      onError: (error) => {
        this.#host.reportError(error, {
          runnerId: this.id,
          threadId,
          component: 'channel',
          operation: 'channel',
        });
      },
    });
    this.#registerThreadResources(record);
    if (!hello.ok) {
      const cause = hello.error === null ? undefined : fromErrorData(hello.error);
      const error = new RunnerStartupError(
        `worker module ${this.workerPath} failed to load in thread ${threadId}: ${cause?.message ?? 'unknown error'}`,
        {
          ...(cause === undefined ? {} : { cause }),
          context: { runnerId: this.id, threadId, workerPath: this.workerPath },
        },
      );
      if (this.#startup !== null) this.#startupFailed(error);
      else this.#broken(error);
      return;
    }
    this.#kind = hello.kind;
    this.#handlers = new Set(hello.handlers);
    if (this.#startup === null && this.#awaitingRestart.length > 0) {
      // A replacement thread is serving: the crash it replaces is resolved.
      this.#host.resolveErrors(this.#awaitingRestart.splice(0), 'restart');
    }
    const startup = this.#startup;
    if (startup !== null) {
      startup.remaining -= 1;
      if (startup.remaining <= 0) {
        this.#startup = null;
        startup.resolve();
      }
    }
  }

  #onTaskEvent(threadId: number, seq: number, event: unknown): void {
    const listener = this.#taskListeners.get(seq);
    // Nobody listens: nothing to build (this runs once per emitted event).
    if (listener === undefined && this.listenerCount('event') === 0) return;
    const meta: TaskEventMeta = { runnerId: this.id, taskId: `${this.id}#${seq}`, threadId };
    try {
      listener?.(event, meta);
      this.emit('event', event, meta);
    } catch (error) {
      this.#host.reportError(error, {
        runnerId: this.id,
        taskId: meta.taskId,
        component: 'runner',
        operation: 'event listener',
      });
    }
  }

  #onThreadExit(record: ThreadRecord, code: number): void {
    if (record.watchdog !== null) {
      clearTimeout(record.watchdog);
      record.watchdog = null;
    }
    if (this.#threads.get(record.threadId) === record) this.#threads.delete(record.threadId);
    const exitData: ErrorData = {
      _tag: 'Error',
      name: 'Error',
      message: `thread ${record.threadId} exited with code ${code}`,
    };
    record.channel?.peerGone(exitData);
    void this.#releaseThreadResources(record);
    const expected = this.#poolClosing || this.#terminatedByUs.delete(record.threadId);
    if (expected) return;
    const cause: unknown = record.lastError ?? new Error(`thread exited with code ${code}`);
    const why = record.lastError === null ? '' : `: ${errorMessage(record.lastError)}`;
    if (this.#startup !== null) {
      this.#startupFailed(
        new RunnerStartupError(
          `thread ${record.threadId} of runner "${this.id}" exited with code ${code} during startup: ${errorMessage(cause)}`,
          {
            cause,
            context: { runnerId: this.id, threadId: record.threadId, workerPath: this.workerPath },
          },
        ),
      );
      return;
    }
    if (!record.hello) {
      this.#broken(
        new RunnerStartupError(
          `replacement thread ${record.threadId} of runner "${this.id}" exited with code ${code} while loading ${this.workerPath}`,
          {
            cause,
            context: { runnerId: this.id, threadId: record.threadId, workerPath: this.workerPath },
          },
        ),
      );
      return;
    }
    this.#crashes += 1;
    record.crashReported = true;
    const crash = new WorkerCrashedError(
      `thread ${record.threadId} of runner "${this.id}" exited with code ${code}${why}`,
      { cause, context: { runnerId: this.id, threadId: record.threadId, exitCode: code } },
    );
    this.#awaitingRestart.push(
      this.#host.reportError(crash, {
        runnerId: this.id,
        threadId: record.threadId,
        component: 'runner',
        operation: 'thread',
      }),
    );
    this.#trackThreads();
    const pool = this.#pool;
    if (pool !== null && pool.threads.length < this.#spec.threads) {
      // piscina gave up replacing threads (one failed during bootstrap
      // before): only a full restart brings the pool back.
      this.#broken(crash);
      return;
    }
    this.#send({
      type: 'troupe.runner.crashed',
      error: toErrorData(crash),
      normal: code === 0,
      at: Date.now(),
    });
  }

  #broken(error: TroupeError): void {
    const context = this.#actor.getSnapshot().context;
    this.#awaitingRestart.push(
      this.#host.reportError(error, {
        runnerId: this.id,
        component: 'runner',
        operation: 'pool',
        // a failure on the way to a restart, not a first start
        attempt: context.attempt + 1,
      }),
    );
    this.#send({ type: 'troupe.runner.broken', error: toErrorData(error), at: Date.now() });
  }

  #registerThreadResources(record: ThreadRecord): void {
    const resources = this.#host.resources;
    if (!resources.has(this.id) || resources.closing) return;
    const threadResource = `${this.id}/thread-${record.threadId}`;
    const channel = record.channel;
    try {
      resources.registerInternal([
        {
          id: threadResource,
          kind: 'thread',
          openAtOnce: true,
          requiredBy: [this.id],
          close: async () => {
            await record.worker.terminate();
          },
          closeTimeoutMs: this.#spec.closeTimeoutMs,
        },
        ...(channel === null
          ? []
          : [
              {
                id: channel.id + '/channel',
                kind: 'channel' as const,
                openAtOnce: true,
                requiredBy: [this.id],
                close: () => channel.close(),
                closeTimeoutMs: this.#spec.closeTimeoutMs,
              },
            ]),
      ]);
      this.#ownResources.add(threadResource);
      if (channel !== null) this.#ownResources.add(channel.id + '/channel');
    } catch (error) {
      this.#host.logger.debug({ runnerId: this.id, err: error }, 'thread resources not registered');
    }
  }

  async #releaseThreadResources(record: ThreadRecord): Promise<void> {
    const resources = this.#host.resources;
    const ids = [`${this.id}/thread-${record.threadId}`];
    if (record.channel !== null) ids.push(record.channel.id + '/channel');
    for (const id of ids) this.#ownResources.delete(id);
    await Promise.all(ids.map((id) => resources.release(id)));
  }

  async #releaseResources(includeRunner: boolean): Promise<void> {
    const resources = this.#host.resources;
    // Its own thread and channel resources, by id: no scan of the registry.
    const ids = [...this.#ownResources];
    this.#ownResources.clear();
    await Promise.all(ids.map((id) => resources.release(id)));
    if (includeRunner) await resources.release(this.id);
  }

  #notifyThreads(): void {
    for (const record of this.#threads.values()) {
      record.channel?.call('shutdownNotice', this.#stopReason()).catch(() => {});
    }
  }

  #stopReason(): string {
    return this.#host.refusal()?.message ?? `runner "${this.id}" is stopping`;
  }

  #broadcastAbort(seq: number, reason: ErrorData): void {
    for (const record of this.#threads.values()) {
      record.channel?.call('abortTask', seq, reason).catch(() => {});
    }
  }

  #abortInFlight(): void {
    this.#forcedAbort = true;
    const reason = toErrorData(
      new TaskAbortedError(`runner "${this.id}" missed its drain deadline`, {
        context: { runnerId: this.id, phase: 'draining' },
      }),
    );
    for (const record of this.#threads.values()) {
      record.channel?.call('abortAll', reason).catch(() => {});
    }
  }

  async #teardownThreads(boundMs: number): Promise<void> {
    // A plain module has no teardown: no round trip to every thread.
    if (this.#kind !== 'defined') return;
    const threads = [...this.#threads.values()].filter(
      (t) => t.channel !== null && t.channel.state === 'open',
    );
    if (threads.length === 0) return;
    const outcomes: unknown[] = new Array<unknown>(threads.length).fill(undefined);
    const calls = threads.map((t, i) =>
      (t.channel as ThreadChannel).call('teardown').then(
        () => {
          outcomes[i] = null;
        },
        (error: unknown) => {
          outcomes[i] = error;
        },
      ),
    );
    await settleWithin(Promise.all(calls), boundMs);
    // A thread that died in its teardown may close its port before its
    // 'exit' arrives (and closing then takes that exit as expected): the
    // failure is reported here, whichever event came first.
    const results = outcomes;
    results.forEach((error, i) => {
      const thread = threads[i];
      if (thread === undefined || !isTroupeError(error, 'ERR_CHANNEL_CLOSED')) return;
      if (thread.crashReported) return;
      thread.crashReported = true;
      this.#crashes += 1;
      this.#host.reportError(
        new WorkerCrashedError(
          `thread ${thread.threadId} of runner "${this.id}" died during teardown`,
          { cause: error, context: { runnerId: this.id, threadId: thread.threadId } },
        ),
        {
          runnerId: this.id,
          threadId: thread.threadId,
          component: 'runner',
          operation: 'teardown',
        },
      );
    });
  }

  async #destroyPool(): Promise<void> {
    const pool = this.#pool;
    if (pool === null) return;
    this.#poolClosing = true;
    for (const record of this.#threads.values()) {
      if (record.watchdog !== null) {
        clearTimeout(record.watchdog);
        record.watchdog = null;
      }
    }
    const exits = [...this.#threads.values()].map((t) => t.exited);
    await pool.destroy();
    await Promise.allSettled(exits);
    if (this.#pool === pool) this.#pool = null;
    for (const record of [...this.#threads.values()]) {
      record.channel?.peerGone({ _tag: 'Error', name: 'Error', message: 'pool destroyed' });
    }
  }

  async #releasePool(): Promise<void> {
    await this.#destroyPool();
    for (const record of this.#threads.values()) await record.channel?.closed;
  }

  async #terminateThreads(): Promise<void> {
    this.#forcedAbort = true;
    await this.#teardownThreads(this.#spec.abortGraceMs);
    await this.#destroyPool();
    this.#wakeDrainWaiters();
  }

  async #closePool(): Promise<void> {
    await this.#teardownThreads(Math.max(1, this.#spec.closeTimeoutMs / 2));
    await this.#destroyPool();
    const closing: Promise<void>[] = [];
    for (const t of this.#threads.values()) if (t.channel !== null) closing.push(t.channel.close());
    await Promise.allSettled(closing);
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
