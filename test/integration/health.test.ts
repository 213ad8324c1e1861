// Health monitoring with real threads: the score, hung-thread detection,
// automatic recovery, and no false alarm for a busy thread.
import type { Alert, HealthReport } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { makeTroupe, sleep, until } from '../helpers/troupe.js';

describe('health', () => {
  it('scores a serving runner 1 with its figures, and reports stopped after shutdown', async () => {
    const troupe = makeTroupe({ health: { intervalMs: 50 } });
    const reports: HealthReport[] = [];
    troupe.on('health', (r) => reports.push(r));
    const runner = await troupe.spawnRunner({ id: 'ok', worker: fixtures.sleep, threads: 2 });
    await Promise.all(Array.from({ length: 20 }, () => runner.run(5)));
    const report = await troupe.probeHealth();
    expect(report).toMatchObject({ score: 1, status: 'healthy', ready: true, phase: 'running' });
    const health = report.runners[0];
    expect(health).toMatchObject({
      id: 'ok',
      status: 'healthy',
      components: { process: 1, status: 1, resource: 1, error: 1 },
      threads: { expected: 2, alive: 2, responsive: 2, busy: 0, hung: 0 },
    });
    expect(health?.tasks.completed).toBe(20);
    expect(health?.tasks.latencyMs?.p50).toBeGreaterThanOrEqual(4);
    await until(() => reports.length >= 2, 2_000, 'interval reports');
    await troupe.shutdown();
    expect(troupe.health()).toMatchObject({ status: 'stopped', ready: false, phase: 'stopped' });
  });

  it('probeHealth() while a probe is running returns a later probe, with figures from after the call', async () => {
    const troupe = makeTroupe({
      shutdown: { drainingMs: 100, abortGraceMs: 50 },
      health: { intervalMs: 60_000, probeTimeoutMs: 300, thresholds: { hungAfterMs: 10_000 } },
    });
    // A thread that never answers keeps each probe open for probeTimeoutMs.
    const stuck = await troupe.spawnRunner({ id: 'stuck', worker: fixtures.hang, threads: 1 });
    stuck.run().catch(() => {});
    const runner = await troupe.spawnRunner({ id: 'ok', worker: fixtures.sleep, threads: 2 });
    const tasks = Array.from({ length: 4 }, () => runner.run(40));
    const completedOf = (report: HealthReport): number | undefined =>
      report.runners.find((r) => r.id === 'ok')?.tasks.completed;
    const early = troupe.probeHealth();
    await Promise.all(tasks);
    const late = troupe.probeHealth();
    // Callers that arrive while that probe is queued share it.
    expect(troupe.probeHealth()).toBe(late);
    expect(late).not.toBe(early);
    expect(completedOf(await early)).toBe(0);
    expect(completedOf(await late)).toBe(4);
    await troupe.shutdown();
  });

  it('a thread busy with synchronous work for a while is not a fault', async () => {
    const troupe = makeTroupe({
      shutdown: { drainingMs: 100, abortGraceMs: 50 },
      health: { intervalMs: 50, probeTimeoutMs: 30, thresholds: { hungAfterMs: 10_000 } },
    });
    const alerts: Alert[] = [];
    troupe.on('alert', (a) => alerts.push(a));
    const runner = await troupe.spawnRunner({ worker: fixtures.hang, threads: 1 });
    const task = runner.run();
    task.catch(() => {});
    await sleep(400);
    const report = await troupe.probeHealth();
    expect(report.runners[0]?.threads).toMatchObject({ responsive: 0, busy: 1, hung: 0 });
    expect(report.runners[0]?.status).toBe('healthy');
    expect(alerts).toEqual([]);
  });

  it('detects hung threads and recovers the runner by restarting it (the hung task is failed)', async () => {
    const troupe = makeTroupe({
      health: {
        intervalMs: 50,
        probeTimeoutMs: 30,
        thresholds: { hungAfterMs: 200, unhealthyProbes: 2 },
      },
    });
    const alerts: Alert[] = [];
    troupe.on('alert', (a) => alerts.push(a));
    const runner = await troupe.spawnRunner({
      id: 'stuck',
      worker: fixtures.hang,
      threads: 1,
      restart: { backoff: { baseMs: 10, capMs: 50 } },
    });
    const hung = runner.run();
    const outcome = hung.then(
      () => 'resolved',
      (e: unknown) => (e as { code?: string }).code,
    );
    await until(() => alerts.length > 0, 5_000, 'health alert');
    expect(alerts[0]).toMatchObject({
      kind: 'health',
      code: 'ERR_UNHEALTHY',
      runnerId: 'stuck',
      decision: 'restart',
      severity: 'HIGH',
    });
    expect(await outcome).toBe('ERR_WORKER_CRASHED'); // lost to the restart, typed
    await until(() => runner.state === 'ready', 5_000, 'ready again');
    expect(runner.stats().restarts).toBe(1);
    const errors = troupe.errors.stats();
    expect(errors.byCode.ERR_UNHEALTHY).toBe(1);
    expect(errors.resolved.restart).toBeGreaterThanOrEqual(1);
    // serving again (a new thread)
    const echo = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    expect(await echo.run('fine')).toBe('fine');
    await sleep(200);
    expect((await troupe.probeHealth()).runners.find((r) => r.id === 'stuck')?.status).toBe(
      'healthy',
    );
  });

  it("recovery 'stop' stops a persistently unhealthy runner gracefully", async () => {
    const troupe = makeTroupe({
      shutdown: { drainingMs: 200, abortGraceMs: 50 },
      health: {
        intervalMs: 50,
        probeTimeoutMs: 30,
        recovery: 'stop',
        thresholds: { hungAfterMs: 150, unhealthyProbes: 2 },
      },
    });
    const runner = await troupe.spawnRunner({ id: 'stuck', worker: fixtures.hang, threads: 1 });
    const hung = runner.run().catch((e: unknown) => (e as { code?: string }).code);
    await until(() => runner.state === 'stopped', 5_000, 'stopped');
    expect(await hung).toBe('ERR_TASK_ABORTED'); // drained, then aborted at the drain deadline
  });

  it('a failed runner leaves the troupe degraded', async () => {
    const troupe = makeTroupe({ health: { intervalMs: 50 } });
    await troupe.spawnRunner({ id: 'fine', worker: fixtures.echo, threads: 1 });
    const bad = await troupe.spawnRunner({
      id: 'bad',
      worker: fixtures.crashMidTask,
      threads: 1,
      restart: { policy: 'temporary' },
    });
    await bad.run({ code: 1 }).catch(() => {});
    await until(() => bad.state === 'failed', 5_000, 'failed');
    const report = await troupe.probeHealth();
    expect(report.status).not.toBe('healthy');
    expect(report.runners.map((r) => [r.id, r.status])).toEqual([
      ['fine', 'healthy'],
      ['bad', 'stopped'],
    ]);
  });
});
