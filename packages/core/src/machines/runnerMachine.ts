import { and, assign, fromPromise, setup, stateIn } from 'xstate';
import { fullJitterDelay, type BackoffOptions } from '../backoff.js';
import { randomSeed, seededDraw } from '../prng.js';
import { ErrorCodes } from '../errors/codes.js';
import { toErrorData, type ErrorData } from '../errors/errorData.js';
import { addRestart, withinIntensity } from '../restartIntensity.js';

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
  readonly restart: RunnerRestartConfig;
  readonly startupTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly abortGraceMs: number;
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
  readonly failure: ErrorData | null;
  /** The last startup timeout of a restart attempt (kept for diagnosis). */
  readonly lastStartupError: ErrorData | null;
  readonly stopReason: RunnerStopReason | null;
  readonly closeWhenDrained: boolean;
  /** The drain missed its deadline (tasks aborted) or the close missed its deadline. */
  readonly forced: boolean;
}

/** Namespaced event names of {@link runnerMachine}. */
export const RunnerEventTypes = {
  busy: 'troupe.runner.busy',
  idle: 'troupe.runner.idle',
  crashed: 'troupe.runner.crashed',
  broken: 'troupe.runner.broken',
  restart: 'troupe.runner.restart',
  stop: 'troupe.runner.stop',
  abort: 'troupe.runner.abort',
  close: 'troupe.runner.close',
} as const;

/** Events {@link runnerMachine} accepts. */
export type RunnerEvent =
  /** The runner went from no task in flight to at least one. */
  | { readonly type: 'troupe.runner.busy' }
  /** The runner has no task in flight any more. */
  | { readonly type: 'troupe.runner.idle' }
  /** A thread exited; its pool replaced it. `normal` is an exit with code 0. */
  | {
      readonly type: 'troupe.runner.crashed';
      readonly error: ErrorData;
      readonly normal?: boolean;
      readonly at?: number;
    }
  /** The pool can no longer serve (a replacement thread failed to start): restart it whole. */
  | { readonly type: 'troupe.runner.broken'; readonly error: ErrorData; readonly at?: number }
  /** Someone (the health monitor) asks for a full restart. */
  | { readonly type: 'troupe.runner.restart'; readonly error: ErrorData; readonly at?: number }
  /** Close admission and drain. */
  | {
      readonly type: 'troupe.runner.stop';
      readonly reason: RunnerStopReason;
      /** `true` for `runner.stop()`; `false` when the shutdown coordinator sends `close` later. */
      readonly closeWhenDrained: boolean;
      readonly drainTimeoutMs?: number;
    }
  /** The drain deadline passed: cooperative abort, then terminate threads. */
  | { readonly type: 'troupe.runner.abort' }
  /** Proceed to closing (teardown, close channels, terminate threads). */
  | { readonly type: 'troupe.runner.close' };

/** Output of {@link runnerMachine} when it reaches `stopped` or `failed`. */
export interface RunnerOutput {
  readonly id: string;
  readonly failure: ErrorData | null;
  readonly forced: boolean;
  readonly restartCount: number;
}

/** The id and attempt handed to the runtime's pool actors. */
export interface RunnerPoolInput {
  readonly id: string;
  readonly attempt: number;
}

/** Input of the `closePool` actor. */
export interface RunnerCloseInput extends RunnerPoolInput {
  readonly failure: ErrorData | null;
  readonly stopReason: RunnerStopReason | null;
}

function eventTime(event: { at?: number }): number {
  return event.at ?? Date.now();
}

function startupTimeoutError(context: RunnerContext): ErrorData {
  return {
    _tag: 'TroupeError',
    name: 'RunnerStartupError',
    code: ErrorCodes.RUNNER_STARTUP,
    message: `runner "${context.id}" did not become ready within startupTimeoutMs (${context.startupTimeoutMs} ms)`,
    context: { runnerId: context.id, startupTimeoutMs: context.startupTimeoutMs },
  };
}

function restartLimitError(context: RunnerContext, cause: ErrorData | null): ErrorData {
  const { maxRestarts, windowMs } = context.restart;
  return {
    _tag: 'TroupeError',
    name: 'RestartLimitError',
    code: ErrorCodes.RESTART_LIMIT,
    message: `runner "${context.id}" exceeded ${maxRestarts} restarts within ${windowMs} ms`,
    context: { runnerId: context.id, maxRestarts, windowMs, restarts: context.restartCount },
    ...(cause === null ? {} : { cause }),
  };
}

function startupError(context: RunnerContext, cause: unknown): ErrorData {
  const data = toErrorData(cause);
  if (data.code === ErrorCodes.RUNNER_STARTUP) return data;
  return {
    _tag: 'TroupeError',
    name: 'RunnerStartupError',
    code: ErrorCodes.RUNNER_STARTUP,
    message: `runner "${context.id}" failed to start: ${data.message}`,
    context: { runnerId: context.id },
    cause: data,
  };
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

/**
 * The lifecycle of one runner (a piscina pool of worker threads):
 *
 * `starting → running.ready ⇄ running.busy`, `restarting` (backoff, then
 * `starting` again), `draining → closing → stopped`, and `failed` (final,
 * after the restart limit or a failed first start).
 *
 * Effects are named in `setup()` and provided by `@troupe/runtime`:
 * actors `startPool`, `releasePool`, `terminateThreads`, `closePool`;
 * actions `notifyDraining`, `abortInFlight`. The defaults resolve at once, so
 * the machine can be simulated, visualized and model-tested on its own.
 *
 * @example
 * ```ts
 * import { createActor } from 'xstate';
 * import { runnerMachine } from '@troupe/core';
 *
 * const actor = createActor(runnerMachine, { input: { id: 'r1', ...defaults } });
 * actor.subscribe({ error: console.error });
 * actor.start();
 * actor.send({ type: 'troupe.runner.stop', reason: 'stop', closeWhenDrained: true });
 * ```
 */
export const runnerMachine = setup({
  types: {
    context: {} as RunnerContext,
    events: {} as RunnerEvent,
    input: {} as RunnerMachineInput,
    output: {} as RunnerOutput,
  },
  actors: {
    startPool: fromPromise<void, RunnerPoolInput>(async () => {}),
    releasePool: fromPromise<void, RunnerPoolInput>(async () => {}),
    terminateThreads: fromPromise<void, RunnerPoolInput>(async () => {}),
    closePool: fromPromise<void, RunnerCloseInput>(async () => {}),
  },
  actions: {
    notifyDraining: () => {},
    abortInFlight: () => {},
    markReady: assign({ everReady: true }),
    markForced: assign({ forced: true }),
    recordStop: assign(({ event }) =>
      event.type === 'troupe.runner.stop'
        ? {
            stopReason: event.reason,
            closeWhenDrained: event.closeWhenDrained,
            ...(event.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: event.drainTimeoutMs }),
          }
        : {},
    ),
    failStartup: assign(({ context, event }) => ({
      failure: startupError(context, 'error' in event ? event.error : 'unknown'),
    })),
    failStartupTimeout: assign(({ context }) => ({ failure: startupTimeoutError(context) })),
    countRestart: assign(({ context, event }) =>
      countedRestart(context, 'at' in event ? eventTime(event) : Date.now()),
    ),
    failRestartLimit: assign(({ context, event }) => ({
      failure: restartLimitError(
        context,
        'error' in event ? startupErrorOrData(context, event.error) : null,
      ),
    })),
    failRestartLimitOnTimeout: assign(({ context }) => ({
      failure: restartLimitError(context, startupTimeoutError(context)),
    })),
    recordStartupTimeout: assign(({ context }) => ({
      lastStartupError: startupTimeoutError(context),
    })),
    failTemporary: assign(({ context, event }) => ({
      failure: 'error' in event ? startupErrorOrData(context, event.error) : null,
    })),
    recordNormalExit: assign({ stopReason: 'exit' as const, closeWhenDrained: true }),
  },
  guards: {
    neverReady: ({ context }) => !context.everReady,
    mayRestart: ({ context, event }) =>
      mayRestart(context, 'at' in event ? eventTime(event) : Date.now()),
    isTemporary: ({ context }) => context.restart.policy === 'temporary',
    normalExitNotRestarted: ({ context, event }) =>
      event.type === 'troupe.runner.crashed' &&
      event.normal === true &&
      context.restart.policy !== 'permanent',
    closeWhenDrained: ({ context }) => context.closeWhenDrained,
    hasFailure: ({ context }) => context.failure !== null,
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
  states: {
    starting: {
      invoke: {
        src: 'startPool',
        input: ({ context }) => ({ id: context.id, attempt: context.attempt }),
        onDone: { target: 'running', actions: 'markReady' },
        onError: [
          { guard: 'neverReady', target: 'closing', actions: 'failStartup' },
          { guard: 'mayRestart', target: 'restarting', actions: 'countRestart' },
          { target: 'closing', actions: 'failRestartLimit' },
        ],
      },
      after: {
        startupTimeout: [
          { guard: 'neverReady', target: 'closing', actions: 'failStartupTimeout' },
          {
            guard: 'mayRestart',
            target: 'restarting',
            actions: ['recordStartupTimeout', 'countRestart'],
          },
          { target: 'closing', actions: 'failRestartLimitOnTimeout' },
        ],
      },
      on: {
        'troupe.runner.stop': { target: 'closing', actions: 'recordStop' },
      },
    },
    running: {
      initial: 'ready',
      states: {
        ready: {
          on: {
            'troupe.runner.busy': 'busy',
            'troupe.runner.stop': { target: '#runner.draining.drained', actions: 'recordStop' },
          },
        },
        busy: {
          on: {
            'troupe.runner.idle': 'ready',
            'troupe.runner.stop': { target: '#runner.draining.flushing', actions: 'recordStop' },
          },
        },
      },
      on: {
        'troupe.runner.crashed': [
          {
            guard: and(['normalExitNotRestarted', stateIn({ running: 'busy' })]),
            target: '#runner.draining.flushing',
            actions: 'recordNormalExit',
          },
          {
            guard: 'normalExitNotRestarted',
            target: '#runner.draining.drained',
            actions: 'recordNormalExit',
          },
          { guard: 'isTemporary', target: 'closing', actions: 'failTemporary' },
          // The pool has already replaced the thread: count it, keep serving.
          { guard: 'mayRestart', actions: 'countRestart' },
          { target: 'closing', actions: 'failRestartLimit' },
        ],
        'troupe.runner.broken': [
          { guard: 'isTemporary', target: 'closing', actions: 'failTemporary' },
          { guard: 'mayRestart', target: 'restarting', actions: 'countRestart' },
          { target: 'closing', actions: 'failRestartLimit' },
        ],
        'troupe.runner.restart': [
          { guard: 'isTemporary', target: 'closing', actions: 'failTemporary' },
          { guard: 'mayRestart', target: 'restarting', actions: 'countRestart' },
          { target: 'closing', actions: 'failRestartLimit' },
        ],
      },
    },
    restarting: {
      initial: 'releasing',
      states: {
        releasing: {
          invoke: {
            src: 'releasePool',
            input: ({ context }) => ({ id: context.id, attempt: context.attempt }),
            onDone: 'waiting',
            onError: 'waiting',
          },
        },
        waiting: {
          after: { restartDelay: '#runner.starting' },
        },
      },
      on: {
        'troupe.runner.stop': { target: 'closing', actions: 'recordStop' },
      },
    },
    draining: {
      entry: 'notifyDraining',
      initial: 'flushing',
      states: {
        flushing: {
          on: {
            'troupe.runner.idle': 'drained',
            'troupe.runner.abort': 'aborting',
            // Closed with tasks still in flight: they are terminated.
            'troupe.runner.close': { target: '#runner.closing', actions: 'markForced' },
          },
          after: { drainTimeout: 'aborting' },
        },
        aborting: {
          entry: ['markForced', 'abortInFlight'],
          on: {
            'troupe.runner.idle': 'drained',
            'troupe.runner.close': '#runner.closing',
          },
          after: { abortGrace: 'terminating' },
        },
        terminating: {
          invoke: {
            src: 'terminateThreads',
            input: ({ context }) => ({ id: context.id, attempt: context.attempt }),
            onDone: 'drained',
            onError: 'drained',
          },
          on: { 'troupe.runner.close': '#runner.closing' },
        },
        drained: {
          always: { guard: 'closeWhenDrained', target: '#runner.closing' },
          on: { 'troupe.runner.close': '#runner.closing' },
        },
      },
    },
    closing: {
      invoke: {
        src: 'closePool',
        input: ({ context }) => ({
          id: context.id,
          attempt: context.attempt,
          failure: context.failure,
          stopReason: context.stopReason,
        }),
        onDone: [{ guard: 'hasFailure', target: 'failed' }, { target: 'stopped' }],
        onError: [{ guard: 'hasFailure', target: 'failed' }, { target: 'stopped' }],
      },
      after: {
        closeTimeout: [
          { guard: 'hasFailure', target: 'failed', actions: 'markForced' },
          { target: 'stopped', actions: 'markForced' },
        ],
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});

/**
 * The wait before restart number `attempt` (1-based, since the last healthy
 * period): full-jitter exponential backoff from the seeded sequence.
 */
export function restartDelay(context: Pick<RunnerContext, 'attempt' | 'seed' | 'restart'>): number {
  return fullJitterDelay(Math.max(0, context.attempt - 1), context.restart.backoff, () =>
    seededDraw(context.seed, context.attempt),
  );
}

function startupErrorOrData(context: RunnerContext, error: unknown): ErrorData {
  return context.everReady ? toErrorData(error) : startupError(context, error);
}

/** The names of {@link runnerMachine}'s states as `runner.state` reports them. */
export type RunnerState =
  'starting' | 'ready' | 'busy' | 'restarting' | 'draining' | 'closing' | 'stopped' | 'failed';

/**
 * Maps a runner snapshot's state value to the flat {@link RunnerState}.
 *
 * @example
 * ```ts
 * runnerStateOf({ running: 'busy' }); // 'busy'
 * ```
 */
export function runnerStateOf(value: unknown): RunnerState {
  if (typeof value === 'string') return value as RunnerState;
  if (typeof value === 'object' && value !== null) {
    if ('running' in value) return (value as { running: 'ready' | 'busy' }).running;
    const [top] = Object.keys(value);
    return top as RunnerState;
  }
  throw new TypeError(`not a runner state value: ${String(value)}`);
}
