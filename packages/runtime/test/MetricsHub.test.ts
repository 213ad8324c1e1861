import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ErrorRecord } from '../src/errors/ErrorHandler.js';
import type { HealthReport } from '../src/health/HealthMonitor.js';
import { MetricsHub, type MetricsRunner, type MetricsSource } from '../src/metrics/MetricsHub.js';
import { TASK_DURATION_BUCKETS } from '../src/metrics/TaskDurations.js';
import type { ResourceInfo } from '../src/resources/types.js';
import type { RunnerStats } from '../src/runner/types.js';

/** One sample line of the exposition text: `name{labels} value`. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses prom-client's text format (no escaped quotes in our label values). */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP')) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length !== 1) {
    throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  }
  return (found[0] as Sample).value;
}

function stats(id: string, overrides: Partial<RunnerStats> = {}): RunnerStats {
  return {
    id,
    state: 'ready',
    threads: 2,
    inFlight: 0,
    queued: 0,
    submitted: 0,
    completed: 0,
    failed: 0,
    aborted: 0,
    rejected: 0,
    restarts: 0,
    crashes: 0,
    retried: 0,
    ...overrides,
  };
}

class FakeSource implements MetricsSource {
  live: (MetricsRunner & { current: RunnerStats })[] = [];
  failedIds: string[] = [];
  report: HealthReport = {
    score: 1,
    status: 'healthy',
    ready: true,
    phase: 'running',
    at: 0,
    runners: [],
  };
  list: ResourceInfo[] = [];

  add(current: RunnerStats, replacingThreads = 0): MetricsRunner & { current: RunnerStats } {
    const runner = {
      id: current.id,
      current,
      replacingThreads,
      stats() {
        return runner.current;
      },
    };
    this.live.push(runner);
    return runner;
  }

  runners(): readonly MetricsRunner[] {
    return this.live;
  }

  failed(): readonly string[] {
    return this.failedIds;
  }

  health(): HealthReport {
    return this.report;
  }

  resources(): readonly ResourceInfo[] {
    return this.list;
  }
}

function hubOf(source: MetricsSource, now = (): number => 0): MetricsHub {
  return new MetricsHub({ source, defaultMetrics: false, now });
}

async function scrape(hub: MetricsHub): Promise<Sample[]> {
  return parse(await hub.text()).samples;
}

const resource = (id: string, state: ResourceInfo['state']): ResourceInfo => ({
  id,
  kind: 'user',
  state,
  dependsOn: [],
  dependents: [],
});

describe('MetricsHub', () => {
  it('registers exactly the troupe_ metrics, with their Prometheus types, in a registry of its own', async () => {
    const hub = hubOf(new FakeSource());
    expect(hub.registry).toBeInstanceOf(Registry);
    expect(hub.contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    const { types } = parse(await hub.text());
    expect(Object.fromEntries(types)).toEqual({
      troupe_tasks_total: 'counter',
      troupe_task_duration_seconds: 'histogram',
      troupe_tasks_in_flight: 'gauge',
      troupe_tasks_queued: 'gauge',
      troupe_runner_up: 'gauge',
      troupe_runner_health_score: 'gauge',
      troupe_runner_restarts_total: 'counter',
      troupe_threads: 'gauge',
      troupe_errors_total: 'counter',
      troupe_resources: 'gauge',
      troupe_shutdown_phase_duration_seconds: 'gauge',
    });
  });

  it('two hubs do not clash (no global registry)', async () => {
    const a = new FakeSource();
    const b = new FakeSource();
    a.add(stats('x', { completed: 3 }));
    b.add(stats('x', { completed: 5 }));
    const [hubA, hubB] = [hubOf(a), hubOf(b)];
    expect(
      value(await scrape(hubA), 'troupe_tasks_total', { runner: 'x', outcome: 'completed' }),
    ).toBe(3);
    expect(
      value(await scrape(hubB), 'troupe_tasks_total', { runner: 'x', outcome: 'completed' }),
    ).toBe(5);
  });

  it('reads task outcomes, in-flight, queued, up and threads from the runners when scraped', async () => {
    const source = new FakeSource();
    const runner = source.add(
      stats('r', {
        state: 'busy',
        completed: 7,
        failed: 2,
        aborted: 1,
        rejected: 4,
        inFlight: 2,
        queued: 9,
        restarts: 1,
        threads: 1,
      }),
      1,
    );
    source.add(stats('s', { state: 'restarting', threads: 0 }));
    const hub = hubOf(source);
    let samples = await scrape(hub);
    expect(
      ['completed', 'failed', 'aborted', 'rejected'].map((outcome) =>
        value(samples, 'troupe_tasks_total', { runner: 'r', outcome }),
      ),
    ).toEqual([7, 2, 1, 4]);
    expect(value(samples, 'troupe_tasks_in_flight', { runner: 'r' })).toBe(2);
    expect(value(samples, 'troupe_tasks_queued', { runner: 'r' })).toBe(9);
    expect(value(samples, 'troupe_runner_up', { runner: 'r' })).toBe(1);
    expect(value(samples, 'troupe_runner_up', { runner: 's' })).toBe(0);
    expect(value(samples, 'troupe_runner_restarts_total', { runner: 'r' })).toBe(1);
    expect(value(samples, 'troupe_threads', { runner: 'r', state: 'up' })).toBe(1);
    expect(value(samples, 'troupe_threads', { runner: 'r', state: 'replacing' })).toBe(1);

    // The next scrape reads the figures again (no double counting).
    runner.current = { ...runner.current, completed: 8, queued: 0, state: 'ready' };
    samples = await scrape(hub);
    expect(value(samples, 'troupe_tasks_total', { runner: 'r', outcome: 'completed' })).toBe(8);
    expect(value(samples, 'troupe_tasks_queued', { runner: 'r' })).toBe(0);
  });

  it('keeps the counts of runners that are gone, and a re-spawned id goes on from them', async () => {
    const source = new FakeSource();
    const hub = hubOf(source);
    const first = source.add(stats('r', { completed: 5, rejected: 1, restarts: 2 }));
    hub.retire(first.current);
    source.live = [];
    hub.refusedAfterFinal('r');
    let samples = await scrape(hub);
    expect(value(samples, 'troupe_tasks_total', { runner: 'r', outcome: 'completed' })).toBe(5);
    expect(value(samples, 'troupe_tasks_total', { runner: 'r', outcome: 'rejected' })).toBe(2);
    expect(value(samples, 'troupe_runner_restarts_total', { runner: 'r' })).toBe(2);
    // A gone runner has no gauges.
    expect(samples.some((s) => s.name === 'troupe_runner_up')).toBe(false);

    source.add(stats('r', { completed: 1 }));
    samples = await scrape(hub);
    expect(value(samples, 'troupe_tasks_total', { runner: 'r', outcome: 'completed' })).toBe(6);
  });

  it('reports a failed runner as down, and health scores as of the last probe', async () => {
    const source = new FakeSource();
    source.failedIds = ['f'];
    source.report = {
      ...source.report,
      runners: [{ id: 'f', score: 0.25 } as HealthReport['runners'][number]],
    };
    const samples = await scrape(hubOf(source));
    expect(value(samples, 'troupe_runner_up', { runner: 'f' })).toBe(0);
    expect(value(samples, 'troupe_runner_health_score', { runner: 'f' })).toBe(0.25);
  });

  it('counts errors by code, severity and action', async () => {
    const hub = hubOf(new FakeSource());
    const record = (code: string, severity: string, action: string) =>
      ({ code, severity, action }) as unknown as ErrorRecord;
    hub.error(record('ERR_TASK_FAILED', 'LOW', 'SKIP'));
    hub.error(record('ERR_TASK_FAILED', 'LOW', 'SKIP'));
    hub.error(record('ERR_WORKER_CRASHED', 'HIGH', 'RESTART'));
    const samples = await scrape(hub);
    expect(
      value(samples, 'troupe_errors_total', {
        code: 'ERR_TASK_FAILED',
        severity: 'LOW',
        action: 'SKIP',
      }),
    ).toBe(2);
    expect(
      value(samples, 'troupe_errors_total', {
        code: 'ERR_WORKER_CRASHED',
        severity: 'HIGH',
        action: 'RESTART',
      }),
    ).toBe(1);
  });

  it('counts resources by state, every state present', async () => {
    const source = new FakeSource();
    source.list = [resource('a', 'open'), resource('b', 'open'), resource('c', 'closed')];
    const samples = await scrape(hubOf(source));
    expect(
      Object.fromEntries(
        samples.filter((s) => s.name === 'troupe_resources').map((s) => [s.labels.state, s.value]),
      ),
    ).toEqual({ registered: 0, open: 2, closing: 0, closed: 1, failed: 0, forced: 0 });
  });

  it('times the shutdown phases: the one in progress so far, then the report’s figures', async () => {
    let now = 1_000;
    const hub = hubOf(new FakeSource(), () => now);
    hub.phase('signaling', 'running');
    now += 250;
    let samples = await scrape(hub);
    expect(value(samples, 'troupe_shutdown_phase_duration_seconds', { phase: 'signaling' })).toBe(
      0.25,
    );
    hub.phase('draining', 'signaling');
    now += 1_500;
    hub.phase('closing', 'draining');
    now += 100;
    hub.phase('stopped', 'closing');
    samples = await scrape(hub);
    expect(
      ['signaling', 'draining', 'closing'].map((phase) =>
        value(samples, 'troupe_shutdown_phase_duration_seconds', { phase }),
      ),
    ).toEqual([0.25, 1.5, 0.1]);
    hub.phasesDone({
      signaling: { durationMs: 251 },
      draining: { durationMs: 1_499 },
      closing: { durationMs: 100 },
    });
    samples = await scrape(hub);
    expect(value(samples, 'troupe_shutdown_phase_duration_seconds', { phase: 'draining' })).toBe(
      1.499,
    );
  });

  it('adds the default process metrics only when asked', async () => {
    const plain = await hubOf(new FakeSource()).text();
    expect(plain).not.toContain('process_cpu_user_seconds_total');
    const withDefaults = new MetricsHub({ source: new FakeSource(), defaultMetrics: true });
    expect(await withDefaults.text()).toContain('process_cpu_user_seconds_total');
    // A second troupe with default metrics does not clash either.
    const again = new MetricsHub({ source: new FakeSource(), defaultMetrics: true });
    expect(await again.text()).toContain('nodejs_eventloop_lag_seconds');
  });

  it('is readable as JSON from its registry', async () => {
    const source = new FakeSource();
    source.add(stats('r', { completed: 2 }));
    const hub = hubOf(source);
    hub.durations('r').observe(0.003);
    const json = await hub.registry.getMetricsAsJSON();
    const histogram = json.find((m) => m.name === 'troupe_task_duration_seconds');
    expect(histogram?.type).toBe('histogram');
    expect(
      histogram?.values.find(
        (v) => (v as { metricName?: string }).metricName === 'troupe_task_duration_seconds_count',
      )?.value,
    ).toBe(1);
  });
});

describe('troupe_task_duration_seconds', () => {
  it('puts each duration in its bucket; the text is cumulative, with +Inf, _sum and _count', async () => {
    const source = new FakeSource();
    const hub = hubOf(source);
    const durations = hub.durations('r');
    expect(hub.durations('r')).toBe(durations);
    for (const seconds of [0.00005, 0.0001, 0.003, 0.003, 2, 120]) durations.observe(seconds);
    const samples = await scrape(hub);
    const bucket = (le: string): number =>
      value(samples, 'troupe_task_duration_seconds_bucket', { runner: 'r', le });
    expect(bucket('0.0001')).toBe(2); // <= is inclusive
    expect(bucket('0.0025')).toBe(2);
    expect(bucket('0.005')).toBe(4);
    expect(bucket('2.5')).toBe(5);
    expect(bucket('60')).toBe(5);
    expect(bucket('+Inf')).toBe(6);
    expect(value(samples, 'troupe_task_duration_seconds_count', { runner: 'r' })).toBe(6);
    expect(value(samples, 'troupe_task_duration_seconds_sum', { runner: 'r' })).toBeCloseTo(
      122.00615,
      9,
    );
    const les = samples
      .filter((s) => s.name === 'troupe_task_duration_seconds_bucket')
      .map((s) => s.labels.le);
    expect(les).toEqual([...TASK_DURATION_BUCKETS.map(String), '+Inf']);
  });

  it('registry.resetMetrics() forgets the durations', async () => {
    const hub = hubOf(new FakeSource());
    hub.durations('r').observe(1);
    hub.registry.resetMetrics();
    const samples = await scrape(hub);
    expect(value(samples, 'troupe_task_duration_seconds_count', { runner: 'r' })).toBe(0);
  });
});
