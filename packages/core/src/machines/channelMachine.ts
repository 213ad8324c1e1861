import { assign, fromPromise, setup } from 'xstate';
import type { ErrorData } from '../errors/errorData.js';
import {
  internalEventsOf,
  type ActorDoneEvent,
  type ActorErrorEvent,
  type AfterEvent,
} from './internalEvents.js';

/** Input of {@link channelMachine}. */
export interface ChannelMachineInput {
  readonly id: string;
  readonly closeTimeoutMs: number;
}

/** Context of {@link channelMachine}. */
export interface ChannelContext extends ChannelMachineInput {
  /** Why the channel closed when the peer went away. */
  readonly reason: ErrorData | null;
  /** Pending calls were abandoned at the close deadline. */
  readonly forced: boolean;
}

/** Namespaced event names of {@link channelMachine}. */
export const ChannelEventTypes = {
  close: 'troupe.channel.close',
  peerGone: 'troupe.channel.peerGone',
} as const;

/** Events {@link channelMachine} accepts. */
export type ChannelEvent =
  | { readonly type: 'troupe.channel.close' }
  /** The port closed or the peer thread exited. */
  | { readonly type: 'troupe.channel.peerGone'; readonly reason: ErrorData };

/**
 * Events XState sends {@link channelMachine} on behalf of its actors and
 * delays: what a model of the machine needs besides {@link ChannelEvent} to
 * take every `onDone`, `onError` and `after` transition
 * ({@link channelInternalEvents} lists them).
 */
export type ChannelInternalEvent =
  | ActorDoneEvent<'0.channel.closing'>
  | ActorErrorEvent<'0.channel.closing'>
  | AfterEvent<'closeTimeout', 'channel.closing'>;

/** Every event {@link channelMachine} reacts to: its event type, and what a model sends. */
export type ChannelModelEvent = ChannelEvent | ChannelInternalEvent;

/** The flat state names of {@link channelMachine}. */
export type ChannelState = 'open' | 'closing' | 'closed';

/**
 * The lifecycle of a message channel: `open → closing → closed`. While
 * closing, calls already sent may still get their replies (`flushCalls`,
 * bounded by `closeTimeoutMs`); new calls are refused. When the peer goes
 * away every pending call is rejected (`releasePort`, run on entering
 * `closed`).
 *
 * @example
 * ```ts
 * const actor = createActor(channelMachine, { input: { id: 'c1', closeTimeoutMs: 1_000 } });
 * actor.start();
 * actor.send({ type: 'troupe.channel.close' });
 * ```
 */
export const channelMachine = setup({
  types: {
    context: {} as ChannelContext,
    events: {} as ChannelModelEvent,
    input: {} as ChannelMachineInput,
  },
  actors: {
    flushCalls: fromPromise<void, { id: string }>(async () => {}),
  },
  actions: {
    releasePort: () => {},
    recordPeerGone: assign(({ event }) =>
      event.type === 'troupe.channel.peerGone' ? { reason: event.reason } : {},
    ),
    markForced: assign({ forced: true }),
  },
  delays: {
    closeTimeout: ({ context }) => context.closeTimeoutMs,
  },
}).createMachine({
  id: 'channel',
  context: ({ input }) => ({ ...input, reason: null, forced: false }),
  initial: 'open',
  states: {
    open: {
      on: {
        'troupe.channel.close': 'closing',
        'troupe.channel.peerGone': { target: 'closed', actions: 'recordPeerGone' },
      },
    },
    closing: {
      invoke: {
        src: 'flushCalls',
        input: ({ context }) => ({ id: context.id }),
        onDone: 'closed',
        onError: 'closed',
      },
      after: { closeTimeout: { target: 'closed', actions: 'markForced' } },
      on: {
        'troupe.channel.peerGone': { target: 'closed', actions: 'recordPeerGone' },
      },
    },
    closed: {
      type: 'final',
      entry: 'releasePort',
    },
  },
});

/**
 * The internal events of {@link channelMachine} ({@link ChannelInternalEvent}),
 * read from its definition: one `{ type }` per `onDone`, `onError` and
 * `after` it reacts to, for the `events` of a model.
 */
export const channelInternalEvents: readonly ChannelInternalEvent[] = Object.freeze(
  internalEventsOf(channelMachine),
);
