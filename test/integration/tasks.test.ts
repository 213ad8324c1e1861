// run(): handlers, typed rejections, cancellation, timeouts, transfer,
// admission control and the events a task streams.
import { MessageChannel } from 'node:worker_threads';
import { isTroupeError, type TaskEventMeta } from '@troupe/runtime';
import { counterReached, fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { whenSnapshot } from '../helpers/events.js';
import { fixture, sharedInts } from '../helpers/fixtures.js';
import { makeTroupe } from '../helpers/troupe.js';
import { settlesAtOnce } from '../helpers/wait.js';

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isTroupeError(error) ? error.code : error;
  }
}

describe('run()', () => {
  it('calls the default export or a named export of a plain module', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixtures.echo, threads: 2 });
    expect(await runner.run({ deep: [1, 2] })).toEqual({ deep: [1, 2] });
    expect(await runner.run({ a: 2, b: 3 }, { handler: 'add' })).toBe(5);
    expect(await codeOf(runner.run(1, { handler: 'nope' }))).toBe('ERR_UNKNOWN_HANDLER');
  });

  it('rejects a non-cloneable payload with ERR_DATA_CLONE, and a non-cloneable result too', async () => {
    const troupe = makeTroupe();
    const echo = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    expect(await codeOf(echo.run({ fn: () => 1 }))).toBe('ERR_DATA_CLONE');
    expect(await echo.run('still fine')).toBe('still fine');
    const bad = await troupe.spawnRunner({
      worker: fixtures.nonCloneable,
      threads: 1,
      restart: { maxRestarts: 10 },
    });
    expect(await codeOf(bad.run())).toBe('ERR_DATA_CLONE');
  });

  it('transfers ArrayBuffers and MessagePorts listed in `transfer`', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    const buffer = new ArrayBuffer(1024);
    const back = await runner.run<ArrayBuffer>(buffer, { transfer: [buffer] });
    expect(buffer.byteLength).toBe(0); // moved, not copied
    expect(back.byteLength).toBe(1024);
    const { port1 } = new MessageChannel();
    // A MessagePort that is not in the transfer list cannot be cloned.
    expect(await codeOf(runner.run({ port: port1 }))).toBe('ERR_DATA_CLONE');
    port1.close();
  });

  it('times out with ERR_TASK_TIMEOUT (per call or per runner) and keeps serving', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({
      worker: fixtures.sleep,
      threads: 1,
      taskTimeoutMs: 200,
    });
    const t0 = performance.now();
    expect(await codeOf(runner.run(5_000))).toBe('ERR_TASK_TIMEOUT');
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(await codeOf(runner.run(5_000, { timeoutMs: 50 }))).toBe('ERR_TASK_TIMEOUT');
    // A timed-out task's thread is terminated: the runner serves again once
    // its replacement is up (a task sent before would spend its 200 ms waiting).
    const gone = runner.threadIds;
    await whenSnapshot(
      runner.actor,
      (s) =>
        s.matches({ running: { threads: 'full' } }) &&
        runner.threadIds.length === 1 &&
        !gone.includes(runner.threadIds[0]!),
      5_000,
      'the thread replaced',
    );
    expect(await runner.run(10)).toBe(10);
    expect(runner.stats()).toMatchObject({ aborted: 2, completed: 1 });
  });

  it('cancels through an AbortSignal: before submit, while queued, while running (cooperatively)', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixture('notify-then-wait'), threads: 1 });
    // [0] handlers started, [1] handlers that saw their ctx.signal abort
    const flags = sharedInts(2);
    expect(
      await codeOf(runner.run({ flags, ms: 0 }, { handler: 'work', signal: AbortSignal.abort() })),
    ).toBe('ERR_TASK_ABORTED');
    const running = new AbortController();
    const queued = new AbortController();
    // Long enough that only the abort ends them.
    const first = runner.run({ flags, ms: 60_000 }, { handler: 'work', signal: running.signal });
    const second = runner.run({ flags, ms: 60_000 }, { handler: 'work', signal: queued.signal });
    expect(await counterReached(flags, 0, 1, 5_000), 'the first task running').toBe(true);
    const [thread] = runner.threadIds;
    queued.abort(new Error('not needed'));
    running.abort(new Error('user cancelled'));
    const settled = Promise.allSettled([first, second]);
    expect(await settlesAtOnce(settled), 'rejected at once').toBe(true);
    const [a, b] = await settled;
    for (const result of [a, b]) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as Error;
      expect(isTroupeError(reason, 'ERR_TASK_ABORTED')).toBe(true);
    }
    expect(((a as PromiseRejectedResult).reason as Error).cause).toMatchObject({
      message: 'user cancelled',
    });
    // Cooperative: the running handler saw its signal and stopped; the
    // queued one never started.
    expect(await counterReached(flags, 1, 1, 5_000), 'the handler saw the abort').toBe(true);
    expect(await runner.run({ flags, ms: 5 }, { handler: 'work' })).toBe('done');
    expect(Atomics.load(flags, 0), 'handlers that started').toBe(2);
    expect(runner.threadIds).toEqual([thread]); // no thread was killed
    expect(runner.stats()).toMatchObject({ crashes: 0, restarts: 0 });
  });

  it('terminates the thread of a task that ignores its signal after the abort grace', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({
      worker: fixture('notify-then-wait'),
      threads: 1,
      abortGraceMs: 100,
    });
    const flags = sharedInts(1);
    const controller = new AbortController();
    const task = runner.run({ flags }, { handler: 'hang', signal: controller.signal });
    expect(await counterReached(flags, 0, 1, 5_000), 'the task running').toBe(true);
    const [threadBefore] = runner.threadIds;
    controller.abort();
    const abortedAt = performance.now();
    expect(await codeOf(task)).toBe('ERR_TASK_ABORTED');
    await whenSnapshot(
      runner.actor,
      () => !runner.threadIds.includes(threadBefore!),
      5_000,
      'the thread terminated',
    );
    // Not before the grace period was over.
    expect(performance.now() - abortedAt).toBeGreaterThanOrEqual(99);
    await whenSnapshot(
      runner.actor,
      (s) => s.matches({ running: { threads: 'full' } }) && runner.threadIds.length === 1,
      5_000,
      'the thread replaced',
    );
    expect(runner.stats().crashes).toBe(0); // our own termination is not a crash
    expect(runner.stats().inFlight).toBe(0);
  });

  it('refuses work beyond threads + maxQueue with ERR_QUEUE_FULL, synchronously', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixtures.sleep, threads: 1, maxQueue: 2 });
    const accepted = [runner.run(100), runner.run(100), runner.run(100)];
    const refused = runner.run(100);
    expect(await settlesAtOnce(refused), 'refused at once').toBe(true);
    expect(await codeOf(refused)).toBe('ERR_QUEUE_FULL');
    expect(await Promise.all(accepted)).toEqual([100, 100, 100]);
    expect(await runner.run(1)).toBe(1);
  });

  it('delivers every event a task emits, in order, before its result', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ id: 'gen', worker: fixtures.stream, threads: 2 });
    const all: { event: unknown; meta: TaskEventMeta }[] = [];
    runner.on('event', (event, meta) => all.push({ event, meta }));
    const perTask = new Map<string, number[]>();
    const results = await Promise.all(
      [0, 1, 2, 3].map((n) =>
        runner
          .run<{ chunks: number; taskId: string }>(
            { prompt: `p${n}`, chunks: 50 },
            {
              handler: 'generate',
              onEvent: (event, meta) => {
                const list = perTask.get(meta.taskId) ?? [];
                list.push((event as { index: number }).index);
                perTask.set(meta.taskId, list);
              },
            },
          )
          .then((result) => {
            // all 50 events were delivered before the promise resolved
            expect(perTask.get(result.taskId)).toHaveLength(50);
            return result;
          }),
      ),
    );
    expect(all).toHaveLength(200);
    for (const result of results) {
      expect(perTask.get(result.taskId)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(result.taskId.startsWith('gen#')).toBe(true);
    }
    expect(all[0]?.meta.runnerId).toBe('gen');
  });

  it('a listener that throws is reported, not fatal', async () => {
    const troupe = makeTroupe();
    const codes: string[] = [];
    troupe.on('error', (record) => codes.push(record.code));
    const runner = await troupe.spawnRunner({ worker: fixtures.stream, threads: 1 });
    runner.on('event', () => {
      throw new Error('listener bug');
    });
    const result = await runner.run({ prompt: 'x', chunks: 2 }, { handler: 'generate' });
    expect(result).toMatchObject({ chunks: 2 });
    expect(codes).toContain('ERR_LISTENER_FAILED');
  });

  it('emits task:settled with timing only when someone listens', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    const settled: unknown[] = [];
    await runner.run(1);
    const listener = (e: unknown): void => {
      settled.push(e);
    };
    troupe.on('task:settled', listener);
    await runner.run(2);
    await runner.run('x', { handler: 'fail' }).catch(() => {});
    troupe.off('task:settled', listener);
    await runner.run(3);
    expect(settled).toHaveLength(2);
    expect(settled[0]).toMatchObject({ ok: true, code: null, handler: 'default' });
    expect(settled[1]).toMatchObject({ ok: false, code: 'ERR_TASK_FAILED', handler: 'fail' });
  });
});
