// The three-phase shutdown with real threads: nothing accepted is lost,
// nothing arriving late hangs, and every caller gets the same report.
import { setTimeout as delay } from 'node:timers/promises';
import { isTroupeError, type ShutdownPhase } from '@troupe/runtime';
import { checkLeaks, counterReached, fixtures, snapshotHandles } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { fixture, sharedInts } from '../helpers/fixtures.js';
import { makeTroupe } from '../helpers/troupe.js';
import { settlesAtOnce } from '../helpers/wait.js';

describe('three-phase shutdown', () => {
  it('drains every task accepted before SIGNALING: 400 tasks over 3 runners, zero lost', async () => {
    const troupe = makeTroupe({ shutdown: { drainingMs: 20_000 } });
    const runners = await Promise.all(
      ['a', 'b', 'c'].map((id) => troupe.spawnRunner({ id, worker: fixtures.sleep, threads: 2 })),
    );
    const submitted = Array.from({ length: 400 }, (_, i) =>
      (runners[i % 3] as (typeof runners)[number]).run(1 + (i % 7)),
    );
    // Mid-stream: some tasks done, some running, the rest queued.
    await Promise.race(submitted);
    const report = await troupe.shutdown({ reason: 'load' });
    const settled = await Promise.allSettled(submitted);
    const fulfilled = settled.filter((s) => s.status === 'fulfilled');
    expect(fulfilled).toHaveLength(400);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : -1))).toEqual(
      Array.from({ length: 400 }, (_, i) => 1 + (i % 7)),
    );
    expect(report.tasks.submitted).toBe(400);
    expect(report.tasks.completed).toBe(400);
    expect(report.tasks.inFlightAtSignal).toBeGreaterThan(0);
    expect(report.tasks.inFlightAtSignal).toBeLessThan(400);
    expect(report.tasks.drained.completed).toBe(report.tasks.inFlightAtSignal);
    expect(report.forced).toBe(false);
    expect(report.threads).toEqual({ started: 6, exited: 6, leaked: 0 });
  });

  it('drains two busy threads whole (piscina close() would kill the long task)', async () => {
    // FIELD-NOTES: with 2 busy workers piscina's close() rejects the 1500 ms
    // task with "Terminating worker thread" after ~544 ms. Troupe never calls close().
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixture('notify-then-sleep'), threads: 2 });
    const flags = sharedInts(1);
    const short = runner.run({ ms: 200, flags });
    const long = runner.run({ ms: 1_500, flags });
    expect(await counterReached(flags, 0, 2, 5_000), 'both threads busy').toBe(true);
    const started = performance.now();
    const report = await troupe.shutdown();
    expect(await short).toBe(200);
    expect(await long).toBe(1_500);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(report.tasks.drained).toEqual({ completed: 2, failed: 0, aborted: 0 });
    expect(report.phases.draining.timedOut).toBe(false);
  });

  it('readinessDelayMs: readiness turns false at SIGNALING, work is still admitted and served for the delay, then refused', async () => {
    const troupe = makeTroupe({ shutdown: { readinessDelayMs: 400 } });
    const runner = await troupe.spawnRunner({ worker: fixtures.sleep, threads: 2 });
    const admitted: Promise<unknown>[] = [];
    let signaledAt = 0;
    let readyAtSignal: boolean | null = null;
    troupe.on('shutdown:phase', ({ phase }) => {
      if (phase !== 'signaling') return;
      signaledAt = performance.now();
      readyAtSignal = troupe.ready;
      // Accepted in the very listener of SIGNALING: the delay admits.
      admitted.push(runner.run(5));
    });
    const report = troupe.shutdown({ reason: 'deploy' });
    // Work keeps arriving (the load balancer still routes here) until refused.
    let refusal: unknown = null;
    let refusedAfterMs = 0;
    while (refusal === null) {
      const task = runner.run(5);
      const outcome = await Promise.race([
        task.then(
          () => 'admitted',
          (error: unknown) => error,
        ),
        // A refusal settles at once; an admitted 5 ms task is left to finish.
        new Promise((resolve) => setTimeout(resolve, 20, 'admitted')),
      ]);
      if (outcome === 'admitted') admitted.push(task);
      else {
        refusal = outcome;
        refusedAfterMs = performance.now() - signaledAt;
      }
    }
    expect(readyAtSignal).toBe(false);
    expect(isTroupeError(refusal) && refusal.code).toBe('ERR_SHUTDOWN_IN_PROGRESS');
    // Not refused before the delay was over (-1: timer rounding).
    expect(refusedAfterMs).toBeGreaterThanOrEqual(399);
    expect(admitted.length).toBeGreaterThan(2);
    expect(await Promise.all(admitted)).toEqual(admitted.map(() => 5));
    const done = await report;
    expect(done.readinessDelayMs).toBeGreaterThanOrEqual(399);
    expect(done.forced).toBe(false);
    // Admitted during the delay counts as submitted, not as refused.
    expect(done.tasks.completed).toBe(admitted.length);
    expect(done.tasks.rejected).toBe(1);
    expect(done.tasks.drained.completed).toBe(done.tasks.inFlightAtSignal);
  });

  it('readinessDelayMs: a force cuts the delay short (report.readinessDelayMs far below it)', async () => {
    const troupe = makeTroupe({ shutdown: { readinessDelayMs: 60_000 } });
    await troupe.spawnRunner({ worker: fixtures.sleep, threads: 1 });
    troupe.on('shutdown:phase', ({ phase }) => {
      if (phase === 'signaling') void troupe.shutdown({ force: true });
    });
    const report = await troupe.shutdown();
    expect(report.readinessDelayMs).toBeLessThan(10_000);
    expect(report.forceRequested).toBe(true);
    expect(report.forced).toBe(true);
    expect(report.threads.leaked).toBe(0);
  });

  it('shutdown({ force: true }) cuts a long drain: the task is aborted, the report says forced', async () => {
    const troupe = makeTroupe({ shutdown: { drainingMs: 60_000, abortGraceMs: 100 } });
    const runner = await troupe.spawnRunner({ worker: fixture('notify-then-sleep'), threads: 1 });
    const flags = sharedInts(1);
    const long = runner.run({ ms: 60_000, flags }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(await counterReached(flags, 0, 1, 5_000)).toBe(true);
    troupe.on('shutdown:phase', ({ phase }) => {
      if (phase === 'draining') void troupe.shutdown({ force: true, reason: 'ignored' });
    });
    const report = await troupe.shutdown({ reason: 'deploy' });
    expect(await long).toMatchObject({ code: 'ERR_TASK_ABORTED' });
    expect(report.reason).toBe('deploy');
    expect(report.forceRequested).toBe(true);
    expect(report.forced).toBe(true);
    expect(report.phases.draining.timedOut).toBe(true);
    expect(report.phases.draining.durationMs).toBeLessThan(30_000);
    expect(report.tasks.drained).toEqual({ completed: 0, failed: 0, aborted: 1 });
    expect(report.threads.leaked).toBe(0);
  });

  it('rejects run() at once with ERR_SHUTDOWN_IN_PROGRESS in every phase, never hangs', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixtures.sleep, threads: 1 });
    const inFlight = runner.run(300);
    const refusals: { phase: ShutdownPhase; code: unknown; atOnce: boolean }[] = [];
    const tryRun = async (phase: ShutdownPhase): Promise<void> => {
      const entry = { phase, code: 'pending' as unknown, atOnce: false };
      refusals.push(entry); // in phase order, before anything is awaited
      const attempt = runner.run(1);
      entry.atOnce = await settlesAtOnce(attempt);
      try {
        await attempt;
        entry.code = 'resolved';
      } catch (error) {
        entry.code = isTroupeError(error) ? error.code : error;
      }
    };
    const attempts: Promise<void>[] = [];
    troupe.on('shutdown:phase', ({ phase }) => {
      attempts.push(tryRun(phase));
    });
    const report = await troupe.shutdown();
    attempts.push(tryRun('stopped'));
    await Promise.all(attempts);
    expect(await inFlight).toBe(300);
    expect(refusals.map((r) => r.phase)).toEqual([
      'signaling',
      'draining',
      'closing',
      'stopped',
      'stopped',
    ]);
    for (const refusal of refusals) {
      expect(refusal).toMatchObject({ code: 'ERR_SHUTDOWN_IN_PROGRESS', atOnce: true });
    }
    // The last refusal came after the report was made.
    expect(report.tasks.rejected).toBe(4);
    await expect(troupe.spawnRunner({ worker: fixtures.echo })).rejects.toMatchObject({
      code: 'ERR_SHUTDOWN_IN_PROGRESS',
    });
    expect(() => troupe.resources.register({ id: 'late', close: () => {} })).toThrow(
      expect.objectContaining({ code: 'ERR_SHUTDOWN_IN_PROGRESS' }) as Error,
    );
  });

  it('gives every shutdown() call the same promise, sequential or concurrent', async () => {
    const troupe = makeTroupe();
    await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    const first = troupe.shutdown({ reason: 'first' });
    const second = troupe.shutdown({ reason: 'second' });
    const concurrent = await Promise.all([first, second, troupe.shutdown()]);
    expect(second).toBe(first);
    expect(concurrent[0]).toBe(concurrent[1]);
    expect(concurrent[0]).toBe(concurrent[2]);
    expect(concurrent[0].reason).toBe('first');
    const later = troupe.shutdown({ reason: 'later' });
    expect(later).toBe(first);
    expect(troupe.phase).toBe('stopped');
  });

  it('reports phases in order with durations, and the report is plain data', async () => {
    const troupe = makeTroupe();
    await troupe.spawnRunner({ id: 'r', worker: fixtures.stream, threads: 1 });
    // CLOSING takes at least this long: its duration must show it.
    troupe.resources.register({ id: 'slow', close: () => delay(30) });
    const phases: ShutdownPhase[] = [];
    const enteredAt = new Map<ShutdownPhase, number>();
    troupe.on('shutdown:phase', ({ phase }) => {
      phases.push(phase);
      enteredAt.set(phase, performance.now());
    });
    expect(troupe.ready).toBe(true);
    const pending = troupe.shutdown({ reason: 'deploy' });
    expect(troupe.ready).toBe(false);
    const report = await pending;
    expect(phases).toEqual(['signaling', 'draining', 'closing', 'stopped']);
    expect(report.reason).toBe('deploy');
    // Each phase lasted from its event to the next phase's event.
    const timed = ['signaling', 'draining', 'closing'] as const;
    for (const [i, phase] of timed.entries()) {
      const observed = enteredAt.get(phases[i + 1]!)! - enteredAt.get(phase)!;
      expect(Math.abs(report.phases[phase].durationMs - observed), phase).toBeLessThan(5);
      expect(report.phases[phase].timedOut).toBe(false);
    }
    expect(report.phases.closing.durationMs).toBeGreaterThanOrEqual(30);
    const { signaling, draining, closing } = report.phases;
    expect(signaling.durationMs + draining.durationMs + closing.durationMs).toBeLessThanOrEqual(
      report.durationMs,
    );
    expect(structuredClone(report)).toEqual(report);
    expect(report.runners).toEqual([{ id: 'r', state: 'stopped', restarts: 0, forced: false }]);
    expect(report.resources.details.map((d) => d.id)).toContain('r');
  });

  it('takes 16 idle runners down quickly and leaves no handle or thread behind', async () => {
    const baseline = snapshotHandles();
    const troupe = makeTroupe();
    await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        troupe.spawnRunner({ id: `idle-${i}`, worker: fixtures.echo, threads: 1 }),
      ),
    );
    const report = await troupe.shutdown();
    expect(report.threads).toEqual({ started: 16, exited: 16, leaked: 0 });
    expect(report.resources.forced).toBe(0);
    const leaks = await checkLeaks(baseline);
    expect(leaks.ok, leaks.message).toBe(true);
  });
});
