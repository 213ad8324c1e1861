// Regressions of issue 9 about admission, queueing and held tasks
// (bugs 9, 16, 17, 18, 19, 20, 22).
import type { RunOptions, ShutdownReport } from '@troupe/runtime';
import { LoadMode, counterReached, fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { controllableRunner } from '../../helpers/controllableRunner.js';
import { stateReached } from '../../helpers/events.js';
import { fixture, sharedInts } from '../../helpers/fixtures.js';
import { makeTroupe } from '../../helpers/troupe.js';
import { codeOf, rejectionOf, troupeErrorOf, within } from '../../helpers/wait.js';

/** Holds every thread, queues 1,500 abortable tasks, aborts them all, releases the threads. */
async function abortQueuedTasks(threads: number): Promise<void> {
  const flags = sharedInts(4); // [0] release, [1] `count` handlers started, [2] holders
  const troupe = makeTroupe();
  const runner = await troupe.spawnRunner({
    worker: fixture('held'),
    threads,
    maxQueue: 2_000,
    workerData: { flags },
  });
  const holders = Array.from({ length: threads }, () => runner.run(null, { handler: 'hold' }));
  for (const holder of holders) holder.catch(() => {});
  expect(await counterReached(flags, 2, threads, 5_000)).toBe(true);
  const controllers = Array.from({ length: 1_500 }, () => new AbortController());
  const queued = controllers.map((c) => runner.run(null, { handler: 'count', signal: c.signal }));
  for (const c of controllers) c.abort();
  const outcomes = await within(Promise.allSettled(queued), 10_000, 'the aborted tasks');
  expect(new Set(outcomes.map(codeOf))).toEqual(new Set(['ERR_TASK_ABORTED']));
  const idle = stateReached(troupe, runner, 'ready', 20_000);
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
  expect(await within(Promise.all(holders), 5_000, 'the holders')).toEqual(
    Array.from({ length: threads }, () => 'released'),
  );
  await idle;
  expect(Atomics.load(flags, 1), 'handlers of aborted tasks that started').toBe(0);
  await troupe.shutdown();
  expect(Atomics.load(flags, 1), 'handlers of aborted tasks that started').toBe(0);
}

describe('regressions: admission', () => {
  it('bug 9: aborted queued tasks never start on a two-thread runner', async () => {
    await abortQueuedTasks(2);
  });

  it('bug 22: 1,500 aborted queued tasks never start on a one-thread runner', async () => {
    await abortQueuedTasks(1);
  });

  it('bug 16: refusals say the state and phase as they are now', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ id: 'r', worker: fixtures.echo, threads: 1 });
    await runner.stop();
    const stopped = await troupeErrorOf(runner.run(1));
    expect(stopped.code).toBe('ERR_RUNNER_STOPPED');
    expect(stopped.context.state).toBe('stopped');
    expect(stopped.message).toMatch(/\bstopped\b/);

    const old = await troupe.spawnRunner({ id: 'old', worker: fixtures.echo, threads: 1 });
    await troupe.shutdown();
    const spawnRefused = await troupeErrorOf(
      troupe.spawnRunner({ worker: fixtures.echo, threads: 1 }),
    );
    expect(spawnRefused.context.phase).toBe('stopped');
    const runRefused = await troupeErrorOf(old.run(1));
    expect(runRefused.context.phase).toBe('stopped');
  });

  it('bug 17: stats() and health() show the tasks waiting for a thread as queued', async () => {
    const troupe = makeTroupe({ health: { intervalMs: 60_000 } });
    const flags = sharedInts(4); // [0] release, [2] holders
    const runner = await troupe.spawnRunner({
      id: 'one',
      worker: fixture('held'),
      threads: 1,
      workerData: { flags },
    });
    // The first holds the thread until released: the other five wait for it.
    const tasks = Array.from({ length: 6 }, () => runner.run(null, { handler: 'hold' }));
    for (const task of tasks) task.catch(() => {});
    const stats = runner.stats();
    expect({ inFlight: stats.inFlight, queued: stats.queued }).toEqual({ inFlight: 1, queued: 5 });
    expect(stats.submitted).toBe(
      stats.completed +
        stats.failed +
        stats.aborted +
        stats.rejected +
        stats.inFlight +
        stats.queued,
    );
    expect(await counterReached(flags, 2, 1, 5_000), 'the first task holding').toBe(true);
    const health = await troupe.probeHealth();
    expect(health.runners.find((r) => r.id === 'one')?.tasks).toMatchObject({
      inFlight: 1,
      queued: 5,
    });
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    expect(await within(Promise.all(tasks), 5_000, 'the held tasks')).toEqual(
      tasks.map(() => 'released'),
    );
    expect(Atomics.load(flags, 2), 'holders').toBe(6);
  });

  it('bug 18: an unknown run option is refused, naming it', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    const typo = { handle: 'x' } as unknown as RunOptions;
    const error = await troupeErrorOf(runner.run(1, typo));
    expect(error.code).toBe('ERR_INVALID_CONFIG');
    expect(error.message).toMatch(/\bhandle\b/);
  });

  it('bug 19: tasks accepted while the runner restarts are run, not dropped, at shutdown', async () => {
    const troupe = makeTroupe();
    const { runner, breakPool } = await controllableRunner(troupe, [
      LoadMode.ok,
      LoadMode.throw,
      LoadMode.ok,
    ]);
    let accepted: Promise<unknown>[] = [];
    let report: Promise<ShutdownReport> | null = null;
    troupe.on('runner:state', ({ runnerId, state }) => {
      if (runnerId !== runner.id || state !== 'restarting' || report !== null) return;
      accepted = ['a', 'b', 'c'].map((p) => runner.run(p, { handler: 'echo' }));
      for (const task of accepted) task.catch(() => {});
      report = troupe.shutdown({ reason: 'during restart' });
    });
    const restarting = stateReached(troupe, runner, 'restarting', 10_000);
    await breakPool();
    await restarting;
    const done = await within(report as unknown as Promise<ShutdownReport>, 20_000, 'shutdown');
    const outcomes = await Promise.allSettled(accepted);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : codeOf(o)))).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(done.tasks.rejected).toBe(0);
  });

  it('bug 20: tasks held while the runner restarts honour timeoutMs and signal', async () => {
    const troupe = makeTroupe();
    const { runner, breakPool } = await controllableRunner(
      troupe,
      [LoadMode.ok, LoadMode.throw, LoadMode.hang],
      { startupTimeoutMs: 5_000 },
    );
    const restarting = stateReached(troupe, runner, 'restarting', 10_000);
    await breakPool();
    await restarting;
    const stateWhenRejected = (task: Promise<unknown>): Promise<unknown> =>
      task.catch((error: unknown) => {
        (error as { stateAtRejection?: string }).stateAtRejection = runner.state;
        throw error;
      });
    const timed = stateWhenRejected(runner.run('t', { handler: 'echo', timeoutMs: 100 }));
    const controller = new AbortController();
    const cancelled = stateWhenRejected(
      runner.run('s', { handler: 'echo', signal: controller.signal }),
    );
    timed.catch(() => {});
    cancelled.catch(() => {});
    controller.abort();
    const aborted = await rejectionOf(cancelled, 1_000, 'the aborted held task');
    expect(aborted).toMatchObject({ code: 'ERR_TASK_ABORTED' });
    expect(['restarting', 'starting']).toContain(
      (aborted as { stateAtRejection?: string }).stateAtRejection,
    );
    const timedOut = await rejectionOf(timed, 2_000, 'the held task with timeoutMs 100');
    expect(timedOut).toMatchObject({ code: 'ERR_TASK_TIMEOUT' });
    expect(['restarting', 'starting']).toContain(
      (timedOut as { stateAtRejection?: string }).stateAtRejection,
    );
  });
});
