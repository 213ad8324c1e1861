// Regressions of issue 9 about the three-phase shutdown: forced closes,
// re-entrant shutdown(), threads outliving it, failed teardowns
// (bugs 7, 14, 15, 28).
import type { ErrorRecord, ShutdownReport } from '@troupe/runtime';
import { Control, LoadMode, createControl, fixtures } from '@troupe/testing';
import { describe, expect, it, vi } from 'vitest';
import { controllableRunner } from '../../helpers/controllableRunner.js';
import { stateReached } from '../../helpers/events.js';
import { fixture } from '../../helpers/fixtures.js';
import { osThreads, threadBaseline } from '../../helpers/handles.js';
import { textOf } from '../../helpers/textOf.js';
import { makeTroupe } from '../../helpers/troupe.js';
import { within } from '../../helpers/wait.js';

describe('regressions: shutdown', () => {
  it('bug 7: after a forced close every runner is stopped and every thread is gone (8 rounds)', async () => {
    // One round rarely shows it; in 3 runs of 8 rounds, 3-5 rounds each left 2 threads alive.
    for (let round = 0; round < 8; round++) {
      const baseline = await threadBaseline();
      const troupe = makeTroupe({ shutdown: { closingMs: 200, forceMs: 1_000 } });
      const control = createControl();
      Atomics.store(control, Control.teardownMode, 1); // teardown hangs
      const runner = await troupe.spawnRunner({
        id: 'stuck',
        worker: fixtures.controllable,
        threads: 2,
        workerData: { control },
        closeTimeoutMs: 5_000,
      });
      expect(await runner.run('x', { handler: 'echo' })).toBe('x');
      const report = await troupe.shutdown();
      const threadsNow = osThreads();
      expect(['stopped', 'failed'], `round ${round}`).toContain(runner.state);
      for (const r of report.runners)
        expect(['stopped', 'failed'], `round ${round}`).toContain(r.state);
      expect(report.threads.exited, `round ${round}`).toBe(report.threads.started);
      expect(threadsNow, `round ${round}: OS threads (baseline ${baseline})`).toBeLessThanOrEqual(
        baseline,
      );
    }
  });

  it('bug 14: shutdown() from a shutdown:phase listener returns the same promise', async () => {
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const troupe = makeTroupe({ logger });
    await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    let inner: Promise<ShutdownReport> | null = null;
    troupe.on('shutdown:phase', ({ phase }) => {
      if (phase === 'signaling' && inner === null) inner = troupe.shutdown({ reason: 'listener' });
    });
    const first = troupe.shutdown({ reason: 'first' });
    expect(inner).not.toBeNull();
    const second = inner as unknown as Promise<ShutdownReport>;
    await within(Promise.all([first, second]), 20_000, 'both shutdown() calls');
    expect(second).toBe(first);
    const completes = logger.info.mock.calls.filter((call) => call[1] === 'shutdown complete');
    expect(completes).toHaveLength(1);
  });

  it('bug 15: no thread outlives a shutdown that lands in a pool restart (10 rounds)', async () => {
    // Intermittent: one round in 2-5 left a thread alive here.
    for (let round = 0; round < 10; round++) {
      const baseline = await threadBaseline();
      const troupe = makeTroupe();
      const { runner, breakPool } = await controllableRunner(troupe, [LoadMode.ok, LoadMode.throw]);
      let shutdown: Promise<ShutdownReport> | null = null;
      troupe.on('runner:state', ({ runnerId, state }) => {
        if (runnerId === runner.id && state === 'restarting' && shutdown === null) {
          shutdown = troupe.shutdown({ reason: 'during restart' });
        }
      });
      const restarting = stateReached(troupe, runner, 'restarting', 10_000);
      await breakPool();
      await restarting;
      const report = await within(
        shutdown as unknown as Promise<ShutdownReport>,
        20_000,
        `round ${round}: shutdown`,
      );
      const threadsNow = osThreads();
      expect(threadsNow, `round ${round}: OS threads (baseline ${baseline})`).toBeLessThanOrEqual(
        baseline,
      );
      expect(report.threads.leaked, `round ${round}`).toBe(0);
      expect(report.threads.exited, `round ${round}`).toBe(report.threads.started);
    }
  });

  it('bug 15: no thread outlives a shutdown right after tasks timed out on hung threads (40 rounds)', async () => {
    // The property-test counterexample: [["hang","hang"], run(2, timeout), run(1, timeout)],
    // with its 150 ms timeouts inside the 200 ms drain. It is intermittent: 0-20 % of
    // rounds leaked a thread here (timeouts of 50-100 ms: none in 20), hence 40 rounds.
    for (let round = 0; round < 40; round++) {
      const baseline = await threadBaseline();
      const troupe = makeTroupe({
        health: { enabled: false },
        shutdown: { drainingMs: 200, abortGraceMs: 50, closingMs: 2_000, forceMs: 500 },
      });
      const restart = { maxRestarts: 2, windowMs: 60_000, backoff: { baseMs: 5, capMs: 20 } };
      const r0 = await troupe.spawnRunner({ id: 'r0', worker: fixtures.hang, threads: 1, restart });
      const r1 = await troupe.spawnRunner({ id: 'r1', worker: fixtures.hang, threads: 1, restart });
      const tasks = [r0.run('x', { timeoutMs: 150 }), r1.run('x', { timeoutMs: 150 })];
      for (const task of tasks) task.catch(() => {});
      const report = await troupe.shutdown({ reason: 'end of run' });
      const threadsNow = osThreads();
      expect(threadsNow, `round ${round}: OS threads (baseline ${baseline})`).toBeLessThanOrEqual(
        baseline,
      );
      expect(report.threads.leaked, `round ${round}`).toBe(0);
    }
    // 300-800 ms a round (two spawns, two timeouts, a shutdown): past the
    // default 30 s on a loaded machine.
  }, 120_000);

  it('bug 28: a teardown that throws is reported and shows in the shutdown report', async () => {
    const troupe = makeTroupe();
    const errors: ErrorRecord[] = [];
    troupe.on('error', (r) => errors.push(r));
    const runner = await troupe.spawnRunner({
      id: 'boom',
      worker: fixture('teardown-throws'),
      threads: 1,
    });
    expect(await runner.run('x', { handler: 'echo' })).toBe('x');
    const report = await troupe.shutdown();
    expect(
      errors.some((r) => /teardown boom/.test(textOf(r.error))),
      `error events: ${errors.map((r) => r.message).join(' | ')}`,
    ).toBe(true);
    const failed = report.resources.details.filter((d) => d.outcome === 'failed');
    expect(
      failed.some((d) => /teardown boom/.test(textOf(d.error))),
      `resources: ${report.resources.details.map((d) => `${d.id}=${d.outcome}`).join(', ')}`,
    ).toBe(true);
  });
});
