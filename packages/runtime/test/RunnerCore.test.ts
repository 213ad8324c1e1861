// RunnerCore over a FAKE ThreadPool (RunnerHost.createPool is the seam):
// a real runner statechart, ResourceManager, StartGate, ErrorHandler and
// thread channels (MessagePorts with a Comlink peer per fake thread), but no
// piscina and no threads. The test scripts hellos, readiness, task results,
// crashes and exits, and holds destroy() to look inside a restart.
import { fileURLToPath } from 'node:url';
import {
  DataCloneError,
  RunnerStoppedError,
  TaskTimeoutError,
  ThreadStartupError,
  WorkerCrashedError,
  WorkerUnresponsiveError,
  isTroupeError,
  runnerStateOf,
  toErrorData,
  troupeErrorData,
  type RunnerState,
  type ShutdownPhase,
} from '@troupe/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorHandler, type ErrorRecord } from '../src/errors/ErrorHandler.js';
import { untilSnapshot } from '../src/inspection/untilSnapshot.js';
import { resolveRunnerSpec } from '../src/options/resolveRunnerSpec.js';
import type { RunnerSpec } from '../src/options/TroupeOptions.js';
import { kDispatchName, kLogKey, type TaskEnvelope } from '../src/protocol.js';
import { ResourceManager, type ResourceCloseRecord } from '../src/resources/ResourceManager.js';
import type { Runner } from '../src/runner/Runner.js';
import { runnerFacade } from '../src/runner/RunnerHandle.js';
import { RunnerCore } from '../src/runner/RunnerCore.js';
import type { RunnerHost } from '../src/runner/RunnerHost.js';
import { StartGate } from '../src/startup/StartGate.js';
import type { Alert } from '../src/supervision/Supervisor.js';
import { FakePool, type FakeThread } from './fakePool.js';
import {
  deferred,
  recordingLogger,
  rejectionOf,
  settleState,
  type RecordingLogger,
} from './support.js';

// The spec's worker must exist on disk (startPool checks it); the fake pool never loads it.
const WORKER = fileURLToPath(new URL('../src/index.ts', import.meta.url));

interface Harness {
  readonly core: RunnerCore;
  readonly runner: Runner;
  readonly resources: ResourceManager;
  readonly errors: ErrorHandler;
  /** The host's logger: every record of the runner, its threads and channels. */
  readonly logger: RecordingLogger;
  /** host.emitState calls, in order. */
  readonly states: [RunnerState, RunnerState | null][];
  readonly closeFailures: ResourceCloseRecord[];
  readonly listenerFailures: { error: unknown; listener: string }[];
  /** host.alert calls, in order. */
  readonly alerts: Alert[];
  readonly pools: FakePool[];
  readonly phase: { value: ShutdownPhase };
  /** What host.isRetryable answers. */
  readonly retryable: { value: boolean };
  /** Resolves with the pool created `index`-th (by default the next one). */
  nextPool(index?: number): Promise<FakePool>;
  /** Resolves once the runner is in `state` (fails if it ended elsewhere). */
  until(state: RunnerState): Promise<void>;
}

const live: Harness[] = [];

afterEach(async () => {
  for (const h of live.splice(0)) {
    for (const pool of h.pools) pool.holdDestroy?.resolve();
    // A test that failed halfway must not leave the next one a runner to trip on.
    await Promise.race([h.core.stop(), new Promise((resolve) => setTimeout(resolve, 2_000))]);
    for (const pool of h.pools) for (const thread of pool.live()) thread.closeAll();
  }
});

function harness(spec: Partial<RunnerSpec> = {}): Harness {
  const logger = recordingLogger();
  const phase = { value: 'running' as ShutdownPhase };
  const retryable = { value: false };
  const states: [RunnerState, RunnerState | null][] = [];
  const closeFailures: ResourceCloseRecord[] = [];
  const listenerFailures: { error: unknown; listener: string }[] = [];
  const alerts: Alert[] = [];
  const pools: FakePool[] = [];
  const poolWaiters: { index: number; resolve: (pool: FakePool) => void }[] = [];
  const resources = new ResourceManager({
    logger,
    onCloseFailure: (record) => closeFailures.push(record),
  });
  const errors = new ErrorHandler({
    logger,
    ringSize: 100,
    windowMs: 60_000,
    emit: () => {},
    escalate: () => {},
    phase: () => phase.value,
  });
  const host: RunnerHost = {
    nodeId: 'n1',
    logger,
    inspect: undefined,
    resources,
    startGate: new StartGate(4),
    createPool: (options, listener) => {
      const pool = new FakePool(options, listener);
      pools.push(pool);
      const index = pools.length - 1;
      for (const waiter of poolWaiters.filter((w) => w.index === index)) waiter.resolve(pool);
      return pool;
    },
    signalingMs: 1_000,
    drainingMs: 5_000,
    wantsTaskEvents: false,
    retryBackoff: { baseMs: 1, capMs: 1 },
    phase: () => phase.value,
    admits: () => phase.value === 'running',
    shutdownReason: () => null,
    reportError: (error, context) => errors.report(error, context),
    resolveErrors: (records, how) => {
      errors.resolve(records, how);
    },
    listenerFailed: (error, listener) => listenerFailures.push({ error, listener }),
    isRetryable: () => retryable.value,
    emitState: (_runnerId, state, previous) => states.push([state, previous]),
    emitTaskSettled: () => {},
    alert: (alert) => alerts.push(alert),
    refusedAfterFinal: () => {},
  };
  const resolved = resolveRunnerSpec(
    {
      worker: WORKER,
      id: 'r1',
      threads: 2,
      startupTimeoutMs: 5_000,
      closeTimeoutMs: 1_000,
      restart: { maxRestarts: 5, backoff: { baseMs: 1, capMs: 1 } },
      ...spec,
    },
    undefined,
    50,
  );
  const core = new RunnerCore('r1', resolved, host);
  // What troupe.spawnRunner does: the runner's resource reserves its id.
  resources.registerInternal([
    { id: 'r1', kind: 'runner', close: () => core.close(), closeTimeoutMs: 5_000 },
  ]);
  const h: Harness = {
    core,
    runner: runnerFacade(core),
    resources,
    errors,
    logger,
    states,
    closeFailures,
    listenerFailures,
    alerts,
    pools,
    phase,
    retryable,
    nextPool: (index = pools.length) => {
      const pool = pools[index];
      if (pool !== undefined) return Promise.resolve(pool);
      return new Promise((resolve) => poolWaiters.push({ index, resolve }));
    },
    until: async (state) => {
      await untilSnapshot(core.view, (s) => runnerStateOf(s.value) === state);
      expect(core.state).toBe(state);
    },
  };
  live.push(h);
  return h;
}

/** Starts the runner and brings every thread of its first pool up. */
async function serving(
  h: Harness,
  threads = 2,
): Promise<{ pool: FakePool; threads: FakeThread[] }> {
  const started = h.core.start();
  const pool = await h.nextPool(0);
  const up = Array.from({ length: threads }, () => pool.startThread());
  await started;
  return { pool, threads: up };
}

/** Brings a new pool's threads up (a restart's); resolves once the runner serves. */
async function poolUp(h: Harness, index: number, threads = 2): Promise<FakePool> {
  const pool = await h.nextPool(index);
  for (let i = 0; i < threads; i++) pool.startThread();
  await untilSnapshot(h.core.view, (s) => s.matches('running'));
  expect(h.core.view.getSnapshot().matches('running')).toBe(true);
  return pool;
}

function payloadOf(task: { task: unknown }): unknown {
  return (task.task as TaskEnvelope).p;
}

function records(h: Harness, code: string): ErrorRecord[] {
  return h.errors.recent().filter((r) => r.code === code);
}

describe('RunnerCore start', () => {
  it('spawn → ready: waits for a start slot, creates the pool, is ready once every thread is up', async () => {
    const h = harness();
    const started = h.core.start();
    expect(h.core.state).toBe('starting');
    const pool = await h.nextPool();
    expect(pool.options).toMatchObject({ threads: 2, atomics: 'disabled' });
    expect(pool.options.workerData).toEqual({
      __troupe_boot: {
        runnerId: 'r1',
        moduleUrl: h.core.moduleUrl,
        userData: undefined,
        // The recording logger cannot tell its level: ctx.log sends everything.
        logLevel: 'trace',
      },
    });
    const a = pool.startThread({ handlers: ['default', 'gen'] });
    expect(await settleState(started)).toBe('pending');
    expect(h.core.state).toBe('starting');
    const b = pool.startThread({ handlers: ['default', 'gen'] });
    await started;
    expect(h.core.state).toBe('ready');
    expect(h.core.threadIds.sort()).toEqual([a.threadId, b.threadId].sort());
    expect(h.core.moduleKind).toBe('defined');
    expect(h.core.handlers).toEqual(['default', 'gen']);
    // each thread and its channel is a resource the runner needs
    expect(
      h.resources
        .list()
        .map((r) => r.id)
        .sort(),
    ).toEqual(
      [
        'r1',
        `r1/thread-${a.threadId}`,
        `r1/thread-${a.threadId}/channel`,
        `r1/thread-${b.threadId}`,
        `r1/thread-${b.threadId}/channel`,
      ].sort(),
    );
  });

  it('a thread is up only once it said hello and the pool takes tasks to it', async () => {
    const h = harness({ threads: 1 });
    const started = h.core.start();
    const pool = await h.nextPool();
    const thread = pool.spawnThread();
    pool.ready(thread);
    expect(await settleState(started)).toBe('pending');
    pool.listener.onMessage(thread.hello());
    await started;
    expect(h.core.threadIds).toEqual([thread.threadId]);
  });

  it('the first state event is starting, with previous null (bug 27)', async () => {
    const h = harness();
    const onState: [RunnerState, RunnerState | null][] = [];
    h.runner.on('state', (state, previous) => onState.push([state, previous]));
    await serving(h);
    expect(h.states[0]).toEqual(['starting', null]);
    expect(onState[0]).toEqual(['starting', null]);
    expect(h.states).toEqual([
      ['starting', null],
      ['ready', 'starting'],
    ]);
  });
});

describe('RunnerCore tasks', () => {
  it('dispatches to a free thread as an envelope and resolves with the result', async () => {
    const h = harness();
    const { pool } = await serving(h);
    const out = h.core.run({ x: 1 }, { handler: 'gen' });
    const task = await pool.nextTask(0);
    expect(task.task).toEqual({ s: 1, h: 'gen', p: { x: 1 } });
    expect(task.options.name).toBe(kDispatchName);
    expect(task.threadId).toBeGreaterThan(0);
    expect(h.core.executor.taskOn(task.threadId)?.taskId).toBe('r1#1');
    task.resolve(42);
    expect(await out).toBe(42);
    expect(h.core.stats()).toMatchObject({ submitted: 1, completed: 1, inFlight: 0, queued: 0 });
  });

  it('stats(): inFlight counts tasks on a thread, queued those waiting for one (bug 17)', async () => {
    const h = harness({ threads: 1 });
    const { pool } = await serving(h, 1);
    const results = [1, 2, 3].map((n) => h.core.run(n, undefined));
    expect(h.core.stats()).toMatchObject({ inFlight: 1, queued: 2, submitted: 3 });
    (await pool.nextTask(0)).resolve('a');
    expect(await results[0]).toBe('a');
    const second = await pool.nextTask(1);
    expect(payloadOf(second)).toBe(2);
    expect(h.core.stats()).toMatchObject({ inFlight: 1, queued: 1 });
    second.resolve('b');
    (await pool.nextTask(2)).resolve('c');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
    expect(h.core.stats()).toMatchObject({ inFlight: 0, queued: 0, completed: 3 });
  });

  it('a plain module: the default handler gets the bare payload, a named one its export by name', async () => {
    const h = harness({ threads: 1 });
    const started = h.core.start();
    const pool = await h.nextPool();
    pool.startThread({ kind: 'plain', handlers: ['default', 'double'] });
    await started;
    expect(h.core.moduleKind).toBe('plain');
    const plain = h.core.run(21, undefined);
    const task = await pool.nextTask(0);
    expect(task.task).toBe(21);
    expect(task.options).toEqual({});
    task.resolve(42);
    expect(await plain).toBe(42);
    const named = h.core.run(2, { handler: 'double' });
    const namedTask = await pool.nextTask(1);
    expect(namedTask.options).toEqual({ filename: h.core.moduleUrl, name: 'double' });
    namedTask.resolve(4);
    expect(await named).toBe(4);
  });

  it('a handler the module does not have: ERR_UNKNOWN_HANDLER naming those it has, never sent to a thread', async () => {
    const h = harness();
    const { pool } = await serving(h);
    const error = await rejectionOf(h.core.run('p', { handler: 'nope' }));
    expect(isTroupeError(error, 'ERR_UNKNOWN_HANDLER')).toBe(true);
    expect((error as Error).message).toBe(
      'runner "r1" has no handler "nope" (it has: default, gen)',
    );
    expect(pool.tasks).toHaveLength(0);
    expect(h.core.stats()).toMatchObject({ submitted: 1, rejected: 1, inFlight: 0, queued: 0 });
  });

  it('the counts add up: submitted = completed + failed + aborted + rejected + inFlight + queued', async () => {
    const h = harness({ threads: 1, maxQueue: 2 });
    const { pool } = await serving(h, 1);
    const settled = [
      h.core.run('ok', undefined),
      h.core.run('fails', undefined),
      h.core.run('times out', { timeoutMs: 20 }),
      h.core.run('full', undefined),
      h.core.run('bad option', { timout: 1 } as never),
    ].map((p) => p.catch((error: unknown) => error));
    const check = (): void => {
      const s = h.core.stats();
      expect(s.submitted).toBe(
        s.completed + s.failed + s.aborted + s.rejected + s.inFlight + s.queued,
      );
    };
    check();
    const [full, badOption] = await Promise.all([settled[3], settled[4]]);
    expect(isTroupeError(full, 'ERR_QUEUE_FULL')).toBe(true);
    expect(isTroupeError(badOption, 'ERR_INVALID_CONFIG')).toBe(true);
    check();
    (await pool.nextTask(0)).resolve('done');
    (await pool.nextTask(1)).resolve({ __troupe_failure: toErrorData(new Error('nope')) });
    await Promise.all(settled);
    check();
    expect(h.core.stats()).toMatchObject({
      submitted: 5,
      completed: 1,
      failed: 1,
      aborted: 1,
      rejected: 2,
      inFlight: 0,
      queued: 0,
    });
  });

  it('a running task that times out is aborted in its own thread only, then its abort hook fires after the grace', async () => {
    const h = harness();
    const { pool, threads } = await serving(h);
    const other = h.core.run('other', undefined);
    const out = h.core.run('slow', { timeoutMs: 30 });
    const otherTask = await pool.nextTask(0);
    const task = await pool.nextTask(1);
    expect(task.options.signal).toBeDefined();
    const error = await rejectionOf(out);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    const mine = threads.find((t) => t.threadId === task.threadId)!;
    const theirs = threads.find((t) => t.threadId === otherTask.threadId)!;
    await vi.waitFor(() => {
      expect(mine.callsOf('abortTask')).toEqual([
        [2, expect.objectContaining({ code: 'ERR_TASK_TIMEOUT' })],
      ]);
    });
    // the task ignores ctx.signal: after abortGraceMs its hook fires
    await vi.waitFor(() => {
      expect(pool.aborted).toHaveLength(1);
    });
    expect(pool.aborted[0]?.signal).toBe(task.options.signal);
    expect(theirs.callsOf('abortTask')).toEqual([]);
    otherTask.resolve('fine');
    expect(await other).toBe('fine');
    expect(h.core.stats()).toMatchObject({ aborted: 1, completed: 1 });
  });

  it('an undeliverable reply fails its task with ERR_DATA_CLONE and terminates the thread (bug 21)', async () => {
    const h = harness();
    const { pool } = await serving(h);
    const out = h.core.run('p', { handler: 'gen' });
    const task = await pool.nextTask(0);
    const thread = pool.threads.get(task.threadId)!;
    const cause = new Error('could not deserialize the reply');
    pool.listener.onUndeliverable(task.threadId, cause);
    const error = await rejectionOf(out);
    expect(error).toBeInstanceOf(DataCloneError);
    expect(error).toMatchObject({
      code: 'ERR_DATA_CLONE',
      context: { runnerId: 'r1', taskId: 'r1#1', threadId: thread.threadId, operation: 'run' },
    });
    expect((error as Error).message).toContain('could not deserialize the reply');
    expect((error as Error).cause).toBe(cause);
    expect(pool.terminated).toEqual([thread.threadId]);
    expect(thread.exited).toBe(true);
    // terminated by the runtime: not a crash, no restart counted
    expect(h.core.stats()).toMatchObject({ failed: 1, crashes: 0, restarts: 0 });
    // the replacement takes the next task
    pool.startThread();
    await h.until('ready');
    const next = h.core.run('q', { handler: 'gen' });
    (await pool.nextTask(1)).resolve('ok');
    expect(await next).toBe('ok');
  });
});

describe('RunnerCore crashes and restarts', () => {
  it('a crash is counted and the replacement thread resumes dispatch', async () => {
    const h = harness({ threads: 1 });
    const { pool, threads } = await serving(h, 1);
    const first = h.core.run('a', undefined);
    const second = h.core.run('b', undefined);
    expect(h.core.stats()).toMatchObject({ inFlight: 1, queued: 1 });
    await pool.nextTask(0);
    pool.exit(threads[0]!, { exitCode: 7 });
    const error = await rejectionOf(first);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error).message).toBe(
      'the thread running task r1#1 crashed: worker exited with code: 7',
    );
    expect(h.core.stats()).toMatchObject({ crashes: 1, restarts: 1, failed: 1, queued: 1 });
    expect(h.core.view.getSnapshot().matches({ running: { threads: 'replacing' } })).toBe(true);
    // the health monitor reads the chart's replacing state as one thread coming
    expect(h.core.replacingThreads).toBe(1);
    // nothing was dispatched while no thread was up
    expect(pool.tasks).toHaveLength(1);
    const replacement = pool.startThread();
    const task = await pool.nextTask(1);
    expect(task.threadId).toBe(replacement.threadId);
    expect(payloadOf(task)).toBe('b');
    expect(h.core.replacingThreads).toBe(0);
    task.resolve('B');
    expect(await second).toBe('B');
    // the crash, reported once by the runner, is resolved by the replacement
    const crash = records(h, 'ERR_WORKER_CRASHED').filter((r) => r.context.operation === 'thread');
    expect(crash).toHaveLength(1);
    expect(crash[0]?.context).toMatchObject({ threadId: threads[0]!.threadId, exitCode: 7 });
    expect(crash[0]?.resolution).toBe('restart');
  });

  it('a thread the pool does not replace sends the runner to a full restart', async () => {
    const h = harness();
    const { pool, threads } = await serving(h);
    pool.exit(threads[0]!, { exitCode: 1, replaced: false });
    await h.until('restarting');
    await poolUp(h, 1);
    expect(h.core.stats().restarts).toBe(1);
  });

  it('a replacement that is not up within startupTimeoutMs restarts the pool', async () => {
    const h = harness({ threads: 1, startupTimeoutMs: 40 });
    const { pool, threads } = await serving(h, 1);
    pool.exit(threads[0]!, { exitCode: 1 });
    pool.spawnThread(); // started, never says hello
    await h.until('restarting');
    expect(h.core.view.getSnapshot().context.lastStartupError).toMatchObject({
      code: 'ERR_THREAD_STARTUP',
      message:
        'a restarted pool or replacement thread of runner "r1" did not start within startupTimeoutMs (40 ms)',
    });
    await poolUp(h, 1, 1);
  });

  it('a replacement that fails its hello sends the runner to restarting, then a new pool serves', async () => {
    const h = harness({ threads: 1 });
    const { pool, threads } = await serving(h, 1);
    pool.exit(threads[0]!, { exitCode: 1 });
    const broken = pool.startThread({
      ok: false,
      error: toErrorData(new SyntaxError('Unexpected token')),
    });
    await h.until('restarting');
    const failure = records(h, 'ERR_THREAD_STARTUP');
    expect(failure).toHaveLength(1);
    expect(failure[0]?.error).toBeInstanceOf(ThreadStartupError);
    expect(failure[0]?.message).toContain('Unexpected token');
    expect(h.core.view.getSnapshot().context.lastStartupError?.code).toBe('ERR_THREAD_STARTUP');
    pool.exit(broken, { exitCode: 1 });
    const next = await poolUp(h, 1, 1);
    expect(next).not.toBe(pool);
    expect(pool.destroyCalls).toBe(1);
    expect(h.states.map(([state]) => state)).toEqual([
      'starting',
      'ready',
      'restarting',
      'starting',
      'ready',
    ]);
    // the crash and the failed start are resolved by the restart
    expect(failure[0]?.resolution).toBe('restart');
  });

  it('tasks queued while restarting are dispatched to the new pool, not lost (bug 19)', async () => {
    const h = harness();
    const { pool } = await serving(h);
    pool.holdDestroy = deferred();
    const restarted = h.runner.restart();
    await h.until('restarting');
    expect(h.core.view.getSnapshot().hasTag('accepting')).toBe(true);
    const queued = [h.core.run('x', undefined), h.core.run('y', undefined)];
    expect(h.core.stats()).toMatchObject({ queued: 2, inFlight: 0 });
    pool.holdDestroy.resolve();
    const next = await poolUp(h, 1);
    await restarted;
    const tasks = await Promise.all([next.nextTask(0), next.nextTask(1)]);
    expect(tasks.map(payloadOf)).toEqual(['x', 'y']);
    expect(pool.tasks).toHaveLength(0);
    tasks[0].resolve('X');
    tasks[1].resolve('Y');
    expect(await Promise.all(queued)).toEqual(['X', 'Y']);
  });

  it('queued tasks honour their timeout and their signal while the pool is down (bug 20)', async () => {
    const h = harness();
    const { pool } = await serving(h);
    pool.holdDestroy = deferred();
    void h.runner.restart();
    await h.until('restarting');
    const t0 = performance.now();
    const timed = h.core.run('slow', { timeoutMs: 40 });
    const controller = new AbortController();
    const aborted = h.core.run('cancel me', { signal: controller.signal });
    expect(h.core.stats().queued).toBe(2);
    controller.abort(new Error('caller gave up'));
    const abortError = await rejectionOf(aborted);
    expect(isTroupeError(abortError, 'ERR_TASK_ABORTED')).toBe(true);
    expect(h.core.stats().queued).toBe(1);
    const timeout = await rejectionOf(timed);
    expect(timeout).toBeInstanceOf(TaskTimeoutError);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(38);
    expect(h.core.stats()).toMatchObject({ queued: 0, inFlight: 0, aborted: 2 });
    // neither ever reached a pool
    pool.holdDestroy.resolve();
    const next = await poolUp(h, 1);
    expect(pool.tasks).toHaveLength(0);
    expect(next.tasks).toHaveLength(0);
  });

  it('restart() runs teardownThreads on the idle threads before the pool is destroyed (bug 29)', async () => {
    const h = harness();
    const { pool, threads } = await serving(h);
    const order: string[] = [];
    for (const thread of threads) {
      thread.teardown = () => {
        order.push(`teardown ${thread.threadId}`);
        return Promise.resolve();
      };
    }
    const destroy = pool.destroy.bind(pool);
    pool.destroy = () => {
      order.push('destroy');
      return destroy();
    };
    const restarted = h.runner.restart();
    await poolUp(h, 1);
    await restarted;
    expect(order.slice(0, 2).sort()).toEqual(threads.map((t) => `teardown ${t.threadId}`).sort());
    expect(order[2]).toBe('destroy');
    expect(h.core.stats().restarts).toBe(1);
  });

  it('a restart with a task running terminates it (lost: ERR_WORKER_CRASHED) and tears down only the idle thread', async () => {
    const h = harness();
    const { pool, threads } = await serving(h);
    const out = h.core.run('long', undefined);
    const task = await pool.nextTask(0);
    const restarted = h.runner.restart();
    const error = await rejectionOf(out);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as WorkerCrashedError).context.restart).toBe(true);
    const busy = threads.find((t) => t.threadId === task.threadId)!;
    const idle = threads.find((t) => t.threadId !== task.threadId)!;
    expect(busy.callsOf('teardown')).toHaveLength(0);
    expect(idle.callsOf('teardown')).toHaveLength(1);
    await poolUp(h, 1);
    await restarted;
  });
});

describe('RunnerCore hung threads', () => {
  it("threadHung: the thread's task fails ERR_WORKER_UNRESPONSIVE, the thread is terminated and replaced, an alert is raised; the sibling keeps serving", async () => {
    const h = harness({ threads: 2 });
    const { pool, threads } = await serving(h, 2);
    const stuck = h.core.run('spin', undefined);
    const stuckTask = await pool.nextTask(0);
    const hungThread = stuckTask.threadId;
    const sibling = threads.find((t) => t.threadId !== hungThread);
    expect(h.core.busySince(hungThread)).toBeTypeOf('number');
    expect(h.core.busySince(sibling!.threadId)).toBeNull();
    h.core.threadHung(hungThread, 1_234, 1_000);
    const error = await rejectionOf(stuck);
    expect(error).toBeInstanceOf(WorkerUnresponsiveError);
    expect(error).toMatchObject({
      code: 'ERR_WORKER_UNRESPONSIVE',
      context: { runnerId: 'r1', threadId: hungThread, silentMs: 1_234, hungAfterMs: 1_000 },
    });
    expect((error as Error).message).toBe(
      `thread ${hungThread} of runner "r1" answered no health probe for 1234 ms while running task r1#1 (hungAfterMs 1000): it was terminated`,
    );
    expect(pool.terminated).toEqual([hungThread]);
    expect(h.alerts).toEqual([
      expect.objectContaining({
        kind: 'health',
        severity: 'HIGH',
        code: 'ERR_WORKER_UNRESPONSIVE',
        runnerId: 'r1',
        decision: 'restart',
      }),
    ]);
    // Counted against the restart budget like a crash (once: its exit is a termination).
    expect(h.core.stats()).toMatchObject({ restarts: 1, crashes: 0, failed: 1 });
    expect(h.core.view.getSnapshot().matches({ running: { threads: 'replacing' } })).toBe(true);
    // The sibling keeps serving meanwhile.
    const next = h.core.run('b', undefined);
    const onSibling = await pool.nextTask(1);
    expect(onSibling.threadId).toBe(sibling!.threadId);
    onSibling.resolve('B');
    expect(await next).toBe('B');
    pool.startThread();
    await untilSnapshot(h.core.view, (snap) => snap.matches({ running: { threads: 'full' } }));
    // The task's failure is the one record (its thread's exit was a termination).
    expect(records(h, 'ERR_WORKER_UNRESPONSIVE')).toHaveLength(1);
    expect(records(h, 'ERR_WORKER_CRASHED')).toHaveLength(0);
  });

  it('threadHung past the restart budget fails the runner (decision stop)', async () => {
    const h = harness({ threads: 1, restart: { maxRestarts: 0 } });
    const { pool } = await serving(h, 1);
    const stuck = h.core.run('spin', undefined);
    const task = await pool.nextTask(0);
    h.core.threadHung(task.threadId, 500, 500);
    expect(await rejectionOf(stuck)).toMatchObject({ code: 'ERR_WORKER_UNRESPONSIVE' });
    await h.until('failed');
    expect(h.alerts.map((a) => a.decision)).toEqual(['stop']);
    expect(h.core.failure()).toMatchObject({
      code: 'ERR_RESTART_LIMIT',
      cause: { code: 'ERR_WORKER_UNRESPONSIVE' },
    });
  });

  it('saturation figures: threads busy, the oldest queued task, the waits of tasks that reached a thread', async () => {
    const h = harness({ threads: 1 });
    const { pool } = await serving(h, 1);
    expect(h.core.load()).toEqual({ running: 0, oldestQueuedAt: null });
    const first = h.core.run('a', undefined);
    const before = performance.now();
    const second = h.core.run('b', undefined);
    const load = h.core.load();
    expect(load.running).toBe(1);
    expect(load.oldestQueuedAt).toBeGreaterThanOrEqual(before);
    await new Promise((resolve) => setTimeout(resolve, 30));
    (await pool.nextTask(0)).resolve('A');
    await first;
    (await pool.nextTask(1)).resolve('B');
    await second;
    const waits = h.core.takeQueueWaits();
    expect(waits.count).toBe(2);
    expect(waits.max).toBeGreaterThanOrEqual(25);
    expect(waits.p90).toBe(waits.max);
    expect(h.core.takeQueueWaits()).toEqual({ count: 0, p90: 0, max: 0 });
    expect(h.core.load()).toEqual({ running: 0, oldestQueuedAt: null });
  });
});

describe('RunnerCore retries', () => {
  it('a retryable failure is tried again on the replacement thread; the failed attempt is resolved by the retry', async () => {
    const h = harness({ threads: 1 });
    h.retryable.value = true;
    const { pool, threads } = await serving(h, 1);
    const out = h.core.run('p', {
      retries: 2,
      idempotent: true,
      retryBackoff: { baseMs: 1, capMs: 1 },
    });
    await pool.nextTask(0);
    pool.exit(threads[0]!, { exitCode: 7 });
    pool.startThread();
    const second = await pool.nextTask(1);
    expect(payloadOf(second)).toBe('p');
    second.resolve('second time lucky');
    expect(await out).toBe('second time lucky');
    expect(h.core.stats()).toMatchObject({ submitted: 2, retried: 1, failed: 1, completed: 1 });
    const attempt = h.errors
      .recent()
      .find((r) => r.code === 'ERR_WORKER_CRASHED' && r.context.operation === 'run');
    expect(attempt?.context.attempt).toBe(1);
    expect(attempt?.resolution).toBe('retry');
  });

  it('a failure that is not retryable ends the retries at once with that error', async () => {
    const h = harness();
    const { pool } = await serving(h);
    const out = h.core.run('p', { retries: 3, idempotent: true });
    (await pool.nextTask(0)).resolve({ __troupe_failure: toErrorData(new Error('bad input')) });
    const error = await rejectionOf(out);
    expect(isTroupeError(error, 'ERR_TASK_FAILED')).toBe(true);
    expect(pool.tasks).toHaveLength(1);
    expect(h.core.stats()).toMatchObject({ submitted: 1, retried: 0, failed: 1 });
  });

  it('a retry waiting between attempts is cancelled when the runner stops', async () => {
    const h = harness({ threads: 1 });
    h.retryable.value = true;
    const { pool } = await serving(h, 1);
    const out = h.core.run('p', {
      retries: 1,
      idempotent: true,
      retryBackoff: { baseMs: 60_000, capMs: 60_000 },
    });
    const task = await pool.nextTask(0);
    task.resolve({ __troupe_failure: toErrorData(new TaskTimeoutError('inner timeout')) });
    // the first attempt failed; the retry waits out its backoff when the runner stops
    await vi.waitFor(() => {
      expect(h.core.stats().failed + h.core.stats().aborted).toBe(1);
    });
    await h.core.stop();
    const error = await rejectionOf(out);
    expect(error).toBeInstanceOf(RunnerStoppedError);
  });
});

describe('RunnerCore stop', () => {
  it('stop during a restart with queued work starts the new pool, drains it, then stops', async () => {
    const h = harness();
    const { pool } = await serving(h);
    pool.holdDestroy = deferred();
    void h.runner.restart().catch(() => {});
    await h.until('restarting');
    const queued = h.core.run('keep me', undefined);
    const stopped = h.core.stop();
    // stopping closes admission at once
    const refused = await rejectionOf(h.core.run('too late', undefined));
    expect(refused).toBeInstanceOf(RunnerStoppedError);
    pool.holdDestroy.resolve();
    const next = await h.nextPool(1);
    next.startThread();
    next.startThread();
    await h.until('draining');
    const task = await next.nextTask(0);
    expect(payloadOf(task)).toBe('keep me');
    expect(await settleState(stopped)).toBe('pending');
    task.resolve('kept');
    expect(await queued).toBe('kept');
    await stopped;
    expect(h.core.state).toBe('stopped');
    expect(next.destroyCalls).toBe(1);
  });

  it("a refusal after stop names the state now: 'stopped' (bug 16)", async () => {
    const h = harness();
    const { pool } = await serving(h);
    const running = h.core.run('a', undefined);
    const stopping = h.core.stop();
    const during = await rejectionOf(h.core.run('b', undefined));
    expect((during as Error).message).toBe('runner "r1" is draining and takes no new tasks');
    (await pool.nextTask(0)).resolve('A');
    await running;
    await stopping;
    const after = await rejectionOf(h.core.run('c', undefined));
    expect(after).toBeInstanceOf(RunnerStoppedError);
    expect((after as Error).message).toBe('runner "r1" is stopped and takes no new tasks');
    expect((after as RunnerStoppedError).context).toMatchObject({ state: 'stopped' });
  });

  it('a teardown that throws is recorded on the thread resource (bug 28)', async () => {
    const h = harness();
    const { threads } = await serving(h);
    const [bad, good] = threads as [FakeThread, FakeThread];
    bad.teardown = () => Promise.reject(new Error('could not flush the model'));
    await h.core.stop();
    expect(bad.callsOf('teardown')).toHaveLength(1);
    expect(good.callsOf('teardown')).toHaveLength(1);
    const failed = h.closeFailures.filter((r) => r.outcome !== 'closed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      id: `r1/thread-${bad.threadId}`,
      kind: 'thread',
      outcome: 'failed',
      error: {
        code: 'ERR_RESOURCE_CLOSE_FAILED',
        cause: { message: 'could not flush the model' },
      },
    });
    // every resource of the runner is gone once it stopped
    expect(h.resources.size).toBe(0);
  });

  it('stop() is idempotent and resolves once every thread exited', async () => {
    const h = harness();
    const { pool, threads } = await serving(h);
    pool.holdDestroy = deferred();
    const first = h.core.stop();
    expect(h.core.stop()).toBe(first);
    await h.until('closing');
    expect(await settleState(first)).toBe('pending');
    pool.holdDestroy.resolve();
    await first;
    expect(threads.every((t) => t.exited)).toBe(true);
    expect(h.core.summary).toMatchObject({
      id: 'r1',
      state: 'stopped',
      forced: false,
      failure: null,
      threads: { started: 2, exited: 2 },
    });
  });
});

describe('RunnerCore in a troupe shutdown', () => {
  it('signalShutdown notifies every thread; drained, then close() tears down and stops', async () => {
    const h = harness();
    const { threads } = await serving(h);
    await h.core.signalShutdown();
    for (const thread of threads) {
      expect(thread.callsOf('shutdownNotice')).toEqual([['runner "r1" is stopping']]);
    }
    expect(h.core.state).toBe('draining');
    await h.core.drained();
    // the coordinator decides when to close: the runner waits drained
    expect(h.core.view.getSnapshot().matches({ draining: 'drained' })).toBe(true);
    await h.core.close();
    expect(h.core.state).toBe('stopped');
    for (const thread of threads) expect(thread.callsOf('teardown')).toHaveLength(1);
  });

  it("in the troupe's close phase (closeAll) a teardown that throws fails its thread's resource, counted once", async () => {
    const h = harness();
    const { threads } = await serving(h);
    const [bad] = threads as [FakeThread, FakeThread];
    bad.teardown = () => Promise.reject(new Error('could not flush the model'));
    await h.core.signalShutdown();
    await h.core.drained();
    const report = await h.resources.closeAll();
    expect(h.core.state).toBe('stopped');
    const thread = report.resources.filter((r) => r.id === `r1/thread-${bad.threadId}`);
    expect(thread).toHaveLength(1);
    expect(thread[0]).toMatchObject({
      kind: 'thread',
      outcome: 'failed',
      error: { cause: { message: 'could not flush the model' } },
    });
    expect(report).toMatchObject({ failed: 1, forced: 0 });
    expect(report.closed).toBe(report.resources.length - 1);
    expect(h.closeFailures).toEqual([thread[0]]);
  });

  it('abortDrain: running tasks are aborted cooperatively, their threads terminated after the grace', async () => {
    const h = harness();
    const { pool, threads } = await serving(h);
    const out = h.core.run('endless', undefined);
    const task = await pool.nextTask(0);
    await h.core.signalShutdown();
    const aborting = h.core.abortDrain();
    const error = await rejectionOf(out);
    expect(isTroupeError(error, 'ERR_TASK_ABORTED')).toBe(true);
    expect((error as Error).message).toBe(
      'task r1#1 was aborted: its thread was terminated at the shutdown deadline',
    );
    await aborting;
    for (const thread of threads) {
      expect(thread.callsOf('abortAll')).toHaveLength(1);
    }
    const busy = threads.find((t) => t.threadId === task.threadId)!;
    expect(busy.exited).toBe(true);
    expect(h.core.forced).toBe(true);
    await h.core.close();
    expect(h.core.summary).toMatchObject({ state: 'stopped', forced: true });
  });

  it('force() during a teardown that hangs destroys the pool at once', async () => {
    const h = harness({ closeTimeoutMs: 60_000 });
    const { threads } = await serving(h);
    threads[0]!.teardown = () => new Promise<void>(() => {});
    await h.core.signalShutdown();
    await h.core.drained();
    const closing = h.core.close();
    await vi.waitFor(() => {
      expect(threads[0]!.callsOf('teardown')).toHaveLength(1);
    });
    expect(h.core.view.getSnapshot().matches({ closing: 'tearingDown' })).toBe(true);
    h.core.force();
    await closing;
    expect(h.core.summary).toMatchObject({ state: 'stopped', forced: true });
  });
});

describe('RunnerCore task events', () => {
  it("an event a task emits reaches its onEvent and runner.on('event'), with where it came from", async () => {
    const h = harness();
    const { pool } = await serving(h);
    const seen: unknown[] = [];
    const onRunner: unknown[] = [];
    h.runner.on('event', (event, meta) => onRunner.push([event, meta]));
    const out = h.core.run('p', {
      handler: 'gen',
      onEvent: (event, meta) => seen.push([event, meta]),
    });
    const task = await pool.nextTask(0);
    const thread = pool.threads.get(task.threadId)!;
    await thread.events.emit(1, { type: 'chunk', text: 'hi' });
    const meta = { runnerId: 'r1', taskId: 'r1#1', threadId: thread.threadId };
    expect(seen).toEqual([[{ type: 'chunk', text: 'hi' }, meta]]);
    expect(onRunner).toEqual([[{ type: 'chunk', text: 'hi' }, meta]]);
    task.resolve('done');
    await out;
  });

  it('a listener that throws is reported as a listener failure, and the task goes on', async () => {
    const h = harness();
    const { pool } = await serving(h);
    h.runner.on('event', () => {
      throw new Error('listener bug');
    });
    const out = h.core.run('p', {
      handler: 'gen',
      onEvent: () => {
        throw new Error('onEvent bug');
      },
    });
    const task = await pool.nextTask(0);
    await pool.threads.get(task.threadId)!.events.emit(1, 'e');
    expect(h.listenerFailures.map((f) => f.listener)).toEqual(['onEvent', "runner.on('event')"]);
    task.resolve('done');
    expect(await out).toBe('done');
  });
});

describe('RunnerCore failures', () => {
  it('a first start whose thread fails its hello rejects start() with ERR_RUNNER_STARTUP naming the worker', async () => {
    const h = harness({ threads: 1 });
    const started = h.core.start();
    const pool = await h.nextPool();
    pool.startThread({ ok: false, error: toErrorData(new Error('Cannot find package "x"')) });
    const error = await rejectionOf(started);
    expect(isTroupeError(error, 'ERR_RUNNER_STARTUP')).toBe(true);
    expect((error as Error).message).toContain('Cannot find package "x"');
    expect((error as { context: { workerPath?: string } }).context.workerPath).toBe(WORKER);
    await h.core.final;
    expect(h.core.state).toBe('failed');
    const refused = await rejectionOf(h.core.run('x', undefined));
    expect(isTroupeError(refused, 'ERR_RUNNER_STARTUP')).toBe(true);
  });

  // Open: the rejectQueued entry action reads the runner's failure from
  // actor.getSnapshot(), which inside an action is still the snapshot from
  // before the transition that recorded the failure.
  it('queued tasks of a runner that reaches its restart limit reject with ERR_RESTART_LIMIT', async () => {
    const h = harness({
      threads: 1,
      restart: { maxRestarts: 0, backoff: { baseMs: 1, capMs: 1 } },
    });
    const { pool, threads } = await serving(h, 1);
    const running = h.core.run('a', undefined);
    const queued = h.core.run('b', undefined);
    await pool.nextTask(0);
    pool.exit(threads[0]!, { exitCode: 9 });
    const [first, second] = await Promise.all([rejectionOf(running), rejectionOf(queued)]);
    expect(isTroupeError(first, 'ERR_WORKER_CRASHED')).toBe(true);
    expect(isTroupeError(second, 'ERR_RESTART_LIMIT')).toBe(true);
    await h.core.final;
    expect(h.core.state).toBe('failed');
    expect(h.core.failure()).toMatchObject({ code: 'ERR_RESTART_LIMIT' });
  });

  // Open: same cause as above (rejectQueued reads a stale snapshot).
  it('tasks queued during a first start that fails reject with ERR_RUNNER_STARTUP', async () => {
    const h = harness({ threads: 1 });
    const started = h.core.start();
    const queued = h.core.run('early', undefined);
    const pool = await h.nextPool();
    pool.startThread({ ok: false, error: toErrorData(new Error('Cannot find package "x"')) });
    await rejectionOf(started);
    const error = await rejectionOf(queued);
    expect(isTroupeError(error, 'ERR_RUNNER_STARTUP')).toBe(true);
  });

  it('restart() on a runner that fails instead rejects, and its thread failure is the cause', async () => {
    const h = harness({
      threads: 1,
      restart: { maxRestarts: 1, backoff: { baseMs: 1, capMs: 1 } },
    });
    await serving(h, 1);
    const restarted = h.runner.restart();
    const next = await h.nextPool(1);
    // the restarted pool cannot start: the budget (1) is used up by the restart itself
    next.startThread({ ok: false, error: troupeErrorData('ERR_UNKNOWN', 'broken build') });
    const error = await rejectionOf(restarted);
    expect(error).toBeInstanceOf(RunnerStoppedError);
    expect((error as Error).message).toBe(
      'runner "r1" is failed: it does not serve after the restart',
    );
    await h.core.final;
    expect(h.core.state).toBe('failed');
    expect(h.core.failure()).toMatchObject({
      code: 'ERR_RESTART_LIMIT',
      cause: { code: 'ERR_THREAD_STARTUP' },
    });
  });
});

describe('RunnerCore logs', () => {
  it('every transition of the runner and of its channels once at debug, with its ids and the event', async () => {
    const h = harness();
    const { threads } = await serving(h);
    await h.runner.stop();
    const runner = h.logger.records.filter((r) => r.msg === 'runner state');
    expect(runner.length).toBeGreaterThan(3);
    expect(runner[0]?.fields).toMatchObject({ previous: null, event: 'xstate.init' });
    runner.forEach((record, i) => {
      expect(record.level).toBe('debug');
      expect(record.fields).toMatchObject({ runnerId: 'r1', event: expect.any(String) as unknown });
      // A chain: each record starts where the one before ended, and moves.
      if (i > 0) expect(record.fields.previous).toBe(runner[i - 1]?.fields.state);
      expect(record.fields.state).not.toBe(record.fields.previous);
    });
    expect(runner.map((r) => r.fields.state)).toContain('stopped');
    expect(runner.some((r) => String(r.fields.state).startsWith('running'))).toBe(true);
    for (const thread of threads) {
      const channel = h.logger.records.filter(
        (r) => r.msg === 'channel state' && r.fields.threadId === thread.threadId,
      );
      // Its peer went with the pool: open, then closed (no closing without a peer).
      expect(channel.map((r) => [r.fields.previous, r.fields.state, r.fields.event])).toEqual([
        [null, 'open', 'xstate.init'],
        ['open', 'closed', 'troupe.channel.peerGone'],
      ]);
      expect(channel[0]?.fields).toMatchObject({
        runnerId: 'r1',
        channelId: `r1/${thread.threadId}`,
        event: 'xstate.init',
      });
    }
    // Its thread resources are resources too: logged with their resourceId.
    const resources = h.logger.records.filter((r) => r.msg === 'resource state');
    expect(resources.map((r) => r.fields.resourceId)).toContain(
      `r1/thread-${threads[0]?.threadId}`,
    );
  });

  it('startup at info once every thread is up: threads and durationMs', async () => {
    const h = harness();
    await serving(h);
    const ready = h.logger.records.filter((r) => r.msg === 'runner ready');
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({
      level: 'info',
      fields: { runnerId: 'r1', threads: 2, durationMs: expect.any(Number) as unknown },
    });
    expect(ready[0]?.fields.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("a thread's ctx.log records reach the runner's logger with runnerId, threadId and taskId", async () => {
    const h = harness();
    const { threads } = await serving(h);
    const thread = threads[0]!;
    thread.postEvent({
      [kLogKey]: [
        ['info', 5, { tokens: 7 }, 'generated', null],
        [
          'error',
          null,
          {
            err: toErrorData(
              new RunnerStoppedError('setup broke', { context: { runnerId: 'r1' } }),
            ),
          },
          'setup failed',
          ['err'],
        ],
        ['trace', 6, { n: 1 }, undefined, null],
      ],
    });
    // Answered once what was posted before it on the port was handled.
    await thread.events.sync();
    const info = h.logger.records.find((r) => r.msg === 'generated');
    expect(info).toMatchObject({
      level: 'info',
      fields: { runnerId: 'r1', threadId: thread.threadId, taskId: 'r1#5', tokens: 7 },
    });
    const failed = h.logger.records.find((r) => r.msg === 'setup failed');
    expect(failed?.level).toBe('error');
    expect(failed?.fields).not.toHaveProperty('taskId');
    // Rebuilt with its class and code.
    expect(failed?.fields.err).toBeInstanceOf(RunnerStoppedError);
    expect(h.logger.records.find((r) => r.fields.n === 1)).toMatchObject({
      level: 'trace',
      msg: undefined,
      fields: { taskId: 'r1#6' },
    });
  });
});
