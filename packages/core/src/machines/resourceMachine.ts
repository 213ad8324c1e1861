import { assign, fromPromise, setup } from 'xstate';
import { toErrorData, type ErrorData } from '../errors/errorData.js';

/** Input of {@link resourceMachine}. */
export interface ResourceMachineInput {
  readonly id: string;
  readonly closeTimeoutMs: number;
}

/** Context of {@link resourceMachine}. */
export interface ResourceContext extends ResourceMachineInput {
  readonly error: ErrorData | null;
  readonly outcome: ResourceOutcome | null;
}

/** Namespaced event names of {@link resourceMachine}. */
export const ResourceEventTypes = {
  open: 'troupe.resource.open',
  close: 'troupe.resource.close',
} as const;

/** Events {@link resourceMachine} accepts. */
export type ResourceEvent =
  { readonly type: 'troupe.resource.open' } | { readonly type: 'troupe.resource.close' };

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
 * was abandoned). The `closeResource` actor is provided by the runtime.
 *
 * @example
 * ```ts
 * const actor = createActor(resourceMachine.provide({
 *   actors: { closeResource: fromPromise(() => db.end()) },
 * }), { input: { id: 'db', closeTimeoutMs: 2_000 } });
 * ```
 */
export const resourceMachine = setup({
  types: {
    context: {} as ResourceContext,
    events: {} as ResourceEvent,
    input: {} as ResourceMachineInput,
    output: {} as ResourceOutput,
  },
  actors: {
    closeResource: fromPromise<void, { id: string }>(async () => {}),
  },
  actions: {
    recordError: assign(({ context, event }) => {
      const cause = 'error' in event ? event.error : 'close failed';
      const data = toErrorData(cause);
      return {
        error: {
          _tag: 'TroupeError',
          name: 'ResourceCloseError',
          code: 'ERR_RESOURCE_CLOSE_FAILED',
          message: `resource "${context.id}" failed to close: ${data.message}`,
          context: { resourceId: context.id },
          cause: data,
        } satisfies ErrorData,
      };
    }),
    recordTimeout: assign(({ context }) => ({
      error: {
        _tag: 'TroupeError',
        name: 'ResourceCloseTimeoutError',
        code: 'ERR_RESOURCE_CLOSE_TIMEOUT',
        message: `resource "${context.id}" did not close within ${context.closeTimeoutMs} ms`,
        context: { resourceId: context.id, closeTimeoutMs: context.closeTimeoutMs },
      } satisfies ErrorData,
    })),
  },
  delays: {
    closeTimeout: ({ context }) => context.closeTimeoutMs,
  },
}).createMachine({
  id: 'resource',
  context: ({ input }) => ({ ...input, error: null, outcome: null }),
  initial: 'registered',
  output: ({ context }) => ({
    id: context.id,
    outcome: context.outcome ?? 'closed',
    error: context.error,
  }),
  states: {
    registered: {
      on: {
        'troupe.resource.open': 'open',
        'troupe.resource.close': 'closing',
      },
    },
    open: {
      on: { 'troupe.resource.close': 'closing' },
    },
    closing: {
      invoke: {
        src: 'closeResource',
        input: ({ context }) => ({ id: context.id }),
        onDone: 'closed',
        onError: { target: 'failed', actions: 'recordError' },
      },
      after: { closeTimeout: { target: 'forced', actions: 'recordTimeout' } },
    },
    closed: { type: 'final', entry: assign({ outcome: 'closed' as const }) },
    failed: { type: 'final', entry: assign({ outcome: 'failed' as const }) },
    forced: { type: 'final', entry: assign({ outcome: 'forced' as const }) },
  },
});
