import { assign, cancel, raise, setup } from 'xstate';
import { ErrorCodes } from '../errors/codes.js';
import { toErrorData, troupeErrorData, type ErrorData } from '../errors/errorData.js';
import { internalEventsOf } from './internalEvents.js';

/** Input of {@link resourceMachine}. */
export interface ResourceMachineInput {
  readonly id: string;
  readonly closeTimeoutMs: number;
  /** The resource needs no opening: it starts `open`. Default false. */
  readonly openAtOnce?: boolean;
}

/** Context of {@link resourceMachine}. */
export interface ResourceContext extends Required<ResourceMachineInput> {
  readonly error: ErrorData | null;
  readonly outcome: ResourceOutcome | null;
}

/** Namespaced event names of {@link resourceMachine}. */
export const ResourceEventTypes = {
  open: 'troupe.resource.open',
  close: 'troupe.resource.close',
  closed: 'troupe.resource.closed',
  closeFailed: 'troupe.resource.closeFailed',
  closeTimeout: 'troupe.resource.closeTimeout',
} as const;

/** The id of the delayed `closeTimeout` event the default `armCloseDeadline` raises. */
const CLOSE_DEADLINE_ID = 'troupe.resource.closeDeadline';

/** Events {@link resourceMachine} accepts. */
export type ResourceEvent =
  | { readonly type: 'troupe.resource.open' }
  | { readonly type: 'troupe.resource.close' }
  /** The close started on entering `closing` resolved. */
  | { readonly type: 'troupe.resource.closed' }
  /** The close started on entering `closing` threw or rejected. */
  | { readonly type: 'troupe.resource.closeFailed'; readonly error: unknown }
  /** `closeTimeoutMs` passed since `closing` was entered (sent by `armCloseDeadline`). */
  | { readonly type: 'troupe.resource.closeTimeout' };

/**
 * {@link resourceMachine} invokes no actor and has no `after`, so XState sends
 * it no event of its own (its close deadline is `troupe.resource.closeTimeout`,
 * a {@link ResourceEvent}). Declared for symmetry with the other machines.
 */
export type ResourceInternalEvent = never;

/**
 * Every event {@link resourceMachine} reacts to: its event type, and what a model
 * sends. Its {@link ResourceEvent}s only, as it has no internal events.
 */
export type ResourceModelEvent = ResourceEvent;

/** How a resource ended. */
export type ResourceOutcome = 'closed' | 'failed' | 'forced';

/** Output of {@link resourceMachine}. */
export interface ResourceOutput {
  readonly id: string;
  readonly outcome: ResourceOutcome;
  readonly error: ErrorData | null;
}

/** The flat state names of {@link resourceMachine}. */
export type ResourceState = 'registered' | 'open' | 'closing' | ResourceOutcome;

/**
 * The lifecycle of one resource: `registered → open → closing → closed`,
 * or `failed` (close threw) or `forced` (close missed `closeTimeoutMs` and
 * was abandoned). Entering `closing` runs two named actions:
 *
 * - `startClose` calls the resource's `close()` and sends back
 *   `troupe.resource.closed` or `troupe.resource.closeFailed` (the runtime
 *   provides it; the default reports `closed` at once);
 * - `armCloseDeadline` arranges for `troupe.resource.closeTimeout` to arrive
 *   after `closeTimeoutMs`, and `disarmCloseDeadline` (on leaving `closing`)
 *   withdraws it. The defaults are XState's delayed `raise` and `cancel`, so
 *   a standalone actor needs nothing more and runs under a simulated clock.
 *   The runtime provides its own pair that shares one timer among every
 *   resource closing at once: a delayed event per actor is the largest cost
 *   of closing ten thousand resources.
 *
 * (Entry actions and events, not an invoked promise actor per resource, for
 * the same reason.)
 *
 * @example
 * ```ts
 * const actor = createActor(resourceMachine.provide({
 *   actions: {
 *     startClose: ({ self }) => {
 *       db.end().then(
 *         () => self.send({ type: 'troupe.resource.closed' }),
 *         (error) => self.send({ type: 'troupe.resource.closeFailed', error }),
 *       );
 *     },
 *   },
 * }), { input: { id: 'db', closeTimeoutMs: 2_000, openAtOnce: true } });
 * ```
 */
export const resourceMachine = setup({
  types: {
    context: {} as ResourceContext,
    events: {} as ResourceEvent,
    input: {} as ResourceMachineInput,
    output: {} as ResourceOutput,
  },
  actions: {
    startClose: ({ self }) => {
      self.send({ type: 'troupe.resource.closed' });
    },
    armCloseDeadline: raise(
      { type: 'troupe.resource.closeTimeout' },
      { id: CLOSE_DEADLINE_ID, delay: ({ context }) => context.closeTimeoutMs },
    ),
    disarmCloseDeadline: cancel(CLOSE_DEADLINE_ID),
    recordError: assign(({ context, event }) => {
      const cause = toErrorData(
        event.type === 'troupe.resource.closeFailed' ? event.error : 'close failed',
      );
      return {
        error: troupeErrorData(
          ErrorCodes.RESOURCE_CLOSE_FAILED,
          `resource "${context.id}" failed to close: ${cause.message}`,
          { context: { resourceId: context.id }, cause },
        ),
      };
    }),
    recordTimeout: assign(({ context }) => ({
      error: troupeErrorData(
        ErrorCodes.RESOURCE_CLOSE_TIMEOUT,
        `resource "${context.id}" did not close within ${context.closeTimeoutMs} ms`,
        { context: { resourceId: context.id, closeTimeoutMs: context.closeTimeoutMs } },
      ),
    })),
  },
  guards: {
    openAtOnce: ({ context }) => context.openAtOnce,
  },
}).createMachine({
  id: 'resource',
  context: ({ input }) => ({
    id: input.id,
    closeTimeoutMs: input.closeTimeoutMs,
    openAtOnce: input.openAtOnce ?? false,
    error: null,
    outcome: null,
  }),
  initial: 'registered',
  output: ({ context }) => ({
    id: context.id,
    outcome: context.outcome ?? 'closed',
    error: context.error,
  }),
  states: {
    registered: {
      always: { guard: 'openAtOnce', target: 'open' },
      on: {
        'troupe.resource.open': 'open',
        'troupe.resource.close': 'closing',
      },
    },
    open: {
      on: { 'troupe.resource.close': 'closing' },
    },
    closing: {
      entry: ['armCloseDeadline', 'startClose'],
      exit: 'disarmCloseDeadline',
      on: {
        'troupe.resource.closed': 'closed',
        'troupe.resource.closeFailed': { target: 'failed', actions: 'recordError' },
        'troupe.resource.closeTimeout': { target: 'forced', actions: 'recordTimeout' },
      },
    },
    closed: { type: 'final', entry: assign({ outcome: 'closed' as const }) },
    failed: { type: 'final', entry: assign({ outcome: 'failed' as const }) },
    forced: { type: 'final', entry: assign({ outcome: 'forced' as const }) },
  },
});

/**
 * The internal events of {@link resourceMachine}, read from its definition:
 * none (see {@link ResourceInternalEvent}).
 */
export const resourceInternalEvents: readonly ResourceInternalEvent[] = Object.freeze(
  internalEventsOf(resourceMachine) as ResourceInternalEvent[],
);
