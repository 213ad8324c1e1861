import { assign, fromPromise, setup, stateIn } from 'xstate';
import { ErrorCodes } from '../errors/codes.js';
import { toErrorData, troupeErrorData, type ErrorData } from '../errors/errorData.js';
import {
  internalEventsOf,
  type ActorDoneEvent,
  type ActorErrorEvent,
  type AfterEvent,
} from './internalEvents.js';

/** Per-phase deadlines of the three-phase shutdown, in milliseconds. */
export interface ShutdownDeadlines {
  readonly signalingMs: number;
  readonly drainingMs: number;
  readonly closingMs: number;
  /** Backstop for the forced paths (abort+terminate, force-close) so nothing can hang. */
  readonly forceMs: number;
  /**
   * SIGNALING first turns readiness off and keeps admitting work for this
   * long (the load balancer still routes here), then closes admission.
   * Default 0: admission closes with readiness.
   */
  readonly readinessDelayMs?: number;
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
  /**
   * A force was asked for (`troupe.shutdown.force`): the phase under way
   * ended as at its deadline, and every later phase takes its forced path.
   */
  readonly forceRequested: boolean;
  /** Errors raised by a phase's work or gate (they never stop the protocol). */
  readonly errors: readonly ErrorData[];
}

/** Namespaced event names of {@link shutdownMachine}. */
export const ShutdownEventTypes = {
  begin: 'troupe.shutdown.begin',
  force: 'troupe.shutdown.force',
} as const;

/**
 * Events {@link shutdownMachine} accepts: `begin` starts the protocol (a
 * second begin is ignored); `force` (a second signal) begins it if need be,
 * ends the current phase as its deadline would, and sends every later
 * phase down its forced path.
 */
export type ShutdownEvent =
  | { readonly type: 'troupe.shutdown.begin'; readonly reason: string }
  | { readonly type: 'troupe.shutdown.force'; readonly reason: string };

/**
 * Events XState sends {@link shutdownMachine} on behalf of its actors and
 * delays: what a model of the machine needs besides {@link ShutdownEvent} to
 * take every `onDone`, `onError` and `after` transition
 * ({@link shutdownInternalEvents} lists them).
 */
export type ShutdownInternalEvent =
  | AfterEvent<'signalingDeadline', 'shutdown.signaling'>
  | AfterEvent<'readinessDelay', 'shutdown.signaling.delaying'>
  | ActorDoneEvent<'0.shutdown.signaling.working'>
  | ActorErrorEvent<'0.shutdown.signaling.working'>
  | ActorDoneEvent<'0.shutdown.signaling.gating'>
  | ActorErrorEvent<'0.shutdown.signaling.gating'>
  | AfterEvent<'drainingDeadline', 'shutdown.draining'>
  | ActorDoneEvent<'0.shutdown.draining.waiting'>
  | ActorErrorEvent<'0.shutdown.draining.waiting'>
  | ActorDoneEvent<'0.shutdown.draining.forcing'>
  | ActorErrorEvent<'0.shutdown.draining.forcing'>
  | AfterEvent<'forceDeadline', 'shutdown.draining.forcing'>
  | ActorDoneEvent<'0.shutdown.draining.gating'>
  | ActorErrorEvent<'0.shutdown.draining.gating'>
  | AfterEvent<'forceDeadline', 'shutdown.draining.gating'>
  | AfterEvent<'closingDeadline', 'shutdown.closing'>
  | ActorDoneEvent<'0.shutdown.closing.waiting'>
  | ActorErrorEvent<'0.shutdown.closing.waiting'>
  | ActorDoneEvent<'0.shutdown.closing.forcing'>
  | ActorErrorEvent<'0.shutdown.closing.forcing'>
  | AfterEvent<'forceDeadline', 'shutdown.closing.forcing'>
  | ActorDoneEvent<'0.shutdown.closing.gating'>
  | ActorErrorEvent<'0.shutdown.closing.gating'>
  | AfterEvent<'forceDeadline', 'shutdown.closing.gating'>;

/** Every event {@link shutdownMachine} reacts to: its event type, and what a model sends. */
export type ShutdownModelEvent = ShutdownEvent | ShutdownInternalEvent;

/** Output of {@link shutdownMachine}. */
export interface ShutdownOutput {
  readonly reason: string;
  readonly timedOut: Readonly<Record<TimedShutdownPhase, boolean>>;
  readonly forceRequested: boolean;
  readonly errors: readonly ErrorData[];
}

/** What each phase's work receives. */
export interface ShutdownPhaseInput {
  readonly reason: string;
}

/** What a phase's gate receives: the phase whose own work is done. */
export interface ShutdownGateInput {
  readonly phase: TimedShutdownPhase;
  readonly reason: string;
}

const reasonOf = ({ context }: { context: ShutdownContext }): ShutdownPhaseInput => ({
  reason: context.reason ?? 'shutdown',
});

function gateOf(phase: TimedShutdownPhase) {
  return ({ context }: { context: ShutdownContext }): ShutdownGateInput => ({
    phase,
    reason: context.reason ?? 'shutdown',
  });
}

const announceSignaling = { type: 'phaseEntered', params: { phase: 'signaling' } } as const;

/** What a phase's deadline, or a force, does to the draining or closing phase. */
function cutShort(phase: 'draining' | 'closing', after: 'closing' | 'stopped', force: boolean) {
  const extra = force ? (['recordForce'] as const) : ([] as const);
  const timedOut = { type: 'timedOut', params: { phase } } as const;
  return [
    {
      guard: stateIn(`#shutdown.${phase}.waiting`),
      target: '.forcing',
      actions: [timedOut, ...extra],
    },
    {
      guard: stateIn(`#shutdown.${phase}.gating`),
      target: `#shutdown.${after}`,
      actions: [timedOut, ...extra],
    },
    // A forced path entered on a failure outlived the deadline: its gate gets forceMs.
    {
      guard: stateIn(`#shutdown.${phase}.forcing`),
      actions: [timedOut, ...extra],
    },
  ] as const;
}

/**
 * The shutdown coordinator: `running → signaling → draining → closing →
 * stopped`. Each phase first does its own work, then waits at its gate
 * (`gating`) before it is left; one deadline per phase covers both. A
 * failing phase records its error and the protocol goes on, so shutdown
 * always finishes.
 *
 * | phase | work (actor) | on deadline |
 * | --- | --- | --- |
 * | signaling | `delaying` (readiness off, still admitting, `readinessDelayMs`), then `signal`: close admission, tell runners, await their acknowledgements | go on |
 * | draining | `drain`: wait for accepted tasks | `forceDrain` (abort, terminate), bounded by `forceMs` |
 * | closing | `close`: resources in dependency order, threads exit | `forceClose`, bounded by `forceMs` |
 *
 * `troupe.shutdown.force` (a second signal) ends the phase under way as its
 * deadline would (in `delaying`: the delay), and from then on `draining`
 * and `closing` go straight to their forced paths.
 *
 * The gate (actor `gate`, default: open at once) lets an outside party
 * step several coordinators in unison: a cluster-wide shutdown resolves
 * each node's gate once every node finished the phase.
 *
 * Tags: `ready` while `running`; `admits` (new work accepted) while
 * `running` and during the readiness delay; `shuttingDown` from SIGNALING
 * until stopped.
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
    events: {} as ShutdownModelEvent,
    input: {} as ShutdownDeadlines,
    output: {} as ShutdownOutput,
  },
  actors: {
    signal: fromPromise<void, ShutdownPhaseInput>(async () => {}),
    drain: fromPromise<void, ShutdownPhaseInput>(async () => {}),
    forceDrain: fromPromise<void, ShutdownPhaseInput>(async () => {}),
    close: fromPromise<void, ShutdownPhaseInput>(async () => {}),
    forceClose: fromPromise<void, ShutdownPhaseInput>(async () => {}),
    /** Awaited before a phase is left, once its own work is done. */
    gate: fromPromise<void, ShutdownGateInput>(async () => {}),
  },
  actions: {
    /** Announces a phase before its work starts (the runtime emits `shutdown:phase`). */
    phaseEntered: (_, _params: { phase: ShutdownPhase }) => {},
    /** The readiness delay is over (or there is none): new work is refused from now on. Idempotent. */
    admissionClosed: () => {},
    recordReason: assign(({ event }) =>
      event.type === 'troupe.shutdown.begin' || event.type === 'troupe.shutdown.force'
        ? { reason: event.reason }
        : {},
    ),
    recordForce: assign({ forceRequested: true }),
    recordPhaseError: assign(({ context, event }) => ({
      errors: [...context.errors, toErrorData((event as { error?: unknown }).error)],
    })),
    timedOut: assign(({ context }, params: { phase: TimedShutdownPhase }) => ({
      timedOut: { ...context.timedOut, [params.phase]: true },
    })),
    forceDeadlineExpired: assign(
      ({ context }, params: { phase: TimedShutdownPhase; what: 'forced path' | 'gate' }) => ({
        errors: [
          ...context.errors,
          troupeErrorData(
            ErrorCodes.SHUTDOWN_TIMEOUT,
            `the ${params.what} of ${params.phase} did not finish within forceMs (${context.deadlines.forceMs} ms)`,
            { context: { phase: params.phase, forceMs: context.deadlines.forceMs } },
          ),
        ],
      }),
    ),
  },
  guards: {
    /** The phase's deadline already passed (its forced path ran): the gate gets `forceMs`. */
    phaseTimedOut: ({ context }, params: { phase: TimedShutdownPhase }) =>
      context.timedOut[params.phase],
    /** A force was asked for: the phase takes its forced path at once. */
    forceRequested: ({ context }) => context.forceRequested,
    /** No readiness delay to wait, or a force cut it. */
    noReadinessDelay: ({ context }) =>
      context.forceRequested || (context.deadlines.readinessDelayMs ?? 0) <= 0,
  },
  delays: {
    readinessDelay: ({ context }) => context.deadlines.readinessDelayMs ?? 0,
    // The readiness delay is part of SIGNALING; the deadline counts from its
    // end (a force that cut it re-entered SIGNALING).
    signalingDeadline: ({ context }) =>
      (context.forceRequested ? 0 : (context.deadlines.readinessDelayMs ?? 0)) +
      context.deadlines.signalingMs,
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
    forceRequested: false,
    errors: [],
  }),
  initial: 'running',
  output: ({ context }) => ({
    reason: context.reason ?? 'shutdown',
    timedOut: context.timedOut,
    forceRequested: context.forceRequested,
    errors: context.errors,
  }),
  states: {
    running: {
      tags: ['ready', 'admits'],
      on: {
        // Without a readiness delay admission closes before SIGNALING is
        // announced: its listeners already see new work refused.
        // (SIGNALING is announced by these transitions, not by its entry: a
        // force re-enters it to restart its deadline, and is no new phase.)
        'troupe.shutdown.begin': [
          {
            guard: 'noReadinessDelay',
            target: 'signaling',
            actions: ['recordReason', 'admissionClosed', announceSignaling],
          },
          { target: 'signaling', actions: ['recordReason', announceSignaling] },
        ],
        'troupe.shutdown.force': {
          target: 'signaling',
          actions: ['recordReason', 'recordForce', 'admissionClosed', announceSignaling],
        },
      },
    },
    signaling: {
      tags: ['shuttingDown'],
      initial: 'delaying',
      states: {
        delaying: {
          tags: ['admits'],
          always: { guard: 'noReadinessDelay', target: 'working' },
          after: { readinessDelay: 'working' },
        },
        working: {
          entry: 'admissionClosed',
          invoke: {
            src: 'signal',
            input: reasonOf,
            onDone: 'gating',
            onError: { target: 'gating', actions: 'recordPhaseError' },
          },
        },
        gating: {
          invoke: {
            src: 'gate',
            input: gateOf('signaling'),
            onDone: '#shutdown.draining',
            onError: { target: '#shutdown.draining', actions: 'recordPhaseError' },
          },
        },
      },
      on: {
        'troupe.shutdown.force': [
          // The delay is cut: SIGNALING is re-entered, so its deadline counts from now.
          {
            guard: stateIn('#shutdown.signaling.delaying'),
            target: '.working',
            reenter: true,
            actions: 'recordForce',
          },
          {
            target: 'draining',
            actions: [{ type: 'timedOut', params: { phase: 'signaling' } }, 'recordForce'],
          },
        ],
      },
      after: {
        signalingDeadline: {
          target: 'draining',
          actions: { type: 'timedOut', params: { phase: 'signaling' } },
        },
      },
    },
    draining: {
      tags: ['shuttingDown'],
      entry: { type: 'phaseEntered', params: { phase: 'draining' } },
      initial: 'waiting',
      states: {
        waiting: {
          always: {
            guard: 'forceRequested',
            target: 'forcing',
            actions: { type: 'timedOut', params: { phase: 'draining' } },
          },
          invoke: {
            src: 'drain',
            input: reasonOf,
            onDone: 'gating',
            onError: { target: 'forcing', actions: 'recordPhaseError' },
          },
        },
        forcing: {
          invoke: {
            src: 'forceDrain',
            input: reasonOf,
            onDone: 'gating',
            onError: { target: 'gating', actions: 'recordPhaseError' },
          },
          after: {
            forceDeadline: {
              target: 'gating',
              actions: {
                type: 'forceDeadlineExpired',
                params: { phase: 'draining', what: 'forced path' },
              },
            },
          },
        },
        gating: {
          invoke: {
            src: 'gate',
            input: gateOf('draining'),
            onDone: '#shutdown.closing',
            onError: { target: '#shutdown.closing', actions: 'recordPhaseError' },
          },
          after: {
            forceDeadline: {
              guard: { type: 'phaseTimedOut', params: { phase: 'draining' } },
              target: '#shutdown.closing',
              actions: {
                type: 'forceDeadlineExpired',
                params: { phase: 'draining', what: 'gate' },
              },
            },
          },
        },
      },
      on: { 'troupe.shutdown.force': cutShort('draining', 'closing', true) },
      after: { drainingDeadline: cutShort('draining', 'closing', false) },
    },
    closing: {
      tags: ['shuttingDown'],
      entry: { type: 'phaseEntered', params: { phase: 'closing' } },
      initial: 'waiting',
      states: {
        waiting: {
          always: {
            guard: 'forceRequested',
            target: 'forcing',
            actions: { type: 'timedOut', params: { phase: 'closing' } },
          },
          invoke: {
            src: 'close',
            input: reasonOf,
            onDone: 'gating',
            onError: { target: 'forcing', actions: 'recordPhaseError' },
          },
        },
        forcing: {
          invoke: {
            src: 'forceClose',
            input: reasonOf,
            onDone: 'gating',
            onError: { target: 'gating', actions: 'recordPhaseError' },
          },
          after: {
            forceDeadline: {
              target: 'gating',
              actions: {
                type: 'forceDeadlineExpired',
                params: { phase: 'closing', what: 'forced path' },
              },
            },
          },
        },
        gating: {
          invoke: {
            src: 'gate',
            input: gateOf('closing'),
            onDone: '#shutdown.stopped',
            onError: { target: '#shutdown.stopped', actions: 'recordPhaseError' },
          },
          after: {
            forceDeadline: {
              guard: { type: 'phaseTimedOut', params: { phase: 'closing' } },
              target: '#shutdown.stopped',
              actions: { type: 'forceDeadlineExpired', params: { phase: 'closing', what: 'gate' } },
            },
          },
        },
      },
      on: { 'troupe.shutdown.force': cutShort('closing', 'stopped', true) },
      after: { closingDeadline: cutShort('closing', 'stopped', false) },
    },
    stopped: { type: 'final', entry: { type: 'phaseEntered', params: { phase: 'stopped' } } },
  },
});

/**
 * The internal events of {@link shutdownMachine} ({@link ShutdownInternalEvent}),
 * read from its definition: one `{ type }` per `onDone`, `onError` and
 * `after` it reacts to, for the `events` of a model.
 */
export const shutdownInternalEvents: readonly ShutdownInternalEvent[] = Object.freeze(
  internalEventsOf(shutdownMachine),
);

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
