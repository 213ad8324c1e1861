// Hung tasks at the draining deadline: cooperative abort first, then the
// thread is terminated; every caller gets ERR_TASK_ABORTED and the report
// says what was forced.
import { counterReached } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { fixture, sharedInts } from '../helpers/fixtures.js';
import { textOf } from '../helpers/textOf.js';
import { makeTroupe } from '../helpers/troupe.js';
import { codeOf } from '../helpers/wait.js';

describe('forced shutdown at the draining deadline', () => {
  it('terminates a thread spinning in for(;;) and rejects its task with ERR_TASK_ABORTED', async () => {
    const troupe = makeTroupe({ shutdown: { drainingMs: 300, abortGraceMs: 100 } });
    const runner = await troupe.spawnRunner({
      id: 'spin',
      worker: fixture('notify-then-spin'),
      threads: 2,
    });
    const flags = sharedInts(1);
    const hung = runner.run({ flags });
    hung.catch(() => {});
    expect(await counterReached(flags, 0, 1, 5_000), 'the task is spinning').toBe(true);
    const started = performance.now();
    const report = await troupe.shutdown();
    const elapsed = performance.now() - started;
    const [outcome] = await Promise.allSettled([hung]);
    expect(codeOf(outcome)).toBe('ERR_TASK_ABORTED');
    expect(report.phases.draining.timedOut).toBe(true);
    expect(report.forced).toBe(true);
    expect(report.tasks.drained.aborted).toBe(1);
    expect(report.threads.leaked).toBe(0);
    expect(report.threads.exited).toBe(report.threads.started);
    // DRAINING ran to its deadline, then abort grace and termination; the
    // whole shutdown (SIGNALING waits its own deadline for the notice the
    // spinning thread cannot take) is far from "forever".
    expect(report.phases.draining.durationMs).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('aborts an async task that ignores ctx.signal, while a cooperative one stops in time', async () => {
    const troupe = makeTroupe({ shutdown: { drainingMs: 200, abortGraceMs: 150 } });
    const worker = fixture('notify-then-wait');
    const stubborn = await troupe.spawnRunner({ id: 'stubborn', worker, threads: 1 });
    const polite = await troupe.spawnRunner({ id: 'polite', worker, threads: 1 });
    // [0] handlers started, [1] handlers that saw their ctx.signal abort
    const flags = sharedInts(2);
    const ignoring = stubborn.run({ flags }, { handler: 'hang' });
    const honouring = polite.run({ flags, ms: 60_000 }, { handler: 'work' });
    const results = Promise.allSettled([ignoring, honouring]);
    expect(await counterReached(flags, 0, 2, 5_000), 'both tasks running').toBe(true);
    const report = await troupe.shutdown();
    const [a, b] = await results;
    expect(codeOf(a)).toBe('ERR_TASK_ABORTED');
    expect(codeOf(b)).toBe('ERR_TASK_ABORTED');
    // The cooperative task saw the abort on ctx.signal and rejected with its
    // reason; only the stubborn one's thread had to be terminated.
    expect(Atomics.load(flags, 1)).toBe(1);
    const cooperative = textOf((b as PromiseRejectedResult).reason);
    expect(cooperative).toMatch(/runner "polite" missed its drain deadline/);
    expect(cooperative).not.toMatch(/terminat/i);
    expect(textOf((a as PromiseRejectedResult).reason)).toMatch(/terminated/);
    expect(report.tasks.drained.aborted).toBe(2);
    expect(report.threads.leaked).toBe(0);
  });

  it('tells running tasks that shutdown began (ctx.shutdownSignal) without aborting them', async () => {
    const troupe = makeTroupe({ shutdown: { drainingMs: 5_000 } });
    const runner = await troupe.spawnRunner({ worker: fixture('notify-then-wait'), threads: 1 });
    const flags = sharedInts(1);
    const task = runner.run({ flags }, { handler: 'untilShutdown' });
    expect(await counterReached(flags, 0, 1, 5_000), 'the task is running').toBe(true);
    const report = await troupe.shutdown();
    await expect(task).resolves.toBe('noticed');
    expect(report.forced).toBe(false);
    expect(report.tasks.drained.completed).toBe(1);
  });
});
