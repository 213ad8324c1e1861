// Hung tasks at the draining deadline: cooperative abort first, then the
// thread is terminated; every caller gets ERR_TASK_ABORTED and the report
// says what was forced.
import { isTroupeError } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { makeTroupe, sleep } from '../helpers/troupe.js';

function codeOf(result: PromiseSettledResult<unknown>): unknown {
  if (result.status === 'fulfilled') return 'fulfilled';
  return isTroupeError(result.reason) ? result.reason.code : result.reason;
}

describe('forced shutdown at the draining deadline', () => {
  it('terminates a thread spinning in for(;;) and rejects its task with ERR_TASK_ABORTED', async () => {
    const troupe = makeTroupe({ shutdown: { drainingMs: 300, abortGraceMs: 100 } });
    const runner = await troupe.spawnRunner({ id: 'spin', worker: fixtures.hang, threads: 2 });
    const hung = runner.run();
    hung.catch(() => {});
    await sleep(30);
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
    // draining deadline + abort grace + terminate, far from "forever"
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('aborts an async task that ignores ctx.signal, while a cooperative one stops in time', async () => {
    const troupe = makeTroupe({ shutdown: { drainingMs: 200, abortGraceMs: 150 } });
    const stubborn = await troupe.spawnRunner({
      id: 'stubborn',
      worker: fixtures.hangAsync,
      threads: 1,
    });
    const polite = await troupe.spawnRunner({
      id: 'polite',
      worker: fixtures.cooperative,
      threads: 1,
    });
    const ignoring = stubborn.run(null, { handler: 'hang' });
    const honouring = polite.run(null, { handler: 'wait' });
    const results = Promise.allSettled([ignoring, honouring]);
    const report = await troupe.shutdown();
    const [a, b] = await results;
    expect(codeOf(a)).toBe('ERR_TASK_ABORTED');
    expect(codeOf(b)).toBe('ERR_TASK_ABORTED');
    const cooperativeError = (b as PromiseRejectedResult).reason as Error;
    // the cooperative task rejected with the abort reason it saw on ctx.signal
    expect(cooperativeError.message).toMatch(/abort|deadline/i);
    expect(report.tasks.drained.aborted).toBe(2);
    expect(report.threads.leaked).toBe(0);
  });

  it('tells running tasks that shutdown began (ctx.shutdownSignal) without aborting them', async () => {
    const troupe = makeTroupe({ shutdown: { drainingMs: 5_000 } });
    const runner = await troupe.spawnRunner({ worker: fixtures.cooperative, threads: 1 });
    const task = runner.run(null, { handler: 'untilShutdown' });
    await sleep(30);
    const report = await troupe.shutdown();
    await expect(task).resolves.toBe('noticed');
    expect(report.forced).toBe(false);
    expect(report.tasks.drained.completed).toBe(1);
  });
});
