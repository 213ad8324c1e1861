// Supervision with real threads: OTP restart policies, restart intensity,
// growing backoff for a module that crashes on load, escalation, per-runner
// budgets, and retries of idempotent tasks.
import type { Alert, ErrorRecord, RunnerStateEvent } from '@troupe/runtime';
import { Control, counterReached, createControl, fixtures, releaseHeld } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { nextEvent, stateReached, whenSnapshot } from '../helpers/events.js';
import { sharedInts } from '../helpers/fixtures.js';
import { makeTroupe } from '../helpers/troupe.js';
import { troupeErrorOf } from '../helpers/wait.js';

describe('supervision', () => {
  it('a module that breaks on reload is a bounded crash loop with growing backoff, then failed', async () => {
    const troupe = makeTroupe();
    const states: (RunnerStateEvent & { at: number })[] = [];
    const alerts: Alert[] = [];
    troupe.on('runner:state', (e) => states.push({ ...e, at: performance.now() }));
    troupe.on('alert', (a) => alerts.push(a));
    const sibling = await troupe.spawnRunner({ id: 'sibling', worker: fixtures.echo, threads: 1 });
    const runner = await troupe.spawnRunner({
      id: 'flaky',
      worker: fixtures.flakyLoad,
      threads: 1,
      workerData: { loads: sharedInts(1), okLoads: 1 },
      restart: { maxRestarts: 3, windowMs: 60_000, backoff: { baseMs: 80, capMs: 2_000 } },
    });
    const failed = stateReached(troupe, runner, 'failed', 10_000);
    // The task kills its thread; every later load of the module throws.
    const crashed = await troupeErrorOf(runner.run({ crash: true }));
    expect(crashed.code).toBe('ERR_WORKER_CRASHED');
    await failed;
    const mine = states.filter((s) => s.runnerId === 'flaky');
    const restarts = mine.filter((s) => s.state === 'restarting');
    const starts = mine.filter((s) => s.state === 'starting' && s.previous === 'restarting');
    // 1 thread replacement (counted) + 2 full restarts = the limit of 3
    expect(runner.stats().restarts).toBe(3);
    expect(restarts).toHaveLength(2);
    expect(starts).toHaveLength(2);
    // backoff between restarts: full jitter under a doubling ceiling
    const waits = restarts.map((r, i) => (starts[i] as { at: number }).at - r.at);
    expect(waits[0]).toBeLessThanOrEqual(160 + 60); // attempt 2: ceiling 160 ms (+ release time)
    expect(waits[1]).toBeLessThanOrEqual(320 + 60); // attempt 3: ceiling 320 ms
    // then failed, with the restart limit as the reason
    const failureError = await troupeErrorOf(runner.run(1));
    expect(failureError.code).toBe('ERR_RESTART_LIMIT');
    expect(failureError.context).toMatchObject({ runnerId: 'flaky', maxRestarts: 3 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      kind: 'escalation',
      code: 'ERR_RESTART_LIMIT',
      runnerId: 'flaky',
      decision: 'degrade',
      severity: 'CRITICAL',
    });
    // degraded, not down: the sibling keeps serving
    expect(await sibling.run('still here')).toBe('still here');
    expect(troupe.phase).toBe('running');
    expect(troupe.health().status).toBe('degraded');
    const stats = troupe.errors.stats();
    // one escalation by the supervisor (CRITICAL), one refused call (MEDIUM, SKIP)
    expect(stats.byCode.ERR_RESTART_LIMIT).toBe(2);
    expect(stats.bySeverity.CRITICAL).toBe(1);
    const limitRecords = troupe.errors.recent().filter((r) => r.code === 'ERR_RESTART_LIMIT');
    expect(limitRecords.map((r) => [r.severity, r.action])).toEqual([
      ['CRITICAL', 'ESCALATE'],
      ['MEDIUM', 'SKIP'],
    ]);
    const report = await troupe.shutdown();
    expect(report.threads.leaked).toBe(0);
    expect(report.runners.find((r) => r.id === 'flaky')).toMatchObject({
      state: 'failed',
      restarts: 3,
    });
  });

  it("escalation 'shutdown': a runner over its restart limit shuts the troupe down gracefully", async () => {
    const troupe = makeTroupe({ errors: { escalation: 'shutdown' } });
    const phases: string[] = [];
    troupe.on('shutdown:phase', (e) => phases.push(`${e.phase}:${e.reason}`));
    // A task held until the escalation's shutdown begins: accepted before
    // it, so drained, not lost.
    const control = createControl();
    troupe.on('shutdown:phase', ({ phase }) => {
      if (phase === 'signaling') releaseHeld(control);
    });
    const busy = await troupe.spawnRunner({
      id: 'busy',
      worker: fixtures.controllable,
      threads: 1,
      workerData: { control },
    });
    const runner = await troupe.spawnRunner({
      id: 'doomed',
      worker: fixtures.crashMidTask,
      threads: 1,
      restart: { maxRestarts: 1, windowMs: 60_000 },
    });
    const accepted = busy.run(0, { handler: 'hold' });
    expect(await counterReached(control, Control.holding, 1, 5_000)).toBe(true);
    await troupeErrorOf(runner.run({ code: 1 }));
    await whenSnapshot(
      runner.actor,
      (s) => s.context.restartCount === 1 && s.matches({ running: { threads: 'full' } }),
      5_000,
      'first crash replaced',
    );
    const stopped = nextEvent(troupe, 'shutdown:phase', (e) => e.phase === 'stopped', 10_000);
    await troupeErrorOf(runner.run({ code: 1 })); // one more than maxRestarts
    await stopped;
    expect(await accepted).toBe('released');
    expect(phases[0]).toBe('signaling:escalation: ERR_RESTART_LIMIT (doomed)');
    const report = await troupe.shutdown({ reason: 'ignored: already shutting down' });
    expect(report.reason).toBe('escalation: ERR_RESTART_LIMIT (doomed)');
    expect(report.tasks.inFlightAtSignal).toBe(1);
    expect(report.tasks.drained).toEqual({ completed: 1, failed: 0, aborted: 0 });
  });

  it('budgets are per runner: a crash-looping sibling neither spends nor delays another runner’s restarts', async () => {
    const troupe = makeTroupe();
    const looping = await troupe.spawnRunner({
      id: 'looping',
      worker: fixtures.crashMidTask,
      threads: 1,
      restart: { maxRestarts: 100, windowMs: 60_000 },
    });
    const steady = await troupe.spawnRunner({
      id: 'steady',
      worker: fixtures.crashMidTask,
      threads: 1,
      restart: { maxRestarts: 1, windowMs: 60_000 },
    });
    for (let i = 0; i < 5; i++) await troupeErrorOf(looping.run({ code: 1 }));
    await whenSnapshot(looping.actor, () => looping.stats().crashes === 5, 5_000, '5 crashes');
    const t0 = performance.now();
    await troupeErrorOf(steady.run({ code: 1 }));
    await whenSnapshot(
      steady.actor,
      (s) => steady.stats().crashes === 1 && s.matches({ running: { threads: 'full' } }),
      5_000,
      'steady replaced',
    );
    const replacedIn = performance.now() - t0;
    expect(steady.stats().restarts).toBe(1);
    expect(steady.state === 'ready' || steady.state === 'busy').toBe(true); // one crash is within its own limit
    expect(looping.stats().restarts).toBe(5);
    expect(replacedIn).toBeLessThan(2_000);
  });

  it("policy 'temporary': the first crash fails the runner, without a restart or an escalation", async () => {
    const troupe = makeTroupe();
    const alerts: Alert[] = [];
    troupe.on('alert', (a) => alerts.push(a));
    const runner = await troupe.spawnRunner({
      worker: fixtures.crashMidTask,
      threads: 1,
      restart: { policy: 'temporary' },
    });
    const failed = stateReached(troupe, runner, 'failed');
    await troupeErrorOf(runner.run({ code: 4 }));
    await failed;
    expect(runner.stats().restarts).toBe(0);
    const refused = await troupeErrorOf(runner.run({ code: 4 }));
    expect(refused.code).toBe('ERR_WORKER_CRASHED');
    expect(alerts.filter((a) => a.code === 'ERR_RESTART_LIMIT')).toHaveLength(0);
  });

  it("policy 'transient': a normal exit (code 0) stops the runner; 'permanent' replaces the thread", async () => {
    const troupe = makeTroupe();
    const transient = await troupe.spawnRunner({
      worker: fixtures.exitNormally,
      threads: 1,
      restart: { policy: 'transient' },
    });
    const stopped = stateReached(troupe, transient, 'stopped');
    await troupeErrorOf(transient.run());
    await stopped;
    expect((await troupeErrorOf(transient.run())).code).toBe('ERR_RUNNER_STOPPED');
    const permanent = await troupe.spawnRunner({
      worker: fixtures.exitNormally,
      threads: 1,
      restart: { policy: 'permanent', maxRestarts: 5 },
    });
    await troupeErrorOf(permanent.run());
    await whenSnapshot(
      permanent.actor,
      (s) => s.context.restartCount === 1 && s.matches({ running: { threads: 'full' } }),
      5_000,
      'the thread replaced',
    );
    expect(permanent.threadIds).toHaveLength(1);
  });

  it('retries an idempotent task that crashed its thread, and counts the errors as resolved by retry', async () => {
    const troupe = makeTroupe({ errors: { retry: { baseMs: 20, capMs: 100 } } });
    const runner = await troupe.spawnRunner({
      id: 'retry',
      worker: fixtures.crashThenSucceed,
      threads: 1,
      workerData: { calls: sharedInts(1), crashes: 2 },
      restart: { maxRestarts: 10 },
    });
    expect(await runner.run('payload', { retries: 3, idempotent: true })).toBe('payload');
    expect(runner.stats()).toMatchObject({ retried: 2, completed: 1, failed: 2, crashes: 2 });
    const stats = troupe.errors.stats();
    expect(stats.resolved.retry).toBe(2); // the two failed attempts
    // Each crash is resolved once its replacement thread is up.
    await whenSnapshot(
      runner.actor,
      () => troupe.errors.stats().resolved.restart === 2,
      5_000,
      'both crashes resolved by restart',
    );
    const attempts = troupe.errors
      .recent()
      .filter((r) => r.context.operation === 'run')
      .map((r) => [r.code, r.context.attempt, r.resolution]);
    expect(attempts).toEqual([
      ['ERR_WORKER_CRASHED', 1, 'retry'],
      ['ERR_WORKER_CRASHED', 2, 'retry'],
    ]);
  });

  it('retries need idempotent: true, give up after the last attempt, and never retry a SKIP error', async () => {
    const troupe = makeTroupe({ errors: { retry: { baseMs: 10, capMs: 20 } } });
    const crashing = await troupe.spawnRunner({
      worker: fixtures.crashThenSucceed,
      threads: 1,
      workerData: { calls: sharedInts(1), crashes: 10 },
      restart: { maxRestarts: 20 },
    });
    expect((await troupeErrorOf(crashing.run(1, { retries: 2 }))).code).toBe('ERR_INVALID_CONFIG');
    const exhausted = await troupeErrorOf(crashing.run(1, { retries: 2, idempotent: true }));
    expect(exhausted.code).toBe('ERR_WORKER_CRASHED');
    expect(crashing.stats().retried).toBe(2);
    const echo = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    const failed = await troupeErrorOf(
      echo.run('x', { handler: 'fail', retries: 5, idempotent: true }),
    );
    expect(failed.code).toBe('ERR_TASK_FAILED'); // SKIP by default: one attempt only
    expect(echo.stats().retried).toBe(0);
  });

  it('a user policy makes handler errors retryable, and a signal cancels between attempts', async () => {
    const troupe = makeTroupe({
      errors: {
        policies: { ERR_TASK_FAILED: { action: 'RETRY' } },
        retry: { baseMs: 400, capMs: 400 },
      },
    });
    const echo = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    const controller = new AbortController();
    const firstAttemptFailed = nextEvent(
      troupe,
      'error',
      (r) => r.code === 'ERR_TASK_FAILED' && r.context.attempt === 1,
    );
    const pending = echo.run('x', {
      handler: 'fail',
      retries: 5,
      idempotent: true,
      signal: controller.signal,
    });
    await firstAttemptFailed;
    // In the 400 ms backoff before attempt 2.
    controller.abort(new Error('enough'));
    const error = await troupeErrorOf(pending);
    expect(error.code).toBe('ERR_TASK_ABORTED');
    expect(error.message).toMatch(/cancelled between attempts/);
    expect(error.cause).toMatchObject({ message: 'enough' });
    expect(echo.stats()).toMatchObject({ submitted: 1, retried: 0, failed: 1 });
  });

  it('errors in every shutdown phase are classified, logged once, and never escape unhandled', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const troupe = makeTroupe({ shutdown: { drainingMs: 300, abortGraceMs: 50 } });
    const records: ErrorRecord[] = [];
    troupe.on('error', (r) => records.push(r));
    troupe.resources.register({
      id: 'flaky-db',
      close: () => {
        throw new Error('db close failed');
      },
    });
    const marker = await troupe.spawnRunner({
      id: 'marker',
      worker: fixtures.lifecycleMarker,
      threads: 1,
      workerData: { dir: mkdtempSync(join(tmpdir(), 'troupe-phase-')), teardownExitCode: 3 },
    });
    const crashing = await troupe.spawnRunner({
      id: 'crashing',
      worker: fixtures.crashMidTask,
      threads: 1,
    });
    const echo = await troupe.spawnRunner({ id: 'echo', worker: fixtures.echo, threads: 1 });
    const hang = await troupe.spawnRunner({ id: 'hang', worker: fixtures.hang, threads: 1 });
    const inFlight = [
      crashing.run({ code: 2, afterMs: 50 }), // crashes during DRAINING
      echo.run('bad', { handler: 'fail' }), // fails during DRAINING
      hang.run(), // aborted at the DRAINING deadline
      marker.run(1, { handler: 'echo' }),
    ];
    for (const p of inFlight) p.catch(() => {});
    const report = await troupe.shutdown();
    await Promise.allSettled(inFlight);
    const byCode = (code: string): ErrorRecord[] => records.filter((r) => r.code === code);
    const crash = byCode('ERR_WORKER_CRASHED').find((r) => r.context.runnerId === 'crashing');
    expect(crash?.context.phase).toMatch(/signaling|draining/);
    expect(crash?.severity).toBe('MEDIUM'); // a crash while shutting down is not restarted
    expect(byCode('ERR_TASK_FAILED')[0]).toMatchObject({ severity: 'MEDIUM', action: 'SKIP' });
    const aborted = byCode('ERR_TASK_ABORTED').find((r) => r.context.runnerId === 'hang');
    expect(aborted).toMatchObject({ severity: 'LOW', action: 'SKIP' });
    // CLOSING: teardown kills its thread (reported though its channel is closing)...
    const teardownCrash = byCode('ERR_WORKER_CRASHED').find((r) => r.context.runnerId === 'marker');
    expect(teardownCrash?.context.phase).toBe('closing');
    // ...and a resource's close throws: forced cleanup, resolved, shutdown goes on
    const closeFailure = byCode('ERR_RESOURCE_CLOSE_FAILED')[0];
    expect(closeFailure).toMatchObject({
      severity: 'HIGH',
      action: 'FORCE_CLEANUP',
      resolution: 'cleanup',
    });
    expect(report.resources.failed).toBe(1);
    expect(report.threads.leaked).toBe(0);
    // each record once in the ring
    const ids = troupe.errors.recent().map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
