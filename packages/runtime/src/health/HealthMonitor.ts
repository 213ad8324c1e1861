import {
  UnhealthyError,
  errorComponent,
  healthLevel,
  healthScore,
  statusComponent,
  taskComponent,
  type HealthComponents,
  type HealthThresholds,
  type HealthWeights,
  type RunnerState,
  type ShutdownPhase,
} from '@troupe/core';
import type { ProbeAnswer } from '../channel/ThreadChannels.js';
import type { Logger } from '../logger.js';
import type { RunTimeSummary } from '../pool/ThreadPool.js';
import type { RunnerStats } from '../runner/types.js';
import type { QueueWaitWindow } from '../task/QueueWaits.js';

/** How loaded a runner is, as of now. */
export interface RunnerLoad {
  /** Threads busy with a task. */
  readonly running: number;
  /** When the oldest task still queued was queued (`performance.now()`), or null. */
  readonly oldestQueuedAt: number | null;
}

/** What the health monitor probes: a runner, seen through what it can tell. */
export interface ProbeTarget {
  readonly id: string;
  readonly state: RunnerState;
  /** Threads the runner should have. */
  readonly threadCount: number;
  /** Threads alive and serving. */
  readonly threadIds: readonly number[];
  /** Threads being brought up in place of lost ones (within the runner's startup deadline). */
  readonly replacingThreads: number;
  stats(): RunnerStats;
  /** Pings every thread (at most one ping in flight per thread). */
  probe(timeoutMs: number): Promise<ProbeAnswer[]>;
  runTime(): RunTimeSummary | null;
  /** When the task this thread runs started (`performance.now()`), or null when it runs none. */
  busySince(threadId: number): number | null;
  load(): RunnerLoad;
  /** Queue waits of the tasks that reached a thread since the last call (a new window starts). */
  takeQueueWaits(): QueueWaitWindow;
  /**
   * This thread answered no probe for `silentMs` (≥ `hungAfterMs`) while
   * running a task: the runner's statechart decides what to do about it.
   */
  threadHung(threadId: number, silentMs: number, hungAfterMs: number): void;
}

const NO_WAITS: QueueWaitWindow = Object.freeze({ count: 0, p90: 0, max: 0 });

/** A runner that failed, as the monitor sees it once its threads are gone. */
export function failedTarget(
  runner: { readonly id: string; readonly state: RunnerState; readonly stats: RunnerStats },
  threadCount: number,
): ProbeTarget {
  return {
    id: runner.id,
    state: runner.state,
    threadCount,
    threadIds: [],
    replacingThreads: 0,
    stats: () => runner.stats,
    probe: () => Promise.resolve([]),
    runTime: () => null,
    busySince: () => null,
    load: () => ({ running: 0, oldestQueuedAt: null }),
    takeQueueWaits: () => NO_WAITS,
    threadHung: () => {},
  };
}

/** A health status: `stopped` once the runner (or the troupe) is down. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy' | 'stopped';

/** Latency figures of a runner's tasks (piscina's run-time histogram), in ms. */
export interface LatencyFigures {
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Health of one runner, as of its last probe. */
export interface RunnerHealth {
  readonly id: string;
  readonly state: RunnerState;
  readonly score: number;
  readonly status: HealthStatus;
  readonly components: HealthComponents;
  readonly threads: {
    readonly expected: number;
    readonly alive: number;
    /** Answered the probe in time. */
    readonly responsive: number;
    /** Did not answer, but runs a task for less than `hungAfterMs` since its last answer: presumed busy. */
    readonly busy: number;
    /**
     * Did not answer: running a task, for `hungAfterMs` since its last
     * answer (such a thread is handed to its runner, which terminates and
     * replaces it: from then on it counts as being replaced), or running
     * none at all.
     */
    readonly hung: number;
    /**
     * Being started in place of lost threads, within the runner's
     * `startupTimeoutMs` (past it the runner restarts its pool itself):
     * counted as serving, so a crash being recovered from is not read as
     * a runner to restart.
     */
    readonly replacing: number;
  };
  readonly tasks: {
    readonly inFlight: number;
    readonly queued: number;
    readonly completed: number;
    readonly failed: number;
    /** Tasks settled per second since the previous probe. */
    readonly completionPerSec: number;
    readonly latencyMs: LatencyFigures | null;
    /** Threads busy with a task over the threads the runner keeps, 0..1. */
    readonly utilisation: number;
    /**
     * How long tasks wait for a thread, in ms: the oldest task still
     * queued, and the p90 and max of the tasks that reached a thread since
     * the previous probe. The task component scores the larger of `oldest`
     * and `p90` against `thresholds.queueWaitMs`.
     */
    readonly queueWaitMs: { readonly oldest: number; readonly p90: number; readonly max: number };
  };
  readonly errorRatePerMin: number;
  /** Consecutive unhealthy probes (recovery acts at `thresholds.unhealthyProbes`). */
  readonly unhealthyProbes: number;
  readonly probedAt: number | null;
}

/** `troupe.health()` and the `health` event. Plain data. */
export interface HealthReport {
  readonly score: number;
  readonly status: HealthStatus;
  /** Readiness: false from SIGNALING on. */
  readonly ready: boolean;
  readonly phase: ShutdownPhase;
  readonly at: number;
  readonly runners: readonly RunnerHealth[];
}

/** Resolved health options. */
export interface HealthOptions {
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly probeTimeoutMs: number;
  readonly weights: HealthWeights;
  readonly thresholds: HealthThresholds & {
    readonly errorRatePerMin: number;
    readonly unhealthyProbes: number;
    readonly hungAfterMs: number;
    readonly queueWaitMs: number;
  };
  readonly recovery: 'restart' | 'stop' | 'none';
}

/** One thread as the monitor follows it. */
interface ThreadTracking {
  /** When it last answered a probe (or was first seen), `performance.now()`. */
  answeredAt: number;
  /** Handed to its runner as hung: not again. */
  reported: boolean;
}

interface Tracking {
  settled: number;
  readonly threads: Map<number, ThreadTracking>;
  lastProbeAt: number;
  unhealthyProbes: number;
  health: RunnerHealth | null;
}

/** What the monitor needs from its troupe. */
export interface HealthHost {
  readonly logger: Logger;
  /** Runners to report on: the live ones, and failed ones until their id is spawned again. */
  runners(): readonly ProbeTarget[];
  errorRatePerMin(runnerId: string): number;
  /** True when a resource the runner owns or uses failed or was forced. */
  resourceFailed(runner: ProbeTarget): boolean;
  phase(): ShutdownPhase;
  ready(): boolean;
  emitReport(report: HealthReport): void;
  /** A runner stayed unhealthy for `unhealthyProbes` probes: alert, then recover. */
  onPersistentlyUnhealthy(runner: ProbeTarget, health: RunnerHealth, error: UnhealthyError): void;
}

/**
 * Probes every runner on an interval: threads alive and answering over
 * their channel, the runner's state, its resources, its recent error rate,
 * its saturation (utilisation, queue waits), plus task figures (pending,
 * completion rate, latency percentiles). Score = weighted sum
 * (0.4·process + 0.15·status + 0.15·resource + 0.15·error + 0.15·tasks by
 * default). A runner unhealthy for `unhealthyProbes` probes in a row raises
 * an alert and is recovered (restarted, or stopped gracefully).
 *
 * Each thread is judged on its own: one that does not answer while it
 * runs a task is presumed busy with synchronous work until it has been
 * silent for `hungAfterMs` (since its last answer, or its task's start if
 * later), whatever its siblings do; it is then hung, and handed to its
 * runner (`threadHung`), whose statechart has it terminated and replaced.
 */
export class HealthMonitor {
  readonly #host: HealthHost;
  readonly #options: HealthOptions;
  readonly #tracking = new WeakMap<ProbeTarget, Tracking>();
  #timer: NodeJS.Timeout | null = null;
  #probing: Promise<HealthReport> | null = null;
  /** The probe that starts once {@link #probing} ends. */
  #queued: Promise<HealthReport> | null = null;
  #last: HealthReport | null = null;

  constructor(host: HealthHost, options: HealthOptions) {
    this.#host = host;
    this.#options = options;
  }

  /** Starts probing on the interval (the timer never keeps the process alive). */
  start(): void {
    if (!this.#options.enabled || this.#timer !== null) return;
    this.#timer = setInterval(() => {
      this.probe().catch((error: unknown) => {
        this.#host.logger.error({ err: error }, 'health probe failed');
      });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops probing (shutdown). */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The last report, or one computed now from what is known without probing. O(runners). */
  current(): HealthReport {
    const last = this.#last;
    const runners = this.#host.runners();
    const fresh =
      last !== null &&
      last.phase === this.#host.phase() &&
      last.runners.length === runners.length &&
      last.runners.every((r, i) => runners[i]?.id === r.id && runners[i].state === r.state);
    return fresh ? last : this.#report(runners.map((r) => this.#unprobed(r)));
  }

  /**
   * Probes every runner now (one probe at a time) and emits the report. A
   * probe already running read its figures before this call, so the caller
   * gets the next one instead; callers that arrive meanwhile share it.
   */
  probe(): Promise<HealthReport> {
    if (this.#queued !== null) return this.#queued;
    const running = this.#probing;
    if (running === null) return this.#startProbe();
    const queued = running.then(
      () => this.#startQueued(),
      () => this.#startQueued(),
    );
    this.#queued = queued;
    return queued;
  }

  #startQueued(): Promise<HealthReport> {
    this.#queued = null;
    return this.#startProbe();
  }

  #startProbe(): Promise<HealthReport> {
    const probing = this.#probeAll().finally(() => {
      if (this.#probing === probing) this.#probing = null;
    });
    this.#probing = probing;
    return probing;
  }

  async #probeAll(): Promise<HealthReport> {
    const runners = this.#host.runners();
    const healths = await Promise.all(runners.map((runner) => this.#probeRunner(runner)));
    const report = this.#report(healths);
    this.#last = report;
    this.#host.emitReport(report);
    if (this.#host.phase() === 'running') {
      for (const [i, health] of healths.entries()) {
        const runner = runners[i];
        if (runner !== undefined) this.#maybeRecover(runner, health);
      }
    }
    return report;
  }

  async #probeRunner(runner: ProbeTarget): Promise<RunnerHealth> {
    const now = performance.now();
    const stats = runner.stats();
    const tracking = this.#trackingOf(runner, now);
    const settled = stats.completed + stats.failed + stats.aborted;
    const progressed = settled !== tracking.settled;
    const elapsedSec = Math.max(0.001, (now - tracking.lastProbeAt) / 1000);
    const completionPerSec = (settled - tracking.settled) / elapsedSec;
    tracking.settled = settled;
    tracking.lastProbeAt = now;

    const live = stats.state === 'ready' || stats.state === 'busy';
    const answers = live ? await runner.probe(this.#options.probeTimeoutMs) : [];
    const expected = runner.threadCount;
    const alive = live ? runner.threadIds.length : 0;
    const threads = this.#judgeThreads(runner, tracking, answers, now, stats.inFlight);
    const { responsive, busy, hung, handedOver } = threads;
    const replacing = live ? Math.min(runner.replacingThreads, Math.max(0, expected - alive)) : 0;
    // A hung thread handed to its runner is being replaced: the runner's
    // business, not a reason to restart it whole.
    const serving = responsive + busy + replacing + handedOver;
    const process = live ? Math.min(1, serving / Math.max(1, expected)) : 0;
    const errorRatePerMin = this.#host.errorRatePerMin(runner.id);
    const saturation = this.#saturationOf(runner, expected, live, true);
    const components: HealthComponents = {
      process,
      status: statusComponent(stats.state),
      resource: this.#host.resourceFailed(runner) ? 0 : 1,
      error: errorComponent(errorRatePerMin, this.#options.thresholds.errorRatePerMin),
      tasks: saturation.component,
    };
    const score = healthScore(components, this.#options.weights);
    const status = this.#statusOf(score, stats.state);
    // Only probes of a serving runner count: a start or restart runs its
    // course under the runner's own deadlines, and is not held against it
    // once it serves again.
    tracking.unhealthyProbes = live && status === 'unhealthy' ? tracking.unhealthyProbes + 1 : 0;
    const health: RunnerHealth = {
      id: runner.id,
      state: stats.state,
      score,
      status,
      components,
      threads: { expected, alive, responsive, busy, hung, replacing },
      tasks: {
        inFlight: stats.inFlight,
        queued: stats.queued,
        completed: stats.completed,
        failed: stats.failed,
        completionPerSec,
        // piscina recomputes its whole histogram on every read: only when
        // tasks settled since the last probe.
        latencyMs:
          progressed || tracking.health === null
            ? latencyOf(runner)
            : tracking.health.tasks.latencyMs,
        utilisation: saturation.utilisation,
        queueWaitMs: saturation.queueWaitMs,
      },
      errorRatePerMin,
      unhealthyProbes: tracking.unhealthyProbes,
      probedAt: Date.now(),
    };
    tracking.health = health;
    if (live && this.#host.phase() === 'running') {
      for (const { threadId, silentMs } of threads.newlyHung) {
        runner.threadHung(threadId, silentMs, this.#options.thresholds.hungAfterMs);
      }
    }
    return health;
  }

  /**
   * Each thread on its own: answered; silent while running a task (busy
   * until `hungAfterMs` since its last answer or its task's start, then
   * hung); silent running nothing (busy while the runner has tasks whose
   * thread is not known yet, else hung).
   */
  #judgeThreads(
    runner: ProbeTarget,
    tracking: Tracking,
    answers: readonly ProbeAnswer[],
    probedAt: number,
    inFlight: number,
  ) {
    const hungAfterMs = this.#options.thresholds.hungAfterMs;
    const after = performance.now();
    const seen = new Set<number>();
    const newlyHung: { threadId: number; silentMs: number }[] = [];
    let responsive = 0;
    let busy = 0;
    let hung = 0;
    let handedOver = 0;
    let withTask = 0;
    let silentIdle = 0;
    for (const answer of answers) {
      const { threadId } = answer;
      seen.add(threadId);
      let thread = tracking.threads.get(threadId);
      if (thread === undefined) {
        thread = { answeredAt: probedAt, reported: false };
        tracking.threads.set(threadId, thread);
      }
      const since = runner.busySince(threadId);
      if (since !== null) withTask += 1;
      if (answer.ok) {
        // It answered at some point after the ping went out.
        thread.answeredAt = probedAt;
        responsive += 1;
      } else if (since === null) {
        silentIdle += 1;
      } else if (thread.reported) {
        hung += 1;
        handedOver += 1;
      } else {
        const silentMs = after - Math.max(thread.answeredAt, since);
        if (silentMs >= hungAfterMs) {
          thread.reported = true;
          newlyHung.push({ threadId, silentMs });
          hung += 1;
          handedOver += 1;
        } else {
          busy += 1;
        }
      }
    }
    for (const threadId of tracking.threads.keys()) {
      if (!seen.has(threadId)) tracking.threads.delete(threadId);
    }
    // Tasks the pool placed on a thread not known yet: a silent idle thread may run one.
    const unplaced = Math.max(0, inFlight - withTask);
    const presumed = Math.min(silentIdle, unplaced);
    return {
      responsive,
      busy: busy + presumed,
      hung: hung + silentIdle - presumed,
      handedOver,
      newlyHung,
    };
  }

  /** Utilisation, queue waits and the task component (`take`: a new wait window starts). */
  #saturationOf(runner: ProbeTarget, expected: number, live: boolean, take: boolean) {
    const now = performance.now();
    const load = runner.load();
    const waits = take ? runner.takeQueueWaits() : NO_WAITS;
    const oldest = load.oldestQueuedAt === null ? 0 : Math.max(0, now - load.oldestQueuedAt);
    const queueWaitMs = { oldest, p90: waits.p90, max: Math.max(oldest, waits.max) };
    return {
      utilisation: live ? Math.min(1, load.running / Math.max(1, expected)) : 0,
      queueWaitMs,
      component: taskComponent(Math.max(oldest, waits.p90), this.#options.thresholds.queueWaitMs),
    };
  }

  #maybeRecover(runner: ProbeTarget, health: RunnerHealth): void {
    // Only a serving runner is recovered; restarts and stops run their course.
    if (health.state !== 'ready' && health.state !== 'busy') return;
    if (health.status !== 'unhealthy') return;
    if (health.unhealthyProbes < this.#options.thresholds.unhealthyProbes) return;
    const tracking = this.#tracking.get(runner);
    if (tracking !== undefined) tracking.unhealthyProbes = 0;
    const error = new UnhealthyError(
      `runner "${runner.id}" was unhealthy for ${health.unhealthyProbes} probes (score ${health.score.toFixed(2)}; threads alive ${health.threads.alive}/${health.threads.expected}, hung ${health.threads.hung}; ${health.errorRatePerMin.toFixed(1)} errors/min)`,
      {
        context: {
          runnerId: runner.id,
          score: health.score,
          hung: health.threads.hung,
          recovery: this.#options.recovery,
        },
      },
    );
    this.#host.onPersistentlyUnhealthy(runner, health, error);
  }

  #unprobed(runner: ProbeTarget): RunnerHealth {
    const tracking = this.#tracking.get(runner);
    if (tracking?.health !== undefined && tracking.health !== null) {
      const state = runner.state;
      if (state === tracking.health.state) return tracking.health;
    }
    const stats = runner.stats();
    const live = stats.state === 'ready' || stats.state === 'busy';
    const alive = live ? runner.threadIds.length : 0;
    const replacing = live
      ? Math.min(runner.replacingThreads, Math.max(0, runner.threadCount - alive))
      : 0;
    const errorRatePerMin = this.#host.errorRatePerMin(runner.id);
    const saturation = this.#saturationOf(runner, runner.threadCount, live, false);
    const components: HealthComponents = {
      process: Math.min(1, (alive + replacing) / Math.max(1, runner.threadCount)),
      status: statusComponent(stats.state),
      resource: this.#host.resourceFailed(runner) ? 0 : 1,
      error: errorComponent(errorRatePerMin, this.#options.thresholds.errorRatePerMin),
      tasks: saturation.component,
    };
    const score = healthScore(components, this.#options.weights);
    return {
      id: runner.id,
      state: stats.state,
      score,
      status: this.#statusOf(score, stats.state),
      components,
      threads: {
        expected: runner.threadCount,
        alive,
        responsive: 0,
        busy: 0,
        hung: 0,
        replacing,
      },
      tasks: {
        inFlight: stats.inFlight,
        queued: stats.queued,
        completed: stats.completed,
        failed: stats.failed,
        completionPerSec: 0,
        latencyMs: tracking?.health?.tasks.latencyMs ?? latencyOf(runner),
        utilisation: saturation.utilisation,
        queueWaitMs: saturation.queueWaitMs,
      },
      errorRatePerMin,
      unhealthyProbes: 0,
      probedAt: null,
    };
  }

  #statusOf(score: number, state: RunnerState): HealthStatus {
    if (state === 'stopped' || state === 'failed') return 'stopped';
    return healthLevel(score, this.#options.thresholds);
  }

  #report(runners: readonly RunnerHealth[]): HealthReport {
    const phase = this.#host.phase();
    // The score of what still serves; a failed runner caps the status at
    // degraded (the troupe keeps serving without it), or makes it unhealthy
    // when nothing serves any more.
    const live = runners.filter((r) => r.status !== 'stopped');
    const anyFailed = runners.some((r) => r.state === 'failed');
    const score =
      live.length > 0
        ? live.reduce((sum, r) => sum + r.score, 0) / live.length
        : phase === 'running' && !anyFailed
          ? 1
          : 0;
    let status: HealthStatus =
      phase === 'running' ? healthLevel(score, this.#options.thresholds) : 'stopped';
    if (status === 'healthy' && anyFailed) status = 'degraded';
    return { score, status, ready: this.#host.ready(), phase, at: Date.now(), runners };
  }

  #trackingOf(runner: ProbeTarget, now: number): Tracking {
    let tracking = this.#tracking.get(runner);
    if (tracking === undefined) {
      const stats = runner.stats();
      tracking = {
        settled: stats.completed + stats.failed + stats.aborted,
        threads: new Map(),
        lastProbeAt: now,
        unhealthyProbes: 0,
        health: null,
      };
      this.#tracking.set(runner, tracking);
    }
    return tracking;
  }
}

function latencyOf(runner: ProbeTarget): LatencyFigures | null {
  return runner.runTime();
}
