import { stat } from 'node:fs/promises';
import {
  RunnerStartupError,
  RunnerStoppedError,
  TaskAbortedError,
  ThreadStartupError,
  TroupeError,
  WorkerCrashedError,
  fromErrorData,
  runnerMachine,
  runnerStateOf,
  toErrorData,
  type ErrorData,
  type RunnerEvent,
  type RunnerPoolInput,
  type RunnerState,
  type RunnerTeardownInput,
} from '@troupe/core';
import { EventEmitter } from 'eventemitter3';
import {
  createActor,
  fromCallback,
  fromPromise,
  type Actor,
  type ActorSystem,
  type SnapshotFrom,
} from 'xstate';
import { refusalOf } from '../admission/refusal.js';
import { describeValue } from '../describeValue.js';
import { ThreadChannels, type ProbeAnswer } from '../channel/ThreadChannels.js';
import type { ErrorRecord } from '../errors/ErrorHandler.js';
import type { ProbeTarget } from '../health/HealthMonitor.js';
import { actorView, type ActorView } from '../inspection/ActorView.js';
import { untilSnapshot } from '../inspection/untilSnapshot.js';
import type { ResolvedRunnerSpec } from '../options/resolveRunnerSpec.js';
import type { RunTimeSummary, ThreadExit, ThreadPool } from '../pool/ThreadPool.js';
import {
  isCrashNote,
  isHelloMessage,
  kBootKey,
  kCrashKey,
  type HelloMessage,
  type WorkerBoot,
  type WorkerModuleKind,
} from '../protocol.js';
import { TaskExecutor, type ExecutorRunner } from '../task/TaskExecutor.js';
import type { TeardownCause } from '../task/workErrors.js';
import type { RunnerEvents } from './Runner.js';
import type { RunnerHost } from './RunnerHost.js';
import type { RunOptions, TaskEventMeta } from '../task/types.js';
import type { RunnerStats } from './types.js';

// The worker entry, bundled into one module at build time (scripts/bundle-worker.mjs).
const ENTRY_URL = new URL('../worker/entry.bundle.js', import.meta.url).href;

/** Crash notes kept per runner: one per recently crashed thread. */
const NOTES_KEPT = 64;

/** What is left of a runner once it is done: plain data, kept for reports. */
export interface RunnerSummary {
  readonly id: string;
  readonly state: RunnerState;
  readonly restarts: number;
  readonly forced: boolean;
  readonly failure: ErrorData | null;
  readonly stats: RunnerStats;
  readonly threads: { readonly started: number; readonly exited: number };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any actor's system
type AnyActorSystem = ActorSystem<any>;

const cores = new WeakMap<AnyActorSystem, RunnerCore>();

function coreOf(system: AnyActorSystem): RunnerCore {
  const core = cores.get(system);
  if (core === undefined) throw new Error('runner actor without its runtime core');
  return core;
}

/**
 * The runner statechart with the runtime's effects, built once: each effect
 * finds its runner through the actor's system, so spawning a runner does
 * not copy the machine.
 */
const machine = runnerMachine.provide({
  actors: {
    startSlot: fromCallback<RunnerEvent, { id: string }>(({ sendBack, system }) =>
      coreOf(system).host.startGate.acquire(() => {
        sendBack({ type: 'troupe.runner.slotGranted' });
      }),
    ),
    startPool: fromPromise<void, RunnerPoolInput>(({ input, system, signal }) =>
      coreOf(system).startPool(input, signal),
    ),
    teardownThreads: fromPromise<void, RunnerTeardownInput>(({ input, system }) =>
      coreOf(system).teardownThreads(input),
    ),
    destroyPool: fromPromise<void, RunnerPoolInput>(({ system }) => coreOf(system).destroyPool()),
  },
  actions: {
    notifyDraining: ({ system }) => {
      coreOf(system).notifyDraining();
    },
    abortQueued: ({ system }) => {
      coreOf(system).executor.abortQueued();
    },
    abortInFlight: ({ system }) => {
      coreOf(system).abortInFlight();
    },
    // The action's own context: the snapshot is the one from before this step.
    rejectQueued: ({ system, context }) => {
      coreOf(system).executor.rejectQueued(context.failure);
    },
  },
});

type RunnerSnapshot = SnapshotFrom<typeof machine>;

/**
 * The runtime side of one runner: it owns the runner's statechart actor,
 * turns what the pool and the threads' channels report into events for it,
 * and performs the effects the statechart names. It decides nothing: what
 * a thread exit means, when tasks are taken or queued, when to restart or
 * give up is the statechart's. Users see it through {@link Runner}.
 */
export class RunnerCore implements ExecutorRunner, ProbeTarget {
  readonly id: string;
  readonly workerPath: string;
  readonly moduleUrl: string;
  readonly spec: ResolvedRunnerSpec;
  readonly host: RunnerHost;
  readonly capacity: number;
  readonly taskTimeoutMs: number | undefined;
  readonly abortGraceMs: number;
  readonly channels: ThreadChannels;
  readonly executor: TaskExecutor;
  readonly events = new EventEmitter<RunnerEvents>();
  readonly #actor: Actor<typeof machine>;
  readonly #view: ActorView<RunnerSnapshot>;
  readonly #final: Promise<void>;
  #resolveFinal!: () => void;
  #pool: ThreadPool | null = null;
  #kind: WorkerModuleKind = 'plain';
  #handlers: ReadonlySet<string> = new Set();
  #state: RunnerState | null = null;
  /** Threads piscina takes tasks to, threads that said hello, threads reported up. */
  readonly #ready = new Set<number>();
  readonly #hello = new Set<number>();
  readonly #up = new Set<number>();
  readonly #notes = new Map<number, ErrorData>();
  readonly #teardownFailures = new Map<number, Error>();
  readonly #ownResources = new Set<string>();
  #awaitingRestart: ErrorRecord[] = [];
  #edgeScheduled = false;
  #reportedBusy = false;
  #crashes = 0;
  /** Threads of pools already destroyed (a restart makes a new pool). */
  #pastThreads = { started: 0, exited: 0 };
  #spawn: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  #stopping: Promise<void> | null = null;
  #summary: RunnerSummary | null = null;

  constructor(id: string, spec: ResolvedRunnerSpec, host: RunnerHost) {
    this.id = id;
    this.workerPath = spec.workerPath;
    this.moduleUrl = spec.moduleUrl;
    this.spec = spec;
    this.host = host;
    this.capacity = spec.threads + spec.maxQueue;
    this.taskTimeoutMs = spec.taskTimeoutMs;
    this.abortGraceMs = spec.abortGraceMs;
    this.channels = new ThreadChannels({
      runnerId: id,
      closeTimeoutMs: spec.closeTimeoutMs,
      inspect: host.inspect,
      onEvent: (threadId, seq, event) => {
        this.executor.onEvent(threadId, seq, event);
      },
      onError: (error, threadId) => {
        host.reportError(error, {
          runnerId: id,
          threadId,
          component: 'channel',
          operation: 'channel',
        });
      },
    });
    this.executor = new TaskExecutor(this);
    this.#actor = createActor(machine, {
      id: `runner:${id}`,
      input: {
        id,
        threads: spec.threads,
        restart: spec.restart,
        startupTimeoutMs: spec.startupTimeoutMs,
        drainTimeoutMs: host.drainingMs,
        abortGraceMs: spec.abortGraceMs,
        closeTimeoutMs: spec.closeTimeoutMs,
      },
      ...(host.inspect === undefined ? {} : { inspect: host.inspect }),
    });
    cores.set(this.#actor.system, this);
    this.#view = actorView(this.#actor);
    this.#final = new Promise<void>((resolve) => {
      this.#resolveFinal = resolve;
    });
    this.#actor.subscribe({
      next: (snapshot) => {
        this.#onSnapshot(snapshot);
      },
      error: (error) => {
        host.reportError(error, { runnerId: id, component: 'runner', operation: 'actor' });
        this.#emergencyStop(
          new RunnerStoppedError(`runner "${id}" failed internally`, {
            cause: error,
            context: { runnerId: id, operation: 'actor' },
          }),
        );
      },
      complete: () => {
        if (this.#summary === null) {
          this.#emergencyStop(
            new RunnerStoppedError(`runner "${id}" was stopped from outside its troupe`, {
              context: { runnerId: id, operation: 'actor' },
            }),
          );
        }
      },
    });
  }

  // ---- what the facade and the troupe use ------------------------------------

  /** The statechart, read-only. */
  get view(): ActorView<RunnerSnapshot> {
    return this.#view;
  }

  get state(): RunnerState {
    return this.#state ?? 'starting';
  }

  /** Resolves when the runner reached `stopped` or `failed` (every thread exited). */
  get final(): Promise<void> {
    return this.#final;
  }

  get forced(): boolean {
    return this.#actor.getSnapshot().context.forced;
  }

  get threadIds(): number[] {
    return [...this.#up];
  }

  /** Threads the runner keeps. */
  get threadCount(): number {
    return this.spec.threads;
  }

  get moduleKind(): WorkerModuleKind {
    return this.#kind;
  }

  get handlers(): readonly string[] {
    return [...this.#handlers];
  }

  /** Starts the actor; resolves once every thread is up, rejects with the startup failure. */
  start(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => {
      this.#spawn = { resolve, reject };
    });
    this.#actor.start();
    return started;
  }

  run(payload: unknown, options: RunOptions | undefined): Promise<unknown> {
    return this.executor.run(payload, options);
  }

  stats(): RunnerStats {
    const executor = this.executor;
    return {
      id: this.id,
      state: this.state,
      threads: this.#up.size,
      inFlight: executor.load - executor.queued,
      queued: executor.queued,
      submitted: executor.submitted,
      completed: executor.completed,
      failed: executor.failed,
      aborted: executor.aborted,
      rejected: executor.rejected,
      restarts: this.#actor.getSnapshot().context.restartCount,
      crashes: this.#crashes,
      retried: executor.retried,
    };
  }

  /** Threads started and exited over the runner's life (every OS thread, counted by its pool). */
  get threadCounts(): { started: number; exited: number } {
    const now = this.#pool?.counts ?? { started: 0, exited: 0 };
    return {
      started: this.#pastThreads.started + now.started,
      exited: this.#pastThreads.exited + now.exited,
    };
  }

  /** What is left once the runner is done (null before). */
  get summary(): RunnerSummary | null {
    return this.#summary;
  }

  runTime(): RunTimeSummary | null {
    return this.#pool?.runTime() ?? null;
  }

  probe(timeoutMs: number): Promise<ProbeAnswer[]> {
    return this.channels.probe(timeoutMs);
  }

  /** `runner.stop()`: the three phases for this runner alone. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#send({
        type: 'troupe.runner.stop',
        reason: 'stop',
        closeWhenDrained: true,
        drainTimeoutMs: this.host.drainingMs,
      });
      await this.#final;
      await this.#releaseResources();
    })();
    return this.#stopping;
  }

  /** Asks for a full restart (the supervisor's health recovery, `runner.restart()`). */
  restart(reason: ErrorData, record?: ErrorRecord): void {
    if (record !== undefined) this.#awaitingRestart.push(record);
    this.#send({ type: 'troupe.runner.restart', error: reason, at: Date.now() });
  }

  /** SIGNALING: stop taking work, notify every thread; resolves once they acknowledged. */
  async signalShutdown(): Promise<void> {
    this.#send({
      type: 'troupe.runner.stop',
      reason: 'shutdown',
      closeWhenDrained: false,
      // The coordinator's deadline decides (it sends abort); this only
      // bounds the drain should the coordinator never get there.
      drainTimeoutMs: this.host.drainingMs + this.host.signalingMs + this.abortGraceMs,
    });
    await this.channels.noticeDelivered;
  }

  /** DRAINING: resolves when no accepted task is left (or the runner is done). */
  drained(): Promise<void> {
    return untilSnapshot(
      this.#actor,
      (s) => !s.context.busy || s.matches('closing') || s.matches({ draining: 'drained' }),
    );
  }

  /** The drain deadline passed: cooperative abort, then termination. */
  abortDrain(): Promise<void> {
    this.#send({ type: 'troupe.runner.abort' });
    return this.drained();
  }

  /** CLOSING (the runner's resource): teardown, then every thread exits. */
  async close(): Promise<void> {
    this.#send({ type: 'troupe.runner.close' });
    await this.#final;
    await this.#releaseOwnResources();
  }

  /** The closing deadline passed: terminate now. */
  force(): void {
    this.#send({ type: 'troupe.runner.force' });
  }

  on<E extends keyof RunnerEvents>(event: E, listener: (...args: RunnerEvents[E]) => void): void {
    this.events.on(event, listener);
  }

  // ---- ExecutorRunner ----------------------------------------------------------

  pool(): ThreadPool | null {
    return this.#pool;
  }

  kind(): WorkerModuleKind {
    return this.#kind;
  }

  hasHandler(name: string): boolean {
    return this.#handlers.has(name);
  }

  handlerNames(): readonly string[] {
    return [...this.#handlers];
  }

  refusal(): TroupeError {
    const snapshot = this.#actor.getSnapshot();
    return refusalOf({
      runnerId: this.id,
      value: snapshot.value,
      failure: snapshot.context.failure,
      phase: this.host.phase(),
      nodeId: this.host.nodeId,
      reason: this.host.shutdownReason(),
    });
  }

  teardownCause(): TeardownCause {
    const snapshot = this.#actor.getSnapshot();
    if (snapshot.matches('restarting')) return 'restart';
    if (snapshot.context.forced) return 'drainDeadline';
    if (snapshot.matches('closing') || snapshot.status !== 'active') return 'close';
    return null;
  }

  failure(): ErrorData | null {
    return this.#actor.getSnapshot().context.failure;
  }

  done(): boolean {
    return this.#summary !== null;
  }

  noteOf(threadId: number): ErrorData | null {
    return this.#notes.get(threadId) ?? null;
  }

  loadChanged(): void {
    if (this.#edgeScheduled) return;
    this.#edgeScheduled = true;
    // Coalesced: a burst of tasks (or await-run-await-run) costs at most one
    // busy and one idle event, not two per task.
    setImmediate(this.#syncEdgeSoon);
  }

  emitEvent(event: unknown, meta: TaskEventMeta): void {
    if (this.events.listenerCount('event') === 0) return;
    for (const listener of this.events.listeners('event')) {
      try {
        listener(event, meta);
      } catch (error) {
        this.host.listenerFailed(error, "runner.on('event')", {
          runnerId: this.id,
          taskId: meta.taskId,
        });
      }
    }
  }

  // ---- effects the statechart names ---------------------------------------------

  async startPool(input: RunnerPoolInput, signal: AbortSignal): Promise<void> {
    const { everReady } = input;
    const failed = (message: string, cause: unknown): TroupeError => {
      const options = {
        cause,
        context: { runnerId: this.id, workerPath: this.workerPath, operation: 'start' as const },
      };
      return everReady
        ? new ThreadStartupError(message, options)
        : new RunnerStartupError(message, options);
    };
    let isFile: boolean;
    try {
      isFile = (await stat(this.workerPath)).isFile();
    } catch (error) {
      throw failed(`worker module not found: ${this.workerPath}`, error);
    }
    if (!isFile) {
      throw failed(
        `worker module ${this.workerPath} is not a file (a directory?): give the module's own path`,
        undefined,
      );
    }
    // Stopped, or timed out, while checking the module: create nothing.
    if (signal.aborted) return;
    const boot: WorkerBoot = {
      runnerId: this.id,
      moduleUrl: this.spec.moduleUrl,
      userData: this.spec.workerData,
    };
    let pool: ThreadPool | null = null;
    const mine = (): boolean => pool !== null && this.#pool === pool;
    try {
      pool = this.host.createPool(
        {
          filename: ENTRY_URL,
          threads: input.threads,
          atomics: this.spec.atomics,
          workerData: { [kBootKey]: boot },
          resourceLimits: this.spec.resourceLimits,
          env: this.spec.env,
          execArgv: this.spec.execArgv,
        },
        {
          onReady: (threadId) => {
            if (!mine()) return;
            this.#ready.add(threadId);
            this.#maybeUp(threadId);
          },
          onMessage: (message) => {
            if (mine()) this.#onThreadMessage(message);
          },
          onExit: (exit) => {
            if (mine()) this.#onThreadExit(exit);
          },
          onUndeliverable: (threadId, error) => {
            if (mine()) this.executor.undeliverable(threadId, error);
          },
          onLatePlacement: (threadId) => {
            if (mine()) this.executor.placedLate(threadId);
          },
        },
      );
    } catch (error) {
      throw failed(`runner "${this.id}" could not create its threads`, error);
    }
    this.#pool = pool;
  }

  async teardownThreads(_input: RunnerTeardownInput): Promise<void> {
    // A plain module has no teardown: no round trip to every thread.
    if (this.#kind !== 'defined') return;
    // A thread busy with a task is terminated without its teardown.
    const idle = [...this.#up].filter((threadId) => this.executor.taskOn(threadId) === undefined);
    await this.channels.teardown(idle);
  }

  async destroyPool(): Promise<void> {
    const pool = this.#pool;
    if (pool === null) return;
    await pool.destroy();
    if (this.#pool === pool) {
      this.#pool = null;
      this.#pastThreads = {
        started: this.#pastThreads.started + pool.counts.started,
        exited: this.#pastThreads.exited + pool.counts.exited,
      };
    }
    await this.channels.goneAll({
      _tag: 'Error',
      name: 'Error',
      message: 'the pool was destroyed',
    });
    this.#ready.clear();
    this.#hello.clear();
    this.#up.clear();
  }

  notifyDraining(): void {
    void this.channels.notifyShutdown(this.#stopNotice());
  }

  abortInFlight(): void {
    if (this.#kind !== 'defined') return;
    this.channels.abortAll(
      toErrorData(
        new TaskAbortedError(`runner "${this.id}" missed its drain deadline`, {
          context: { runnerId: this.id, phase: 'draining', operation: 'run' },
        }),
      ),
    );
  }

  // ---- translating I/O into events --------------------------------------------------

  /** Sends to the actor (load edge first, so guards see the current load). */
  #send(event: RunnerEvent): void {
    if (this.#actor.getSnapshot().status !== 'active') return;
    this.#syncEdge();
    this.#actor.send(event);
  }

  readonly #syncEdgeSoon = (): void => {
    this.#edgeScheduled = false;
    this.#syncEdge();
  };

  #syncEdge(): void {
    const busy = this.executor.load > 0;
    if (busy === this.#reportedBusy) return;
    this.#reportedBusy = busy;
    if (this.#actor.getSnapshot().status !== 'active') return;
    this.#actor.send({ type: busy ? 'troupe.runner.busy' : 'troupe.runner.idle' });
  }

  #onThreadMessage(message: unknown): void {
    if (isHelloMessage(message)) {
      this.#onHello(message);
      return;
    }
    if (isCrashNote(message)) {
      const { threadId, error } = message[kCrashKey];
      this.#notes.set(threadId, error);
      if (this.#notes.size > NOTES_KEPT) {
        const oldest = this.#notes.keys().next();
        if (oldest.done !== true) this.#notes.delete(oldest.value);
      }
    }
  }

  #onHello(message: HelloMessage): void {
    const info = this.channels.accept(message);
    if (!info.ok) {
      const cause = info.error === null ? undefined : fromErrorData(info.error);
      const context = {
        runnerId: this.id,
        threadId: info.threadId,
        workerPath: this.workerPath,
        operation: 'start' as const,
      };
      const text = `worker module ${this.workerPath} failed to load in thread ${info.threadId}: ${cause?.message ?? 'unknown error'}`;
      const options = { ...(cause === undefined ? {} : { cause }), context };
      const everReady = this.#actor.getSnapshot().context.everReady;
      const error = everReady
        ? new ThreadStartupError(text, options)
        : new RunnerStartupError(text, options);
      // A first start's failure is reported once, when the runner gives up.
      if (everReady) {
        this.#awaitingRestart.push(
          this.host.reportError(error, {
            runnerId: this.id,
            threadId: info.threadId,
            component: 'runner',
            operation: 'restart',
          }),
        );
      }
      this.#send({
        type: 'troupe.runner.threadFailed',
        threadId: info.threadId,
        error: toErrorData(error),
      });
      return;
    }
    this.#kind = info.kind;
    this.#handlers = new Set(info.handlers);
    this.#hello.add(info.threadId);
    this.#registerThread(info.threadId);
    this.#maybeUp(info.threadId);
  }

  /** A thread is up once it said hello and piscina takes tasks to it. */
  #maybeUp(threadId: number): void {
    if (!this.#hello.has(threadId) || !this.#ready.has(threadId) || this.#up.has(threadId)) return;
    this.#up.add(threadId);
    if (this.#awaitingRestart.length > 0 && this.#actor.getSnapshot().context.everReady) {
      // A thread is serving again: the crash it replaces is resolved.
      this.host.resolveErrors(this.#awaitingRestart.splice(0), 'restart');
    }
    this.#send({ type: 'troupe.runner.threadUp', threadId });
  }

  #onThreadExit(exit: ThreadExit): void {
    const { threadId, exitCode } = exit;
    const loaded = this.#hello.has(threadId);
    const teardown = ThreadChannels.teardownError(this.channels.teardownOf(threadId));
    if (teardown !== null) this.#teardownFailures.set(threadId, teardown);
    const note = this.#notes.get(threadId);
    // The thread's own account first: an error that crossed the boundary may have lost its shape.
    const cause: unknown =
      note !== undefined && !(exit.error instanceof Error) ? fromErrorData(note) : exit.error;
    const why =
      cause === null || cause === undefined
        ? ''
        : `: ${cause instanceof Error ? cause.message : describeValue(cause)}`;
    const exitData: ErrorData = toErrorData(
      new WorkerCrashedError(
        `thread ${threadId} of runner "${this.id}" exited with code ${exitCode}${why}`,
        {
          ...(cause === null || cause === undefined ? {} : { cause }),
          context: { runnerId: this.id, threadId, exitCode, operation: 'thread' },
        },
      ),
    );
    void this.channels.gone(threadId, exitData);
    this.#ready.delete(threadId);
    this.#hello.delete(threadId);
    this.#up.delete(threadId);
    void this.#releaseThread(threadId);
    if (loaded && !exit.terminated && !exit.destroyed) {
      // It exited on its own: a crash (or a normal exit), wherever it happened.
      this.#crashes += 1;
      const record = this.host.reportError(fromErrorData(exitData), {
        runnerId: this.id,
        threadId,
        component: 'runner',
        operation: this.#actor.getSnapshot().matches('closing') ? 'teardown' : 'thread',
      });
      if (this.#actor.getSnapshot().matches('running')) this.#awaitingRestart.push(record);
    }
    this.#send({
      type: 'troupe.runner.threadExit',
      threadId,
      exitCode,
      error: exitData,
      loaded,
      terminated: exit.terminated,
      replaced: exit.replaced,
      at: Date.now(),
    });
  }

  // ---- snapshots ----------------------------------------------------------------------

  #onSnapshot(snapshot: RunnerSnapshot): void {
    this.executor.flags = {
      accepting: snapshot.hasTag('accepting'),
      dispatching: snapshot.hasTag('dispatching'),
      slots: snapshot.context.threadsUp,
    };
    const state = runnerStateOf(snapshot.value);
    const previous = this.#state;
    if (state !== previous) {
      this.#state = state;
      this.host.logger.debug({ runnerId: this.id, state, previous }, 'runner state');
      for (const listener of this.events.listeners('state')) {
        try {
          listener(state, previous);
        } catch (error) {
          this.host.listenerFailed(error, "runner.on('state')", { runnerId: this.id });
        }
      }
      this.host.emitState(this.id, state, previous);
    }
    if (this.#spawn !== null) {
      if (state === 'ready' || state === 'busy') {
        this.#spawn.resolve();
        this.#spawn = null;
      } else if (state !== 'starting' && state !== 'restarting') {
        this.#spawn.reject(this.#startFailure(snapshot));
        this.#spawn = null;
      }
    }
    if (snapshot.status === 'done') this.#onDone(snapshot);
  }

  #startFailure(snapshot: RunnerSnapshot): Error {
    const failure = snapshot.context.failure;
    if (failure === null) return this.refusal();
    return this.#withWorkerPath(fromErrorData(failure));
  }

  #onDone(snapshot: RunnerSnapshot): void {
    if (this.#summary !== null) return;
    const failure = snapshot.context.failure;
    this.executor.cancelRetries(this.refusal());
    if (failure !== null) {
      this.host.reportError(this.#withWorkerPath(fromErrorData(failure)), {
        runnerId: this.id,
        component: 'runner',
        operation: snapshot.context.everReady ? 'supervise' : 'start',
      });
    }
    this.#summarize(snapshot.context.failure, snapshot.context.forced);
    this.#resolveFinal();
  }

  #summarize(failure: ErrorData | null, forced: boolean): void {
    this.#summary = {
      id: this.id,
      state: this.state,
      restarts: this.#actor.getSnapshot().context.restartCount,
      forced,
      failure,
      stats: this.stats(),
      threads: this.threadCounts,
    };
  }

  /** The actor errored or was stopped from outside: tear down without it, settle everything. */
  #emergencyStop(reason: TroupeError): void {
    if (this.#summary !== null) return;
    this.executor.flags = { accepting: false, dispatching: false, slots: 0 };
    this.executor.rejectQueued();
    this.executor.cancelRetries(reason);
    if (this.#spawn !== null) {
      this.#spawn.reject(reason);
      this.#spawn = null;
    }
    void this.destroyPool().finally(() => {
      this.#state = 'failed';
      this.#summarize(toErrorData(reason), true);
      this.#resolveFinal();
    });
  }

  #withWorkerPath(error: Error): Error {
    if (!(error instanceof TroupeError) || error.code !== 'ERR_RUNNER_STARTUP') return error;
    if (error.context.workerPath !== undefined) return error;
    return new RunnerStartupError(error.message, {
      ...(error.cause === undefined ? {} : { cause: error.cause }),
      context: { ...error.context, runnerId: this.id, workerPath: this.workerPath },
    });
  }

  #stopNotice(): string {
    const reason = this.host.shutdownReason();
    return reason === null ? `runner "${this.id}" is stopping` : `shutdown: ${reason}`;
  }

  // ---- resources ------------------------------------------------------------------------

  #registerThread(threadId: number): void {
    const resources = this.host.resources;
    if (!resources.has(this.id) || resources.closing) return;
    const thread = `${this.id}/thread-${threadId}`;
    const channel = this.channels.channel(threadId);
    try {
      resources.registerInternal([
        {
          id: thread,
          kind: 'thread',
          openAtOnce: true,
          requiredBy: [this.id],
          close: () => this.#closeThread(threadId),
          closeTimeoutMs: this.spec.closeTimeoutMs,
        },
        ...(channel === undefined
          ? []
          : [
              {
                id: `${thread}/channel`,
                kind: 'channel' as const,
                openAtOnce: true,
                requiredBy: [this.id],
                close: () => channel.close(),
                closeTimeoutMs: this.spec.closeTimeoutMs,
              },
            ]),
      ]);
      this.#ownResources.add(thread);
      if (channel !== undefined) this.#ownResources.add(`${thread}/channel`);
    } catch (error) {
      this.host.logger.debug({ runnerId: this.id, err: error }, 'thread resources not registered');
    }
  }

  /** A thread's resource closes once the thread exited; a teardown that threw fails it. */
  async #closeThread(threadId: number): Promise<void> {
    const pool = this.#pool;
    if (pool !== null) {
      pool.terminate(threadId);
      await pool.exited(threadId);
    }
    const failure = this.#teardownFailures.get(threadId);
    if (failure !== undefined) {
      this.#teardownFailures.delete(threadId);
      throw failure;
    }
  }

  async #releaseThread(threadId: number): Promise<void> {
    const thread = `${this.id}/thread-${threadId}`;
    const ids = [thread, `${thread}/channel`];
    for (const id of ids) this.#ownResources.delete(id);
    await Promise.all(ids.map((id) => this.host.resources.release(id)));
  }

  async #releaseOwnResources(): Promise<void> {
    const ids = [...this.#ownResources];
    this.#ownResources.clear();
    await Promise.all(ids.map((id) => this.host.resources.release(id)));
  }

  async #releaseResources(): Promise<void> {
    await this.#releaseOwnResources();
    await this.host.resources.release(this.id);
  }
}
