// Regressions of issue 9 about threads, channels and what crosses the thread
// boundary (bugs 6, 8, 13, 21, 23, 26, 30).
import type { HealthReport, Runner } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { fixture, sharedInts } from '../../helpers/fixtures.js';
import { activeOf } from '../../helpers/handles.js';
import { textOf } from '../../helpers/textOf.js';
import { makeTroupe } from '../../helpers/troupe.js';
import { troupeErrorOf, within } from '../../helpers/wait.js';

// Short deadlines: a wedged thread must not hold the cleanup for long.
const quickShutdown = { drainingMs: 300, forceMs: 500, abortGraceMs: 100, closingMs: 1_000 };

describe('regressions: threads', () => {
  it('bug 6: two threads crashing at once each report their own error', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({
      id: 'dom',
      worker: fixture('dom-crash'),
      threads: 2,
      restart: { maxRestarts: 100, windowMs: 60_000, backoff: { baseMs: 5, capMs: 20 } },
    });
    // Intermittent today: 20-40 % of rounds swapped or lost the errors here.
    for (let round = 0; round < 20; round++) {
      const barrier = sharedInts(1);
      const alpha = runner.run({ barrier, parties: 2, message: 'alpha' });
      const beta = runner.run({ barrier, parties: 2, message: 'beta' });
      const [a, b] = await Promise.all([
        troupeErrorOf(alpha, 10_000, `round ${round}: alpha`),
        troupeErrorOf(beta, 10_000, `round ${round}: beta`),
      ]);
      expect(a.code).toBe('ERR_WORKER_CRASHED');
      expect(b.code).toBe('ERR_WORKER_CRASHED');
      expect(textOf(a), `round ${round}: alpha's error`).toMatch(/alpha/);
      expect(textOf(a), `round ${round}: alpha's error`).not.toMatch(/beta/);
      expect(textOf(b), `round ${round}: beta's error`).toMatch(/beta/);
      expect(textOf(b), `round ${round}: beta's error`).not.toMatch(/alpha/);
    }
  });

  it('bug 8: a probe that times out does not keep its port ref’d', async () => {
    const troupe = makeTroupe({
      health: { intervalMs: 20, probeTimeoutMs: 10, recovery: 'none' },
    });
    const runner = await troupe.spawnRunner({
      id: 'blk',
      worker: fixture('block-after-return'),
      threads: 1,
    });
    // Sampled inside the listener: right after a probe finished, before the next one.
    const samples: { responsive: number; ports: number }[] = [];
    const sampled = (count: number, responsive: number): Promise<void> =>
      within(
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (samples.filter((s) => s.responsive === responsive).length >= count) resolve();
            else troupe.once('health', check);
          };
          check();
        }),
        10_000,
        `${count} health reports with ${responsive} responsive thread(s)`,
      );
    troupe.on('health', (report: HealthReport) => {
      const mine = report.runners.find((r) => r.id === runner.id);
      if (mine !== undefined) {
        samples.push({ responsive: mine.threads.responsive, ports: activeOf('MessagePort') });
      }
    });
    await sampled(3, 1);
    const idlePorts = Math.max(...samples.map((s) => s.ports));
    expect(await runner.run(1_500, { handler: 'block' })).toBe('returned');
    await sampled(10, 0);
    const blocked = samples.filter((s) => s.responsive === 0).map((s) => s.ports);
    expect(Math.max(...blocked), `ref'd MessagePorts while blocked: ${blocked.join(',')}`).toBe(
      idlePorts,
    );
  });

  it('bug 13: the abort grace timer does not keep the process alive', async () => {
    const troupe = makeTroupe({ shutdown: quickShutdown });
    const runner = await troupe.spawnRunner({
      worker: fixtures.hangAsync,
      threads: 1,
      abortGraceMs: 10_000,
    });
    const controller = new AbortController();
    const task = runner.run(null, { handler: 'hang', signal: controller.signal });
    task.catch(() => {});
    const before = activeOf('Timeout');
    controller.abort();
    expect((await troupeErrorOf(task)).code).toBe('ERR_TASK_ABORTED');
    // The task ignores its signal: it is in its grace period now.
    expect(activeOf('Timeout')).toBeLessThanOrEqual(before);
  });

  const badReplies: { module: string; handler: string; what: string }[] = [
    {
      module: 'bad-replies',
      handler: 'throwSelfCause',
      what: 'a plain handler throwing an error that is its own cause',
    },
    {
      module: 'bad-replies',
      handler: 'throwDeepCause',
      what: 'a plain handler throwing a 10,000-deep cause chain',
    },
    {
      module: 'bad-replies',
      handler: 'returnSelfCause',
      what: 'a plain handler returning an error that is its own cause',
    },
    {
      module: 'bad-replies',
      handler: 'returnDeepCause',
      what: 'a plain handler returning a 10,000-deep cause chain',
    },
    {
      module: 'bad-replies-defined',
      handler: 'returnSelfCause',
      what: 'a defineRunner handler returning an error that is its own cause',
    },
    {
      module: 'bad-replies-defined',
      handler: 'returnDeepCause',
      what: 'a defineRunner handler returning a 10,000-deep cause chain',
    },
  ];
  for (const { module, handler, what } of badReplies) {
    it(`bug 21: ${what} rejects ERR_DATA_CLONE and the runner keeps serving`, async () => {
      const troupe = makeTroupe({ shutdown: quickShutdown });
      const runner = await troupe.spawnRunner({ worker: fixture(module), threads: 1 });
      const error = await troupeErrorOf(runner.run(null, { handler }), 5_000, handler);
      expect(error.code).toBe('ERR_DATA_CLONE');
      expect(await within(runner.run('after'), 5_000, 'the next task')).toBe('after');
    });
  }

  it('bug 23: an unawaited emit of an uncloneable event fails the task, not the thread', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixture('emit-uncloneable'), threads: 1 });
    const error = await troupeErrorOf(runner.run(null, { handler: 'emitFunction' }));
    expect(error.code).toBe('ERR_DATA_CLONE');
    expect(error.message).toMatch(/event/);
    expect(await within(runner.run('next', { handler: 'echo' }), 5_000, 'the next task')).toBe(
      'next',
    );
    expect(runner.stats().crashes).toBe(0);
    expect(runner.stats().restarts).toBe(0);
  });

  const transferModules: { kind: string; worker: URL }[] = [
    { kind: 'plain', worker: fixtures.echo },
    { kind: 'defineRunner', worker: fixture('echo-defined') },
  ];
  for (const { kind, worker } of transferModules) {
    it(`bug 26: a ${kind} module refuses a detached ArrayBuffer or a SharedArrayBuffer in transfer`, async () => {
      const troupe = makeTroupe();
      const runner: Runner = await troupe.spawnRunner({ worker, threads: 1 });
      const detached = new ArrayBuffer(16);
      structuredClone(detached, { transfer: [detached] });
      expect(detached.byteLength).toBe(0);
      const detachedError = await troupeErrorOf(
        runner.run(detached, { transfer: [detached] }),
        5_000,
        'a detached ArrayBuffer',
      );
      expect(detachedError.code).toBe('ERR_DATA_CLONE');
      const shared = new SharedArrayBuffer(16);
      const sharedError = await troupeErrorOf(
        runner.run(shared, { transfer: [shared as unknown as ArrayBuffer] }),
        5_000,
        'a SharedArrayBuffer',
      );
      expect(sharedError.code).toBe('ERR_DATA_CLONE');
    });
  }

  // 200 at once passed 5 of 5 times on this idle machine (5.4-8.9 s against
  // the 10 s deadline: a near miss); 400 fail every time today. Nothing
  // should depend on how many pools start at once.
  const SPAWNS = 400;
  it(`bug 30: ${SPAWNS} concurrent spawnRunner calls all start and serve`, async () => {
    const troupe = makeTroupe({ health: { enabled: false } });
    const spawned = await Promise.allSettled(
      Array.from({ length: SPAWNS }, () =>
        troupe.spawnRunner({ worker: fixtures.echo, threads: 1 }),
      ),
    );
    const failed = spawned.filter((s) => s.status === 'rejected');
    expect(failed.length, `first failure: ${textOf(failed[0]?.reason)}`).toBe(0);
    const runners = spawned.map((s) => (s as PromiseFulfilledResult<Runner>).value);
    expect(await Promise.all(runners.map((r) => r.run(1)))).toEqual(runners.map(() => 1));
  }, 120_000);
});
