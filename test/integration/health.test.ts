// Health monitoring with real threads: the score, hung-thread detection
// (per thread, beside a serving sibling), saturation, automatic recovery,
// and no false alarm for a busy thread.
import type { Alert, HealthReport, RunnerHealth } from '@troupe/runtime';
import { counterReached, fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { nextEvent, nthEvent, stateReached, whenSnapshot } from '../helpers/events.js';
import { fixture, sharedInts } from '../helpers/fixtures.js';
import { makeTroupe } from '../helpers/troupe.js';

describe('health', () => {
  it('scores a serving runner 1 with its figures, and reports stopped after shutdown', async () => {
    const troupe = makeTroupe({ health: { intervalMs: 50 } });
    const intervalReports = nthEvent(troupe, 'health', 2, () => true, 2_000);
    const runner = await troupe.spawnRunner({ id: 'ok', worker: fixtures.sleep, threads: 2 });
    // Two at a time on two threads: nothing waits for a thread.
    for (let i = 0; i < 10; i++) await Promise.all([runner.run(5), runner.run(5)]);
    const report = await troupe.probeHealth();
    expect(report).toMatchObject({ score: 1, status: 'healthy', ready: true, phase: 'running' });
    const health = report.runners[0];
    expect(health).toMatchObject({
      id: 'ok',
      status: 'healthy',
      components: { process: 1, status: 1, resource: 1, error: 1, tasks: 1 },
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

  it('a busy-looping thread beside a serving sibling is detected and replaced: ERR_WORKER_UNRESPONSIVE, an alert, the sibling serves on', async () => {
    const hungAfterMs = 300;
    const intervalMs = 50;
    const troupe = makeTroupe({
      health: { intervalMs, probeTimeoutMs: 25, thresholds: { hungAfterMs } },
    });
    const alerts: Alert[] = [];
    troupe.on('alert', (a) => alerts.push(a));
    const runner = await troupe.spawnRunner({
      id: 'mixed',
      worker: fixture('spin-or-sleep'),
      threads: 2,
      restart: { maxRestarts: 5 },
    });
    const detections: number[] = [];
    for (let round = 1; round <= 3; round++) {
      const flags = sharedInts(1);
      const alerted = nextEvent(
        troupe,
        'alert',
        (a) => a.code === 'ERR_WORKER_UNRESPONSIVE',
        hungAfterMs + 20 * intervalMs,
      );
      const stuck = runner.run({ flags }, { handler: 'spin' });
      const outcome = stuck.then(
        () => 'resolved',
        (e: unknown) => (e as { code?: string }).code,
      );
      expect(await counterReached(flags, 0, 1, 5_000)).toBe(true);
      const spinning = performance.now();
      // The sibling keeps serving (tasks settle all along) while its neighbour spins.
      let served = 0;
      const sibling = { serving: true };
      const serving = (async () => {
        while (sibling.serving) {
          await runner.run(5);
          served += 1;
        }
      })();
      const alert = await alerted;
      detections.push(performance.now() - spinning);
      sibling.serving = false;
      await serving;
      expect(await outcome).toBe('ERR_WORKER_UNRESPONSIVE');
      expect(alert).toMatchObject({
        kind: 'health',
        code: 'ERR_WORKER_UNRESPONSIVE',
        runnerId: 'mixed',
        decision: 'restart',
        severity: 'HIGH',
      });
      expect(served).toBeGreaterThan(10);
      // Replaced: two threads serve again, without a restart of the runner.
      await whenSnapshot(
        runner.actor,
        (snap) => snap.matches({ running: { threads: 'full' } }) && runner.threadIds.length === 2,
        5_000,
        'the hung thread replaced',
      );
      expect(runner.stats()).toMatchObject({ restarts: round, crashes: 0 });
      expect(await Promise.all([runner.run(1), runner.run(1)])).toEqual([1, 1]);
    }
    console.info(
      `hung-thread detection (hungAfterMs ${hungAfterMs}, intervalMs ${intervalMs}, bound ${hungAfterMs + 2 * intervalMs} ms): ${detections.map((d) => d.toFixed(0)).join(', ')} ms`,
    );
    for (const detection of detections) {
      // Counted from the task's dispatch, a little before the flag was seen here.
      expect(detection).toBeGreaterThanOrEqual(hungAfterMs - 25);
      expect(detection).toBeLessThanOrEqual(hungAfterMs + 2 * intervalMs);
    }
    expect(alerts.map((a) => a.code)).toEqual(
      Array.from({ length: 3 }, () => 'ERR_WORKER_UNRESPONSIVE'),
    );
    expect(troupe.errors.stats().byCode.ERR_WORKER_UNRESPONSIVE).toBe(3);
    expect(troupe.errors.stats().byCode.ERR_UNHEALTHY).toBeUndefined();
    // Never restarted whole: the runner served all along.
    expect(runner.actor.getSnapshot().matches('running')).toBe(true);
  });

  it('a thread silent outside any task makes the runner unhealthy: it is restarted', async () => {
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
      worker: fixture('block-after-return'),
      threads: 1,
      closeTimeoutMs: 100,
      restart: { backoff: { baseMs: 10, capMs: 50 } },
    });
    const alerted = nextEvent(troupe, 'alert');
    // Returns, then blocks its thread's event loop with no task on it.
    expect(await runner.run(60_000, { handler: 'block' })).toBe('returned');
    await alerted;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      kind: 'health',
      code: 'ERR_UNHEALTHY',
      runnerId: 'stuck',
      decision: 'restart',
      severity: 'HIGH',
    });
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
    expect(await runner.run('fine', { handler: 'echo' })).toBe('fine');
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
    const runner = await troupe.spawnRunner({
      id: 'stuck',
      worker: fixture('block-after-return'),
      threads: 1,
      closeTimeoutMs: 100,
    });
    const stopped = stateReached(troupe, runner, 'stopped');
    expect(await runner.run(60_000, { handler: 'block' })).toBe('returned');
    await stopped;
  });

  it('a saturated runner (every thread busy, a queue that waits) reads degraded, then healthy once it drains', async () => {
    const troupe = makeTroupe({ health: { intervalMs: 50, thresholds: { queueWaitMs: 100 } } });
    const runner = await troupe.spawnRunner({ id: 'sat', worker: fixtures.sleep, threads: 2 });
    const mine = (r: HealthReport): RunnerHealth | undefined =>
      r.runners.find((h) => h.id === 'sat');
    const saturated = nextEvent(troupe, 'health', (r) => mine(r)?.status === 'degraded', 5_000);
    const tasks = Array.from({ length: 30 }, () => runner.run(40));
    const report = mine(await saturated);
    expect(report?.tasks.utilisation).toBe(1);
    expect(report?.tasks.queued).toBeGreaterThan(0);
    expect(
      Math.max(report?.tasks.queueWaitMs.oldest ?? 0, report?.tasks.queueWaitMs.p90 ?? 0),
    ).toBeGreaterThan(0);
    expect(report?.components.tasks).toBeLessThan(1);
    expect(report?.components).toMatchObject({ process: 1, status: 1, resource: 1, error: 1 });
    expect(report?.score).toBeLessThan(0.9);
    expect(report?.score).toBeGreaterThanOrEqual(0.85);
    await Promise.all(tasks);
    const drained = nextEvent(
      troupe,
      'health',
      (r) => mine(r)?.status === 'healthy' && mine(r)?.tasks.queued === 0,
      5_000,
    );
    expect(mine(await drained)?.components.tasks).toBe(1);
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
