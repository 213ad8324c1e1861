import type { IncomingMessage, ServerResponse } from 'node:http';
import { availableParallelism } from 'node:os';
import {
  InvalidConfigError,
  ListenerFailedError,
  createNodeId,
  fromErrorData,
  idSequence,
  type Classifier,
  type ShutdownPhase,
  type TroupeErrorContext,
  type UnhealthyError,
} from '@troupe/core';
import { shutdownRefusal } from './admission/refusal.js';
import { ErrorHandler, type ErrorRecord, type ErrorRegistry } from './errors/ErrorHandler.js';
import { TroupeEmitter } from './events/TroupeEmitter.js';
import {
  HealthMonitor,
  failedTarget,
  type HealthReport,
  type ProbeTarget,
} from './health/HealthMonitor.js';
import type { ActorView } from './inspection/ActorView.js';
import type { DashboardOption } from './http/dashboardRoute.js';
import { TroupeHttp } from './http/TroupeHttp.js';
import { InspectionHub } from './inspection/InspectionHub.js';
import type { InspectOption } from './inspection/InspectOption.js';
import type { AnyActorRef } from 'xstate';
import { silentLogger, toLogger, type Logger } from './logger.js';
import { MetricsHub } from './metrics/MetricsHub.js';
import type { TroupeMetrics } from './metrics/TroupeMetrics.js';
import { parseWith } from './options/parse.js';
import { createThreadPool } from './pool/ThreadPool.js';
import { resolveRunnerSpec } from './options/resolveRunnerSpec.js';
import { troupeOptionsSchema } from './options/schemas.js';
import type { RunnerSpec, TroupeOptions } from './options/TroupeOptions.js';
import {
  ResourceManager,
  type ResourceCloseReport,
  type ResourceRegistry,
} from './resources/ResourceManager.js';
import type { Runner } from './runner/Runner.js';
import { runnerFacade } from './runner/RunnerHandle.js';
import { RunnerCore, type RunnerSummary } from './runner/RunnerCore.js';
import type { RunnerHost } from './runner/RunnerHost.js';
import { ShutdownCoordinator, type ShutdownSnapshot } from './shutdown/ShutdownCoordinator.js';
import {
  NO_TASKS,
  addTasks,
  shutdownReport,
  type ShutdownReport,
  type TaskTotals,
} from './shutdown/shutdownReport.js';
import type { ShutdownOptions, TroupeEvents } from './events/TroupeEvents.js';
import { StartGate } from './startup/StartGate.js';
import { Supervisor } from './supervision/Supervisor.js';

interface Live {
  readonly core: RunnerCore;
  readonly runner: Runner;
}

/**
 * The root of a Troupe: spawns supervised runners, owns the resource
 * manager, the error handler, the supervisor and the shutdown coordinator,
 * and emits typed lifecycle events. It wires them together and decides
 * nothing itself: admission, restarts, escalation, recovery and the
 * shutdown phases are the statecharts'. Create it with `createTroupe()`.
 */
export class Troupe {
  readonly nodeId: string;
  readonly #options: ReturnType<typeof parseTroupeOptions>;
  readonly #logger: Logger;
  readonly #inspect: InspectionHub;
  readonly #phaseListeners = new Set<(phase: ShutdownPhase) => void>();
  readonly #events: TroupeEmitter<TroupeEvents>;
  readonly #runners = new Map<string, Live>();
  /** Failed runners, reported by health (and the shutdown report) until their id is spawned again. */
  readonly #failed = new Map<string, { target: ProbeTarget; summary: RunnerSummary }>();
  readonly #resources: ResourceManager;
  readonly #errors: ErrorHandler;
  readonly #metrics: MetricsHub;
  readonly #supervisor: Supervisor;
  readonly #coordinator: ShutdownCoordinator;
  readonly #health: HealthMonitor;
  readonly #startGate: StartGate;
  readonly #nextRunnerId: () => string;
  readonly #signalHandlers = new Map<NodeJS.Signals, () => void>();
  readonly #report: Promise<ShutdownReport>;
  readonly #host: RunnerHost;
  /** Task counts and threads of runners that are gone. */
  #gone: { tasks: TaskTotals; started: number; exited: number } = {
    tasks: NO_TASKS,
    started: 0,
    exited: 0,
  };
  #reason: string | null = null;
  readonly #http: TroupeHttp;
  /** A signal began or forced the shutdown: `signalExit` applies. */
  #bySignal = false;
  #wantsTaskEvents = false;
  #atSignal: (TaskTotals & { unsettled: number }) | null = null;
  #atSignalRunners: Live[] = [];
  #closeReport: ResourceCloseReport | null = null;

  /** Use `createTroupe()`; `new Troupe(options)` is the same. */
  constructor(options: TroupeOptions = {}) {
    const resolved = parseTroupeOptions(options);
    this.#options = resolved;
    this.nodeId = resolved.nodeId ?? createNodeId();
    // Every record carries the node's id; each actor's child adds its own.
    this.#logger = toLogger(resolved.logger ?? silentLogger).child({ nodeId: this.nodeId });
    this.#inspect = new InspectionHub({
      initial: resolved.inspect,
      onError: (error) => {
        this.#listenerFailed(error, 'inspect', {});
      },
    });
    this.#nextRunnerId = idSequence(`${this.nodeId}/runner`);
    this.#startGate = new StartGate(
      resolved.maxConcurrentStarts ?? Math.max(4, availableParallelism() * 4),
    );
    this.#events = new TroupeEmitter<TroupeEvents>({
      onListenerError: (error, event) => {
        if (event === 'error') {
          // Reporting it would call the 'error' listeners again.
          this.#logger.error({ err: error }, "an 'error' listener threw");
          return;
        }
        this.#listenerFailed(error, `troupe.on('${event}')`, {});
      },
      onChange: () => {
        this.#wantsTaskEvents = this.#events.listenerCount('task:settled') > 0;
      },
    });
    this.#metrics = new MetricsHub({
      defaultMetrics: resolved.metrics.defaultMetrics,
      source: {
        runners: () => this.#live(),
        failed: () => [...this.#failed.keys()],
        health: () => this.#health.current(),
        resources: () => this.#resources.list(),
      },
    });
    this.#errors = new ErrorHandler({
      logger: this.#logger,
      ringSize: resolved.errors.ringSize,
      windowMs: resolved.errors.windowMs,
      policies: resolved.errors.policies,
      ...(resolved.errors.classify === undefined
        ? {}
        : { classify: resolved.errors.classify as unknown as Classifier }),
      emit: (record) => {
        this.#metrics.error(record);
        this.#events.emit('error', record);
      },
      escalate: (record) => {
        this.#supervisor.escalate(record);
      },
      phase: () => this.#coordinator.phase,
    });
    this.#supervisor = new Supervisor({
      escalation: resolved.errors.escalation,
      recovery: resolved.health.recovery,
      logger: this.#logger.child({ component: 'supervisor' }),
      inspect: this.#inspect,
      onError: (error) => {
        this.#reportError(error, { component: 'supervisor', operation: 'actor' });
      },
      effects: {
        alert: (alert) => {
          this.#logger[alert.kind === 'health' ? 'warn' : 'error'](
            { alert },
            `alert: ${alert.message}`,
          );
          this.#events.emit('alert', alert);
        },
        beginShutdown: (reason) => {
          void this.shutdown({ reason });
        },
        restartRunner: (runnerId, error, record) => {
          this.#runners.get(runnerId)?.core.restart(error, record);
        },
        stopRunner: (runnerId) => {
          this.#runners
            .get(runnerId)
            ?.core.stop()
            .catch((error: unknown) => {
              this.#reportError(error, { component: 'health', operation: 'probe', runnerId });
            });
        },
      },
    });
    const phaseOf = (): ShutdownPhase => this.phase;
    this.#resources = new ResourceManager({
      logger: this.#logger,
      inspect: this.#inspect,
      phases: {
        get phase() {
          return phaseOf();
        },
        onPhase: (listener) => {
          this.#phaseListeners.add(listener);
          return () => {
            this.#phaseListeners.delete(listener);
          };
        },
      },
      isReserved: (id) => this.#runners.has(id),
      onError: (error) => {
        this.#reportError(error, { component: 'resources', operation: 'open' });
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
    const { signalingMs, drainingMs, closingMs, forceMs, readinessDelayMs } = resolved.shutdown;
    this.#coordinator = new ShutdownCoordinator({
      deadlines: { signalingMs, drainingMs, closingMs, forceMs, readinessDelayMs },
      logger: this.#logger.child({ component: 'shutdown' }),
      inspect: this.#inspect,
      work: {
        signal: () => this.#signalPhase(),
        drain: () => this.#each((core) => core.drained()),
        forceDrain: () => this.#each((core) => core.abortDrain()),
        close: () => this.#closePhase(),
        forceClose: () => this.#forceClosePhase(),
      },
      onPhase: (phase, previous) => {
        this.#metrics.phase(phase, previous);
        for (const listener of this.#phaseListeners) {
          try {
            listener(phase);
          } catch (error) {
            this.#listenerFailed(error, 'http server phase', {});
          }
        }
        this.#events.emit('shutdown:phase', {
          phase,
          previous,
          reason: this.#reason ?? 'shutdown',
        });
      },
      onError: (error) => {
        this.#reportError(error, { component: 'shutdown', operation: 'shutdown' });
      },
    });
    this.#report = this.#coordinator.outcome.then((outcome) => {
      for (const [signal, handler] of this.#signalHandlers) process.off(signal, handler);
      this.#signalHandlers.clear();
      this.#supervisor.stop();
      const report = shutdownReport({
        nodeId: this.nodeId,
        outcome,
        close: this.#closeReport,
        runners: [
          ...[...this.#failed.values()].map(({ summary }) => ({
            id: summary.id,
            state: summary.state,
            restarts: summary.restarts,
            forced: summary.forced,
          })),
          ...this.#atSignalRunners.map(({ core }) => ({
            id: core.id,
            state: core.state,
            restarts: core.stats().restarts,
            forced: core.forced,
          })),
        ],
        tasks: this.#totals(),
        atSignal: this.#atSignal,
        threads: this.#threadTotals(),
      });
      this.#exitAfterSignal(report);
      this.#metrics.phasesDone(report.phases);
      this.#logger.info(
        { report: { ...report, resources: { ...report.resources, details: undefined } } },
        'shutdown complete',
      );
      return report;
    });
    this.#host = this.#makeHost();
    this.#health = new HealthMonitor(
      {
        logger: this.#logger,
        runners: () => [
          ...[...this.#runners.values()].map(({ core }) => core),
          ...[...this.#failed.values()].map(({ target }) => target),
        ],
        errorRatePerMin: (runnerId) => this.#errors.ratePerMin(runnerId),
        resourceFailed: (target) => {
          const ids = [
            ...(this.#runners.get(target.id)?.core.spec.dependsOn ?? []),
            ...target.threadIds.map((t) => `${target.id}/thread-${t}`),
          ];
          return ids.some((id) => {
            const state = this.#resources.state(id);
            return state === 'failed' || state === 'forced';
          });
        },
        phase: () => this.#coordinator.phase,
        ready: () => this.ready,
        emitReport: (report) => {
          this.#events.emit('health', report);
        },
        onPersistentlyUnhealthy: (target, _health, error) => {
          this.#unhealthy(target.id, error);
        },
      },
      resolved.health,
    );
    this.#health.start();
    const metrics = this.#metrics;
    const readyOf = (): boolean => this.ready;
    const reasonOf = (): string | null => this.#reason;
    this.#http = new TroupeHttp({
      troupe: this,
      nodeId: this.nodeId,
      get phase() {
        return phaseOf();
      },
      get ready() {
        return readyOf();
      },
      get reason() {
        return reasonOf();
      },
      resources: this.#resources,
      metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
      reportError: (error) => {
        this.#reportError(error, { component: 'http', operation: 'listen' });
      },
    });
    for (const signal of resolved.signals) {
      const handler = (): void => {
        this.#bySignal = true;
        if (this.phase === 'running') {
          this.#logger.info({ signal, phase: this.phase }, 'signal received: shutting down');
          void this.shutdown({ reason: signal });
          return;
        }
        // A second signal: whatever began the shutdown, it is forced now.
        this.#logger.warn(
          { signal, phase: this.phase },
          'signal received again: forcing the shutdown',
        );
        void this.shutdown({ reason: signal, force: true });
      };
      this.#signalHandlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  /**
   * Watches every actor of this troupe, from now on, as XState inspection
   * events: first, for each live actor (runners, their thread channels and
   * invoked actors, resources, the shutdown coordinator, the supervisor),
   * an `@xstate.actor` event (its `actorRef`, whose `logic` is the machine
   * with its definition) and its current `@xstate.snapshot` (event
   * `troupe.inspect.replay`), then every event as it happens. Events are
   * delivered on the next turn, never inside an actor's step: an observer
   * that is slow or throws cannot slow or break the troupe (one that falls
   * 50,000 events behind gets the current state again instead). Costs
   * nothing while no one watches. Returns the unsubscribe function.
   *
   * @example
   * ```ts
   * const stop = troupe.inspect((event) => {
   *   if (event.type === '@xstate.snapshot') console.log(event.actorRef.id, event.snapshot);
   * });
   * ```
   */
  inspect(observer: InspectOption): () => void {
    return this.#inspect.subscribe(observer);
  }

  /**
   * Watches an actor made outside the troupe (a cluster's node actors, an
   * app's own machine) like the troupe's own: it is in `troupe.inspect()`,
   * the Stately inspector and the dashboard while it is live. Call it right
   * after `createActor()`, before `start()`. A stopped or done actor is
   * dropped by itself. The troupe never stops it: its owner does.
   *
   * @example
   * ```ts
   * const actor = createActor(orderMachine, { id: 'orders' });
   * troupe.track(actor);
   * actor.start();
   * ```
   */
  track(actor: AnyActorRef): void {
    this.#inspect.track(actor);
  }

  /**
   * The troupe's probes as a `node:http` request listener, to mount in your
   * own server (Express, Fastify, Koa take one): `GET /livez` is 200 until
   * the process exits (503 once the troupe shut itself down on an
   * escalation); `GET /readyz` is 200 while running and 503 from SIGNALING
   * on; `GET /metrics` is the Prometheus text when the troupe has metrics.
   * Both probes answer JSON with the reason. `prefix` mounts them under a
   * path (`/ops/livez`). `dashboard: true` (needs `@troupe/dashboard`) also
   * serves the live dashboard at `<prefix>/dashboard/`, its WebSocket
   * included (upgrades of the server that mounts the handler are taken on
   * its first request); `{ controls: true }` lets pages on loopback stop or
   * restart runners and start the shutdown.
   *
   * @example
   * ```ts
   * http.createServer(troupe.httpHandler()).listen(9090);
   * ```
   */
  httpHandler(
    options: { readonly prefix?: string; readonly dashboard?: DashboardOption } = {},
  ): (req: IncomingMessage, res: ServerResponse) => void {
    return this.#http.handler(options);
  }

  /**
   * Serves {@link httpHandler} on a server of its own (host 127.0.0.1 unless
   * given; port 0 picks a free one), registered as the resource `id`
   * (default `'http'`): the shutdown closes it in CLOSING, after the
   * probes said not ready from SIGNALING on.
   */
  listen(
    options: {
      readonly port?: number;
      readonly host?: string;
      readonly id?: string;
      /** Also serve the dashboard at `<url>/dashboard/` (needs `@troupe/dashboard`). */
      readonly dashboard?: DashboardOption;
    } = {},
  ): Promise<{ readonly url: string; close(): Promise<void> }> {
    return this.#http.listen(options);
  }

  /** The shutdown phase: `running`, `signaling`, `draining`, `closing` or `stopped`. */
  get phase(): ShutdownPhase {
    return this.#coordinator.phase;
  }

  /** Readiness: true until the shutdown begins (the coordinator's `ready` tag). */
  get ready(): boolean {
    return this.#coordinator.ready;
  }

  /** The resource manager: register resources to close in dependency order. */
  get resources(): ResourceRegistry {
    return this.#resources;
  }

  /**
   * The troupe's Prometheus metrics, in a registry of its own: serve
   * `await troupe.metrics.text()` with `troupe.metrics.contentType`.
   */
  get metrics(): TroupeMetrics {
    return this.#metrics;
  }

  /** The error handler: statistics and recent records. */
  get errors(): ErrorRegistry {
    return this.#errors;
  }

  /** Live runners (not yet stopped or failed). */
  get runners(): readonly Runner[] {
    return [...this.#runners.values()].map(({ runner }) => runner);
  }

  /** The live runner with this id, if any. */
  runner(id: string): Runner | undefined {
    return this.#runners.get(id)?.runner;
  }

  /** The shutdown coordinator's statechart, read-only. */
  get shutdownActor(): ActorView<ShutdownSnapshot> {
    return this.#coordinator.view;
  }

  /** Subscribes to a typed lifecycle event. */
  on<E extends keyof TroupeEvents>(event: E, listener: (...args: TroupeEvents[E]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Subscribes once (per event: the same listener may be `once` on several). */
  once<E extends keyof TroupeEvents>(event: E, listener: (...args: TroupeEvents[E]) => void): this {
    this.#events.once(event, listener);
    return this;
  }

  /** Unsubscribes (also a listener added with `once`). */
  off<E extends keyof TroupeEvents>(event: E, listener: (...args: TroupeEvents[E]) => void): this {
    this.#events.off(event, listener);
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
    if (this.phase !== 'running') throw shutdownRefusal(this.nodeId, this.phase, this.#reason);
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
    const core = new RunnerCore(id, resolved, this.#host);
    // Registering the runner's resource reserves its id and checks dependsOn.
    this.#resources.registerInternal([
      {
        id,
        kind: 'runner',
        dependsOn: resolved.dependsOn,
        close: () => core.close(),
        closeTimeoutMs: this.#options.shutdown.closingMs,
      },
    ]);
    const live: Live = { core, runner: runnerFacade(core) };
    this.#runners.set(id, live);
    this.#failed.delete(id);
    void core.final.then(() => {
      this.#onFinal(live);
    });
    try {
      await core.start();
    } catch (error) {
      // It may still drain what it accepted while starting (stopped before
      // it was ready): its resource goes once it is done, and then its id is free.
      await core.final;
      await this.#resources.release(id);
      throw error;
    }
    this.#resources.markOpen(id);
    return live.runner;
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
   * Shuts everything down: SIGNALING (admission closes, runners told and
   * acknowledging), DRAINING (tasks accepted earlier finish; aborted at the
   * deadline), CLOSING (teardown, resources in dependency order, threads
   * exit, ports close). Idempotent: every call gets the same promise, which
   * resolves with the {@link ShutdownReport} once every thread exited.
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownReport> {
    this.#reason ??= options.reason ?? 'shutdown';
    if (options.force === true) this.#coordinator.force(this.#reason, options.gate);
    else this.#coordinator.begin(this.#reason, options.gate);
    return this.#report;
  }

  /** A shutdown begun or forced by a signal sets the exit code (`signalExit`): 0 clean, 1 forced. */
  #exitAfterSignal(report: ShutdownReport): void {
    const how = this.#options.signalExit;
    if (!this.#bySignal || how === 'none') return;
    const code = report.forced ? 1 : 0;
    process.exitCode = code;
    if (how === 'exit') {
      // After the callers of shutdown() saw the report.
      setImmediate(() => process.exit(code));
    }
  }

  /** `await using troupe = createTroupe()` shuts it down at scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ reason: 'dispose' });
  }

  // ---- wiring ------------------------------------------------------------------

  #makeHost(): RunnerHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter below reads live state
    const troupe = this;
    return {
      nodeId: this.nodeId,
      logger: this.#logger,
      inspect: this.#inspect,
      resources: this.#resources,
      startGate: this.#startGate,
      createPool: createThreadPool,
      signalingMs: this.#options.shutdown.signalingMs,
      drainingMs: this.#options.shutdown.drainingMs,
      get wantsTaskEvents() {
        return troupe.#wantsTaskEvents;
      },
      retryBackoff: {
        baseMs: this.#options.errors.retry.baseMs,
        capMs: this.#options.errors.retry.capMs,
      },
      phase: () => this.#coordinator.phase,
      admits: () => this.#coordinator.admits,
      shutdownReason: () => this.#reason,
      reportError: (error, context) => this.#reportError(error, context),
      resolveErrors: (records, how) => {
        this.#errors.resolve(records, how);
      },
      listenerFailed: (error, listener, context) => {
        this.#listenerFailed(error, listener, context);
      },
      isRetryable: (error, context) => {
        const { action } = this.#errors.classify(error, {
          component: 'runner',
          ...context,
          phase: this.#coordinator.phase,
        });
        return action === 'RETRY' || action === 'RESTART';
      },
      emitState: (runnerId, state, previous) => {
        this.#events.emit('runner:state', { runnerId, state, previous });
      },
      emitTaskSettled: (event) => {
        this.#events.emit('task:settled', event);
      },
      alert: (alert) => {
        this.#logger.warn({ alert }, `alert: ${alert.message}`);
        this.#events.emit('alert', alert);
      },
      taskDurations: (runnerId) => this.#metrics.durations(runnerId),
      refusedAfterFinal: (runnerId) => {
        this.#metrics.refusedAfterFinal(runnerId);
        const tasks = this.#gone.tasks;
        this.#gone = {
          ...this.#gone,
          tasks: { ...tasks, submitted: tasks.submitted + 1, rejected: tasks.rejected + 1 },
        };
      },
    };
  }

  #reportError(error: unknown, context: TroupeErrorContext): ErrorRecord {
    return this.#errors.report(error, { ...context, phase: this.phase });
  }

  #listenerFailed(error: unknown, listener: string, context: TroupeErrorContext): void {
    const why = error instanceof Error ? error.message : String(error);
    this.#reportError(
      new ListenerFailedError(`a listener threw (${listener}): ${why}`, {
        cause: error,
        context: { ...context, listener, operation: 'listen' },
      }),
      { ...context, component: 'events', operation: 'listen' },
    );
  }

  #unhealthy(runnerId: string, error: UnhealthyError): void {
    const record = this.#reportError(error, { component: 'health', operation: 'probe', runnerId });
    this.#supervisor.unhealthy(runnerId, error, record);
  }

  #onFinal(live: Live): void {
    const { core } = live;
    if (this.#runners.get(core.id) === live) this.#runners.delete(core.id);
    const summary = core.summary;
    if (summary === null) return;
    this.#metrics.retire(summary.stats);
    this.#gone = {
      tasks: addTasks(this.#gone.tasks, summary.stats),
      started: this.#gone.started + summary.threads.started,
      exited: this.#gone.exited + summary.threads.exited,
    };
    if (this.#coordinator.phase !== 'running') return;
    // It ended on its own (failed, or a normal exit): its id is free again.
    void this.#resources.release(core.id);
    if (summary.state === 'failed') {
      this.#failed.set(core.id, { target: failedTarget(summary, core.spec.threads), summary });
    } else {
      this.#errors.forget(core.id);
    }
  }

  #live(): RunnerCore[] {
    return [...this.#runners.values()].map(({ core }) => core);
  }

  #totals(): TaskTotals {
    let totals = this.#gone.tasks;
    for (const core of this.#live()) totals = addTasks(totals, core.stats());
    return totals;
  }

  #threadTotals(): { started: number; exited: number } {
    let { started, exited } = this.#gone;
    for (const core of this.#live()) {
      started += core.threadCounts.started;
      exited += core.threadCounts.exited;
    }
    return { started, exited };
  }

  async #each(work: (core: RunnerCore) => Promise<void>): Promise<void> {
    await Promise.all(this.#live().map(work));
  }

  // ---- the work of the shutdown phases -------------------------------------------

  async #signalPhase(): Promise<void> {
    this.#health.stop();
    this.#supervisor.standDown();
    this.#atSignalRunners = [...this.#runners.values()];
    const live = this.#live();
    this.#atSignal = {
      ...this.#totals(),
      unsettled: live.reduce((n, core) => n + core.executor.load, 0),
    };
    await Promise.all(live.map((core) => core.signalShutdown()));
  }

  async #closePhase(): Promise<void> {
    this.#closeReport = await this.#resources.closeAll();
    await this.#each((core) => core.final);
  }

  /**
   * The closing deadline passed, or a force skipped the orderly close:
   * threads are terminated, every resource not closed yet starts closing
   * now, and the close report does not wait for the stragglers.
   */
  async #forceClosePhase(): Promise<void> {
    for (const core of this.#live()) core.force();
    // Idempotent: the close phase's own, or (after a force) started here.
    const closing = this.#resources.closeAll();
    this.#resources.forceRemaining();
    this.#closeReport = await closing;
    await this.#each((core) => core.final);
  }
}

/** Parses `createTroupe()`'s options (ERR_INVALID_CONFIG names the field and the value). */
function parseTroupeOptions(options: TroupeOptions) {
  return parseWith(troupeOptionsSchema, options, 'options');
}
