import type { AnyStateMachine, AnyStateNode, EventFromLogic } from 'xstate';

/**
 * `xstate.done.actor.<invokeId>`: an actor a state invoked resolved. An
 * invoke without an `id` gets `<index>.<stateNodeId>` from XState, so the
 * `startPool` of `runner.starting.pool.loading` is
 * `0.runner.starting.pool.loading`.
 */
export interface ActorDoneEvent<TInvokeId extends string = string> {
  readonly type: `xstate.done.actor.${TInvokeId}`;
  /** What the actor resolved with (`event.output` in the machine). */
  readonly output?: unknown;
  readonly actorId?: string;
}

/** `xstate.error.actor.<invokeId>`: an actor a state invoked threw or rejected. */
export interface ActorErrorEvent<TInvokeId extends string = string> {
  readonly type: `xstate.error.actor.${TInvokeId}`;
  /** What it threw (`event.error` in the machine). */
  readonly error?: unknown;
  readonly actorId?: string;
}

/** `xstate.after.<delay>.<stateNodeId>`: a named delay of a state (`after`) elapsed. */
export interface AfterEvent<TDelay extends string = string, TStateNodeId extends string = string> {
  readonly type: `xstate.after.${TDelay}.${TStateNodeId}`;
}

/**
 * The events XState itself sends a machine on behalf of its environment: an
 * invoked actor settled, a delay elapsed. A model of the machine needs them
 * to take its `onDone`, `onError` and `after` transitions.
 */
export type InternalEvent = ActorDoneEvent | ActorErrorEvent | AfterEvent;

/**
 * The internal events `TMachine` declares in its event type (the machines
 * of `@troupe/core` do: `RunnerModelEvent` is `runnerMachine`'s), else any
 * {@link InternalEvent} (also for `AnyStateMachine`).
 */
export type InternalEventsOf<TMachine extends AnyStateMachine> = 0 extends 1 &
  EventFromLogic<TMachine>
  ? InternalEvent
  : [Extract<EventFromLogic<TMachine>, InternalEvent>] extends [never]
    ? InternalEvent
    : Extract<EventFromLogic<TMachine>, InternalEvent>;

function stateNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states as Record<string, AnyStateNode>).flatMap(stateNodes)];
}

/**
 * The internal events `machine` reacts to, read from its definition in
 * document order: for each state node, `xstate.done.actor.<id>` and
 * `xstate.error.actor.<id>` of every invoke that has `onDone` / `onError`,
 * then `xstate.after.<delay>.<stateNodeId>` of every `after` delay. Events
 * the machine raises for itself (`xstate.done.state.*`, `xstate.init`) are
 * not included: nothing outside the machine stands for them.
 *
 * Each entry is a plain `{ type }`, usable as it is in the `events` option
 * of `getShortestPaths` / `getSimplePaths` from `xstate/graph`, or sent to a
 * real actor whose invoked actors never settle by themselves.
 *
 * @example
 * ```ts
 * internalEventsOf(channelMachine);
 * // [{ type: 'xstate.done.actor.0.channel.closing' },
 * //  { type: 'xstate.error.actor.0.channel.closing' },
 * //  { type: 'xstate.after.closeTimeout.channel.closing' }]
 * ```
 */
export function internalEventsOf<TMachine extends AnyStateMachine>(
  machine: TMachine,
): InternalEventsOf<TMachine>[] {
  const types: string[] = [];
  for (const node of stateNodes(machine.root)) {
    const reacts = node.transitions as ReadonlyMap<string, unknown>;
    for (const invoke of node.invoke as readonly { id: string }[]) {
      for (const type of [`xstate.done.actor.${invoke.id}`, `xstate.error.actor.${invoke.id}`]) {
        if (reacts.has(type)) types.push(type);
      }
    }
    for (const delayed of node.after as readonly { eventType: string }[]) {
      if (!types.includes(delayed.eventType)) types.push(delayed.eventType);
    }
  }
  return types.map((type) => Object.freeze({ type }) as InternalEventsOf<TMachine>);
}
