import {
  RunnerStoppedError,
  TaskAbortedError,
  TroupeError,
  WorkerUnresponsiveError,
  fromErrorData,
  runnerStateOf,
  toErrorData,
  type ErrorData,
  type RunnerEvent,
  type RunnerPoolInput,
  type RunnerState,
  type RunnerTeardownInput,
} from '@troupe/core';
import { EventEmitter } from 'eventemitter3';
import { createActor, type Actor } from 'xstate';
import { refusalOf } from '../admission/refusal.js';
import { ThreadChannels, type ProbeAnswer } from '../channel/ThreadChannels.js';
import type { ErrorRecord } from '../errors/ErrorHandler.js';
import type { ProbeTarget, RunnerLoad } from '../health/HealthMonitor.js';
import type { QueueWaitWindow } from '../task/QueueWaits.js';
import { actorView, type ActorView } from '../inspection/ActorView.js';
import { inspectOptions, trackActor } from '../inspection/Inspection.js';
import { untilSnapshot } from '../inspection/untilSnapshot.js';
import { logTransitions } from '../logging/logTransitions.js';
import { lowestLevel, type Logger } from '../logger.js';
import type { ResolvedRunnerSpec } from '../options/resolveRunnerSpec.js';
import type { RunTimeSummary, ThreadPool } from '../pool/ThreadPool.js';
import type { WorkerModuleKind } from '../protocol.js';
import { TaskExecutor, type ExecutorRunner } from '../task/TaskExecutor.js';
import type { TeardownCause } from '../task/workErrors.js';
import type { RunnerEvents } from './Runner.js';
import type { RunnerHost } from './RunnerHost.js';
import {
  bindEffects,
  runtimeRunnerMachine,
  type RunnerEffects,
  type RuntimeRunnerSnapshot,
} from './runtimeRunnerMachine.js';
import { ThreadResources } from './ThreadResources.js';
import { LoadEdge } from './LoadEdge.js';
import { ThreadEvents } from './ThreadEvents.js';
import { ThreadRoster } from './ThreadRoster.js';
import type { RunOptions, TaskEventMeta } from '../task/types.js';
import { createRunnerPool } from './createRunnerPool.js';
import { withWorkerPath } from './threadErrors.js';
import type { RunnerStats, RunnerSummary } from './types.js';

export type { RunnerSummary } from './types.js';

type RunnerSnapshot = RuntimeRunnerSnapshot;

/**
 * The runtime side of one runner: it owns the runner's statechart actor,
 * turns what the pool and the threads' channels report into events for it,
 * and performs the effects the statechart names. It decides nothing: what
 * a thread exit means, when tasks are taken or queued, when to restart or
 * give up is the statechart's. Users see it through {@link Runner}.
 */
export class RunnerCore implements ExecutorRunner, ProbeTarget, RunnerEffects {
  readonly id: string;
  readonly workerPath: string;
  readonly moduleUrl: string;
  readonly spec: ResolvedRunnerSpec;
  readonly host: RunnerHost;
  /** The troupe's logger with this runner's `runnerId` bound. */
  readonly logger: Logger;
  readonly capacity: number;
  readonly taskTimeoutMs: number | undefined;
  readonly abortGraceMs: number;
  readonly channels: ThreadChannels;
  readonly executor: TaskExecutor;
  readonly events = new EventEmitter<RunnerEvents>();
  readonly #actor: Actor<typeof runtimeRunnerMachine>;
  readonly #view: ActorView<RunnerSnapshot>;
  readonly #final: Promise<void>;
  #resolveFinal!: () => void;
  #pool: ThreadPool | null = null;
  #kind: WorkerModuleKind = 'plain';
  #handlers: ReadonlySet<string> = new Set();
  #state: RunnerState | null = null;
  readonly #threads = new ThreadRoster();
  readonly #resources: ThreadResources;
  readonly #threadEvents: ThreadEvents;
  readonly #load: LoadEdge;
  /** Threads of pools already destroyed (a restart makes a new pool). */
  #pastThreads = { started: 0, exited: 0 };
  #spawn: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  #stopping: Promise<void> | null = null;
  #summary: RunnerSummary | null = null;
  /** When the pool began (re)starting: `runner ready` tells how long it took. */
  #startedAt: number | null = null;

  constructor(id: string, spec: ResolvedRunnerSpec, host: RunnerHost) {
    this.id = id;
    this.logger = host.logger.child({ runnerId: id });
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
      logger: this.logger,
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
    this.#load = new LoadEdge(
      () => this.executor.load > 0,
      (busy) => {
        if (this.#actor.getSnapshot().status !== 'active') return;
        this.#actor.send({ type: busy ? 'troupe.runner.busy' : 'troupe.runner.idle' });
      },
      // Draining, closing, restarting: the idle edge at once, so they end with their last task.
      { urgent: () => !this.#actor.getSnapshot().matches('running') },
    );
    this.#resources = new ThreadResources({
      runnerId: id,
      resources: host.resources,
      logger: this.logger,
      closeTimeoutMs: spec.closeTimeoutMs,
    });
    this.#threadEvents = new ThreadEvents({
      id,
      workerPath: this.workerPath,
      host,
      channels: this.channels,
      roster: this.#threads,
      resources: this.#resources,
      pool: () => this.#pool,
      snapshot: () => this.#actor.getSnapshot(),
      send: (event) => {
        this.#send(event);
      },
      loaded: (info) => {
        this.#kind = info.kind;
        this.#handlers = new Set(info.handlers);
      },
    });
    this.#actor = createActor(runtimeRunnerMachine, {
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
      ...inspectOptions(host.inspect),
    });
    trackActor(host.inspect, this.#actor);
    logTransitions(this.#actor, this.logger, 'runner state');
    bindEffects(this.#actor.system, this);
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
    return [...this.#threads.up];
  }

  /**
   * Threads the pool is bringing up in place of lost ones (the chart's
   * `running.threads.replacing`, bounded by `startupTimeoutMs`).
   */
  get replacingThreads(): number {
    const snapshot = this.#actor.getSnapshot();
    if (!snapshot.matches({ running: { threads: 'replacing' } })) return 0;
    return Math.max(0, snapshot.context.threads - snapshot.context.threadsUp);
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
    this.#startedAt = performance.now();
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
      threads: this.#threads.up.size,
      inFlight: executor.load - executor.queued,
      queued: executor.queued,
      submitted: executor.submitted,
      completed: executor.completed,
      failed: executor.failed,
      aborted: executor.aborted,
      rejected: executor.rejected,
      restarts: this.#actor.getSnapshot().context.restartCount,
      crashes: this.#threadEvents.crashes,
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

  busySince(threadId: number): number | null {
    return this.executor.taskOn(threadId)?.startedAt ?? null;
  }

  load(): RunnerLoad {
    return { running: this.executor.running, oldestQueuedAt: this.executor.oldestQueuedAt };
  }

  takeQueueWaits(): QueueWaitWindow {
    return this.executor.takeQueueWaits();
  }

  /**
   * The health monitor found this thread silent for `silentMs` while it
   * ran a task: the statechart decides (replace it, or give up).
   */
  threadHung(threadId: number, silentMs: number, hungAfterMs: number): void {
    const task = this.executor.taskOn(threadId);
    const error = new WorkerUnresponsiveError(
      `thread ${threadId} of runner "${this.id}" answered no health probe for ${Math.round(silentMs)} ms while running ${task === undefined ? 'a task' : `task ${task.taskId}`} (hungAfterMs ${hungAfterMs}): it was terminated`,
      {
        context: {
          runnerId: this.id,
          threadId,
          ...(task === undefined ? {} : { taskId: task.taskId }),
          silentMs: Math.round(silentMs),
          hungAfterMs,
          operation: 'run',
        },
      },
    );
    this.#send({
      type: 'troupe.runner.threadHung',
      threadId,
      error: toErrorData(error),
      at: Date.now(),
    });
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
      await this.#resources.releaseAll();
      await this.host.resources.release(this.id);
    })();
    return this.#stopping;
  }

  /** Asks for a full restart (the supervisor's health recovery, `runner.restart()`). */
  restart(reason: ErrorData, record?: ErrorRecord): void {
    if (record !== undefined) this.#threadEvents.awaitRestart(record);
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
    await this.#resources.releaseAll();
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
    return this.#threads.noteOf(threadId) ?? null;
  }

  loadChanged(): void {
    this.#load.changed();
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

  acquireStartSlot(granted: () => void): () => void {
    return this.host.startGate.acquire(granted);
  }

  abortQueued(): void {
    this.executor.abortQueued();
  }

  rejectQueued(failure: ErrorData | null): void {
    this.executor.rejectQueued(failure);
  }

  terminateHungThread(threadId: number, data: ErrorData, decision: 'restart' | 'stop'): void {
    // An action that throws would fail the runner's actor: nothing here may.
    try {
      const rebuilt = fromErrorData(data);
      const error =
        rebuilt instanceof TroupeError ? rebuilt : new WorkerUnresponsiveError(rebuilt.message);
      if (!this.executor.failOnThread(threadId, error)) {
        // Its task settled meanwhile: the thread's silence is recorded on its own.
        this.host.reportError(error, {
          runnerId: this.id,
          threadId,
          component: 'runner',
          operation: 'thread',
        });
      }
      this.#pool?.terminate(threadId);
      this.host.alert({
        kind: 'health',
        severity: 'HIGH',
        code: error.code,
        message: error.message,
        runnerId: this.id,
        error: data,
        decision,
      });
    } catch (error) {
      try {
        this.host.reportError(error, {
          runnerId: this.id,
          threadId,
          component: 'health',
          operation: 'probe',
        });
      } catch {
        // Reporting must not fail the actor either.
      }
    }
  }

  async startPool(input: RunnerPoolInput, signal: AbortSignal): Promise<void> {
    let pool: ThreadPool | null = null;
    // Events of a pool that is gone (or not yet ours) are not this runner's.
    const mine = (): boolean => pool !== null && this.#pool === pool;
    await createRunnerPool({
      source: { runnerId: this.id, workerPath: this.workerPath, everReady: input.everReady },
      spec: this.spec,
      threads: input.threads,
      signal,
      // Read at each (re)start: the level in force then.
      logLevel: lowestLevel(this.logger),
      createPool: this.host.createPool,
      adopt: (created) => {
        pool = created;
        this.#pool = created;
      },
      listener: {
        onReady: (threadId) => {
          if (mine()) this.#threadEvents.onReady(threadId);
        },
        onMessage: (message) => {
          if (mine()) this.#threadEvents.onMessage(message);
        },
        onExit: (exit) => {
          if (mine()) this.#threadEvents.onExit(exit);
        },
        onUndeliverable: (threadId, error) => {
          if (mine()) this.executor.undeliverable(threadId, error);
        },
        onLatePlacement: (threadId) => {
          if (mine()) this.executor.placedLate(threadId);
        },
      },
    });
  }

  async teardownThreads(_input: RunnerTeardownInput): Promise<void> {
    // A plain module has no teardown: no round trip to every thread.
    if (this.#kind !== 'defined') return;
    // A thread busy with a task is terminated without its teardown.
    const idle = [...this.#threads.up].filter(
      (threadId) => this.executor.taskOn(threadId) === undefined,
    );
    const died = await this.channels.teardown(idle);
    // A thread that died in its teardown: its exit must arrive before the
    // pool is destroyed, or it would pass for a thread the destroy ended.
    const pool = this.#pool;
    if (pool !== null) await Promise.all(died.map((threadId) => pool.exited(threadId)));
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
    this.#threads.clear();
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
    this.#load.flush();
    this.#actor.send(event);
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
      this.#logStartup(state, snapshot);
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

  /** Startup (and each restart) at info once the runner serves: threads and how long it took. */
  #logStartup(state: RunnerState, snapshot: RunnerSnapshot): void {
    if (state === 'restarting') {
      this.#startedAt = performance.now();
      return;
    }
    if ((state !== 'ready' && state !== 'busy') || this.#startedAt === null) return;
    const durationMs = performance.now() - this.#startedAt;
    this.#startedAt = null;
    const restarts = snapshot.context.restartCount;
    try {
      this.logger.info(
        { threads: snapshot.context.threadsUp, durationMs, ...(restarts > 0 ? { restarts } : {}) },
        'runner ready',
      );
    } catch {
      // A logger that throws must not stop the runner.
    }
  }

  #startFailure(snapshot: RunnerSnapshot): Error {
    const failure = snapshot.context.failure;
    if (failure === null) return this.refusal();
    return withWorkerPath(fromErrorData(failure), this.id, this.workerPath);
  }

  #onDone(snapshot: RunnerSnapshot): void {
    if (this.#summary !== null) return;
    const failure = snapshot.context.failure;
    this.executor.cancelRetries(this.refusal());
    if (failure !== null) {
      this.host.reportError(withWorkerPath(fromErrorData(failure), this.id, this.workerPath), {
        runnerId: this.id,
        component: 'runner',
        operation: snapshot.context.everReady ? 'supervise' : 'start',
      });
    }
    this.#summarize(snapshot.context.failure, snapshot.context.forced);
    this.#resolveFinal();
  }

  #summarize(failure: ErrorData | null, forced: boolean): void {
    this.#load.stop();
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

  #stopNotice(): string {
    const reason = this.host.shutdownReason();
    return reason === null ? `runner "${this.id}" is stopping` : `shutdown: ${reason}`;
  }
}
