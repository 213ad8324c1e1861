import type { AnyActorRef, Observer, SnapshotFrom, Subscription } from 'xstate';

/**
 * A read-only view of one of Troupe's statechart actors: its id, its
 * current snapshot and a subscription to the next ones. Nothing can be sent
 * to it and it cannot be stopped from outside: the runtime alone drives its
 * actors, so every promise it hands out can settle.
 *
 * @example
 * ```ts
 * const sub = runner.actor.subscribe((snapshot) => console.log(snapshot.value));
 * runner.actor.getSnapshot().hasTag('accepting');
 * sub.unsubscribe();
 * ```
 */
export interface ActorView<TSnapshot> {
  /** The actor's id as the inspector shows it, e.g. `runner:llm-0`. */
  readonly id: string;
  getSnapshot(): TSnapshot;
  /** Every later snapshot; `complete` once the actor is done (or was stopped). */
  subscribe(observer: ((snapshot: TSnapshot) => void) | Partial<Observer<TSnapshot>>): Subscription;
}

class View<TActor extends AnyActorRef> implements ActorView<SnapshotFrom<TActor>> {
  readonly #actor: TActor;
  readonly id: string;

  constructor(actor: TActor) {
    this.#actor = actor;
    this.id = actor.id;
  }

  getSnapshot(): SnapshotFrom<TActor> {
    return this.#actor.getSnapshot() as SnapshotFrom<TActor>;
  }

  subscribe(
    observer: ((snapshot: SnapshotFrom<TActor>) => void) | Partial<Observer<SnapshotFrom<TActor>>>,
  ): Subscription {
    return typeof observer === 'function'
      ? this.#actor.subscribe(observer)
      : this.#actor.subscribe(observer as Observer<SnapshotFrom<TActor>>);
  }
}

/** A read-only view of `actor`. */
export function actorView<TActor extends AnyActorRef>(
  actor: TActor,
): ActorView<SnapshotFrom<TActor>> {
  return new View(actor);
}
