// HealthMonitor over fake ProbeTargets (no threads): the score and its
// components, busy versus hung threads (each thread on its own clock, a hung
// one handed to its runner), saturation (utilisation, queue waits, the task
// component), unhealthy probes in a row and the
// recovery call, the troupe-wide report, the cost of current() (bug 12:
// health() was O(n²) in the number of runners), and probe coalescing.
import {
  defaultHealthWeights,
  type RunnerState,
  type ShutdownPhase,
  type UnhealthyError,
} from '@troupe/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ProbeAnswer } from '../src/channel/ThreadChannels.js';
import {
  HealthMonitor,
  type HealthHost,
  type HealthOptions,
  type HealthReport,
  type ProbeTarget,
  type RunnerHealth,
  type RunnerLoad,
} from '../src/health/HealthMonitor.js';
import type { QueueWaitWindow } from '../src/task/QueueWaits.js';
import type { RunTimeSummary } from '../src/pool/ThreadPool.js';
import type { RunnerStats } from '../src/runner/types.js';
import { deferred, recordingLogger, settleState, type Deferred } from './support.js';

/** A runner as the monitor sees it; counts how often its state and stats are read. */
class FakeTarget implements ProbeTarget {
  readonly id: string;
  readonly threadCount: number;
  threadIds: number[];
  replacingThreads = 0;
  /** Per-thread answers; a thread missing from the list did not answer. */
  answers: ProbeAnswer[];
  /** Held probes: the test settles them. */
  hold: Deferred<void> | null = null;
  latency: RunTimeSummary | null = null;
  counts = { completed: 0, failed: 0, aborted: 0, inFlight: 0, queued: 0 };
  stateReads = 0;
  statsCalls = 0;
  probeCalls = 0;
  runTimeCalls = 0;
  /** The task each busy thread runs: when it started (performance.now()). */
  readonly tasks = new Map<number, number>();
  /** What load() says. */
  loadNow: RunnerLoad = { running: 0, oldestQueuedAt: null };
  /** What the next takeQueueWaits() returns (then an empty window). */
  waits: QueueWaitWindow = { count: 0, p90: 0, max: 0 };
  /** threadHung calls: [threadId, silentMs, hungAfterMs]. */
  readonly hung: [number, number, number][] = [];
  #state: RunnerState;

  constructor(id: string, threads = 2, state: RunnerState = 'ready') {
    this.id = id;
    this.threadCount = threads;
    this.threadIds = Array.from({ length: threads }, (_, i) => i + 1);
    this.answers = this.threadIds.map((threadId) => ({ threadId, ok: true, active: 0 }));
    this.#state = state;
  }

  get state(): RunnerState {
    this.stateReads += 1;
    return this.#state;
  }

  set state(state: RunnerState) {
    this.#state = state;
  }

  stats(): RunnerStats {
    this.statsCalls += 1;
    return {
      id: this.id,
      state: this.#state,
      threads: this.threadIds.length,
      submitted: 0,
      rejected: 0,
      restarts: 0,
      crashes: 0,
      retried: 0,
      ...this.counts,
    };
  }

  async probe(): Promise<ProbeAnswer[]> {
    this.probeCalls += 1;
    if (this.hold !== null) await this.hold.promise;
    return this.answers;
  }

  runTime(): RunTimeSummary | null {
    this.runTimeCalls += 1;
    return this.latency;
  }

  busySince(threadId: number): number | null {
    return this.tasks.get(threadId) ?? null;
  }

  load(): RunnerLoad {
    return this.loadNow;
  }

  takeQueueWaits(): QueueWaitWindow {
    const waits = this.waits;
    this.waits = { count: 0, p90: 0, max: 0 };
    return waits;
  }

  threadHung(threadId: number, silentMs: number, hungAfterMs: number): void {
    this.hung.push([threadId, silentMs, hungAfterMs]);
  }

  /** A task starts on this thread now. */
  run(threadId: number): void {
    this.tasks.set(threadId, performance.now());
  }

  answer(...threadIds: number[]): void {
    this.answers = this.answers.map((a) =>
      threadIds.includes(a.threadId) ? { ...a, ok: true, active: 1 } : a,
    );
  }

  silence(...threadIds: number[]): void {
    this.answers = this.answers.map((a) =>
      threadIds.includes(a.threadId) ? { ...a, ok: false, active: 0 } : a,
    );
  }
}

const OPTIONS: HealthOptions = {
  enabled: true,
  intervalMs: 1_000,
  probeTimeoutMs: 500,
  // The task component is left out here (its own tests use the defaults).
  weights: { process: 0.4, status: 0.2, resource: 0.2, error: 0.2, tasks: 0 },
  thresholds: {
    healthy: 0.9,
    degraded: 0.7,
    errorRatePerMin: 30,
    unhealthyProbes: 3,
    hungAfterMs: 30_000,
    queueWaitMs: 500,
  },
  recovery: 'restart',
};

interface Setup {
  monitor: HealthMonitor;
  targets: FakeTarget[];
  rates: Map<string, number>;
  failedResources: Set<string>;
  state: { phase: ShutdownPhase; ready: boolean };
  reports: HealthReport[];
  unhealthy: [ProbeTarget, RunnerHealth, UnhealthyError][];
}

function setup(targets: FakeTarget[], options: Partial<HealthOptions> = {}): Setup {
  const rates = new Map<string, number>();
  const failedResources = new Set<string>();
  const state = { phase: 'running' as ShutdownPhase, ready: true };
  const reports: HealthReport[] = [];
  const unhealthy: [ProbeTarget, RunnerHealth, UnhealthyError][] = [];
  const host: HealthHost = {
    logger: recordingLogger(),
    runners: () => targets,
    errorRatePerMin: (id) => rates.get(id) ?? 0,
    resourceFailed: (target) => failedResources.has(target.id),
    phase: () => state.phase,
    ready: () => state.ready,
    emitReport: (report) => reports.push(report),
    onPersistentlyUnhealthy: (target, health, error) => unhealthy.push([target, health, error]),
  };
  const monitor = new HealthMonitor(host, { ...OPTIONS, ...options });
  return { monitor, targets, rates, failedResources, state, reports, unhealthy };
}

async function probeOne(s: Setup): Promise<RunnerHealth> {
  const report = await s.monitor.probe();
  const health = report.runners[0];
  if (health === undefined) throw new Error('no runner in the report');
  return health;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['performance', 'Date', 'setInterval', 'clearInterval'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('HealthMonitor scoring', () => {
  it('every thread answering, no errors, nothing failed: score 1, healthy', async () => {
    const s = setup([new FakeTarget('r1')]);
    const health = await probeOne(s);
    expect(health).toMatchObject({
      id: 'r1',
      state: 'ready',
      score: 1,
      status: 'healthy',
      components: { process: 1, status: 1, resource: 1, error: 1 },
      threads: { expected: 2, alive: 2, responsive: 2, busy: 0, hung: 0, replacing: 0 },
      errorRatePerMin: 0,
      unhealthyProbes: 0,
    });
    expect(health.probedAt).toBe(Date.now());
    expect(s.reports).toHaveLength(1);
  });

  it('a silent thread with nothing in flight is hung: process 0.5, score 0.8, degraded', async () => {
    const target = new FakeTarget('r1');
    target.silence(2);
    const health = await probeOne(setup([target]));
    expect(health.threads).toEqual({
      expected: 2,
      alive: 2,
      responsive: 1,
      busy: 0,
      hung: 1,
      replacing: 0,
    });
    expect(health.components.process).toBe(0.5);
    expect(health.score).toBeCloseTo(0.8, 10);
    expect(health.status).toBe('degraded');
  });

  it('every thread silent and idle: score 0.6, unhealthy', async () => {
    const target = new FakeTarget('r1');
    target.silence(1, 2);
    const health = await probeOne(setup([target]));
    expect(health.threads.hung).toBe(2);
    expect(health.score).toBeCloseTo(0.6, 10);
    expect(health.status).toBe('unhealthy');
  });

  it('a silent thread running a task is presumed busy until it has been silent for hungAfterMs', async () => {
    const target = new FakeTarget('r1');
    const s = setup([target], { thresholds: { ...OPTIONS.thresholds, hungAfterMs: 5_000 } });
    await probeOne(s); // both answer
    target.run(1);
    target.silence(1);
    target.counts.inFlight = 1;
    vi.advanceTimersByTime(4_999);
    let health = await probeOne(s);
    expect(health.threads).toMatchObject({ responsive: 1, busy: 1, hung: 0 });
    expect(health.components.process).toBe(1);
    expect(target.hung).toEqual([]);
    vi.advanceTimersByTime(1);
    health = await probeOne(s);
    expect(health.threads).toMatchObject({ responsive: 1, busy: 0, hung: 1 });
    expect(target.hung).toEqual([[1, 5_000, 5_000]]);
    // Handed to its runner, which replaces it: not a reason to restart the runner.
    expect(health.components.process).toBe(1);
    expect(health.status).toBe('healthy');
    // Not handed over again while it is still there.
    vi.advanceTimersByTime(1_000);
    health = await probeOne(s);
    expect(health.threads).toMatchObject({ busy: 0, hung: 1 });
    expect(target.hung).toHaveLength(1);
  });

  it('per thread: a sibling that keeps serving (tasks settling) does not hide a hung thread', async () => {
    const target = new FakeTarget('r1');
    const s = setup([target], { thresholds: { ...OPTIONS.thresholds, hungAfterMs: 300 } });
    await probeOne(s); // both answer at 0
    target.run(1);
    target.silence(1);
    for (let i = 1; i <= 3; i++) {
      vi.advanceTimersByTime(100);
      // Thread 2 serves: a task settles between probes, it answers each one.
      target.run(2);
      target.counts.completed = i;
      target.tasks.delete(2);
      await probeOne(s);
    }
    expect(target.hung).toEqual([[1, 300, 300]]);
  });

  it("a thread's silence counts from its last answer, or its task's start if later", async () => {
    const target = new FakeTarget('r1', 1);
    const s = setup([target], { thresholds: { ...OPTIONS.thresholds, hungAfterMs: 1_000 } });
    await probeOne(s); // answered at 0
    vi.advanceTimersByTime(800);
    target.run(1); // a task starts at 800 and the thread goes silent
    target.silence(1);
    vi.advanceTimersByTime(900); // 1,700: silent 900 ms while running a task
    let health = await probeOne(s);
    expect(health.threads).toMatchObject({ busy: 1, hung: 0 });
    vi.advanceTimersByTime(100);
    health = await probeOne(s);
    expect(health.threads).toMatchObject({ busy: 0, hung: 1 });
    expect(target.hung).toEqual([[1, 1_000, 1_000]]);
  });

  it('long synchronous tasks back to back, each under hungAfterMs, are not a fault', async () => {
    const target = new FakeTarget('r1', 1);
    const s = setup([target], { thresholds: { ...OPTIONS.thresholds, hungAfterMs: 1_000 } });
    target.silence(1);
    for (let i = 0; i < 5; i++) {
      target.run(1);
      vi.advanceTimersByTime(900);
      expect((await probeOne(s)).threads).toMatchObject({ busy: 1, hung: 0 });
    }
    expect(target.hung).toEqual([]);
  });

  it('a hung thread is not handed over once the shutdown began, nor by a runner not serving', async () => {
    const target = new FakeTarget('r1', 1);
    const s = setup([target], { thresholds: { ...OPTIONS.thresholds, hungAfterMs: 100 } });
    target.run(1);
    target.silence(1);
    vi.advanceTimersByTime(200);
    s.state.phase = 'draining';
    await probeOne(s);
    target.state = 'restarting';
    s.state.phase = 'running';
    await probeOne(s);
    expect(target.hung).toEqual([]);
  });

  it('a silent thread without a task while tasks wait for a thread the pool did not name yet: busy', async () => {
    const target = new FakeTarget('r1');
    target.silence(1, 2);
    target.counts.inFlight = 1;
    const health = await probeOne(setup([target]));
    expect(health.threads).toMatchObject({ responsive: 0, busy: 1, hung: 1 });
    expect(health.components.process).toBe(0.5);
  });

  it('a thread being replaced (within its startup deadline) counts as serving; a missing one does not', async () => {
    const target = new FakeTarget('r1');
    target.threadIds = [1];
    target.answers = [{ threadId: 1, ok: true, active: 0 }];
    const s = setup([target]);
    let health = await probeOne(s);
    expect(health.threads).toMatchObject({ expected: 2, alive: 1, responsive: 1, replacing: 0 });
    expect(health.components.process).toBe(0.5);
    target.replacingThreads = 1;
    health = await probeOne(s);
    expect(health.threads).toMatchObject({ alive: 1, responsive: 1, replacing: 1 });
    expect(health.components.process).toBe(1);
    expect(health.status).toBe('healthy');
    // never more than the threads missing
    target.replacingThreads = 5;
    expect((await probeOne(s)).threads.replacing).toBe(1);
  });

  it('the error rate lowers the error component linearly up to its threshold', async () => {
    const s = setup([new FakeTarget('r1')]);
    s.rates.set('r1', 15);
    let health = await probeOne(s);
    expect(health.components.error).toBe(0.5);
    expect(health.errorRatePerMin).toBe(15);
    expect(health.score).toBeCloseTo(0.9, 10);
    expect(health.status).toBe('healthy');
    s.rates.set('r1', 45);
    health = await probeOne(s);
    expect(health.components.error).toBe(0);
    expect(health.status).toBe('degraded');
  });

  it('a failed or forced resource zeroes the resource component', async () => {
    const s = setup([new FakeTarget('r1')]);
    s.failedResources.add('r1');
    const health = await probeOne(s);
    expect(health.components.resource).toBe(0);
    expect(health.score).toBeCloseTo(0.8, 10);
  });

  it.each<[RunnerState, number, string]>([
    ['starting', 0.5, 'unhealthy'],
    ['restarting', 0.5, 'unhealthy'],
    ['draining', 0.25, 'unhealthy'],
    ['stopped', 0, 'stopped'],
    ['failed', 0, 'stopped'],
  ])('a runner %s is not probed: status component %d, %s', async (state, component, status) => {
    const target = new FakeTarget('r1', 2, state);
    const health = await probeOne(setup([target]));
    expect(target.probeCalls).toBe(0);
    expect(health.threads.alive).toBe(0);
    expect(health.components).toMatchObject({ process: 0, status: component });
    expect(health.status).toBe(status);
  });

  it('weights are normalized by their sum', async () => {
    const target = new FakeTarget('r1');
    target.silence(1, 2);
    const s = setup([target], {
      weights: { process: 1, status: 1, resource: 0, error: 0, tasks: 0 },
    });
    expect((await probeOne(s)).score).toBe(0.5);
  });

  it('task figures: in flight, queued, completion rate since the last probe, latency only after progress', async () => {
    const target = new FakeTarget('r1');
    target.latency = { mean: 2, p50: 1, p90: 3, p99: 4, max: 5 };
    const s = setup([target]);
    await probeOne(s);
    expect(target.runTimeCalls).toBe(1);
    vi.advanceTimersByTime(2_000);
    target.counts = { completed: 6, failed: 1, aborted: 1, inFlight: 2, queued: 3 };
    let health = await probeOne(s);
    expect(health.tasks).toEqual({
      inFlight: 2,
      queued: 3,
      completed: 6,
      failed: 1,
      completionPerSec: 4,
      latencyMs: { mean: 2, p50: 1, p90: 3, p99: 4, max: 5 },
      utilisation: 0,
      queueWaitMs: { oldest: 0, p90: 0, max: 0 },
    });
    expect(target.runTimeCalls).toBe(2);
    // nothing settled since: the histogram is not read again
    vi.advanceTimersByTime(1_000);
    health = await probeOne(s);
    expect(health.tasks.completionPerSec).toBe(0);
    expect(health.tasks.latencyMs).toEqual(target.latency);
    expect(target.runTimeCalls).toBe(2);
  });
});

describe('HealthMonitor saturation', () => {
  const saturationOptions = { weights: defaultHealthWeights };

  it('the default weights sum to 1', () => {
    const { process, status, resource, error, tasks } = defaultHealthWeights;
    expect(process + status + resource + error + tasks).toBeCloseTo(1, 10);
  });

  it('reports utilisation, the oldest queued task and the waits since the last probe', async () => {
    const target = new FakeTarget('r1', 4);
    const s = setup([target], saturationOptions);
    target.loadNow = { running: 3, oldestQueuedAt: null };
    let health = await probeOne(s);
    expect(health.tasks).toMatchObject({
      utilisation: 0.75,
      queueWaitMs: { oldest: 0, p90: 0, max: 0 },
    });
    expect(health.components.tasks).toBe(1);
    expect(health.status).toBe('healthy');
    target.loadNow = { running: 4, oldestQueuedAt: performance.now() };
    target.waits = { count: 40, p90: 120, max: 180 };
    vi.advanceTimersByTime(200);
    health = await probeOne(s);
    expect(health.tasks).toMatchObject({
      utilisation: 1,
      queueWaitMs: { oldest: 200, p90: 120, max: 200 },
    });
    // The larger of the oldest wait and the p90 against queueWaitMs (500).
    expect(health.components.tasks).toBeCloseTo(0.6, 10);
    expect(health.score).toBeCloseTo(0.94, 10);
    expect(health.status).toBe('healthy');
  });

  it('a saturated runner (every thread busy, waits past queueWaitMs) reads degraded, never unhealthy', async () => {
    const target = new FakeTarget('r1', 2);
    const s = setup([target], saturationOptions);
    target.loadNow = { running: 2, oldestQueuedAt: performance.now() };
    target.counts = { ...target.counts, inFlight: 2, queued: 50 };
    target.waits = { count: 100, p90: 700, max: 900 };
    vi.advanceTimersByTime(600);
    let health = await probeOne(s);
    expect(health.tasks).toMatchObject({ queued: 50, utilisation: 1 });
    expect(health.tasks.queueWaitMs).toEqual({ oldest: 600, p90: 700, max: 900 });
    expect(health.components.tasks).toBe(0);
    expect(health.score).toBeCloseTo(0.85, 10);
    expect(health.status).toBe('degraded');
    // Much longer waits: still degraded (load is no reason to restart).
    vi.advanceTimersByTime(60_000);
    health = await probeOne(s);
    expect(health.status).toBe('degraded');
    expect(s.unhealthy).toEqual([]);
    // The queue emptied, the last window's waits were short: healthy again.
    target.loadNow = { running: 1, oldestQueuedAt: null };
    target.waits = { count: 10, p90: 0, max: 20 };
    health = await probeOne(s);
    expect(health.components.tasks).toBe(1);
    expect(health.status).toBe('healthy');
  });

  it('a p90 wait past the threshold degrades even when nothing is queued at the probe', async () => {
    const target = new FakeTarget('r1', 2);
    const s = setup([target], saturationOptions);
    target.waits = { count: 200, p90: 450, max: 600 };
    const health = await probeOne(s);
    expect(health.tasks.queueWaitMs).toEqual({ oldest: 0, p90: 450, max: 600 });
    expect(health.components.tasks).toBeCloseTo(0.1, 10);
    expect(health.status).toBe('degraded');
  });

  it('current() without a probe reads the queue but does not take the wait window', () => {
    const target = new FakeTarget('r1', 2);
    const s = setup([target], saturationOptions);
    target.loadNow = { running: 2, oldestQueuedAt: performance.now() - 1_000 };
    target.waits = { count: 5, p90: 300, max: 400 };
    const health = s.monitor.current().runners[0];
    expect(health?.tasks).toMatchObject({
      utilisation: 1,
      queueWaitMs: { oldest: 1_000, p90: 0, max: 1_000 },
    });
    expect(health?.status).toBe('degraded');
    expect(target.waits.count).toBe(5);
  });
});

describe('HealthMonitor recovery', () => {
  it('counts unhealthy probes in a row and calls onPersistentlyUnhealthy at the threshold, once', async () => {
    const target = new FakeTarget('r1');
    target.silence(1, 2);
    const s = setup([target]);
    expect((await probeOne(s)).unhealthyProbes).toBe(1);
    expect((await probeOne(s)).unhealthyProbes).toBe(2);
    expect(s.unhealthy).toHaveLength(0);
    const third = await probeOne(s);
    expect(third.unhealthyProbes).toBe(3);
    expect(s.unhealthy).toHaveLength(1);
    const [called, health, error] = s.unhealthy[0]!;
    expect(called).toBe(target);
    expect(health).toBe(third);
    expect(error.code).toBe('ERR_UNHEALTHY');
    expect(error.message).toBe(
      'runner "r1" was unhealthy for 3 probes (score 0.60; threads alive 2/2, hung 2; 0.0 errors/min)',
    );
    expect(error.context).toEqual({
      runnerId: 'r1',
      score: expect.closeTo(0.6, 10) as unknown,
      hung: 2,
      recovery: 'restart',
    });
    // the count starts over after a recovery
    expect((await probeOne(s)).unhealthyProbes).toBe(1);
    expect(s.unhealthy).toHaveLength(1);
  });

  it('a probe that is not unhealthy resets the count', async () => {
    const target = new FakeTarget('r1');
    target.silence(1, 2);
    const s = setup([target]);
    await probeOne(s);
    await probeOne(s);
    target.answers = [
      { threadId: 1, ok: true, active: 0 },
      { threadId: 2, ok: false, active: 0 },
    ];
    expect((await probeOne(s)).unhealthyProbes).toBe(0);
    target.silence(1, 2);
    expect((await probeOne(s)).unhealthyProbes).toBe(1);
    expect(s.unhealthy).toHaveLength(0);
  });

  it('recovers nothing once the shutdown began, nor a runner that is not serving', async () => {
    const target = new FakeTarget('r1');
    target.silence(1, 2);
    const s = setup([target], { thresholds: { ...OPTIONS.thresholds, unhealthyProbes: 1 } });
    s.state.phase = 'signaling';
    await probeOne(s);
    expect(s.unhealthy).toHaveLength(0);
    s.state.phase = 'running';
    target.state = 'starting';
    await probeOne(s);
    await probeOne(s);
    expect(s.unhealthy).toHaveLength(0);
    target.state = 'ready';
    await probeOne(s);
    expect(s.unhealthy).toHaveLength(1);
  });
});

describe('HealthMonitor recovery after a restart', () => {
  it('probes while the runner is not serving do not count: serving again starts the count over', async () => {
    // Found by the soak: the count went on through a 10 s restart, and the
    // runner was restarted again on its first probe back (ERR_UNHEALTHY
    // "for 10 probes"), losing the tasks it had just taken.
    const target = new FakeTarget('r1');
    target.silence(1, 2);
    const s = setup([target]);
    await probeOne(s);
    await probeOne(s);
    await probeOne(s);
    expect(s.unhealthy).toHaveLength(1);
    target.state = 'restarting';
    for (let i = 0; i < 10; i += 1) expect((await probeOne(s)).unhealthyProbes).toBe(0);
    target.state = 'ready';
    expect((await probeOne(s)).unhealthyProbes).toBe(1);
    expect((await probeOne(s)).unhealthyProbes).toBe(2);
    expect(s.unhealthy).toHaveLength(1);
  });
});

describe('HealthMonitor report', () => {
  it('the troupe score is the mean of the runners that serve; a failed one caps it at degraded', async () => {
    const a = new FakeTarget('a');
    const b = new FakeTarget('b');
    b.silence(1, 2);
    const failed = new FakeTarget('f', 2, 'failed');
    const s = setup([a, b, failed]);
    const report = await s.monitor.probe();
    expect(report.score).toBeCloseTo(0.8, 10);
    expect(report.status).toBe('degraded');
    expect(report.runners.map((r) => r.status)).toEqual(['healthy', 'unhealthy', 'stopped']);
    b.answers = b.answers.map((x) => ({ ...x, ok: true }));
    const healed = await s.monitor.probe();
    expect(healed.score).toBe(1);
    expect(healed.status).toBe('degraded');
  });

  it('no runners: healthy with score 1; only failed ones: unhealthy with score 0', async () => {
    expect(await setup([]).monitor.probe()).toMatchObject({ score: 1, status: 'healthy' });
    const s = setup([new FakeTarget('f', 1, 'failed')]);
    expect(await s.monitor.probe()).toMatchObject({ score: 0, status: 'unhealthy' });
  });

  it('once shutting down: status stopped, readiness and phase as the host says', async () => {
    const s = setup([new FakeTarget('a')]);
    s.state.phase = 'draining';
    s.state.ready = false;
    const report = await s.monitor.probe();
    expect(report).toMatchObject({ status: 'stopped', ready: false, phase: 'draining' });
    expect(report.at).toBe(Date.now());
  });
});

describe('HealthMonitor current()', () => {
  it('before any probe: computed from what is known, without probing', () => {
    const target = new FakeTarget('r1');
    const s = setup([target]);
    const report = s.monitor.current();
    expect(target.probeCalls).toBe(0);
    expect(report.runners[0]).toMatchObject({
      id: 'r1',
      score: 1,
      status: 'healthy',
      threads: { expected: 2, alive: 2, responsive: 0, busy: 0, hung: 0 },
      unhealthyProbes: 0,
      probedAt: null,
    });
    expect(s.reports).toHaveLength(0);
  });

  it('after a probe: the same report while nothing changed; a fresh one when a state did', async () => {
    const a = new FakeTarget('a');
    const b = new FakeTarget('b');
    const s = setup([a, b]);
    const probed = await s.monitor.probe();
    expect(s.monitor.current()).toBe(probed);
    b.state = 'restarting';
    const now = s.monitor.current();
    expect(now).not.toBe(probed);
    // a keeps its probed figures, b is computed from its new state
    expect(now.runners[0]).toBe(probed.runners[0]);
    expect(now.runners[1]).toMatchObject({ state: 'restarting', probedAt: null });
    s.state.phase = 'signaling';
    expect(s.monitor.current().phase).toBe('signaling');
  });

  it("reads each target's state and stats O(1) times, with 2,000 targets (bug 12)", async () => {
    const targets = Array.from({ length: 2_000 }, (_, i) => new FakeTarget(`r${i}`, 1));
    const s = setup(targets);
    const reset = (): void => {
      for (const t of targets) {
        t.stateReads = 0;
        t.statsCalls = 0;
      }
    };
    const maxReads = (): { state: number; stats: number } => ({
      state: Math.max(...targets.map((t) => t.stateReads)),
      stats: Math.max(...targets.map((t) => t.statsCalls)),
    });
    // never probed: every target computed
    s.monitor.current();
    expect(maxReads().state).toBeLessThanOrEqual(2);
    expect(maxReads().stats).toBeLessThanOrEqual(1);
    await s.monitor.probe();
    // probed and unchanged: the last report
    reset();
    s.monitor.current();
    expect(maxReads()).toEqual({ state: 1, stats: 0 });
    // one target changed: the others are not recomputed
    targets[1_000]!.state = 'busy';
    reset();
    s.monitor.current();
    expect(maxReads().state).toBeLessThanOrEqual(3);
    expect(maxReads().stats).toBeLessThanOrEqual(1);
    expect(targets.filter((t) => t.statsCalls > 0)).toHaveLength(1);
  });
});

describe('HealthMonitor probe coalescing', () => {
  it('a probe() during a running probe returns the next probe; callers meanwhile share it', async () => {
    const target = new FakeTarget('r1');
    const s = setup([target]);
    const hold = deferred();
    target.hold = hold;
    const first = s.monitor.probe();
    expect(target.probeCalls).toBe(1);
    const second = s.monitor.probe();
    const third = s.monitor.probe();
    expect(second).not.toBe(first);
    expect(third).toBe(second);
    // the next probe waits for the running one
    expect(target.probeCalls).toBe(1);
    target.hold = null;
    // what the running probe read is older than the second call
    target.counts.completed = 5;
    hold.resolve();
    const [a, b] = await Promise.all([first, second]);
    expect(target.probeCalls).toBe(2);
    expect(a.runners[0]?.tasks.completed).toBe(0);
    expect(b.runners[0]?.tasks.completed).toBe(5);
    expect(s.reports).toEqual([a, b]);
    // idle again: a new call starts a probe of its own
    const fourth = s.monitor.probe();
    expect(target.probeCalls).toBe(3);
    await fourth;
  });

  it('a probe that rejects does not block the next one', async () => {
    const target = new FakeTarget('r1');
    const s = setup([target]);
    const failing = deferred();
    target.hold = failing;
    const first = s.monitor.probe();
    const second = s.monitor.probe();
    target.hold = null;
    failing.reject(new Error('probe broke'));
    await expect(first).rejects.toThrow('probe broke');
    expect(await settleState(second)).toBe('resolved');
  });
});

describe('HealthMonitor start/stop', () => {
  it('probes on the interval until stopped; disabled, it never starts', async () => {
    const target = new FakeTarget('r1');
    const s = setup([target]);
    s.monitor.start();
    s.monitor.start();
    vi.advanceTimersByTime(1_000);
    expect(target.probeCalls).toBe(1);
    await vi.waitFor(() => {
      expect(s.reports).toHaveLength(1);
    });
    vi.advanceTimersByTime(1_000);
    expect(target.probeCalls).toBe(2);
    s.monitor.stop();
    vi.advanceTimersByTime(5_000);
    expect(target.probeCalls).toBe(2);

    const off = setup([new FakeTarget('r2')], { enabled: false });
    off.monitor.start();
    vi.advanceTimersByTime(5_000);
    expect(off.targets[0]!.probeCalls).toBe(0);
  });
});
