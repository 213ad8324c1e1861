// troupe.metrics on real threads: tasks that complete, fail, are aborted and
// are refused, a crash and its replacement thread, a shutdown; the exposition
// text parsed back and every metric checked against what happened.
import { isTroupeError, type ErrorRecord } from '@troupe/runtime';
import { counterReached, fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { whenSnapshot } from '../helpers/events.js';
import { fixture, sharedInts } from '../helpers/fixtures.js';
import { parseExposition, sampleValue, samplesOf, type Exposition } from '../helpers/prometheus.js';
import { makeTroupe } from '../helpers/troupe.js';
import { rejectionOf } from '../helpers/wait.js';

const OUTCOMES = ['completed', 'failed', 'aborted', 'rejected'] as const;

/** Every metric this troupe must expose, with its Prometheus type. */
const METRICS = {
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
};

type Troupe = ReturnType<typeof makeTroupe>;

async function scrape(troupe: Troupe): Promise<Exposition> {
  return parseExposition(await troupe.metrics.text());
}

function outcomes(m: Exposition, runner: string): Record<string, number> {
  return Object.fromEntries(
    OUTCOMES.map((outcome) => [outcome, sampleValue(m, 'troupe_tasks_total', { runner, outcome })]),
  );
}

function byLabel(m: Exposition, name: string, label: string): Record<string, number> {
  return Object.fromEntries(
    samplesOf(m, name).map((s) => [s.labels[label] as string, s.value] as const),
  );
}

/** The error records, counted the way `troupe_errors_total` labels them. */
function errorCounts(records: readonly ErrorRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { code, severity, action } of records) {
    const key = `${code}/${severity}/${action}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function errorSamples(m: Exposition): Record<string, number> {
  return Object.fromEntries(
    samplesOf(m, 'troupe_errors_total').map((s) => [
      `${s.labels.code}/${s.labels.severity}/${s.labels.action}`,
      s.value,
    ]),
  );
}

function resourceCounts(troupe: Troupe): Record<string, number> {
  const counts: Record<string, number> = {
    registered: 0,
    open: 0,
    closing: 0,
    closed: 0,
    failed: 0,
    forced: 0,
  };
  for (const { state } of troupe.resources.list()) counts[state] = (counts[state] ?? 0) + 1;
  return counts;
}

describe('troupe.metrics', () => {
  it('counts what happened: outcomes, durations, queue, threads, restarts, errors, resources, shutdown phases', async () => {
    const troupe = makeTroupe({ nodeId: 'metrics-a', health: { intervalMs: 60_000 } });
    const records: ErrorRecord[] = [];
    troupe.on('error', (record) => records.push(record));
    troupe.resources.register({ id: 'db', close: () => undefined });

    expect(troupe.metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const [work, slow, coop, crashy] = await Promise.all([
      troupe.spawnRunner({ id: 'work', worker: fixtures.echo, threads: 2 }),
      troupe.spawnRunner({ id: 'slow', worker: fixtures.sleep, threads: 1, maxQueue: 1 }),
      troupe.spawnRunner({ id: 'coop', worker: fixture('notify-then-wait'), threads: 1 }),
      troupe.spawnRunner({
        id: 'crashy',
        worker: fixtures.crashMidTask,
        threads: 1,
        restart: { maxRestarts: 10 },
      }),
    ]);

    // 5 completed, 2 failed by their handler.
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => work.run(n)))).toEqual([1, 2, 3, 4, 5]);
    for (let i = 0; i < 2; i++) {
      const failed = await rejectionOf(work.run('boom', { handler: 'fail' }));
      expect(isTroupeError(failed, 'ERR_TASK_FAILED')).toBe(true);
    }

    // One running, one queued, one refused: the queue is full (threads 1 + maxQueue 1).
    const running = slow.run(300);
    const waiting = slow.run(1);
    const refused = await rejectionOf(slow.run(1));
    expect(isTroupeError(refused, 'ERR_QUEUE_FULL')).toBe(true);
    let m = await scrape(troupe);
    expect(sampleValue(m, 'troupe_tasks_in_flight', { runner: 'slow' })).toBe(1);
    expect(sampleValue(m, 'troupe_tasks_queued', { runner: 'slow' })).toBe(1);
    expect(sampleValue(m, 'troupe_tasks_queued', { runner: 'work' })).toBe(0);
    expect(sampleValue(m, 'troupe_runner_up', { runner: 'slow' })).toBe(1); // busy
    expect(await Promise.all([running, waiting])).toEqual([300, 1]);

    // Aborted on its thread (cooperatively: the thread stays).
    const controller = new AbortController();
    const flags = sharedInts(2);
    const aborted = coop.run({ ms: 60_000, flags }, { handler: 'work', signal: controller.signal });
    // The task says when it runs on its thread.
    expect(await counterReached(flags, 0, 1, 10_000)).toBe(true);
    controller.abort();
    expect(isTroupeError(await rejectionOf(aborted), 'ERR_TASK_ABORTED')).toBe(true);

    // A crash: the task fails, the thread is replaced (a restart).
    const crashed = await rejectionOf(crashy.run({ code: 7 }));
    expect(isTroupeError(crashed, 'ERR_WORKER_CRASHED')).toBe(true);
    await whenSnapshot(
      crashy.actor,
      (s) => s.matches({ running: { threads: 'full' } }) && crashy.threadIds.length === 1,
      5_000,
      'a replacement thread up',
    );

    await troupe.probeHealth();
    m = await scrape(troupe);
    for (const [name, type] of Object.entries(METRICS)) expect(m.types.get(name), name).toBe(type);

    const expected = {
      work: { completed: 5, failed: 2, aborted: 0, rejected: 0 },
      slow: { completed: 2, failed: 0, aborted: 0, rejected: 1 },
      coop: { completed: 0, failed: 0, aborted: 1, rejected: 0 },
      crashy: { completed: 0, failed: 1, aborted: 0, rejected: 0 },
    };
    for (const [id, counts] of Object.entries(expected))
      expect(outcomes(m, id), id).toEqual(counts);
    for (const runner of [work, slow, coop, crashy]) {
      const stats = runner.stats();
      expect(outcomes(m, runner.id)).toEqual({
        completed: stats.completed,
        failed: stats.failed,
        aborted: stats.aborted,
        rejected: stats.rejected,
      });
    }

    // Durations of the tasks that reached a thread.
    const count = (runner: string) =>
      sampleValue(m, 'troupe_task_duration_seconds_count', { runner });
    expect([count('work'), count('slow'), count('coop'), count('crashy')]).toEqual([7, 2, 1, 1]);
    expect(
      sampleValue(m, 'troupe_task_duration_seconds_bucket', { runner: 'slow', le: '+Inf' }),
    ).toBe(2);
    // 300 ms + 1 ms (waiting in the queue does not count)
    const slowSum = sampleValue(m, 'troupe_task_duration_seconds_sum', { runner: 'slow' });
    expect(slowSum).toBeGreaterThanOrEqual(0.3);
    expect(slowSum).toBeLessThan(1);
    expect(
      sampleValue(m, 'troupe_task_duration_seconds_bucket', { runner: 'slow', le: '0.25' }),
    ).toBe(1);

    expect(byLabel(m, 'troupe_tasks_in_flight', 'runner')).toEqual({
      work: 0,
      slow: 0,
      coop: 0,
      crashy: 0,
    });
    expect(byLabel(m, 'troupe_tasks_queued', 'runner')).toEqual({
      work: 0,
      slow: 0,
      coop: 0,
      crashy: 0,
    });
    expect(byLabel(m, 'troupe_runner_up', 'runner')).toEqual({
      work: 1,
      slow: 1,
      coop: 1,
      crashy: 1,
    });
    expect(byLabel(m, 'troupe_runner_restarts_total', 'runner')).toEqual({
      work: 0,
      slow: 0,
      coop: 0,
      crashy: 1,
    });
    expect(crashy.stats().restarts).toBe(1);
    for (const runner of ['work', 'slow', 'coop', 'crashy']) {
      expect(sampleValue(m, 'troupe_threads', { runner, state: 'replacing' })).toBe(0);
    }
    expect(
      ['work', 'slow', 'coop', 'crashy'].map((runner) =>
        sampleValue(m, 'troupe_threads', { runner, state: 'up' }),
      ),
    ).toEqual([2, 1, 1, 1]);
    const health = troupe.health();
    expect(byLabel(m, 'troupe_runner_health_score', 'runner')).toEqual(
      Object.fromEntries(health.runners.map((r) => [r.id, r.score])),
    );
    expect(health.runners.length).toBe(4);

    // Every error the handler emitted, by code, severity and action.
    expect(errorSamples(m)).toEqual(errorCounts(records));
    const errorsOf = (code: string) =>
      samplesOf(m, 'troupe_errors_total', { code }).reduce((n, s) => n + s.value, 0);
    expect([
      errorsOf('ERR_TASK_FAILED'),
      errorsOf('ERR_QUEUE_FULL'),
      errorsOf('ERR_TASK_ABORTED'),
    ]).toEqual([2, 1, 1]);
    expect(byLabel(m, 'troupe_resources', 'state')).toEqual(resourceCounts(troupe));
    expect(sampleValue(m, 'troupe_resources', { state: 'open' })).toBeGreaterThanOrEqual(5);
    expect(samplesOf(m, 'troupe_shutdown_phase_duration_seconds')).toEqual([]);

    // The shutdown: every phase timed as the report says; counters stay.
    const report = await troupe.shutdown({ reason: 'metrics test' });
    const after = await scrape(troupe);
    expect(byLabel(after, 'troupe_shutdown_phase_duration_seconds', 'phase')).toEqual({
      signaling: report.phases.signaling.durationMs / 1000,
      draining: report.phases.draining.durationMs / 1000,
      closing: report.phases.closing.durationMs / 1000,
    });
    for (const [id, counts] of Object.entries(expected)) {
      expect(outcomes(after, id), id).toEqual(counts);
    }
    expect(report.tasks).toMatchObject({ completed: 7, failed: 3, aborted: 1, rejected: 1 });
    expect(sampleValue(after, 'troupe_runner_restarts_total', { runner: 'crashy' })).toBe(1);
    expect(sampleValue(after, 'troupe_task_duration_seconds_count', { runner: 'work' })).toBe(7);
    expect(errorSamples(after)).toEqual(errorCounts(records));
    expect(byLabel(after, 'troupe_resources', 'state')).toEqual(resourceCounts(troupe));
    // Stopped runners have no gauges.
    expect(samplesOf(after, 'troupe_runner_up')).toEqual([]);
    expect(samplesOf(after, 'troupe_tasks_in_flight')).toEqual([]);
    expect(samplesOf(after, 'troupe_threads')).toEqual([]);

    // A run() on a stopped runner is refused, and counted.
    expect(isTroupeError(await rejectionOf(work.run(1)), 'ERR_SHUTDOWN_IN_PROGRESS')).toBe(true);
    expect(outcomes(await scrape(troupe), 'work')).toEqual({ ...expected.work, rejected: 1 });
  });

  it('two troupes in one process have their own registries (no clash), default metrics on request', async () => {
    const a = makeTroupe({ nodeId: 'metrics-b1' });
    const b = makeTroupe({ nodeId: 'metrics-b2', metrics: { defaultMetrics: true } });
    expect(a.metrics.registry).not.toBe(b.metrics.registry);
    const [ra, rb] = await Promise.all([
      a.spawnRunner({ id: 'same', worker: fixtures.echo, threads: 1 }),
      b.spawnRunner({ id: 'same', worker: fixtures.echo, threads: 1 }),
    ]);
    await Promise.all([ra.run(1), ra.run(2), ra.run(3), rb.run(1)]);
    const [ma, mb] = await Promise.all([scrape(a), scrape(b)]);
    expect(sampleValue(ma, 'troupe_tasks_total', { runner: 'same', outcome: 'completed' })).toBe(3);
    expect(sampleValue(mb, 'troupe_tasks_total', { runner: 'same', outcome: 'completed' })).toBe(1);
    expect(ma.types.has('process_cpu_user_seconds_total')).toBe(false);
    expect(mb.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(mb.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
  });
});
