import {
  InvalidConfigError,
  ShutdownInProgressError,
  createNodeId,
  fromErrorData,
  idSequence,
  toErrorData,
  type Classifier,
  type ErrorCode,
  type ErrorData,
  type Severity,
  type UnhealthyError,
  type RunnerState,
  type ShutdownPhase,
  type TroupeError,
  type TroupeErrorContext,
} from '@troupe/core';
import { EventEmitter } from 'eventemitter3';
import type { z } from 'zod';
import {
  ErrorHandler,
  type ErrorRecord,
  type ErrorRegistry,
  type Resolution,
} from './errors/ErrorHandler.js';
import type { InspectOption } from './inspect.js';
import { silentLogger, type Logger } from './logger.js';
import { resolveRunnerSpec, type RunnerSpec } from './options/resolveRunnerSpec.js';
import type { troupeOptionsSchema } from './options/schemas.js';
import {
  ResourceManager,
  type ResourceCloseRecord,
  type ResourceCloseReport,
  type ResourceRegistry,
} from './resources/ResourceManager.js';
import { Runner } from './runner/Runner.js';
import type { RunnerHost, RunnerStats, TaskSettledEvent } from './runner/types.js';
import { HealthMonitor, type HealthReport } from './health/HealthMonitor.js';
import { ShutdownCoordinator, type PhaseTiming } from './shutdown/ShutdownCoordinator.js';

// Listeners are stored by identity only; their argument types do not matter here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyListener = (...args: any[]) => void;

/** Parsed troupe options. */
export type ResolvedTroupeOptions = z.output<typeof troupeOptionsSchema>;

/** `runner:state` event payload. */
export interface RunnerStateEvent {
  readonly runnerId: string;
  readonly state: RunnerState;
  readonly previous: RunnerState | null;
}

/** `shutdown:phase` event payload. */
export interface ShutdownPhaseEvent {
  readonly phase: ShutdownPhase;
  readonly previous: ShutdownPhase;
  readonly reason: string;
}

/** An alert: something persistent needs a human. */
export interface Alert {
  /** `escalation`: an error whose action is ESCALATE (e.g. a runner hit its restart limit). */
  readonly kind: 'escalation' | 'health';
  readonly severity: Severity;
  readonly code: ErrorCode | null;
  readonly message: string;
  readonly runnerId?: string;
  readonly error?: ErrorData;
  /** What the troupe does about it. */
  readonly decision: 'degrade' | 'shutdown' | 'restart' | 'stop' | 'none';
}

/** Typed events of `troupe.on(...)`. */
export interface TroupeEvents {
  'runner:state': [event: RunnerStateEvent];
  'task:settled': [event: TaskSettledEvent];
  error: [record: ErrorRecord];
  health: [report: HealthReport];
  alert: [alert: Alert];
  'shutdown:phase': [event: ShutdownPhaseEvent];
}

/** Task counts in a {@link ShutdownReport}. */
export interface ShutdownTaskCounts {
  /** Every `run()` call over the troupe's life. */
  readonly submitted: number;
  readonly completed: number;
  readonly failed: number;
  readonly aborted: number;
  /** Refused at admission (including during shutdown). */
  readonly rejected: number;
  /** Tasks in flight (or held) when SIGNALING began: each was drained or aborted. */
  readonly inFlightAtSignal: number;
  /** What became of the tasks in flight at SIGNALING. */
  readonly drained: {
    readonly completed: number;
    readonly failed: number;
    readonly aborted: number;
  };
}

/** What `troupe.shutdown()` resolves with. Plain data: log it, publish it. */
export interface ShutdownReport {
  readonly nodeId: string;
  readonly reason: string;
  /** Epoch ms when shutdown began. */
  readonly startedAt: number;
  readonly durationMs: number;
  /** A deadline was missed somewhere: something was aborted or force-closed. */
  readonly forced: boolean;
  readonly phases: Readonly<Record<'signaling' | 'draining' | 'closing', PhaseTiming>>;
  readonly tasks: ShutdownTaskCounts;
  readonly resources: {
    readonly closed: number;
    readonly failed: number;
    readonly forced: number;
    readonly details: readonly ResourceCloseRecord[];
  };
  readonly runners: readonly {
    readonly id: string;
    readonly state: RunnerState;
    readonly restarts: number;
    /** Its drain or close missed a deadline. */
    readonly forced: boolean;
  }[];
  readonly threads: { readonly started: number; readonly exited: number; readonly leaked: number };
  readonly errors: readonly ErrorData[];
}

/** Options of `troupe.shutdown()`. */
export interface ShutdownOptions {
  readonly reason?: string;
}

/**
 * The root of a Troupe: spawns supervised runners, owns the resource
 * manager, the error handler and the shutdown coordinator, and emits typed
 * lifecycle events. Create it with `createTroupe()`.
 */
export class Troupe {
  readonly nodeId: string;
  readonly #options: ResolvedTroupeOptions;
  readonly #logger: Logger;
  readonly #inspect: InspectOption | undefined;
  readonly #events = new EventEmitter<TroupeEvents>();
  readonly #onceWrappers = new WeakMap<AnyListener, AnyListener>();
  readonly #runners = new Map<string, Runner>();
  readonly #everyRunner: Runner[] = [];
  readonly #resources: ResourceManager;
  readonly #errors: ErrorHandler;
  readonly #coordinator: ShutdownCoordinator;
  readonly #nextRunnerId: () => string;
  readonly #health: HealthMonitor;
  readonly #signalHandlers = new Map<NodeJS.Signals, () => void>();
  #refusal: TroupeError | null = null;
  #shutdown: Promise<ShutdownReport> | null = null;
  #reason = 'shutdown';
  #wantsTaskEvents = false;
  #atSignal: { inFlight: number; completed: number; failed: number; aborted: number } | null = null;
  #closeReport: ResourceCloseReport | null = null;

  /** @internal Use `createTroupe()`. */
  constructor(options: ResolvedTroupeOptions) {
    this.#options = options;
    this.nodeId = options.nodeId ?? createNodeId();
    this.#logger = options.logger ?? silentLogger;
    this.#inspect = options.inspect;
    this.#nextRunnerId = idSequence(`${this.nodeId}/runner`);
    this.#errors = new ErrorHandler({
      logger: this.#logger,
      ringSize: options.errors.ringSize,
      windowMs: options.errors.windowMs,
      policies: options.errors.policies,
      ...(options.errors.classify === undefined
        ? {}
        : { classify: options.errors.classify as unknown as Classifier }),
      emit: (record) => {
        this.#emit('error', record);
      },
      escalate: (record) => {
        this.#escalate(record);
      },
      phase: () => this.#coordinator.phase,
    });
    this.#resources = new ResourceManager({
      logger: this.#logger,
      ...(this.#inspect === undefined ? {} : { inspect: this.#inspect }),
      isReserved: (id) => this.#runners.has(id),
      onError: (error) => {
        this.#report(error, { component: 'resources' });
      },
      onCloseFailure: (closed) => {
        const error =
          closed.error === null ? new Error('close failed') : fromErrorData(closed.error);
        const record = this.#errors.report(error, {
          component: 'resources',
          operation: 'close',
          resourceId: closed.id,
        });
        // The close was abandoned or failed and shutdown went on: cleaned up.
        this.#errors.resolve([record], 'cleanup');
      },
    });
    const { signalingMs, drainingMs, closingMs, forceMs } = options.shutdown;
    this.#coordinator = new ShutdownCoordinator({
      deadlines: { signalingMs, drainingMs, closingMs, forceMs },
      inspect: this.#inspect,
      work: {
        signal: (reason) => this.#signalPhase(reason),
        drain: () => this.#drainPhase(),
        forceDrain: () => this.#forceDrainPhase(),
        close: () => this.#closePhase(),
        forceClose: () => this.#forceClosePhase(),
      },
      onPhase: (phase, previous) => {
        this.#logger.info({ nodeId: this.nodeId, phase, previous }, 'shutdown phase');
        this.#emit('shutdown:phase', { phase, previous, reason: this.#reason });
      },
      onError: (error) => {
        this.#report(error, { component: 'shutdown' });
      },
    });
    this.#health = new HealthMonitor(
      {
        logger: this.#logger,
        runners: () =>
          this.#everyRunner.filter((r) => this.#runners.get(r.id) === r || r.state === 'failed'),
        errorRatePerMin: (runnerId) => this.#errors.ratePerMin(runnerId),
        resourceFailed: (runner) =>
          [...runner.dependsOn, ...runner.threadIds.map((t) => `${runner.id}/thread-${t}`)].some(
            (id) => {
              const state = this.#resources.state(id);
              return state === 'failed' || state === 'forced';
            },
          ),
        phase: () => this.#coordinator.phase,
        ready: () => this.ready,
        emitReport: (report) => {
          this.#emit('health', report);
        },
        onPersistentlyUnhealthy: (runner, _health, error) => {
          this.#onUnhealthy(runner, error);
        },
      },
      options.health,
    );
    this.#health.start();
    for (const signal of options.signals) {
      const handler = (): void => {
        if (this.#shutdown !== null) {
          this.#logger.warn({ signal }, 'signal received again: shutdown already in progress');
          return;
        }
        this.#logger.info({ signal }, 'signal received: shutting down');
        this.shutdown({ reason: signal }).catch((error: unknown) => {
          this.#report(error, { component: 'shutdown', operation: signal });
        });
      };
      this.#signalHandlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  /** The shutdown phase: `running`, `signaling`, `draining`, `closing` or `stopped`. */
  get phase(): ShutdownPhase {
    return this.#coordinator.phase;
  }

  /** Readiness: true while running and no shutdown has begun. */
  get ready(): boolean {
    return this.#refusal === null;
  }

  /** The resource manager: register resources to close in dependency order. */
  get resources(): ResourceRegistry {
    return this.#resources;
  }

  /** The error handler: statistics and recent records. */
  get errors(): ErrorRegistry {
    return this.#errors;
  }

  /** Live runners (not yet stopped or failed). */
  get runners(): readonly Runner[] {
    return [...this.#runners.values()];
  }

  /** The live runner with this id, if any. */
  runner(id: string): Runner | undefined {
    return this.#runners.get(id);
  }

  /** The shutdown coordinator's statechart actor (for inspection). */
  get shutdownActor(): ShutdownCoordinator['actor'] {
    return this.#coordinator.actor;
  }

  /** Subscribes to a typed lifecycle event. */
  on<E extends keyof TroupeEvents>(event: E, listener: (...args: TroupeEvents[E]) => void): this {
    this.#events.on(event, listener);
    this.#listenersChanged();
    return this;
  }

  /** Subscribes once. */
  once<E extends keyof TroupeEvents>(event: E, listener: (...args: TroupeEvents[E]) => void): this {
    const wrapper = (...args: TroupeEvents[E]): void => {
      this.off(event, listener);
      listener(...args);
    };
    this.#onceWrappers.set(listener as AnyListener, wrapper as AnyListener);
    this.#events.on(event, wrapper);
    this.#listenersChanged();
    return this;
  }

  /** Unsubscribes (also a listener added with `once`). */
  off<E extends keyof TroupeEvents>(event: E, listener: (...args: TroupeEvents[E]) => void): this {
    const wrapper = this.#onceWrappers.get(listener as AnyListener);
    if (wrapper !== undefined) {
      this.#onceWrappers.delete(listener as AnyListener);
      this.#events.off(event, wrapper as never);
    }
    this.#events.off(event, listener);
    this.#listenersChanged();
    return this;
  }

  /**
   * Spawns a runner and resolves when all its threads are ready. Rejects with
   * `ERR_INVALID_CONFIG` (bad spec, duplicate id, unknown dependency),
   * `ERR_RUNNER_STARTUP` (module missing, threw on load, setup failed, or
   * missed `startupTimeoutMs`; `context.workerPath` and `cause` say more) or
   * `ERR_SHUTDOWN_IN_PROGRESS`.
   */
  async spawnRunner(spec: RunnerSpec): Promise<Runner> {
    if (this.#refusal !== null) throw this.#refusal;
    const resolved = resolveRunnerSpec(
      spec,
      this.#options.runnerDefaults,
      this.#options.shutdown.abortGraceMs,
    );
    const id = resolved.id ?? this.#nextRunnerId();
    if (this.#runners.has(id) || this.#resources.has(id)) {
      throw new InvalidConfigError(
        `invalid "spec.id": a runner or resource "${id}" already exists (stop it first)`,
        { context: { component: 'config', field: 'spec.id', value: id } },
      );
    }
    const runner = new Runner(id, resolved, this.#host);
    // Registering the runner's resource reserves its id and checks dependsOn.
    this.#resources.registerInternal([
      {
        id,
        kind: 'runner',
        dependsOn: resolved.dependsOn,
        close: () => runner.closeNow(),
        closeTimeoutMs: this.#options.shutdown.closingMs,
      },
    ]);
    this.#runners.set(id, runner);
    this.#everyRunner.push(runner);
    try {
      await runner.start();
    } catch (error) {
      await this.#resources.release(id);
      throw error;
    }
    this.#resources.markOpen(id);
    return runner;
  }

  /**
   * The troupe's health: a 0..1 score, a status, readiness, and each
   * runner's figures as of its last probe (`health.intervalMs`).
   */
  health(): HealthReport {
    return this.#health.current();
  }

  /** Probes every runner now and returns the fresh report. */
  probeHealth(): Promise<HealthReport> {
    return this.#health.probe();
  }

  /**
   * Shuts everything down: SIGNALING (admission closes, runners told),
   * DRAINING (tasks accepted earlier finish; aborted at the deadline),
   * CLOSING (teardown, resources in dependency order, threads exit, ports
   * close). Idempotent: every call gets the same promise. Resolves with the
   * {@link ShutdownReport} once every thread exited and every port closed.
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownReport> {
    this.#shutdown ??= this.#runShutdown(options.reason ?? 'shutdown');
    return this.#shutdown;
  }

  /** `await using troupe = createTroupe()` shuts it down at scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ reason: 'dispose' });
  }

  // ---- internals -------------------------------------------------------------

  get #host(): RunnerHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter below reads live state
    const troupe = this;
    return {
      nodeId: this.nodeId,
      logger: this.#logger,
      inspect: this.#inspect,
      resources: this.#resources,
      signalingMs: this.#options.shutdown.signalingMs,
      drainingMs: this.#options.shutdown.drainingMs,
      abortGraceMs: this.#options.shutdown.abortGraceMs,
      get wantsTaskEvents() {
        return troupe.#wantsTaskEvents;
      },
      reportError: (error, context) => this.#report(error, context),
      resolveErrors: (records, how: Resolution) => {
        this.#errors.resolve(records, how);
      },
      isRetryable: (error, context) => {
        const { action } = this.#errors.classify(error, {
          component: 'runner',
          ...context,
          phase: this.#coordinator.phase,
        });
        return action === 'RETRY' || action === 'RESTART';
      },
      retryBackoff: {
        baseMs: this.#options.errors.retry.baseMs,
        capMs: this.#options.errors.retry.capMs,
      },
      emitState: (runnerId, state, previous) => {
        this.#emit('runner:state', { runnerId, state, previous });
      },
      emitTaskSettled: (event) => {
        this.#emit('task:settled', event);
      },
      onFinal: (runnerId) => {
        this.#runners.delete(runnerId);
      },
      refusal: () => this.#refusal,
    };
  }

  /**
   * Emits to each listener on its own: a listener that throws is reported
   * (an 'error' listener that throws is logged) and the others still run.
   */
  #emit<E extends keyof TroupeEvents>(event: E, ...args: TroupeEvents[E]): void {
    for (const listener of this.#events.listeners(event)) {
      try {
        (listener as (...a: TroupeEvents[E]) => void)(...args);
      } catch (error) {
        if (event === 'error') {
          this.#logger.error({ err: error }, "an 'error' listener threw");
        } else {
          this.#report(error, { component: 'events', operation: event });
        }
      }
    }
  }

  #listenersChanged(): void {
    const wants = this.#events.listenerCount('task:settled') > 0;
    if (wants === this.#wantsTaskEvents) return;
    this.#wantsTaskEvents = wants;
    for (const runner of this.#runners.values()) runner.refreshFastPath();
  }

  #report(error: unknown, context: TroupeErrorContext): ErrorRecord {
    return this.#errors.report(error, { ...context, phase: this.phase });
  }

  #onUnhealthy(runner: Runner, error: UnhealthyError): void {
    const recovery = this.#options.health.recovery;
    const record = this.#report(error, {
      component: 'health',
      operation: 'probe',
      runnerId: runner.id,
    });
    const alert: Alert = {
      kind: 'health',
      severity: record.severity,
      code: record.code,
      message: record.message,
      runnerId: runner.id,
      error: toErrorData(error),
      decision: recovery,
    };
    this.#logger.warn({ alert }, `alert: ${error.message}`);
    this.#emit('alert', alert);
    if (recovery === 'restart') {
      runner.requestRestart(error, record);
    } else if (recovery === 'stop') {
      runner.stop().catch((stopError: unknown) => {
        this.#report(stopError, { component: 'health', operation: 'stop', runnerId: runner.id });
      });
    }
  }

  #escalate(record: ErrorRecord): void {
    const runnerId = record.context.runnerId;
    const shutdown =
      record.severity === 'CRITICAL' &&
      this.#options.errors.escalation === 'shutdown' &&
      this.#refusal === null;
    const alert: Alert = {
      kind: 'escalation',
      severity: record.severity,
      code: record.code,
      message: record.message,
      ...(typeof runnerId === 'string' ? { runnerId } : {}),
      error: toErrorData(record.error),
      decision: shutdown ? 'shutdown' : record.severity === 'CRITICAL' ? 'degrade' : 'none',
    };
    this.#logger.error({ alert }, `alert: ${record.message}`);
    this.#emit('alert', alert);
    if (shutdown) {
      this.shutdown({
        reason: `escalation: ${record.code}${typeof runnerId === 'string' ? ` (${runnerId})` : ''}`,
      }).catch((error: unknown) => {
        this.#logger.error({ err: error }, 'escalated shutdown failed');
      });
    }
  }

  async #runShutdown(reason: string): Promise<ShutdownReport> {
    this.#reason = reason;
    this.#health.stop();
    this.#refusal = new ShutdownInProgressError(
      `troupe ${this.nodeId} is shutting down (${reason}): no new work is accepted`,
      { context: { component: 'troupe', phase: 'signaling', reason } },
    );
    // Admission closes now, before anyone hears of the SIGNALING phase.
    for (const runner of this.#runners.values()) runner.closeAdmission(this.#refusal);
    const outcome = await this.#coordinator.begin(reason);
    const runners = this.#everyRunner;
    // Every thread must have exited before we report; the phases guarantee
    // it, this is a bounded last check.
    await Promise.race([
      Promise.allSettled(runners.map((r) => r.threadsExited())),
      new Promise((resolve) => setTimeout(resolve, this.#options.shutdown.forceMs).unref()),
    ]);
    for (const [signal, handler] of this.#signalHandlers) process.off(signal, handler);
    this.#signalHandlers.clear();
    const totals = sumStats(runners.map((r) => r.stats()));
    const atSignal = this.#atSignal ?? { inFlight: 0, completed: 0, failed: 0, aborted: 0 };
    const close = this.#closeReport ?? { closed: 0, failed: 0, forced: 0, resources: [] };
    const leaked = runners.reduce((n, r) => n + r.threadIds.length, 0);
    const report: ShutdownReport = {
      nodeId: this.nodeId,
      reason,
      startedAt: outcome.startedAt,
      durationMs: outcome.durationMs,
      forced:
        outcome.timedOut.draining || outcome.timedOut.closing || close.forced > 0 || leaked > 0,
      phases: outcome.phases,
      tasks: {
        submitted: totals.submitted,
        completed: totals.completed,
        failed: totals.failed,
        aborted: totals.aborted,
        rejected: totals.rejected,
        inFlightAtSignal: atSignal.inFlight,
        drained: {
          completed: totals.completed - atSignal.completed,
          failed: totals.failed - atSignal.failed,
          aborted: totals.aborted - atSignal.aborted,
        },
      },
      resources: {
        closed: close.closed,
        failed: close.failed,
        forced: close.forced,
        details: close.resources,
      },
      runners: runners.map((r) => ({
        id: r.id,
        state: r.state,
        restarts: r.stats().restarts,
        forced: r.forced,
      })),
      threads: {
        started: runners.reduce((n, r) => n + r.threadCounts.started, 0),
        exited: runners.reduce((n, r) => n + r.threadCounts.exited, 0),
        leaked,
      },
      errors: outcome.errors,
    };
    this.#logger.info(
      { report: { ...report, resources: { ...report.resources, details: undefined } } },
      'shutdown complete',
    );
    return report;
  }

  async #signalPhase(reason: string): Promise<void> {
    const live = [...this.#runners.values()];
    const totals = sumStats(live.map((r) => r.stats()));
    const everyone = sumStats(this.#everyRunner.map((r) => r.stats()));
    this.#atSignal = {
      inFlight: totals.inFlight + totals.queued,
      completed: everyone.completed,
      failed: everyone.failed,
      aborted: everyone.aborted,
    };
    const refusal = this.#refusal ?? new ShutdownInProgressError(`shutting down: ${reason}`);
    for (const runner of live) runner.beginShutdown(refusal);
    await Promise.resolve();
  }

  async #drainPhase(): Promise<void> {
    await Promise.all([...this.#runners.values()].map((r) => r.whenDrained()));
  }

  async #forceDrainPhase(): Promise<void> {
    await Promise.all([...this.#runners.values()].map((r) => r.forceDrain()));
  }

  async #closePhase(): Promise<void> {
    this.#closeReport = await this.#resources.closeAll();
    await Promise.all(this.#everyRunner.map((r) => r.final));
  }

  async #forceClosePhase(): Promise<void> {
    this.#resources.forceRemaining();
    this.#closeReport = await this.#resources.closeAll();
    await Promise.allSettled(this.#everyRunner.map((r) => r.forceClose()));
  }
}

function sumStats(stats: readonly RunnerStats[]): {
  submitted: number;
  completed: number;
  failed: number;
  aborted: number;
  rejected: number;
  inFlight: number;
  queued: number;
} {
  const total = {
    submitted: 0,
    completed: 0,
    failed: 0,
    aborted: 0,
    rejected: 0,
    inFlight: 0,
    queued: 0,
  };
  for (const s of stats) {
    total.submitted += s.submitted;
    total.completed += s.completed;
    total.failed += s.failed;
    total.aborted += s.aborted;
    total.rejected += s.rejected;
    total.inFlight += s.inFlight;
    total.queued += s.queued;
  }
  return total;
}
