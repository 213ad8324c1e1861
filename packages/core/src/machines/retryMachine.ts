import { and, assign, fromPromise, setup } from 'xstate';
import { fullJitterDelay, type BackoffOptions } from '../backoff.js';
import { toErrorData, type ErrorData } from '../errors/errorData.js';
import { randomSeed, seededDraw } from '../prng.js';
import {
  internalEventsOf,
  type ActorDoneEvent,
  type ActorErrorEvent,
  type AfterEvent,
} from './internalEvents.js';

/** Input of {@link retryMachine}. */
export interface RetryMachineInput {
  readonly id: string;
  /** Attempts in all, the first one included (so `retries + 1`). */
  readonly maxAttempts: number;
  readonly backoff: BackoffOptions;
  /** Seed of the jitter; fixed in tests to make delays reproducible. */
  readonly seed?: number;
}

/** Context of {@link retryMachine}. */
export interface RetryContext {
  readonly id: string;
  readonly maxAttempts: number;
  readonly backoff: BackoffOptions;
  readonly seed: number;
  /** Attempts started so far. */
  readonly attempt: number;
  /** The error of every failed attempt, in order. */
  readonly errors: readonly ErrorData[];
  /** The error objects themselves (for the caller; not serialized). */
  readonly lastError: unknown;
  readonly value: unknown;
  readonly cancelReason: unknown;
  readonly outcome: RetryOutcome | null;
}

/** Namespaced event names of {@link retryMachine}. */
export const RetryEventTypes = { cancel: 'troupe.retry.cancel' } as const;

/** Events {@link retryMachine} accepts. */
export type RetryEvent = { readonly type: 'troupe.retry.cancel'; readonly reason?: unknown };

/**
 * Events XState sends {@link retryMachine} on behalf of its actors and
 * delays: what a model of the machine needs besides {@link RetryEvent} to
 * take every `onDone`, `onError` and `after` transition
 * ({@link retryInternalEvents} lists them).
 */
export type RetryInternalEvent =
  | ActorDoneEvent<'0.retry.attempting'>
  | ActorErrorEvent<'0.retry.attempting'>
  | AfterEvent<'retryDelay', 'retry.waiting'>;

/** Every event {@link retryMachine} reacts to: its event type, and what a model sends. */
export type RetryModelEvent = RetryEvent | RetryInternalEvent;

/** How a retried operation ended. */
export type RetryOutcome = 'succeeded' | 'exhausted' | 'rejected' | 'cancelled';

/** Output of {@link retryMachine}. */
export interface RetryOutput {
  readonly outcome: RetryOutcome;
  /** Why it was cancelled (`cancelled` only). */
  readonly cancelReason: unknown;
  readonly attempts: number;
  readonly value: unknown;
  readonly lastError: unknown;
  readonly errors: readonly ErrorData[];
}

/**
 * The delay before attempt `attempt + 1` (attempts are 1-based): full-jitter
 * exponential backoff, drawn from the seeded sequence so it is reproducible.
 */
export function retryDelay(context: Pick<RetryContext, 'attempt' | 'backoff' | 'seed'>): number {
  return fullJitterDelay(Math.max(0, context.attempt - 1), context.backoff, () =>
    seededDraw(context.seed, context.attempt),
  );
}

/**
 * Retries an operation with exponential backoff and full jitter. Each
 * attempt is the invoked `attempt` actor; a failure is retried while
 * attempts remain and the `retryable` guard (provided by the runtime from
 * the error classification) allows it. The wait between attempts is an
 * `after` delay: it shows in the inspector and runs on a simulated clock.
 *
 * `succeeded`, `exhausted` (no attempts left), `rejected` (not retryable)
 * and `cancelled` are final.
 *
 * @example
 * ```ts
 * const actor = createActor(retryMachine.provide({
 *   actors: { attempt: fromPromise(() => fetchIdempotent()) },
 * }), { input: { id: 't1', maxAttempts: 4, backoff: { baseMs: 100, capMs: 2_000 } } });
 * ```
 */
export const retryMachine = setup({
  types: {
    context: {} as RetryContext,
    events: {} as RetryModelEvent,
    input: {} as RetryMachineInput,
    output: {} as RetryOutput,
  },
  actors: {
    attempt: fromPromise<unknown, { id: string; attempt: number }>(() =>
      Promise.resolve(undefined),
    ),
  },
  guards: {
    attemptsLeft: ({ context }) => context.attempt < context.maxAttempts,
    retryable: () => true,
  },
  actions: {
    startAttempt: assign(({ context }) => ({ attempt: context.attempt + 1 })),
    recordError: assign(({ context, event }) => {
      const error = (event as { error?: unknown }).error;
      return { errors: [...context.errors, toErrorData(error)], lastError: error };
    }),
    recordValue: assign(({ event }) => ({ value: (event as { output?: unknown }).output })),
    recordCancel: assign(({ event }) =>
      event.type === 'troupe.retry.cancel' ? { cancelReason: event.reason } : {},
    ),
  },
  delays: {
    retryDelay: ({ context }) => retryDelay(context),
  },
}).createMachine({
  id: 'retry',
  context: ({ input }) => ({
    id: input.id,
    // At least one attempt, a whole number of them.
    maxAttempts: Number.isFinite(input.maxAttempts)
      ? Math.max(1, Math.floor(input.maxAttempts))
      : 1,
    backoff: input.backoff,
    seed: input.seed ?? randomSeed(),
    attempt: 0,
    errors: [],
    lastError: undefined,
    value: undefined,
    cancelReason: undefined,
    outcome: null,
  }),
  initial: 'attempting',
  output: ({ context }) => ({
    outcome: context.outcome ?? 'cancelled',
    cancelReason: context.cancelReason,
    attempts: context.attempt,
    value: context.value,
    lastError: context.lastError,
    errors: context.errors,
  }),
  states: {
    attempting: {
      entry: 'startAttempt',
      invoke: {
        src: 'attempt',
        input: ({ context }) => ({ id: context.id, attempt: context.attempt }),
        onDone: { target: 'succeeded', actions: 'recordValue' },
        onError: [
          {
            guard: and(['attemptsLeft', 'retryable']),
            target: 'waiting',
            actions: 'recordError',
          },
          { guard: 'retryable', target: 'exhausted', actions: 'recordError' },
          { target: 'rejected', actions: 'recordError' },
        ],
      },
      on: { 'troupe.retry.cancel': { target: 'cancelled', actions: 'recordCancel' } },
    },
    waiting: {
      after: { retryDelay: 'attempting' },
      on: { 'troupe.retry.cancel': { target: 'cancelled', actions: 'recordCancel' } },
    },
    succeeded: { type: 'final', entry: assign({ outcome: 'succeeded' as const }) },
    exhausted: { type: 'final', entry: assign({ outcome: 'exhausted' as const }) },
    rejected: { type: 'final', entry: assign({ outcome: 'rejected' as const }) },
    cancelled: { type: 'final', entry: assign({ outcome: 'cancelled' as const }) },
  },
});

/**
 * The internal events of {@link retryMachine} ({@link RetryInternalEvent}),
 * read from its definition: one `{ type }` per `onDone`, `onError` and
 * `after` it reacts to, for the `events` of a model.
 */
export const retryInternalEvents: readonly RetryInternalEvent[] = Object.freeze(
  internalEventsOf(retryMachine),
);
