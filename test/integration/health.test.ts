// Health monitoring with real threads: the score, hung-thread detection,
// automatic recovery, and no false alarm for a busy thread.
import type { Alert, HealthReport, RunnerHealth } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { nextEvent, nthEvent, stateReached, whenSnapshot } from '../helpers/events.js';
import { makeTroupe } from '../helpers/troupe.js';

describe('health', () => {
  it('scores a serving runner 1 with its figures, and reports stopped after shutdown', async () => {
    const troupe = makeTroupe({ health: { intervalMs: 50 } });
    const intervalReports = nthEvent(troupe, 'health', 2, () => true, 2_000);
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
    await intervalReports; // the monitor probes on its own too
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
    const busyReports: RunnerHealth[] = [];
    // More probes timing out than `unhealthyProbes` (3) would tolerate from a hung thread.
    const probedWhileBusy = nthEvent(
      troupe,
      'health',
      6,
      (r) => {
        const mine = r.runners.find((h) => h.id === runner.id);
        if (mine?.threads.busy !== 1) return false;
        busyReports.push(mine);
        return true;
      },
      10_000,
    );
    const task = runner.run();
    task.catch(() => {});
    await probedWhileBusy;
    expect(busyReports.map((h) => h.status)).toEqual(busyReports.map(() => 'healthy'));
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
    const alerted = nextEvent(troupe, 'alert');
    const hung = runner.run();
    const outcome = hung.then(
      () => 'resolved',
      (e: unknown) => (e as { code?: string }).code,
    );
    await alerted;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      kind: 'health',
      code: 'ERR_UNHEALTHY',
      runnerId: 'stuck',
      decision: 'restart',
      severity: 'HIGH',
    });
    expect(await outcome).toBe('ERR_WORKER_CRASHED'); // lost to the restart, typed
    await whenSnapshot(
      runner.actor,
      (s) => s.context.restartCount === 1 && runner.state === 'ready',
      5_000,
      'ready again after the restart',
    );
    const errors = troupe.errors.stats();
    expect(errors.byCode.ERR_UNHEALTHY).toBe(1);
    // The unhealthy record is the one the restart resolved.
    const unhealthy = troupe.errors.recent().find((r) => r.code === 'ERR_UNHEALTHY');
    expect(unhealthy?.resolution).toBe('restart');
    // serving again (a new thread)
    const echo = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    expect(await echo.run('fine')).toBe('fine');
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
    const stopped = stateReached(troupe, runner, 'stopped');
    const hung = runner.run().catch((e: unknown) => (e as { code?: string }).code);
    await stopped;
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
    const failed = stateReached(troupe, bad, 'failed');
    await bad.run({ code: 1 }).catch(() => {});
    await failed;
    const report = await troupe.probeHealth();
    expect(report.status).not.toBe('healthy');
    expect(report.runners.map((r) => [r.id, r.status])).toEqual([
      ['fine', 'healthy'],
      ['bad', 'stopped'],
    ]);
  });
});
