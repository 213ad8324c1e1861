/*
 * runnerMachine: 15 states, 45 transitions. Every `after` runs on a
 * SimulatedClock; `Date.now` (used by the machine for events without `at`)
 * is pinned to that clock. Test ids refer to the `it` titles below.
 *
 * | state                        | reached in                          |
 * | ---------------------------- | ----------------------------------- |
 * | starting                     | R01 (and every test)                |
 * | running, running.ready       | R01                                 |
 * | running.busy                 | R02                                 |
 * | restarting, .releasing       | R30                                 |
 * | restarting.waiting           | R30                                 |
 * | draining, draining.drained   | R09                                 |
 * | draining.flushing            | R10                                 |
 * | draining.aborting            | R13                                 |
 * | draining.terminating         | R15                                 |
 * | closing                      | R05                                 |
 * | stopped                      | R07                                 |
 * | failed                       | R03                                 |
 *
 * | source            | transition                                        | test(s)       |
 * | ----------------- | ------------------------------------------------- | ------------- |
 * | starting          | onDone -> running (markReady)                     | R01           |
 * | starting          | onError [neverReady] -> closing (failStartup)     | R03, R04      |
 * | starting          | onError [mayRestart] -> restarting                | R33           |
 * | starting          | onError [else] -> closing (failRestartLimit)      | R34           |
 * | starting          | after startupTimeout [neverReady] -> closing      | R05           |
 * | starting          | after startupTimeout [mayRestart] -> restarting   | R35           |
 * |                   |   (recordStartupTimeout, countRestart)            |               |
 * | starting          | after startupTimeout [else] -> closing            | R36           |
 * |                   |   (failRestartLimitOnTimeout: cause = timeout)    |               |
 * | starting          | stop -> closing (recordStop)                      | R06           |
 * | running.ready     | busy -> busy                                      | R02           |
 * | running.ready     | stop -> draining.drained                          | R07, R09      |
 * | running.busy      | idle -> ready                                     | R02           |
 * | running.busy      | stop -> draining.flushing                         | R10, R11, R12 |
 * | running           | crashed [normal exit & busy] -> draining.flushing | R24           |
 * | running           | crashed [normal exit] -> draining.drained         | R23, R25      |
 * | running           | crashed [isTemporary] -> closing                  | R28           |
 * | running           | crashed [mayRestart] (stay, countRestart)         | R19-R22, R26, R27 |
 * | running           | crashed [else] -> closing (failRestartLimit)      | R19, R21      |
 * | running           | broken [isTemporary] -> closing                   | R29           |
 * | running           | broken [mayRestart] -> restarting                 | R30, R32      |
 * | running           | broken [else] -> closing (failRestartLimit)       | R37           |
 * | running           | restart [isTemporary] -> closing                  | R29           |
 * | running           | restart [mayRestart] -> restarting                | R31           |
 * | running           | restart [else] -> closing (failRestartLimit)      | R38           |
 * | restarting        | stop -> closing                                   | R08           |
 * | .releasing        | onDone -> waiting                                 | R30           |
 * | .releasing        | onError -> waiting                                | R31           |
 * | .waiting          | after restartDelay -> starting                    | R30, R31, R32 |
 * | draining          | (entry notifyDraining)                            | R07, R10      |
 * | draining.flushing | idle -> drained                                   | R10, R43      |
 * | draining.flushing | abort -> aborting                                 | R13           |
 * | draining.flushing | after drainTimeout -> aborting                    | R11, R12      |
 * | draining.flushing | close -> closing (markForced)                     | R18           |
 * | draining.aborting | idle -> drained (entry markForced, abortInFlight) | R13, R43      |
 * | draining.aborting | after abortGrace -> terminating                   | R15, R16      |
 * | draining.aborting | close -> closing (forced stays true)              | R41           |
 * | .terminating      | onDone -> drained                                 | R15           |
 * | .terminating      | onError -> drained                                | R16           |
 * | .terminating      | close -> closing (forced stays true)              | R42           |
 * | draining.drained  | always [closeWhenDrained] -> closing              | R07, R10      |
 * | draining.drained  | close -> closing (forced unchanged)               | R09, R43      |
 * | closing           | onDone [hasFailure] -> failed                     | R03           |
 * | closing           | onDone -> stopped                                 | R07           |
 * | closing           | onError [hasFailure] -> failed                    | R17           |
 * | closing           | onError -> stopped                                | R17           |
 * | closing           | after closeTimeout [hasFailure] -> failed, forced | R14           |
 * | closing           | after closeTimeout -> stopped, forced             | R14           |
 *
 * failRestartLimit and failRestartLimitOnTimeout do not count the refused
 * restart: restartCount (and the failure's context.restarts) is the number of
 * restarts actually performed (R19, R34, R36, R37).
 *
 * runnerStateOf: every state value in R39, the TypeError in R40, and on live
 * snapshots in R01, R02, R05, R07, R09, R19, R30.
 *
 * The last test (R99) checks this table mechanically: it fails if any state
 * or transition of the machine was not taken by the tests above it (so run
 * the whole file; a `-t` filter makes it fail).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import {
  ErrorCodes,
  RunnerEventTypes,
  restartDelay,
  runnerMachine,
  runnerStateOf,
  type ErrorData,
  type RunnerCloseInput,
  type RunnerEvent,
  type RunnerMachineInput,
  type RunnerPoolInput,
  type RunnerRestartConfig,
  type RunnerStopReason,
} from '../src/index.js';
import { controlled, Coverage, flush, releaseRoots, track, type Controlled } from './support.js';

const coverage = new Coverage(runnerMachine);

const restartDefaults: RunnerRestartConfig = {
  policy: 'permanent',
  maxRestarts: 3,
  windowMs: 10_000,
  backoff: { baseMs: 100, capMs: 1_000 },
  resetAfterMs: 5_000,
};

const inputDefaults: Omit<RunnerMachineInput, 'restart'> = {
  id: 'r1',
  startupTimeoutMs: 1_000,
  drainTimeoutMs: 2_000,
  abortGraceMs: 500,
  closeTimeoutMs: 3_000,
};

interface RunnerOptions {
  readonly restart?: Partial<RunnerRestartConfig>;
  readonly input?: Partial<Omit<RunnerMachineInput, 'restart'>>;
  readonly restartDelay?: number;
}

function startRunner(options: RunnerOptions = {}) {
  const clock = new SimulatedClock();
  // Events without `at` are stamped with Date.now(): keep it on the simulated clock.
  vi.spyOn(Date, 'now').mockImplementation(() => clock.now());
  const startPool = controlled<RunnerPoolInput>();
  const releasePool = controlled<RunnerPoolInput>();
  const terminateThreads = controlled<RunnerPoolInput>();
  const closePool = controlled<RunnerCloseInput>();
  const effects = { notifyDraining: 0, abortInFlight: 0 };
  const provided = runnerMachine.provide({
    actors: {
      startPool: startPool.logic,
      releasePool: releasePool.logic,
      terminateThreads: terminateThreads.logic,
      closePool: closePool.logic,
    },
    actions: {
      notifyDraining: () => {
        effects.notifyDraining += 1;
      },
      abortInFlight: () => {
        effects.abortInFlight += 1;
      },
    },
  });
  const machine =
    options.restartDelay === undefined
      ? provided
      : provided.provide({ delays: { restartDelay: options.restartDelay } });
  const input: RunnerMachineInput = {
    ...inputDefaults,
    ...options.input,
    restart: { ...restartDefaults, ...options.restart },
  };
  const actor = createActor(machine, { input, clock, inspect: coverage.inspect });
  track(actor);
  actor.start();
  return {
    actor,
    startPool,
    releasePool,
    terminateThreads,
    closePool,
    effects,
    send(event: RunnerEvent): void {
      actor.send(event);
    },
    advance(ms: number): void {
      clock.increment(ms);
    },
    now: () => clock.now(),
    snapshot: () => actor.getSnapshot(),
    value: () => actor.getSnapshot().value,
    context: () => actor.getSnapshot().context,
    state: () => runnerStateOf(actor.getSnapshot().value),
  };
}

type Runner = ReturnType<typeof startRunner>;

async function resolveLast<T>(actor: Controlled<T>): Promise<void> {
  actor.last().resolve();
  await flush();
}

async function rejectLast<T>(actor: Controlled<T>, reason: unknown): Promise<void> {
  actor.last().reject(reason);
  await flush();
}

async function toReady(r: Runner): Promise<void> {
  await resolveLast(r.startPool);
  expect(r.value()).toEqual({ running: 'ready' });
}

/** releasing -> waiting -> (the backoff ceiling never exceeds capMs) -> starting */
async function throughBackoff(r: Runner): Promise<void> {
  await resolveLast(r.releasePool);
  expect(r.value()).toEqual({ restarting: 'waiting' });
  r.advance(restartDefaults.backoff.capMs);
  expect(r.value()).toBe('starting');
}

function crashError(message: string): ErrorData {
  return {
    _tag: 'TroupeError',
    name: 'WorkerCrashedError',
    code: ErrorCodes.WORKER_CRASHED,
    message,
    context: { runnerId: 'r1' },
  };
}

/** The startup-timeout error of runner r1 with the default startupTimeoutMs. */
const startupTimeout: ErrorData = {
  _tag: 'TroupeError',
  name: 'RunnerStartupError',
  code: ErrorCodes.RUNNER_STARTUP,
  message: 'runner "r1" did not become ready within startupTimeoutMs (1000 ms)',
  context: { runnerId: 'r1', startupTimeoutMs: 1_000 },
};

function crashed(at: number, options: { normal?: boolean; error?: ErrorData } = {}): RunnerEvent {
  return {
    type: RunnerEventTypes.crashed,
    error: options.error ?? crashError(`thread died at ${at}`),
    at,
    ...(options.normal === undefined ? {} : { normal: options.normal }),
  };
}

function stop(
  closeWhenDrained = true,
  reason: RunnerStopReason = 'stop',
  drainTimeoutMs?: number,
): RunnerEvent {
  return {
    type: RunnerEventTypes.stop,
    reason,
    closeWhenDrained,
    ...(drainTimeoutMs === undefined ? {} : { drainTimeoutMs }),
  };
}

afterEach(() => {
  const errors = releaseRoots();
  vi.restoreAllMocks();
  expect(errors).toEqual([]);
});

describe('runnerMachine: start and run', () => {
  it('R01 starts the pool with attempt 0 and becomes ready once it resolves', async () => {
    const r = startRunner();
    expect(r.value()).toBe('starting');
    expect(r.state()).toBe('starting');
    expect(r.startPool.calls).toHaveLength(1);
    expect(r.startPool.last().input).toEqual({ id: 'r1', attempt: 0 });
    expect(r.context().everReady).toBe(false);
    await toReady(r);
    expect(r.state()).toBe('ready');
    expect(r.context()).toMatchObject({
      everReady: true,
      failure: null,
      lastStartupError: null,
      restartCount: 0,
      attempt: 0,
      restarts: [],
    });
    // The startup deadline was cancelled when the pool became ready.
    r.advance(inputDefaults.startupTimeoutMs * 10);
    expect(r.value()).toEqual({ running: 'ready' });
  });

  it('R02 moves between ready and busy on busy/idle', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.busy });
    expect(r.value()).toEqual({ running: 'busy' });
    expect(r.state()).toBe('busy');
    r.send({ type: RunnerEventTypes.idle });
    expect(r.value()).toEqual({ running: 'ready' });
    r.send({ type: RunnerEventTypes.busy });
    expect(r.state()).toBe('busy');
  });
});

describe('runnerMachine: first start failure', () => {
  it('R03 a rejected first start fails the runner with ERR_RUNNER_STARTUP, keeping the cause', async () => {
    const r = startRunner();
    const cause = Object.assign(new Error('Cannot find module ./worker.js'), { code: 'ENOENT' });
    await rejectLast(r.startPool, cause);
    expect(r.value()).toBe('closing');
    const failure = r.context().failure;
    expect(failure).toMatchObject({
      _tag: 'TroupeError',
      name: 'RunnerStartupError',
      code: ErrorCodes.RUNNER_STARTUP,
      message: 'runner "r1" failed to start: Cannot find module ./worker.js',
      context: { runnerId: 'r1' },
      cause: { _tag: 'Error', message: 'Cannot find module ./worker.js', code: 'ENOENT' },
    });
    expect(r.context().restartCount).toBe(0);
    expect(r.closePool.last().input).toEqual({
      id: 'r1',
      attempt: 0,
      failure,
      stopReason: null,
    });
    await resolveLast(r.closePool);
    expect(r.value()).toBe('failed');
    expect(r.snapshot().status).toBe('done');
    expect(r.snapshot().output).toEqual({ id: 'r1', failure, forced: false, restartCount: 0 });
  });

  it('R04 a first start rejected with an ERR_RUNNER_STARTUP error is not wrapped twice', async () => {
    const r = startRunner();
    const own: ErrorData = {
      _tag: 'TroupeError',
      name: 'RunnerStartupError',
      code: ErrorCodes.RUNNER_STARTUP,
      message: 'setup() threw',
      context: { workerPath: '/w.js' },
    };
    await rejectLast(r.startPool, own);
    expect(r.value()).toBe('closing');
    expect(r.context().failure).toBe(own);
  });

  it('R05 a first start that misses startupTimeoutMs fails with ERR_RUNNER_STARTUP', async () => {
    const r = startRunner();
    r.advance(inputDefaults.startupTimeoutMs - 1);
    expect(r.value()).toBe('starting');
    r.advance(1);
    expect(r.value()).toBe('closing');
    expect(r.state()).toBe('closing');
    const failure = r.context().failure;
    expect(failure).toEqual({
      _tag: 'TroupeError',
      name: 'RunnerStartupError',
      code: ErrorCodes.RUNNER_STARTUP,
      message: 'runner "r1" did not become ready within startupTimeoutMs (1000 ms)',
      context: { runnerId: 'r1', startupTimeoutMs: 1_000 },
    });
    // The start attempt was cancelled; its late success changes nothing.
    expect(r.startPool.last().signal.aborted).toBe(true);
    await resolveLast(r.startPool);
    expect(r.value()).toBe('closing');
    await resolveLast(r.closePool);
    expect(r.value()).toBe('failed');
    expect(r.snapshot().output).toEqual({ id: 'r1', failure, forced: false, restartCount: 0 });
  });
});

describe('runnerMachine: stop', () => {
  it('R06 stop while starting cancels the start and closes', async () => {
    const r = startRunner();
    r.send(stop(false, 'shutdown'));
    expect(r.value()).toBe('closing');
    expect(r.startPool.last().signal.aborted).toBe(true);
    expect(r.context()).toMatchObject({ stopReason: 'shutdown', closeWhenDrained: false });
    expect(r.effects.notifyDraining).toBe(0);
    expect(r.closePool.last().input).toEqual({
      id: 'r1',
      attempt: 0,
      failure: null,
      stopReason: 'shutdown',
    });
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
    expect(r.snapshot().output).toEqual({
      id: 'r1',
      failure: null,
      forced: false,
      restartCount: 0,
    });
  });

  it('R07 stop while ready drains at once and closes when closeWhenDrained', async () => {
    const r = startRunner();
    await toReady(r);
    r.send(stop(true, 'stop'));
    // draining.drained is transient here: `always` moves on to closing.
    expect(r.value()).toBe('closing');
    expect(r.effects.notifyDraining).toBe(1);
    expect(r.effects.abortInFlight).toBe(0);
    expect(r.context()).toMatchObject({
      stopReason: 'stop',
      closeWhenDrained: true,
      forced: false,
    });
    expect(r.closePool.last().input.stopReason).toBe('stop');
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
    expect(r.state()).toBe('stopped');
    expect(r.snapshot().output).toEqual({
      id: 'r1',
      failure: null,
      forced: false,
      restartCount: 0,
    });
  });

  it('R08 stop while restarting (releasing or waiting) goes straight to closing', async () => {
    for (const phase of ['releasing', 'waiting'] as const) {
      const r = startRunner();
      await toReady(r);
      r.send({ type: RunnerEventTypes.broken, error: crashError('pool broken'), at: 0 });
      expect(r.value()).toEqual({ restarting: 'releasing' });
      if (phase === 'waiting') {
        await resolveLast(r.releasePool);
        expect(r.value()).toEqual({ restarting: 'waiting' });
      }
      r.send(stop(true, 'stop'));
      expect(r.value()).toBe('closing');
      expect(r.effects.notifyDraining).toBe(0);
      // The pending backoff timer is gone: the runner does not start again.
      r.advance(restartDefaults.backoff.capMs);
      expect(r.startPool.calls).toHaveLength(1);
      await resolveLast(r.closePool);
      expect(r.value()).toBe('stopped');
      expect(r.snapshot().output).toEqual({
        id: 'r1',
        failure: null,
        forced: false,
        restartCount: 1,
      });
    }
  });

  it('R09 closeWhenDrained=false waits in draining.drained until close', async () => {
    const r = startRunner();
    await toReady(r);
    r.send(stop(false, 'shutdown'));
    expect(r.value()).toEqual({ draining: 'drained' });
    expect(r.state()).toBe('draining');
    expect(r.effects.notifyDraining).toBe(1);
    r.advance(60_000);
    expect(r.value()).toEqual({ draining: 'drained' });
    expect(r.closePool.calls).toHaveLength(0);
    r.send({ type: RunnerEventTypes.close });
    expect(r.value()).toBe('closing');
    expect(r.closePool.last().input.stopReason).toBe('shutdown');
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
    expect(r.context().forced).toBe(false);
  });

  it('R10 stop while busy flushes until idle, then closes', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.busy });
    r.send(stop(true, 'stop'));
    expect(r.value()).toEqual({ draining: 'flushing' });
    expect(r.effects.notifyDraining).toBe(1);
    r.advance(inputDefaults.drainTimeoutMs - 1);
    expect(r.value()).toEqual({ draining: 'flushing' });
    r.send({ type: RunnerEventTypes.idle });
    expect(r.value()).toBe('closing');
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
    expect(r.snapshot().output).toEqual({
      id: 'r1',
      failure: null,
      forced: false,
      restartCount: 0,
    });
  });
});

describe('runnerMachine: drain deadline, abort, terminate', () => {
  it('R11 the drain deadline moves flushing to aborting and marks forced', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.busy });
    r.send(stop(true));
    r.advance(inputDefaults.drainTimeoutMs - 1);
    expect(r.value()).toEqual({ draining: 'flushing' });
    expect(r.context().forced).toBe(false);
    r.advance(1);
    expect(r.value()).toEqual({ draining: 'aborting' });
    expect(r.context().forced).toBe(true);
    expect(r.effects.abortInFlight).toBe(1);
  });

  it('R12 a drainTimeoutMs in the stop event overrides the input deadline', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.busy });
    r.send(stop(true, 'stop', 10));
    expect(r.context().drainTimeoutMs).toBe(10);
    r.advance(9);
    expect(r.value()).toEqual({ draining: 'flushing' });
    r.advance(1);
    expect(r.value()).toEqual({ draining: 'aborting' });
  });

  it('R13 abort moves flushing to aborting; idle then drains and closes as forced', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.busy });
    r.send(stop(true));
    r.send({ type: RunnerEventTypes.abort });
    expect(r.value()).toEqual({ draining: 'aborting' });
    expect(r.context().forced).toBe(true);
    expect(r.effects.abortInFlight).toBe(1);
    r.send({ type: RunnerEventTypes.idle });
    expect(r.value()).toBe('closing');
    expect(r.terminateThreads.calls).toHaveLength(0);
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
    expect(r.snapshot().output).toEqual({ id: 'r1', failure: null, forced: true, restartCount: 0 });
  });

  it('R14 the closing deadline forces stopped, or failed when there is a failure', async () => {
    const clean = startRunner();
    await toReady(clean);
    clean.send(stop(true));
    clean.advance(inputDefaults.closeTimeoutMs - 1);
    expect(clean.value()).toBe('closing');
    clean.advance(1);
    expect(clean.value()).toBe('stopped');
    expect(clean.closePool.last().signal.aborted).toBe(true);
    expect(clean.snapshot().output).toEqual({
      id: 'r1',
      failure: null,
      forced: true,
      restartCount: 0,
    });

    const broken = startRunner();
    await rejectLast(broken.startPool, new Error('no module'));
    expect(broken.value()).toBe('closing');
    broken.advance(inputDefaults.closeTimeoutMs);
    expect(broken.value()).toBe('failed');
    expect(broken.snapshot().output).toMatchObject({
      failure: { code: ErrorCodes.RUNNER_STARTUP },
      forced: true,
    });
  });

  it('R15 abort grace expires: terminate threads, then drained and closing', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.busy });
    r.send(stop(true));
    r.advance(inputDefaults.drainTimeoutMs);
    expect(r.value()).toEqual({ draining: 'aborting' });
    r.advance(inputDefaults.abortGraceMs - 1);
    expect(r.value()).toEqual({ draining: 'aborting' });
    r.advance(1);
    expect(r.value()).toEqual({ draining: 'terminating' });
    expect(r.terminateThreads.last().input).toEqual({ id: 'r1', attempt: 0 });
    await resolveLast(r.terminateThreads);
    expect(r.value()).toBe('closing');
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
    expect(r.snapshot().output).toEqual({ id: 'r1', failure: null, forced: true, restartCount: 0 });
  });

  it('R16 a failed terminate still ends the drain', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.busy });
    r.send(stop(false, 'shutdown'));
    r.advance(inputDefaults.drainTimeoutMs);
    r.advance(inputDefaults.abortGraceMs);
    expect(r.value()).toEqual({ draining: 'terminating' });
    await rejectLast(r.terminateThreads, new Error('terminate failed'));
    // closeWhenDrained is false: wait for the coordinator's close.
    expect(r.value()).toEqual({ draining: 'drained' });
    expect(r.context().forced).toBe(true);
  });

  it('R17 a rejected closePool still ends in stopped, or failed when there is a failure', async () => {
    const clean = startRunner();
    await toReady(clean);
    clean.send(stop(true));
    await rejectLast(clean.closePool, new Error('teardown threw'));
    expect(clean.value()).toBe('stopped');
    expect(clean.snapshot().output).toEqual({
      id: 'r1',
      failure: null,
      forced: false,
      restartCount: 0,
    });

    const broken = startRunner();
    await rejectLast(broken.startPool, new Error('no module'));
    await rejectLast(broken.closePool, new Error('teardown threw'));
    expect(broken.value()).toBe('failed');
    expect(broken.snapshot().output).toMatchObject({
      failure: {
        code: ErrorCodes.RUNNER_STARTUP,
        message: 'runner "r1" failed to start: no module',
      },
      forced: false,
    });
  });

  it('R18 close while still flushing skips the rest of the drain and is forced: tasks were in flight', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.busy });
    r.send(stop(false, 'shutdown'));
    expect(r.value()).toEqual({ draining: 'flushing' });
    expect(r.context().forced).toBe(false);
    r.send({ type: RunnerEventTypes.close });
    expect(r.value()).toBe('closing');
    // Closed with tasks still in flight: they are terminated with the pool.
    expect(r.context().forced).toBe(true);
    expect(r.closePool.last().input).toEqual({
      id: 'r1',
      attempt: 0,
      failure: null,
      stopReason: 'shutdown',
    });
    // The drain deadline no longer applies: no cooperative abort, no terminate.
    r.advance(inputDefaults.drainTimeoutMs + inputDefaults.abortGraceMs);
    expect(r.value()).toBe('closing');
    expect(r.effects.abortInFlight).toBe(0);
    expect(r.terminateThreads.calls).toHaveLength(0);
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
    expect(r.snapshot().output).toEqual({ id: 'r1', failure: null, forced: true, restartCount: 0 });
  });

  it('R41 close while aborting goes to closing at once and stays forced', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.busy });
    r.send(stop(false, 'shutdown'));
    r.send({ type: RunnerEventTypes.abort });
    expect(r.value()).toEqual({ draining: 'aborting' });
    expect(r.context().forced).toBe(true);
    expect(r.effects.abortInFlight).toBe(1);
    r.send({ type: RunnerEventTypes.close });
    expect(r.value()).toBe('closing');
    expect(r.context().forced).toBe(true);
    expect(r.closePool.calls).toHaveLength(1);
    // The abort grace no longer applies: the threads are not terminated separately.
    r.advance(inputDefaults.abortGraceMs);
    expect(r.value()).toBe('closing');
    expect(r.terminateThreads.calls).toHaveLength(0);
    expect(r.effects.abortInFlight).toBe(1);
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
    expect(r.snapshot().output).toEqual({ id: 'r1', failure: null, forced: true, restartCount: 0 });
  });

  it('R42 close while terminating cancels the terminate and goes to closing, still forced', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.busy });
    r.send(stop(false, 'shutdown'));
    r.advance(inputDefaults.drainTimeoutMs);
    r.advance(inputDefaults.abortGraceMs);
    expect(r.value()).toEqual({ draining: 'terminating' });
    expect(r.terminateThreads.calls).toHaveLength(1);
    r.send({ type: RunnerEventTypes.close });
    expect(r.value()).toBe('closing');
    expect(r.terminateThreads.last().signal.aborted).toBe(true);
    expect(r.context().forced).toBe(true);
    expect(r.closePool.last().input.stopReason).toBe('shutdown');
    // A late end of the terminate changes nothing.
    await resolveLast(r.terminateThreads);
    expect(r.value()).toBe('closing');
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
    expect(r.snapshot().output).toEqual({ id: 'r1', failure: null, forced: true, restartCount: 0 });
  });

  it('R43 close from draining.drained (closeWhenDrained false) keeps forced as the drain left it', async () => {
    // A clean drain: not forced (see also R09).
    const clean = startRunner();
    await toReady(clean);
    clean.send({ type: RunnerEventTypes.busy });
    clean.send(stop(false, 'shutdown'));
    clean.send({ type: RunnerEventTypes.idle });
    expect(clean.value()).toEqual({ draining: 'drained' });
    expect(clean.closePool.calls).toHaveLength(0);
    clean.send({ type: RunnerEventTypes.close });
    expect(clean.value()).toBe('closing');
    expect(clean.context().forced).toBe(false);
    await resolveLast(clean.closePool);
    expect(clean.snapshot().output).toEqual({
      id: 'r1',
      failure: null,
      forced: false,
      restartCount: 0,
    });

    // An aborted drain: forced, and the close keeps it so.
    const aborted = startRunner();
    await toReady(aborted);
    aborted.send({ type: RunnerEventTypes.busy });
    aborted.send(stop(false, 'shutdown'));
    aborted.send({ type: RunnerEventTypes.abort });
    aborted.send({ type: RunnerEventTypes.idle });
    expect(aborted.value()).toEqual({ draining: 'drained' });
    expect(aborted.context().forced).toBe(true);
    aborted.send({ type: RunnerEventTypes.close });
    expect(aborted.value()).toBe('closing');
    await resolveLast(aborted.closePool);
    expect(aborted.value()).toBe('stopped');
    expect(aborted.snapshot().output).toEqual({
      id: 'r1',
      failure: null,
      forced: true,
      restartCount: 0,
    });
  });
});

describe('runnerMachine: restart intensity and backoff', () => {
  it('R19 maxRestarts crashes in windowMs keep it running; one more fails with ERR_RESTART_LIMIT', async () => {
    const r = startRunner();
    await toReady(r);
    r.send(crashed(1_000));
    r.send({ type: RunnerEventTypes.busy });
    r.send(crashed(2_000));
    expect(r.value()).toEqual({ running: 'busy' });
    r.send(crashed(3_000));
    expect(r.value()).toEqual({ running: 'busy' });
    expect(r.context()).toMatchObject({
      restarts: [1_000, 2_000, 3_000],
      restartCount: 3,
      lastRestartAt: 3_000,
      failure: null,
    });

    const fourth = crashError('fourth crash');
    r.send(crashed(4_000, { error: fourth }));
    expect(r.value()).toBe('closing');
    const failure = r.context().failure;
    expect(failure).toEqual({
      _tag: 'TroupeError',
      name: 'RestartLimitError',
      code: ErrorCodes.RESTART_LIMIT,
      message: 'runner "r1" exceeded 3 restarts within 10000 ms',
      context: { runnerId: 'r1', maxRestarts: 3, windowMs: 10_000, restarts: 3 },
      cause: fourth,
    });
    // The refused restart is not counted: only the three performed ones are.
    expect(r.context()).toMatchObject({
      restarts: [1_000, 2_000, 3_000],
      restartCount: 3,
      lastRestartAt: 3_000,
    });
    expect(r.closePool.last().input.failure).toEqual(failure);
    await resolveLast(r.closePool);
    expect(r.value()).toBe('failed');
    expect(r.state()).toBe('failed');
    expect(r.snapshot().output).toEqual({ id: 'r1', failure, forced: false, restartCount: 3 });
  });

  it('R20 a restart exactly windowMs old no longer counts', async () => {
    const r = startRunner();
    await toReady(r);
    r.send(crashed(0));
    r.send(crashed(1_000));
    r.send(crashed(2_000));
    r.send(crashed(10_000));
    expect(r.value()).toEqual({ running: 'ready' });
    expect(r.context().restarts).toEqual([1_000, 2_000, 10_000]);
    expect(r.context().restartCount).toBe(4);
  });

  it('R21 a restart 1 ms younger than windowMs still counts', async () => {
    const r = startRunner();
    await toReady(r);
    r.send(crashed(0));
    r.send(crashed(1_000));
    r.send(crashed(2_000));
    r.send(crashed(9_999));
    expect(r.value()).toBe('closing');
    expect(r.context().failure?.code).toBe(ErrorCodes.RESTART_LIMIT);
  });

  it('R22 attempt grows while restarts come close together and resets after resetAfterMs', async () => {
    const r = startRunner({ restart: { maxRestarts: 10, windowMs: 100_000, resetAfterMs: 5_000 } });
    await toReady(r);
    r.send(crashed(0));
    expect(r.context().attempt).toBe(1);
    r.send(crashed(1_000));
    expect(r.context().attempt).toBe(2);
    r.send(crashed(2_000));
    expect(r.context().attempt).toBe(3);
    // Exactly resetAfterMs after the previous restart is not yet a healthy period.
    r.send(crashed(7_000));
    expect(r.context().attempt).toBe(4);
    r.send(crashed(12_001));
    expect(r.context()).toMatchObject({ attempt: 1, lastRestartAt: 12_001, restartCount: 5 });
    expect(r.value()).toEqual({ running: 'ready' });
  });
});

describe('runnerMachine: restart policies', () => {
  it('R23 transient: a normal exit while ready stops the runner', async () => {
    const r = startRunner({ restart: { policy: 'transient' } });
    await toReady(r);
    r.send(crashed(100, { normal: true }));
    expect(r.value()).toBe('closing');
    expect(r.context()).toMatchObject({
      stopReason: 'exit',
      closeWhenDrained: true,
      restartCount: 0,
    });
    expect(r.effects.notifyDraining).toBe(1);
    expect(r.closePool.last().input).toEqual({
      id: 'r1',
      attempt: 0,
      failure: null,
      stopReason: 'exit',
    });
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
    expect(r.snapshot().output).toEqual({
      id: 'r1',
      failure: null,
      forced: false,
      restartCount: 0,
    });
  });

  it('R24 transient: a normal exit while busy drains the tasks in flight first', async () => {
    const r = startRunner({ restart: { policy: 'transient' } });
    await toReady(r);
    r.send({ type: RunnerEventTypes.busy });
    r.send(crashed(100, { normal: true }));
    expect(r.value()).toEqual({ draining: 'flushing' });
    expect(r.context().stopReason).toBe('exit');
    r.send({ type: RunnerEventTypes.idle });
    expect(r.value()).toBe('closing');
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
  });

  it('R25 temporary: a normal exit stops the runner without a failure', async () => {
    const r = startRunner({ restart: { policy: 'temporary' } });
    await toReady(r);
    r.send(crashed(100, { normal: true }));
    expect(r.value()).toBe('closing');
    await resolveLast(r.closePool);
    expect(r.value()).toBe('stopped');
    expect(r.snapshot().output).toEqual({
      id: 'r1',
      failure: null,
      forced: false,
      restartCount: 0,
    });
  });

  it('R26 transient: an abnormal crash is counted and the runner keeps serving', async () => {
    const r = startRunner({ restart: { policy: 'transient' } });
    await toReady(r);
    r.send(crashed(100, { normal: false }));
    expect(r.value()).toEqual({ running: 'ready' });
    expect(r.context()).toMatchObject({
      restarts: [100],
      restartCount: 1,
      attempt: 1,
      stopReason: null,
    });
  });

  it('R27 permanent: even a normal exit is counted as a restart', async () => {
    const r = startRunner({ restart: { policy: 'permanent' } });
    await toReady(r);
    r.send(crashed(100, { normal: true }));
    expect(r.value()).toEqual({ running: 'ready' });
    expect(r.context()).toMatchObject({ restarts: [100], restartCount: 1, stopReason: null });
  });

  it('R28 temporary: an abnormal crash fails the runner with the crash itself, not ERR_RESTART_LIMIT', async () => {
    const r = startRunner({ restart: { policy: 'temporary' } });
    await toReady(r);
    const error = crashError('segfault');
    r.send(crashed(100, { error }));
    expect(r.value()).toBe('closing');
    expect(r.context().failure).toEqual(error);
    await resolveLast(r.closePool);
    expect(r.value()).toBe('failed');
    expect(r.snapshot().output).toEqual({
      id: 'r1',
      failure: error,
      forced: false,
      restartCount: 0,
    });
    expect(r.snapshot().output?.failure?.code).toBe(ErrorCodes.WORKER_CRASHED);
  });

  it('R29 temporary: broken and restart requests fail the runner instead of restarting', async () => {
    for (const type of [RunnerEventTypes.broken, RunnerEventTypes.restart] as const) {
      const r = startRunner({ restart: { policy: 'temporary' } });
      await toReady(r);
      const error = crashError(`${type} on a temporary runner`);
      r.send({ type, error, at: 50 });
      expect(r.value()).toBe('closing');
      expect(r.context().failure).toEqual(error);
      expect(r.context().restartCount).toBe(0);
      expect(r.releasePool.calls).toHaveLength(0);
      await resolveLast(r.closePool);
      expect(r.value()).toBe('failed');
    }
  });
});

describe('runnerMachine: full restarts', () => {
  it('R30 broken: release, back off, start again with the new attempt, ready again', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.broken, error: crashError('replacement failed'), at: 0 });
    expect(r.value()).toEqual({ restarting: 'releasing' });
    expect(r.state()).toBe('restarting');
    expect(r.context()).toMatchObject({
      attempt: 1,
      restarts: [0],
      restartCount: 1,
      lastRestartAt: 0,
    });
    expect(r.releasePool.last().input).toEqual({ id: 'r1', attempt: 1 });
    await throughBackoff(r);
    expect(r.startPool.calls).toHaveLength(2);
    expect(r.startPool.last().input).toEqual({ id: 'r1', attempt: 1 });
    await toReady(r);
    expect(r.context().failure).toBeNull();
  });

  it('R31 restart request: a failed release still backs off; provided restartDelay is honoured', async () => {
    const r = startRunner({ restartDelay: 50 });
    await toReady(r);
    r.send({ type: RunnerEventTypes.restart, error: crashError('unhealthy'), at: 0 });
    expect(r.value()).toEqual({ restarting: 'releasing' });
    await rejectLast(r.releasePool, new Error('release failed'));
    expect(r.value()).toEqual({ restarting: 'waiting' });
    r.advance(49);
    expect(r.value()).toEqual({ restarting: 'waiting' });
    r.advance(1);
    expect(r.value()).toBe('starting');
    await toReady(r);
  });

  it('R32 the restart delay is seeded full jitter over backoffCeiling(attempt - 1)', async () => {
    const r = startRunner();
    await toReady(r);
    r.send(crashed(0)); // attempt 1
    r.send({ type: RunnerEventTypes.broken, error: crashError('b'), at: 10 }); // attempt 2
    expect(r.context().attempt).toBe(2);
    const delay = restartDelay(r.context());
    // ceiling = min(1000, 100 * 2^(2-1)) = 200
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThanOrEqual(200);
    await resolveLast(r.releasePool);
    if (delay > 0) {
      r.advance(delay - 1);
      expect(r.value()).toEqual({ restarting: 'waiting' });
      r.advance(1);
    } else {
      r.advance(0);
    }
    expect(r.value()).toBe('starting');
    expect(r.startPool.last().input.attempt).toBe(2);

    // Over many seeds the delay covers [0, ceiling] and never leaves it.
    const restart = r.context().restart;
    const draws = Array.from({ length: 5_000 }, (_, seed) =>
      restartDelay({ attempt: 2, seed, restart }),
    );
    expect(Math.max(...draws)).toBe(200);
    expect(Math.min(...draws)).toBe(0);
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(Math.abs(mean - 100)).toBeLessThan(5);
    // Same seed, same attempt: same delay (reproducible runs).
    expect(restartDelay({ attempt: 3, seed: 42, restart })).toBe(
      restartDelay({ attempt: 3, seed: 42, restart }),
    );
  });

  it('R33 a failed restart after the runner was ready counts and restarts again', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.broken, error: crashError('b'), at: 0 });
    await throughBackoff(r);
    expect(r.now()).toBe(1_000);
    await rejectLast(r.startPool, new Error('port in use'));
    expect(r.value()).toEqual({ restarting: 'releasing' });
    expect(r.context()).toMatchObject({
      attempt: 2,
      restarts: [0, 1_000],
      restartCount: 2,
      lastRestartAt: 1_000,
      failure: null,
    });
    expect(r.releasePool.last().input).toEqual({ id: 'r1', attempt: 2 });
  });

  it('R34 a failed restart beyond the limit fails with ERR_RESTART_LIMIT caused by the start error', async () => {
    const r = startRunner({ restart: { maxRestarts: 1 } });
    await toReady(r);
    r.send({ type: RunnerEventTypes.broken, error: crashError('b'), at: 0 });
    await throughBackoff(r);
    await rejectLast(r.startPool, new Error('port in use'));
    expect(r.value()).toBe('closing');
    const failure = r.context().failure;
    expect(failure).toMatchObject({
      code: ErrorCodes.RESTART_LIMIT,
      message: 'runner "r1" exceeded 1 restarts within 10000 ms',
      // Only the broken restart was performed; the refused one is not counted.
      context: { runnerId: 'r1', maxRestarts: 1, windowMs: 10_000, restarts: 1 },
      // The runner was ready once: the cause is the start error itself.
      cause: { _tag: 'Error', name: 'Error', message: 'port in use' },
    });
    expect(r.context()).toMatchObject({ restarts: [0], restartCount: 1, attempt: 1 });
    await resolveLast(r.closePool);
    expect(r.value()).toBe('failed');
    expect(r.snapshot().output).toEqual({ id: 'r1', failure, forced: false, restartCount: 1 });
  });

  it('R35 a restart that misses startupTimeoutMs counts and restarts again', async () => {
    const r = startRunner();
    await toReady(r);
    r.send({ type: RunnerEventTypes.broken, error: crashError('b'), at: 0 });
    await throughBackoff(r);
    r.advance(inputDefaults.startupTimeoutMs - 1);
    expect(r.value()).toBe('starting');
    r.advance(1);
    expect(r.value()).toEqual({ restarting: 'releasing' });
    expect(r.startPool.last().signal.aborted).toBe(true);
    expect(r.context()).toMatchObject({
      attempt: 2,
      restarts: [0, 2_000],
      restartCount: 2,
      lastRestartAt: 2_000,
      failure: null,
    });
    // The timeout is kept for diagnosis, not as a failure.
    expect(r.context().lastStartupError).toEqual(startupTimeout);
    // The next attempt starts after the backoff; a success keeps the diagnosis.
    await throughBackoff(r);
    expect(r.startPool.last().input).toEqual({ id: 'r1', attempt: 2 });
    await toReady(r);
    expect(r.context().lastStartupError).toEqual(startupTimeout);
    expect(r.context().failure).toBeNull();
  });

  it('R36 a restart that misses startupTimeoutMs beyond the limit fails with ERR_RESTART_LIMIT caused by the startup timeout', async () => {
    const r = startRunner({ restart: { maxRestarts: 1 } });
    await toReady(r);
    r.send({ type: RunnerEventTypes.broken, error: crashError('b'), at: 0 });
    await throughBackoff(r);
    r.advance(inputDefaults.startupTimeoutMs - 1);
    expect(r.value()).toBe('starting');
    r.advance(1);
    expect(r.value()).toBe('closing');
    expect(r.startPool.last().signal.aborted).toBe(true);
    const failure = r.context().failure;
    expect(failure).toEqual({
      _tag: 'TroupeError',
      name: 'RestartLimitError',
      code: ErrorCodes.RESTART_LIMIT,
      message: 'runner "r1" exceeded 1 restarts within 10000 ms',
      context: { runnerId: 'r1', maxRestarts: 1, windowMs: 10_000, restarts: 1 },
      cause: startupTimeout,
    });
    expect(failure?.cause?.code).toBe(ErrorCodes.RUNNER_STARTUP);
    // The refused restart is not counted.
    expect(r.context()).toMatchObject({ restarts: [0], restartCount: 1 });
    expect(r.closePool.last().input.failure).toEqual(failure);
    await resolveLast(r.closePool);
    expect(r.value()).toBe('failed');
    expect(r.snapshot().output).toEqual({ id: 'r1', failure, forced: false, restartCount: 1 });
  });

  it('R37 broken beyond the limit fails with ERR_RESTART_LIMIT caused by the broken error', async () => {
    const r = startRunner({ restart: { maxRestarts: 1 } });
    await toReady(r);
    r.send(crashed(0));
    const error = crashError('replacement failed');
    r.send({ type: RunnerEventTypes.broken, error, at: 100 });
    expect(r.value()).toBe('closing');
    expect(r.releasePool.calls).toHaveLength(0);
    const failure = r.context().failure;
    expect(failure).toMatchObject({
      code: ErrorCodes.RESTART_LIMIT,
      context: { runnerId: 'r1', maxRestarts: 1, windowMs: 10_000, restarts: 1 },
      cause: error,
    });
    // Only the crash at 0 was a restart; the refused broken is not counted.
    expect(r.context()).toMatchObject({ restarts: [0], restartCount: 1 });
    await resolveLast(r.closePool);
    expect(r.value()).toBe('failed');
    expect(r.snapshot().output).toEqual({ id: 'r1', failure, forced: false, restartCount: 1 });
  });

  it('R38 restart request beyond the limit fails with ERR_RESTART_LIMIT', async () => {
    const r = startRunner({ restart: { maxRestarts: 0 } });
    await toReady(r);
    const error = crashError('health score 0.1');
    r.send({ type: RunnerEventTypes.restart, error, at: 5 });
    expect(r.value()).toBe('closing');
    expect(r.context().failure).toMatchObject({
      code: ErrorCodes.RESTART_LIMIT,
      message: 'runner "r1" exceeded 0 restarts within 10000 ms',
      cause: error,
    });
    await resolveLast(r.closePool);
    expect(r.value()).toBe('failed');
  });
});

describe('runnerStateOf', () => {
  it('R39 maps every state value of the machine to the flat runner state', () => {
    const cases: [unknown, string][] = [
      ['starting', 'starting'],
      [{ running: 'ready' }, 'ready'],
      [{ running: 'busy' }, 'busy'],
      [{ restarting: 'releasing' }, 'restarting'],
      [{ restarting: 'waiting' }, 'restarting'],
      [{ draining: 'flushing' }, 'draining'],
      [{ draining: 'aborting' }, 'draining'],
      [{ draining: 'terminating' }, 'draining'],
      [{ draining: 'drained' }, 'draining'],
      ['closing', 'closing'],
      ['stopped', 'stopped'],
      ['failed', 'failed'],
    ];
    for (const [value, expected] of cases) expect(runnerStateOf(value)).toBe(expected);
  });

  it('R40 throws a TypeError on values that are not state values', () => {
    expect(() => runnerStateOf(null)).toThrow(TypeError);
    expect(() => runnerStateOf(undefined)).toThrow(/not a runner state value: undefined/);
    expect(() => runnerStateOf(42)).toThrow(TypeError);
  });
});

describe('runnerMachine: coverage', () => {
  it('R99 the tests above entered every state and took every transition', () => {
    expect(coverage.allStates).toHaveLength(15);
    expect(coverage.allTransitions).toHaveLength(45);
    expect(coverage.missingStates()).toEqual([]);
    expect(coverage.missingTransitions()).toEqual([]);
  });
});
