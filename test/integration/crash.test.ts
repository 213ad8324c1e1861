// A thread that dies mid-task fails that task with ERR_WORKER_CRASHED; the
// runner replaces the thread and keeps serving.
import { isTroupeError, type ErrorRecord } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { whenSnapshot } from '../helpers/events.js';
import { makeTroupe } from '../helpers/troupe.js';

describe('crashes', () => {
  it('process.exit mid-task → ERR_WORKER_CRASHED with the exit code, then the runner keeps serving', async () => {
    const troupe = makeTroupe();
    const errors: ErrorRecord[] = [];
    troupe.on('error', (record) => errors.push(record));
    const runner = await troupe.spawnRunner({
      id: 'crashy',
      worker: fixtures.crashMidTask,
      threads: 2,
      restart: { maxRestarts: 10 },
    });
    const error: unknown = await runner.run({ code: 7 }).catch((e: unknown) => e);
    expect(isTroupeError(error, 'ERR_WORKER_CRASHED')).toBe(true);
    expect((error as Error).message).toContain('worker exited with code: 7');
    expect((error as { context: { runnerId: string } }).context.runnerId).toBe('crashy');
    await whenSnapshot(
      runner.actor,
      (s) => s.matches({ running: { threads: 'full' } }) && runner.threadIds.length === 2,
      5_000,
      'a replacement thread up',
    );
    const echo = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    expect(await echo.run('still serving')).toBe('still serving');
    expect(runner.stats()).toMatchObject({ crashes: 1, restarts: 1, failed: 1 });
    expect(
      errors.some((r) => r.code === 'ERR_WORKER_CRASHED' && r.context.runnerId === 'crashy'),
    ).toBe(true);
  });

  it('an uncaught throw in the worker (outside the handler) is a crash, not a handler error', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixtures.throwUncaught, threads: 1 });
    const error: unknown = await runner.run('kaboom').catch((e: unknown) => e);
    expect(isTroupeError(error, 'ERR_WORKER_CRASHED')).toBe(true);
    expect(((error as Error).cause as Error).message).toBe('kaboom');
  });

  it('a thread over its heap limit fails its task with ERR_WORKER_CRASHED (ERR_WORKER_OUT_OF_MEMORY)', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({
      worker: fixtures.heapHog,
      threads: 1,
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    });
    const error: unknown = await runner.run().catch((e: unknown) => e);
    expect(isTroupeError(error, 'ERR_WORKER_CRASHED')).toBe(true);
    expect(((error as Error).cause as { code?: string }).code).toBe('ERR_WORKER_OUT_OF_MEMORY');
  });

  it('an idle thread crashing does not take the host process down (piscina emits "error")', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({
      id: 'idle-crash',
      worker: fixtures.exitAfterReturn,
      threads: 1,
      restart: { maxRestarts: 10 },
    });
    const [first] = runner.threadIds;
    expect(await runner.run(10)).toBe('returned');
    await whenSnapshot(
      runner.actor,
      () => runner.stats().crashes === 1 && runner.threadIds.length === 1,
      5_000,
      'the idle crash, and its thread replaced',
    );
    expect(runner.threadIds).not.toEqual([first]);
    expect(runner.state).toBe('ready');
    expect(await runner.run(10_000)).toBe('returned');
  });

  it('a handler error is ERR_TASK_FAILED with the original error as cause, and no crash', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    const threads = runner.threadIds;
    const error: unknown = await runner.run('nope', { handler: 'fail' }).catch((e: unknown) => e);
    expect(isTroupeError(error, 'ERR_TASK_FAILED')).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(((error as Error).cause as Error).name).toBe('RangeError');
    expect(((error as Error).cause as Error).message).toBe('nope');
    // The same thread serves the next task: one that died of the error could not.
    expect(await runner.run('next')).toBe('next');
    expect(runner.threadIds).toEqual(threads);
    expect(runner.stats()).toMatchObject({ crashes: 0, restarts: 0 });
  });
});
