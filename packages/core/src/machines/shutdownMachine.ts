import { assign, fromPromise, setup } from 'xstate';
import { toErrorData, type ErrorData } from '../errors/errorData.js';

/** Per-phase deadlines of the three-phase shutdown, in milliseconds. */
export interface ShutdownDeadlines {
  readonly signalingMs: number;
  readonly drainingMs: number;
  readonly closingMs: number;
  /** Backstop for the forced paths (abort+terminate, force-close) so nothing can hang. */
  readonly forceMs: number;
}

/** The phases of the shutdown protocol as `troupe.phase` reports them. */
export type ShutdownPhase = 'running' | 'signaling' | 'draining' | 'closing' | 'stopped';

/** The three timed phases. */
export type TimedShutdownPhase = 'signaling' | 'draining' | 'closing';

/** Context of {@link shutdownMachine}. */
export interface ShutdownContext {
  readonly deadlines: ShutdownDeadlines;
  readonly reason: string | null;
  readonly timedOut: Readonly<Record<TimedShutdownPhase, boolean>>;
  /** Errors raised by a phase's work (they never stop the protocol). */
  readonly errors: readonly ErrorData[];
}

/** Namespaced event names of {@link shutdownMachine}. */
export const ShutdownEventTypes = {
  begin: 'troupe.shutdown.begin',
} as const;

/** Events {@link shutdownMachine} accepts. */
export type ShutdownEvent = { readonly type: 'troupe.shutdown.begin'; readonly reason: string };

/** Output of {@link shutdownMachine}. */
export interface ShutdownOutput {
  readonly reason: string;
  readonly timedOut: Readonly<Record<TimedShutdownPhase, boolean>>;
  readonly errors: readonly ErrorData[];
}

/** What each phase actor receives. */
export interface ShutdownPhaseInput {
  readonly reason: string;
}

/**
 * The shutdown coordinator: `running → signaling → draining → closing →
 * stopped`. Each phase invokes the runtime's work for it and has an `after`
 * deadline leading to its forced path; a failing phase records its error
 * and the protocol goes on, so shutdown always finishes.
 *
 * | phase | actor | on deadline |
 * | --- | --- | --- |
 * | signaling | `signal` (close admission, notify runners) | go on |
 * | draining | `drain` (wait for in-flight tasks) | `forceDrain` (abort, terminate) |
 * | closing | `close` (resources in dependency order) | `forceClose` |
 *
 * @example
 * ```ts
 * const actor = createActor(shutdownMachine, { input: deadlines });
 * actor.start();
 * actor.send({ type: 'troupe.shutdown.begin', reason: 'deploy' });
 * ```
 */
export const shutdownMachine = setup({
  types: {
    context: {} as ShutdownContext,
    events: {} as ShutdownEvent,
    input: {} as ShutdownDeadlines,
    output: {} as ShutdownOutput,
  },
  actors: {
    signal: fromPromise<void, ShutdownPhaseInput>(async () => {}),
    drain: fromPromise<void, ShutdownPhaseInput>(async () => {}),
    forceDrain: fromPromise<void, ShutdownPhaseInput>(async () => {}),
    close: fromPromise<void, ShutdownPhaseInput>(async () => {}),
    forceClose: fromPromise<void, ShutdownPhaseInput>(async () => {}),
  },
  actions: {
    /** Announces a phase before its work starts (the runtime emits `shutdown:phase`). */
    phaseEntered: (_, _params: { phase: ShutdownPhase }) => {},
    recordReason: assign(({ event }) => ({ reason: event.reason })),
    recordPhaseError: assign(({ context, event }) => ({
      errors: [...context.errors, toErrorData((event as { error?: unknown }).error)],
    })),
    signalingTimedOut: assign(({ context }) => ({
      timedOut: { ...context.timedOut, signaling: true },
    })),
    drainingTimedOut: assign(({ context }) => ({
      timedOut: { ...context.timedOut, draining: true },
    })),
    closingTimedOut: assign(({ context }) => ({
      timedOut: { ...context.timedOut, closing: true },
    })),
    forceDeadlineExpired: assign(({ context }) => ({
      errors: [
        ...context.errors,
        {
          _tag: 'Error',
          name: 'Error',
          message: `a forced shutdown path did not finish within forceMs (${context.deadlines.forceMs} ms)`,
        } satisfies ErrorData,
      ],
    })),
  },
  delays: {
    signalingDeadline: ({ context }) => context.deadlines.signalingMs,
    drainingDeadline: ({ context }) => context.deadlines.drainingMs,
    closingDeadline: ({ context }) => context.deadlines.closingMs,
    forceDeadline: ({ context }) => context.deadlines.forceMs,
  },
}).createMachine({
  id: 'shutdown',
  context: ({ input }) => ({
    deadlines: input,
    reason: null,
    timedOut: { signaling: false, draining: false, closing: false },
    errors: [],
  }),
  initial: 'running',
  output: ({ context }) => ({
    reason: context.reason ?? 'shutdown',
    timedOut: context.timedOut,
    errors: context.errors,
  }),
  states: {
    running: {
      on: {
        'troupe.shutdown.begin': { target: 'signaling', actions: 'recordReason' },
      },
    },
    signaling: {
      entry: { type: 'phaseEntered', params: { phase: 'signaling' } },
      invoke: {
        src: 'signal',
        input: ({ context }) => ({ reason: context.reason ?? 'shutdown' }),
        onDone: 'draining',
        onError: { target: 'draining', actions: 'recordPhaseError' },
      },
      after: {
        signalingDeadline: { target: 'draining', actions: 'signalingTimedOut' },
      },
    },
    draining: {
      entry: { type: 'phaseEntered', params: { phase: 'draining' } },
      initial: 'waiting',
      states: {
        waiting: {
          invoke: {
            src: 'drain',
            input: ({ context }) => ({ reason: context.reason ?? 'shutdown' }),
            onDone: '#shutdown.closing',
            onError: { target: 'forcing', actions: 'recordPhaseError' },
          },
          after: {
            drainingDeadline: { target: 'forcing', actions: 'drainingTimedOut' },
          },
        },
        forcing: {
          invoke: {
            src: 'forceDrain',
            input: ({ context }) => ({ reason: context.reason ?? 'shutdown' }),
            onDone: '#shutdown.closing',
            onError: { target: '#shutdown.closing', actions: 'recordPhaseError' },
          },
          after: {
            forceDeadline: { target: '#shutdown.closing', actions: 'forceDeadlineExpired' },
          },
        },
      },
    },
    closing: {
      entry: { type: 'phaseEntered', params: { phase: 'closing' } },
      initial: 'waiting',
      states: {
        waiting: {
          invoke: {
            src: 'close',
            input: ({ context }) => ({ reason: context.reason ?? 'shutdown' }),
            onDone: '#shutdown.stopped',
            onError: { target: 'forcing', actions: 'recordPhaseError' },
          },
          after: {
            closingDeadline: { target: 'forcing', actions: 'closingTimedOut' },
          },
        },
        forcing: {
          invoke: {
            src: 'forceClose',
            input: ({ context }) => ({ reason: context.reason ?? 'shutdown' }),
            onDone: '#shutdown.stopped',
            onError: { target: '#shutdown.stopped', actions: 'recordPhaseError' },
          },
          after: {
            forceDeadline: { target: '#shutdown.stopped', actions: 'forceDeadlineExpired' },
          },
        },
      },
    },
    stopped: { type: 'final', entry: { type: 'phaseEntered', params: { phase: 'stopped' } } },
  },
});

/**
 * Maps a shutdown snapshot's state value to its {@link ShutdownPhase}.
 *
 * @example
 * ```ts
 * shutdownPhaseOf({ draining: 'forcing' }); // 'draining'
 * ```
 */
export function shutdownPhaseOf(value: unknown): ShutdownPhase {
  if (typeof value === 'string') return value as ShutdownPhase;
  if (typeof value === 'object' && value !== null) {
    const [top] = Object.keys(value);
    return top as ShutdownPhase;
  }
  throw new TypeError(`not a shutdown state value: ${String(value)}`);
}
