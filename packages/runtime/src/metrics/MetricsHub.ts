import type { ResourceState, ShutdownPhase } from '@troupe/core';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ErrorRecord } from '../errors/ErrorHandler.js';
import type { HealthReport } from '../health/HealthMonitor.js';
import type { ResourceInfo } from '../resources/types.js';
import type { RunnerStats } from '../runner/types.js';
import { TaskDurationHistogram, TaskDurations } from './TaskDurations.js';
import type { TroupeMetrics } from './TroupeMetrics.js';

/** A live runner as the metrics read it (a `RunnerCore`). */
export interface MetricsRunner {
  readonly id: string;
  stats(): RunnerStats;
  /** Threads being started in place of lost ones. */
  readonly replacingThreads: number;
}

/** What the metrics read from the troupe when scraped. */
export interface MetricsSource {
  /** Runners not yet stopped or failed. */
  runners(): readonly MetricsRunner[];
  /** Failed runners still reported by health (`troupe_runner_up` 0). */
  failed(): readonly string[];
  health(): HealthReport;
  resources(): readonly ResourceInfo[];
}

export interface MetricsHubOptions {
  readonly source: MetricsSource;
  readonly defaultMetrics: boolean;
  readonly now?: () => number;
}

type Outcome = 'completed' | 'failed' | 'aborted' | 'rejected';

const OUTCOMES: readonly Outcome[] = ['completed', 'failed', 'aborted', 'rejected'];
const RESOURCE_STATES: readonly ResourceState[] = [
  'registered',
  'open',
  'closing',
  'closed',
  'failed',
  'forced',
];

interface Retired {
  completed: number;
  failed: number;
  aborted: number;
  rejected: number;
  restarts: number;
}

/**
 * The troupe's Prometheus metrics, in a registry of its own. The task path
 * pays one `observe()` on a preallocated {@link TaskDurations} per settled
 * task; everything else is read when scraped: task outcomes and restarts
 * from the runners' own counters (`runner.stats()`), in-flight and queued
 * tasks, runner and thread states, health scores and resource states. Only
 * errors and shutdown phases are recorded as they happen.
 */
export class MetricsHub implements TroupeMetrics {
  readonly registry = new Registry();
  readonly #source: MetricsSource;
  readonly #now: () => number;
  /** Counts of runners that are gone, per runner id (a re-spawned id goes on from them). */
  readonly #retired = new Map<string, Retired>();
  readonly #durations = new Map<string, TaskDurations>();
  readonly #errors: Counter<'code' | 'severity' | 'action'>;
  readonly #phases = new Map<string, number>();
  #phase: { name: string; since: number } | null = null;

  constructor(options: MetricsHubOptions) {
    this.#source = options.source;
    this.#now = options.now ?? performance.now.bind(performance);
    const registers = [this.registry];
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- collect() callbacks get the metric as `this`
    const hub = this;

    new Counter({
      name: 'troupe_tasks_total',
      help: 'Tasks settled or refused, by runner and outcome (completed, failed, aborted, rejected).',
      labelNames: ['runner', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const [runner, counts] of hub.#counts()) {
          for (const outcome of OUTCOMES) this.inc({ runner, outcome }, counts[outcome]);
        }
      },
    });
    this.registry.registerMetric(new TaskDurationHistogram(this.#durations).asMetric());
    new Gauge({
      name: 'troupe_tasks_in_flight',
      help: 'Accepted tasks a thread is running now.',
      labelNames: ['runner'],
      registers,
      collect() {
        this.reset();
        for (const core of hub.#source.runners())
          this.set({ runner: core.id }, core.stats().inFlight);
      },
    });
    new Gauge({
      name: 'troupe_tasks_queued',
      help: 'Accepted tasks waiting for a thread now (the queue depth).',
      labelNames: ['runner'],
      registers,
      collect() {
        this.reset();
        for (const core of hub.#source.runners())
          this.set({ runner: core.id }, core.stats().queued);
      },
    });
    new Gauge({
      name: 'troupe_runner_up',
      help: '1 while the runner serves (ready or busy), else 0.',
      labelNames: ['runner'],
      registers,
      collect() {
        this.reset();
        for (const core of hub.#source.runners()) {
          const { state } = core.stats();
          this.set({ runner: core.id }, state === 'ready' || state === 'busy' ? 1 : 0);
        }
        for (const runner of hub.#source.failed()) this.set({ runner }, 0);
      },
    });
    new Gauge({
      name: 'troupe_runner_health_score',
      help: "The runner's health score (0..1) as of its last probe.",
      labelNames: ['runner'],
      registers,
      collect() {
        this.reset();
        for (const runner of hub.#source.health().runners) {
          this.set({ runner: runner.id }, runner.score);
        }
      },
    });
    new Counter({
      name: 'troupe_runner_restarts_total',
      help: 'Restarts of the runner: a crashed thread replaced, or its pool restarted whole.',
      labelNames: ['runner'],
      registers,
      collect() {
        this.reset();
        for (const [runner, counts] of hub.#counts()) this.inc({ runner }, counts.restarts);
      },
    });
    new Gauge({
      name: 'troupe_threads',
      help: "The runner's threads: up (serving) or replacing (being started in place of lost ones).",
      labelNames: ['runner', 'state'],
      registers,
      collect() {
        this.reset();
        for (const core of hub.#source.runners()) {
          this.set({ runner: core.id, state: 'up' }, core.stats().threads);
          this.set({ runner: core.id, state: 'replacing' }, core.replacingThreads);
        }
      },
    });
    this.#errors = new Counter({
      name: 'troupe_errors_total',
      help: 'Errors the runtime handled, by code, severity and recovery action.',
      labelNames: ['code', 'severity', 'action'],
      registers,
    });
    new Gauge({
      name: 'troupe_resources',
      help: 'Registered resources (runners, threads and channels included), by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = new Map<string, number>(RESOURCE_STATES.map((state) => [state, 0]));
        for (const resource of hub.#source.resources()) {
          counts.set(resource.state, (counts.get(resource.state) ?? 0) + 1);
        }
        for (const [state, count] of counts) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'troupe_shutdown_phase_duration_seconds',
      help: 'How long each shutdown phase took (the phase in progress: so far), in seconds.',
      labelNames: ['phase'],
      registers,
      collect() {
        this.reset();
        for (const [phase, seconds] of hub.#phases) this.set({ phase }, seconds);
        const current = hub.#phase;
        if (current !== null) {
          this.set({ phase: current.name }, (hub.#now() - current.since) / 1000);
        }
      },
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  // ---- what the troupe feeds in -------------------------------------------------

  /** The durations of a runner's tasks (one per runner id, kept across re-spawns). */
  durations(runnerId: string): TaskDurations {
    let durations = this.#durations.get(runnerId);
    if (durations === undefined) {
      durations = new TaskDurations();
      this.#durations.set(runnerId, durations);
    }
    return durations;
  }

  /** Every error record the error handler emits. */
  error(record: ErrorRecord): void {
    this.#errors.inc({ code: record.code, severity: record.severity, action: record.action });
  }

  /** The shutdown entered `phase`: the phase before it is over. */
  phase(phase: ShutdownPhase, previous: ShutdownPhase): void {
    const now = this.#now();
    if (this.#phase !== null && this.#phase.name === previous) {
      this.#phases.set(previous, (now - this.#phase.since) / 1000);
    }
    this.#phase = phase === 'stopped' || phase === 'running' ? null : { name: phase, since: now };
  }

  /** The shutdown report's timings, once it is done (the exact figures of the report). */
  phasesDone(phases: Readonly<Record<string, { readonly durationMs: number }>>): void {
    this.#phase = null;
    for (const [phase, timing] of Object.entries(phases)) {
      this.#phases.set(phase, timing.durationMs / 1000);
    }
  }

  /** A runner is done: its counts are kept under its id. */
  retire(stats: RunnerStats): void {
    const retired = this.#retiredOf(stats.id);
    retired.completed += stats.completed;
    retired.failed += stats.failed;
    retired.aborted += stats.aborted;
    retired.rejected += stats.rejected;
    retired.restarts += stats.restarts;
  }

  /** A `run()` on a runner that is done: refused. */
  refusedAfterFinal(runnerId: string): void {
    this.#retiredOf(runnerId).rejected += 1;
  }

  // ---- reading --------------------------------------------------------------------

  #retiredOf(runnerId: string): Retired {
    let retired = this.#retired.get(runnerId);
    if (retired === undefined) {
      retired = { completed: 0, failed: 0, aborted: 0, rejected: 0, restarts: 0 };
      this.#retired.set(runnerId, retired);
    }
    return retired;
  }

  /** Counts per runner id: those of runners gone plus the live runner's own. */
  #counts(): Map<string, Retired> {
    const counts = new Map<string, Retired>();
    for (const [id, retired] of this.#retired) counts.set(id, { ...retired });
    for (const core of this.#source.runners()) {
      const stats = core.stats();
      const sum = counts.get(core.id) ?? {
        completed: 0,
        failed: 0,
        aborted: 0,
        rejected: 0,
        restarts: 0,
      };
      sum.completed += stats.completed;
      sum.failed += stats.failed;
      sum.aborted += stats.aborted;
      sum.rejected += stats.rejected;
      sum.restarts += stats.restarts;
      counts.set(core.id, sum);
    }
    return counts;
  }
}
