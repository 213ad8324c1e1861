import { and, assign, fromCallback, fromPromise, not, setup } from 'xstate';
import { fullJitterDelay, type BackoffOptions } from '../backoff.js';
import { ErrorCodes } from '../errors/codes.js';
import { toErrorData, troupeErrorData, type ErrorData } from '../errors/errorData.js';
import { randomSeed, seededDraw } from '../prng.js';
import { addRestart, withinIntensity } from '../restartIntensity.js';
import {
  internalEventsOf,
  type ActorDoneEvent,
  type ActorErrorEvent,
  type AfterEvent,
} from './internalEvents.js';

/**
 * OTP restart policies: `permanent` always restarts, `transient` restarts
 * only after an abnormal exit, `temporary` never restarts.
 */
export type RestartPolicy = 'permanent' | 'transient' | 'temporary';

/** How a runner is supervised. */
export interface RunnerRestartConfig {
  readonly policy: RestartPolicy;
  /** At most this many restarts ... */
  readonly maxRestarts: number;
  /** ... within this sliding window, else the runner goes to `failed`. */
  readonly windowMs: number;
  /** Delay before a full restart of the runner's pool: full-jitter exponential backoff. */
  readonly backoff: BackoffOptions;
  /** The backoff exponent starts over when the previous restart is older than this. */
  readonly resetAfterMs: number;
}

/** Input of {@link runnerMachine}. */
export interface RunnerMachineInput {
  readonly id: string;
  /** Threads the runner keeps. */
  readonly threads: number;
  readonly restart: RunnerRestartConfig;
  /** Every thread must be up by then, counted from when the pool starts loading. */
  readonly startupTimeoutMs: number;
  /** The runner's own drain deadline (the shutdown coordinator's comes first during a shutdown). */
  readonly drainTimeoutMs: number;
  /** Between the cooperative abort of running tasks and the termination of their threads. */
  readonly abortGraceMs: number;
  /** Deadline of the threads' `teardown` before they are terminated anyway. */
  readonly closeTimeoutMs: number;
  /** Seed of the restart jitter; fixed in tests to make delays reproducible. */
  readonly seed?: number;
}

/** Why a runner is stopping. */
export type RunnerStopReason = 'stop' | 'shutdown' | 'exit';

/** Context of {@link runnerMachine}. */
export interface RunnerContext extends RunnerMachineInput {
  readonly seed: number;
  /** Times of the restarts inside the current window. */
  readonly restarts: readonly number[];
  /** Restarts since the last healthy period: the backoff exponent. */
  readonly attempt: number;
  readonly lastRestartAt: number | null;
  /** Total restarts over the runner's life (threads replaced plus full restarts). */
  readonly restartCount: number;
  readonly everReady: boolean;
  /** Threads of the current pool that said hello and have not exited. */
  readonly threadsUp: number;
  /** Accepted tasks not yet settled (running or queued): the load edge the runtime reports. */
  readonly busy: boolean;
  readonly failure: ErrorData | null;
  /** The last failed start of a replacement thread or a restarted pool (kept for diagnosis). */
  readonly lastStartupError: ErrorData | null;
  readonly stopReason: RunnerStopReason | null;
  /** Close as soon as drained (`runner.stop()`), or wait for the coordinator's `close`. */
  readonly closeWhenDrained: boolean;
  /** A deadline was missed: tasks aborted at the drain deadline, or a teardown abandoned. */
  readonly forced: boolean;
}

/** Namespaced event names of {@link runnerMachine}. */
export const RunnerEventTypes = {
  busy: 'troupe.runner.busy',
  idle: 'troupe.runner.idle',
  slotGranted: 'troupe.runner.slotGranted',
  threadUp: 'troupe.runner.threadUp',
  threadFailed: 'troupe.runner.threadFailed',
  threadExit: 'troupe.runner.threadExit',
  threadHung: 'troupe.runner.threadHung',
  restart: 'troupe.runner.restart',
  stop: 'troupe.runner.stop',
  abort: 'troupe.runner.abort',
  close: 'troupe.runner.close',
  force: 'troupe.runner.force',
} as const;

/** What the pool adapter knows about a thread that exited. */
export interface ThreadExitFacts {
  readonly threadId: number;
  readonly exitCode: number;
  /** The thread's own account (its last error, or its exit). */
  readonly error: ErrorData;
  /** It had loaded the module and said hello. */
  readonly loaded: boolean;
  /** The runtime terminated it (an abort past its grace period, a hung thread). */
  readonly terminated: boolean;
  /** The pool started a thread in its place. */
  readonly replaced: boolean;
}

/** Events {@link runnerMachine} accepts. */
export type RunnerEvent =
  /** Accepted tasks went from none to some. */
  | { readonly type: 'troupe.runner.busy' }
  /** Every accepted task settled. */
  | { readonly type: 'troupe.runner.idle' }
  /** The troupe lets this runner start its pool (startups are bounded troupe-wide). */
  | { readonly type: 'troupe.runner.slotGranted' }
  /** A thread loaded the module (and ran `setup`): it takes tasks. */
  | { readonly type: 'troupe.runner.threadUp'; readonly threadId: number }
  /** A thread could not load the module or its `setup` failed. */
  | {
      readonly type: 'troupe.runner.threadFailed';
      readonly threadId: number;
      readonly error: ErrorData;
    }
  /** A thread exited, with the facts the pool knows. */
  | ({ readonly type: 'troupe.runner.threadExit'; readonly at?: number } & ThreadExitFacts)
  /**
   * The health monitor found a thread that answered no probe for
   * `hungAfterMs` while it ran a task (`error` is its
   * `ERR_WORKER_UNRESPONSIVE`): replace it, counted like a crash.
   */
  | {
      readonly type: 'troupe.runner.threadHung';
      readonly threadId: number;
      readonly error: ErrorData;
      readonly at?: number;
    }
  /** Someone (the supervisor's health recovery, `runner.restart()`) asks for a full restart. */
  | { readonly type: 'troupe.runner.restart'; readonly error: ErrorData; readonly at?: number }
  /** Close admission and drain. */
  | {
      readonly type: 'troupe.runner.stop';
      readonly reason: RunnerStopReason;
      /** `true` for `runner.stop()`; `false` when the shutdown coordinator sends `close` later. */
      readonly closeWhenDrained: boolean;
      readonly drainTimeoutMs?: number;
    }
  /** The coordinator's drain deadline passed: cooperative abort, then terminate threads. */
  | { readonly type: 'troupe.runner.abort' }
  /** The coordinator proceeds to closing (teardown, close channels, terminate threads). */
  | { readonly type: 'troupe.runner.close' }
  /** The coordinator's closing deadline passed: terminate now, skip what is left of teardown. */
  | { readonly type: 'troupe.runner.force' };

/**
 * Events XState sends {@link runnerMachine} on behalf of its actors and
 * delays: what a model of the machine needs besides {@link RunnerEvent} to
 * take every `onDone`, `onError` and `after` transition
 * ({@link runnerInternalEvents} lists them).
 */
export type RunnerInternalEvent =
  | ActorErrorEvent<'0.runner.starting.pool.loading'>
  | AfterEvent<'startupTimeout', 'runner.starting.pool.loading'>
  | AfterEvent<'startupTimeout', 'runner.running.threads.replacing'>
  | ActorDoneEvent<'0.runner.restarting.releasing.pool.tearingDown'>
  | ActorErrorEvent<'0.runner.restarting.releasing.pool.tearingDown'>
  | AfterEvent<'closeTimeout', 'runner.restarting.releasing.pool.tearingDown'>
  | ActorDoneEvent<'0.runner.restarting.releasing.pool.destroying'>
  | ActorErrorEvent<'0.runner.restarting.releasing.pool.destroying'>
  | AfterEvent<'restartDelay', 'runner.restarting.waiting'>
  | AfterEvent<'drainTimeout', 'runner.draining.flushing'>
  | AfterEvent<'abortGrace', 'runner.draining.aborting'>
  | ActorDoneEvent<'0.runner.draining.terminating.tearingDown'>
  | ActorErrorEvent<'0.runner.draining.terminating.tearingDown'>
  | AfterEvent<'abortGrace', 'runner.draining.terminating.tearingDown'>
  | ActorDoneEvent<'0.runner.draining.terminating.destroying'>
  | ActorErrorEvent<'0.runner.draining.terminating.destroying'>
  | ActorDoneEvent<'0.runner.closing.tearingDown'>
  | ActorErrorEvent<'0.runner.closing.tearingDown'>
  | AfterEvent<'closeTimeout', 'runner.closing.tearingDown'>
  | ActorDoneEvent<'0.runner.closing.destroying'>
  | ActorErrorEvent<'0.runner.closing.destroying'>;

/** Every event {@link runnerMachine} reacts to: its event type, and what a model sends. */
export type RunnerModelEvent = RunnerEvent | RunnerInternalEvent;

/** Output of {@link runnerMachine} when it reaches `stopped` or `failed`. */
export interface RunnerOutput {
  readonly id: string;
  readonly failure: ErrorData | null;
  readonly forced: boolean;
  readonly restartCount: number;
}

/** What the runtime's pool actors receive. */
export interface RunnerPoolInput {
  readonly id: string;
  readonly attempt: number;
  readonly threads: number;
  /** The runner served before: a failure is `ERR_THREAD_STARTUP`, not `ERR_RUNNER_STARTUP`. */
  readonly everReady: boolean;
}

/** Parameters of the `terminateHungThread` action: what the alert says is done about it. */
export interface TerminateHungThreadParams {
  /** `restart`: the thread is replaced; `stop`: the runner gives up (its policy or budget). */
  readonly decision: 'restart' | 'stop';
}

/** Input of the `teardownThreads` actor. */
export interface RunnerTeardownInput {
  readonly id: string;
  /** Why: a restart releasing its pool, the drain deadline, or closing. */
  readonly purpose: 'restart' | 'terminate' | 'close';
}

type ExitEvent = Extract<RunnerEvent, { type: 'troupe.runner.threadExit' }>;

function eventTime(event: { at?: number }): number {
  return event.at ?? Date.now();
}

function atOf(event: RunnerModelEvent): number {
  return 'at' in event ? eventTime(event) : Date.now();
}

function isInternal(event: RunnerModelEvent): event is RunnerInternalEvent {
  return event.type.startsWith('xstate.');
}

function errorOf(event: RunnerModelEvent): ErrorData | null {
  if (isInternal(event)) return 'error' in event ? toErrorData(event.error) : null;
  return 'error' in event ? event.error : null;
}

function startupTimeoutError(context: RunnerContext): ErrorData {
  const message = context.everReady
    ? `a restarted pool or replacement thread of runner "${context.id}" did not start within startupTimeoutMs (${context.startupTimeoutMs} ms)`
    : `runner "${context.id}" did not become ready within startupTimeoutMs (${context.startupTimeoutMs} ms)`;
  return troupeErrorData(
    context.everReady ? ErrorCodes.THREAD_STARTUP : ErrorCodes.RUNNER_STARTUP,
    message,
    { context: { runnerId: context.id, startupTimeoutMs: context.startupTimeoutMs } },
  );
}

/** The failure of a start: `ERR_RUNNER_STARTUP` the first time, `ERR_THREAD_STARTUP` once it served. */
function startupError(context: RunnerContext, cause: ErrorData | null): ErrorData {
  if (cause?.code === ErrorCodes.RUNNER_STARTUP || cause?.code === ErrorCodes.THREAD_STARTUP) {
    if (context.everReady === (cause.code === ErrorCodes.THREAD_STARTUP)) return cause;
  }
  const why = cause?.message ?? 'unknown error';
  return context.everReady
    ? troupeErrorData(
        ErrorCodes.THREAD_STARTUP,
        `a thread of runner "${context.id}" failed to start: ${why}`,
        { context: { runnerId: context.id }, ...(cause === null ? {} : { cause }) },
      )
    : troupeErrorData(ErrorCodes.RUNNER_STARTUP, `runner "${context.id}" failed to start: ${why}`, {
        context: { runnerId: context.id },
        ...(cause === null ? {} : { cause }),
      });
}

function restartLimitError(context: RunnerContext, cause: ErrorData | null): ErrorData {
  const { maxRestarts, windowMs } = context.restart;
  return troupeErrorData(
    ErrorCodes.RESTART_LIMIT,
    `runner "${context.id}" exceeded ${maxRestarts} restarts within ${windowMs} ms`,
    {
      context: { runnerId: context.id, maxRestarts, windowMs, restarts: context.restartCount },
      ...(cause === null ? {} : { cause }),
    },
  );
}

/** Why the pool must restart whole, from the event that says so. */
function brokenCause(context: RunnerContext, event: RunnerModelEvent): ErrorData {
  if (event.type === 'troupe.runner.threadFailed') return startupError(context, event.error);
  if (event.type === 'troupe.runner.threadExit' && !event.loaded) {
    return startupError(context, event.error);
  }
  return errorOf(event) ?? startupTimeoutError(context);
}

function mayRestart(context: RunnerContext, at: number): boolean {
  return (
    context.restart.policy !== 'temporary' && withinIntensity(context.restarts, at, context.restart)
  );
}

function countedRestart(context: RunnerContext, at: number) {
  const healthy =
    context.lastRestartAt === null || at - context.lastRestartAt > context.restart.resetAfterMs;
  return {
    restarts: addRestart(context.restarts, at, context.restart.windowMs),
    attempt: healthy ? 1 : context.attempt + 1,
    lastRestartAt: at,
    restartCount: context.restartCount + 1,
  };
}

/** Transitions of a pool that cannot serve any more: restart it whole, or give up. */
const broken = [
  {
    guard: 'isTemporary',
    target: '#runner.closing',
    actions: 'failBroken',
  },
  {
    guard: 'mayRestart',
    target: '#runner.restarting',
    actions: ['recordStartupError', 'countRestart'],
  },
  { target: '#runner.closing', actions: 'failRestartLimit' },
] as const;

/** Transitions of a start that failed (module, setup, thread exit, deadline). */
const startFailed = [
  { guard: 'neverReady', target: '#runner.closing', actions: 'failStartup' },
  {
    guard: and(['mayRestart', not('stopping')]),
    target: '#runner.restarting',
    actions: ['recordStartFailure', 'countRestart'],
  },
  { guard: 'stopping', target: '#runner.closing', actions: 'failStartup' },
  { target: '#runner.closing', actions: 'failStartRestartLimit' },
] as const;

/** Admission while a pool is being (re)started or released: open until a stop arrives. */
function admission(stoppingTarget: 'closed') {
  return {
    initial: 'open' as const,
    states: {
      open: {
        tags: ['accepting'],
        on: { 'troupe.runner.stop': { target: stoppingTarget, actions: 'recordStop' as const } },
      },
      closed: {
        on: { 'troupe.runner.stop': { actions: 'recordStop' as const } },
      },
    },
  };
}

/**
 * The lifecycle of one runner (a pool of worker threads running one
 * module). Every decision about it is a transition here; the runtime
 * translates pool, thread and channel I/O into events and performs the
 * named actions and actors.
 *
 * - `starting` waits for a start slot (`slotGranted`), then loads the pool
 *   under `startupTimeoutMs`; `threadUp` from every thread makes it
 *   `running`. A failure or the deadline fails the first start
 *   (`ERR_RUNNER_STARTUP`) or restarts a pool that served before
 *   (`ERR_THREAD_STARTUP`).
 * - `running` is two regions: `load` (`ready` ⇄ `busy`) and `threads`
 *   (`full`, or `replacing` a lost thread under `startupTimeoutMs`). Each
 *   `threadExit` is classified by guards: terminated by the runtime, never
 *   loaded, not replaced by the pool, a normal exit (`transient`,
 *   `temporary`), or a crash counted against the restart budget. A
 *   `threadHung` (the health monitor's verdict on one thread) terminates
 *   that thread, counted like a crash.
 * - `restarting` releases the pool (teardown of idle threads, then
 *   termination), waits a full-jitter backoff, and starts again.
 * - `draining` runs what was accepted (`flushing`), aborts it at the
 *   deadline (`aborting`, then `terminating` after `abortGraceMs`).
 * - `closing` tears the threads down under `closeTimeoutMs`, then
 *   destroys the pool; `stopped` or `failed` follow only once every thread
 *   exited.
 *
 * Tags say what is allowed: `accepting` (run() takes new tasks),
 * `dispatching` (queued tasks go to threads). A stop while a pool is
 * starting or restarting with tasks queued keeps starting, so accepted work
 * drains instead of being dropped.
 *
 * Named effects, provided by `@troupe/runtime` (defaults do nothing, so the
 * machine simulates, visualizes and model-tests on its own): actors
 * `startSlot`, `startPool`, `teardownThreads`, `destroyPool`; actions
 * `notifyDraining`, `abortQueued`, `abortInFlight`, `rejectQueued`,
 * `terminateHungThread`.
 *
 * @example
 * ```ts
 * import { createActor } from 'xstate';
 * import { runnerMachine } from '@troupe/core';
 *
 * const actor = createActor(runnerMachine, { input: { id: 'r1', threads: 1, ...defaults } });
 * actor.subscribe({ error: console.error });
 * actor.start();
 * actor.send({ type: 'troupe.runner.slotGranted' });
 * actor.send({ type: 'troupe.runner.threadUp', threadId: 1 });
 * actor.getSnapshot().hasTag('accepting'); // true: running
 * ```
 */
export const runnerMachine = setup({
  types: {
    context: {} as RunnerContext,
    events: {} as RunnerModelEvent,
    input: {} as RunnerMachineInput,
    output: {} as RunnerOutput,
  },
  actors: {
    /** Asks the troupe for a start slot; sends `slotGranted`; gives the slot back when stopped. */
    startSlot: fromCallback<RunnerEvent, { id: string }>(({ sendBack }) => {
      sendBack({ type: 'troupe.runner.slotGranted' });
    }),
    /** Creates the pool; its threads report `threadUp` / `threadFailed` / `threadExit`. */
    startPool: fromPromise<void, RunnerPoolInput>(async () => {}),
    /** Runs `teardown` in every idle thread (busy ones are left to termination). */
    teardownThreads: fromPromise<void, RunnerTeardownInput>(async () => {}),
    /** Terminates every thread of the pool and resolves once each one exited. */
    destroyPool: fromPromise<void, RunnerPoolInput>(async () => {}),
  },
  actions: {
    /** Posts the shutdown notice to every thread (`ctx.shutdownSignal`). */
    notifyDraining: () => {},
    /** Rejects queued tasks that never started: the drain deadline passed. */
    abortQueued: () => {},
    /** Aborts running tasks cooperatively (`ctx.signal`). */
    abortInFlight: () => {},
    /** Rejects whatever is still queued: the runner closes (with its failure, if any). */
    rejectQueued: () => {},
    /**
     * Fails the task of the hung thread (`event.threadId`) with the event's
     * error, terminates the thread and raises an alert (`decision`).
     */
    terminateHungThread: (_, _params: TerminateHungThreadParams) => {},
    markReady: assign({ everReady: true }),
    markForced: assign({ forced: true }),
    threadUp: assign(({ context }) => ({ threadsUp: context.threadsUp + 1 })),
    threadDown: assign(({ context, event }) =>
      event.type === 'troupe.runner.threadExit' && event.loaded
        ? { threadsUp: Math.max(0, context.threadsUp - 1) }
        : {},
    ),
    resetThreads: assign({ threadsUp: 0 }),
    markBusy: assign({ busy: true }),
    markIdle: assign({ busy: false }),
    recordStop: assign(({ context, event }) =>
      event.type === 'troupe.runner.stop'
        ? {
            stopReason: context.stopReason ?? event.reason,
            // A runner.stop() during a troupe shutdown closes once drained.
            closeWhenDrained: context.closeWhenDrained || event.closeWhenDrained,
            ...(event.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: event.drainTimeoutMs }),
          }
        : {},
    ),
    recordNormalExit: assign({ stopReason: 'exit' as const, closeWhenDrained: true }),
    countRestart: assign(({ context, event }) => countedRestart(context, atOf(event))),
    recordStartupError: assign(({ context, event }) =>
      event.type === 'troupe.runner.threadFailed' ||
      (event.type === 'troupe.runner.threadExit' && !event.loaded) ||
      event.type.startsWith('xstate.after.') ||
      event.type.startsWith('xstate.error.')
        ? { lastStartupError: brokenStartError(context, event) }
        : {},
    ),
    recordStartFailure: assign(({ context, event }) => ({
      lastStartupError: brokenStartError(context, event),
    })),
    failStartRestartLimit: assign(({ context, event }) => ({
      failure: restartLimitError(context, brokenStartError(context, event)),
    })),
    failStartup: assign(({ context, event }) => ({ failure: brokenStartError(context, event) })),
    failBroken: assign(({ context, event }) => ({ failure: brokenCause(context, event) })),
    failCrash: assign(({ event }) => ({ failure: errorOf(event) })),
    failRestartLimit: assign(({ context, event }) => ({
      failure: restartLimitError(context, restartLimitCause(context, event)),
    })),
  },
  guards: {
    neverReady: ({ context }) => !context.everReady,
    mayRestart: ({ context, event }) => mayRestart(context, atOf(event)),
    isTemporary: ({ context }) => context.restart.policy === 'temporary',
    busy: ({ context }) => context.busy,
    stopping: ({ context }) => context.stopReason !== null,
    closeWhenDrained: ({ context }) => context.closeWhenDrained,
    hasFailure: ({ context }) => context.failure !== null,
    lastThreadUp: ({ context }) => context.threadsUp + 1 >= context.threads,
    allThreadsUp: ({ context }) => context.threadsUp >= context.threads,
    /** The runtime terminated the thread (not its own doing). */
    terminated: ({ event }) => (event as ExitEvent).terminated,
    /** The pool gave up replacing threads: only a full restart brings it back. */
    notReplaced: ({ event }) => !(event as ExitEvent).replaced,
    /** The exit leaves the pool unable to serve: never loaded, or not replaced. */
    lostPool: ({ event }) => !(event as ExitEvent).loaded || !(event as ExitEvent).replaced,
    /** Exit code 0 under a policy that does not restart normal exits. */
    normalExit: ({ context, event }) =>
      (event as ExitEvent).exitCode === 0 &&
      (event as ExitEvent).loaded &&
      context.restart.policy !== 'permanent',
  },
  delays: {
    startupTimeout: ({ context }) => context.startupTimeoutMs,
    restartDelay: ({ context }) => restartDelay(context),
    drainTimeout: ({ context }) => context.drainTimeoutMs,
    abortGrace: ({ context }) => context.abortGraceMs,
    closeTimeout: ({ context }) => context.closeTimeoutMs,
  },
}).createMachine({
  id: 'runner',
  context: ({ input }) => ({
    ...input,
    seed: input.seed ?? randomSeed(),
    restarts: [],
    attempt: 0,
    lastRestartAt: null,
    restartCount: 0,
    everReady: false,
    threadsUp: 0,
    busy: false,
    failure: null,
    lastStartupError: null,
    stopReason: null,
    closeWhenDrained: false,
    forced: false,
  }),
  initial: 'starting',
  output: ({ context }) => ({
    id: context.id,
    failure: context.failure,
    forced: context.forced,
    restartCount: context.restartCount,
  }),
  on: {
    'troupe.runner.busy': { actions: 'markBusy' },
    'troupe.runner.idle': { actions: 'markIdle' },
  },
  states: {
    starting: {
      type: 'parallel',
      entry: 'resetThreads',
      invoke: { src: 'startSlot', input: ({ context }) => ({ id: context.id }) },
      on: {
        // Stopping while starting with tasks queued: the coordinator's deadlines still apply.
        'troupe.runner.abort': { actions: ['markForced', 'abortQueued'] },
        'troupe.runner.close': { target: '#runner.closing', actions: 'markForced' },
      },
      states: {
        admission: {
          initial: 'open',
          states: {
            open: {
              tags: ['accepting'],
              on: {
                'troupe.runner.stop': [
                  // Tasks were accepted while starting: start, then drain them.
                  { guard: 'busy', target: 'closed', actions: 'recordStop' },
                  { target: '#runner.closing', actions: 'recordStop' },
                ],
              },
            },
            closed: {
              on: {
                'troupe.runner.stop': { actions: 'recordStop' },
                'troupe.runner.idle': { target: '#runner.closing', actions: 'markIdle' },
              },
            },
          },
        },
        pool: {
          initial: 'queued',
          states: {
            queued: {
              on: { 'troupe.runner.slotGranted': 'loading' },
            },
            loading: {
              invoke: {
                src: 'startPool',
                input: ({ context }) => ({
                  id: context.id,
                  attempt: context.attempt,
                  threads: context.threads,
                  everReady: context.everReady,
                }),
                onError: startFailed,
              },
              after: { startupTimeout: startFailed },
              on: {
                'troupe.runner.threadUp': [
                  {
                    guard: and(['lastThreadUp', 'stopping']),
                    target: '#runner.draining.flushing',
                    actions: ['threadUp', 'markReady'],
                  },
                  {
                    guard: 'lastThreadUp',
                    target: '#runner.running',
                    actions: ['threadUp', 'markReady'],
                  },
                  { actions: 'threadUp' },
                ],
                'troupe.runner.threadFailed': startFailed,
                'troupe.runner.threadExit': startFailed,
              },
            },
          },
        },
      },
    },
    running: {
      type: 'parallel',
      tags: ['accepting', 'dispatching'],
      states: {
        load: {
          initial: 'ready',
          states: {
            ready: {
              always: { guard: 'busy', target: 'busy' },
              on: {
                'troupe.runner.stop': {
                  target: '#runner.draining.drained',
                  actions: 'recordStop',
                },
              },
            },
            busy: {
              always: { guard: not('busy'), target: 'ready' },
              on: {
                'troupe.runner.stop': {
                  target: '#runner.draining.flushing',
                  actions: 'recordStop',
                },
              },
            },
          },
        },
        threads: {
          initial: 'full',
          states: {
            full: {
              always: { guard: not('allThreadsUp'), target: 'replacing' },
            },
            replacing: {
              always: { guard: 'allThreadsUp', target: 'full' },
              // A replacement thread must be up within the startup deadline.
              after: { startupTimeout: broken },
            },
          },
        },
      },
      on: {
        'troupe.runner.threadUp': { actions: 'threadUp' },
        'troupe.runner.threadFailed': broken,
        'troupe.runner.threadExit': [
          // The runtime terminated it (an abort ignored past its grace): the pool replaces it.
          { guard: and(['terminated', not('notReplaced')]), actions: 'threadDown' },
          {
            guard: and(['normalExit', 'busy']),
            target: '#runner.draining.flushing',
            actions: ['threadDown', 'recordNormalExit'],
          },
          {
            guard: 'normalExit',
            target: '#runner.draining.drained',
            actions: ['threadDown', 'recordNormalExit'],
          },
          // A replacement that died loading, or a pool that gave up replacing: restart whole.
          {
            guard: and(['lostPool', 'isTemporary']),
            target: '#runner.closing',
            actions: 'failBroken',
          },
          {
            guard: and(['lostPool', 'mayRestart']),
            target: '#runner.restarting',
            actions: ['recordStartupError', 'countRestart'],
          },
          { guard: 'lostPool', target: '#runner.closing', actions: 'failRestartLimit' },
          { guard: 'isTemporary', target: '#runner.closing', actions: 'failCrash' },
          // A crash: the pool replaces the thread; count it and keep serving.
          { guard: 'mayRestart', actions: ['threadDown', 'countRestart'] },
          { target: '#runner.closing', actions: 'failRestartLimit' },
        ],
        // A thread silent past hungAfterMs while running a task: its task
        // fails, the thread is terminated (its exit, `terminated`, is then
        // a thread the pool replaces), counted against the budget like a crash.
        'troupe.runner.threadHung': [
          {
            guard: 'isTemporary',
            target: '#runner.closing',
            actions: [{ type: 'terminateHungThread', params: { decision: 'stop' } }, 'failCrash'],
          },
          {
            guard: 'mayRestart',
            actions: [
              { type: 'terminateHungThread', params: { decision: 'restart' } },
              'countRestart',
            ],
          },
          {
            target: '#runner.closing',
            actions: [
              { type: 'terminateHungThread', params: { decision: 'stop' } },
              'failRestartLimit',
            ],
          },
        ],
        'troupe.runner.restart': broken,
      },
    },
    restarting: {
      initial: 'releasing',
      on: {
        'troupe.runner.abort': { actions: ['markForced', 'abortQueued'] },
        'troupe.runner.close': { target: '#runner.closing', actions: 'markForced' },
      },
      states: {
        releasing: {
          type: 'parallel',
          states: {
            admission: admission('closed'),
            pool: {
              initial: 'tearingDown',
              states: {
                tearingDown: {
                  invoke: {
                    src: 'teardownThreads',
                    input: ({ context }) => ({ id: context.id, purpose: 'restart' as const }),
                    onDone: 'destroying',
                    onError: 'destroying',
                  },
                  after: { closeTimeout: 'destroying' },
                },
                destroying: {
                  invoke: {
                    src: 'destroyPool',
                    input: ({ context }) => ({
                      id: context.id,
                      attempt: context.attempt,
                      threads: context.threads,
                      everReady: context.everReady,
                    }),
                    onDone: [
                      {
                        guard: and(['stopping', 'busy']),
                        target: '#runner.starting.admission.closed',
                      },
                      { guard: 'stopping', target: '#runner.closing' },
                      { target: '#runner.restarting.waiting' },
                    ],
                    onError: [
                      {
                        guard: and(['stopping', 'busy']),
                        target: '#runner.starting.admission.closed',
                      },
                      { guard: 'stopping', target: '#runner.closing' },
                      { target: '#runner.restarting.waiting' },
                    ],
                  },
                },
              },
            },
          },
        },
        waiting: {
          tags: ['accepting'],
          after: { restartDelay: '#runner.starting' },
          on: {
            'troupe.runner.stop': [
              {
                guard: 'busy',
                target: '#runner.starting.admission.closed',
                actions: 'recordStop',
              },
              { target: '#runner.closing', actions: 'recordStop' },
            ],
          },
        },
      },
    },
    draining: {
      entry: 'notifyDraining',
      initial: 'flushing',
      on: {
        'troupe.runner.stop': { actions: 'recordStop' },
        'troupe.runner.threadUp': { actions: 'threadUp' },
        'troupe.runner.threadExit': { actions: 'threadDown' },
      },
      states: {
        flushing: {
          tags: ['dispatching'],
          always: { guard: not('busy'), target: 'drained' },
          on: {
            'troupe.runner.abort': 'aborting',
            // Closed with tasks still in flight: they are terminated.
            'troupe.runner.close': { target: '#runner.closing', actions: 'markForced' },
          },
          after: { drainTimeout: 'aborting' },
        },
        aborting: {
          entry: ['markForced', 'abortQueued', 'abortInFlight'],
          always: { guard: not('busy'), target: 'drained' },
          on: { 'troupe.runner.close': '#runner.closing' },
          after: { abortGrace: 'terminating' },
        },
        terminating: {
          initial: 'tearingDown',
          on: { 'troupe.runner.close': '#runner.closing' },
          states: {
            tearingDown: {
              invoke: {
                src: 'teardownThreads',
                input: ({ context }) => ({ id: context.id, purpose: 'terminate' as const }),
                onDone: 'destroying',
                onError: 'destroying',
              },
              after: { abortGrace: 'destroying' },
            },
            destroying: {
              invoke: {
                src: 'destroyPool',
                input: ({ context }) => ({
                  id: context.id,
                  attempt: context.attempt,
                  threads: context.threads,
                  everReady: context.everReady,
                }),
                onDone: '#runner.draining.drained',
                onError: '#runner.draining.drained',
              },
            },
          },
        },
        drained: {
          always: { guard: 'closeWhenDrained', target: '#runner.closing' },
          on: { 'troupe.runner.close': '#runner.closing' },
        },
      },
    },
    closing: {
      entry: 'rejectQueued',
      initial: 'tearingDown',
      states: {
        tearingDown: {
          invoke: {
            src: 'teardownThreads',
            input: ({ context }) => ({ id: context.id, purpose: 'close' as const }),
            onDone: 'destroying',
            onError: 'destroying',
          },
          after: { closeTimeout: { target: 'destroying', actions: 'markForced' } },
          on: { 'troupe.runner.force': { target: 'destroying', actions: 'markForced' } },
        },
        // No deadline: the runner is done only once every thread exited.
        // The coordinator bounds the wait and reports what was left.
        destroying: {
          invoke: {
            src: 'destroyPool',
            input: ({ context }) => ({
              id: context.id,
              attempt: context.attempt,
              threads: context.threads,
              everReady: context.everReady,
            }),
            onDone: [
              { guard: 'hasFailure', target: '#runner.failed' },
              { target: '#runner.stopped' },
            ],
            onError: [
              { guard: 'hasFailure', target: '#runner.failed' },
              { target: '#runner.stopped' },
            ],
          },
        },
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});

/**
 * The internal events of {@link runnerMachine} ({@link RunnerInternalEvent}),
 * read from its definition: one `{ type }` per `onDone`, `onError` and
 * `after` it reacts to, for the `events` of a model.
 */
export const runnerInternalEvents: readonly RunnerInternalEvent[] = Object.freeze(
  internalEventsOf(runnerMachine),
);

function brokenStartError(context: RunnerContext, event: RunnerModelEvent): ErrorData {
  if (event.type.startsWith('xstate.after.')) return startupTimeoutError(context);
  if (event.type.startsWith('xstate.error.')) {
    return startupError(context, toErrorData((event as { error?: unknown }).error));
  }
  return startupError(context, errorOf(event));
}

function restartLimitCause(context: RunnerContext, event: RunnerModelEvent): ErrorData | null {
  if (event.type.startsWith('xstate.after.') || event.type.startsWith('xstate.error.')) {
    return brokenStartError(context, event);
  }
  if (event.type === 'troupe.runner.threadFailed') return startupError(context, event.error);
  if (event.type === 'troupe.runner.threadExit' && !event.loaded) {
    return startupError(context, event.error);
  }
  return errorOf(event);
}

/**
 * The wait before restart number `attempt` (1-based, since the last healthy
 * period): full-jitter exponential backoff from the seeded sequence.
 */
export function restartDelay(context: Pick<RunnerContext, 'attempt' | 'seed' | 'restart'>): number {
  return fullJitterDelay(Math.max(0, context.attempt - 1), context.restart.backoff, () =>
    seededDraw(context.seed, context.attempt),
  );
}

/** The names of {@link runnerMachine}'s states as `runner.state` reports them. */
export type RunnerState =
  'starting' | 'ready' | 'busy' | 'restarting' | 'draining' | 'closing' | 'stopped' | 'failed';

/**
 * Maps a runner snapshot's state value to the flat {@link RunnerState}.
 *
 * @example
 * ```ts
 * runnerStateOf({ running: { load: 'busy', threads: 'full' } }); // 'busy'
 * ```
 */
export function runnerStateOf(value: unknown): RunnerState {
  if (typeof value === 'string') return value as RunnerState;
  if (typeof value === 'object' && value !== null) {
    if ('running' in value) {
      const running = (value as { running: { load?: 'ready' | 'busy' } }).running;
      return running.load ?? 'ready';
    }
    const [top] = Object.keys(value);
    return top as RunnerState;
  }
  throw new TypeError(`not a runner state value: ${String(value)}`);
}
