import type { AnyActorRef, InspectionEvent, Observer, Subscription } from 'xstate';
import type { InspectOption } from './InspectOption.js';
import { safeObserver } from './safeObserver.js';

/** Events a late observer's queue may hold before it is resynchronised instead. */
const QUEUE_LIMIT = 50_000;

/** The event a replayed snapshot carries (it was not caused by an event now). */
export const REPLAY_EVENT = { type: 'troupe.inspect.replay' } as const;

interface Subscriber {
  readonly observer: Observer<InspectionEvent>;
  queue: InspectionEvent[];
  /** The queue overflowed: the next delivery replays the current state instead. */
  resync: boolean;
  scheduled: boolean;
  closed: boolean;
}

/**
 * The live inspection state of a troupe: every root actor it created and
 * is still live, and the observers that watch them. Costs nothing while no
 * one watches (actors are created without an inspection observer; XState
 * returns early when a system has none). A subscriber first gets, for each
 * live actor (children included), an `@xstate.actor` event and its current
 * `@xstate.snapshot`, then the live stream. Its events are queued and
 * delivered on the next turn, so a slow or throwing observer never slows
 * or breaks an actor; a queue past its bound is dropped and replaced by a
 * fresh replay of the current state. Memory is bounded by the live actors.
 */
export class InspectionHub {
  readonly #roots = new Set<AnyActorRef>();
  readonly #attached = new Map<AnyActorRef, Subscription>();
  readonly #subscribers = new Set<Subscriber>();
  readonly #onError: (error: unknown) => void;
  #pruneAt = 64;

  /** An observer in the stream from the start: called in the actors' own steps, as XState does. */
  readonly #initial: Observer<InspectionEvent> | undefined;

  constructor(options: { initial?: InspectOption | undefined; onError: (error: unknown) => void }) {
    this.#onError = options.onError;
    this.#initial =
      options.initial === undefined ? undefined : safeObserver(options.initial, options.onError);
  }

  /** Live root actors (tests, bounds). */
  get size(): number {
    return this.#roots.size;
  }

  /** Whether anyone watches (a subscriber, or the observer from the start). */
  get watched(): boolean {
    return this.#initial !== undefined || this.#subscribers.size > 0;
  }

  /**
   * A root actor was just created (not started yet): tracked while live,
   * and watched from now on if anyone watches.
   */
  track(actor: AnyActorRef): void {
    this.#roots.add(actor);
    if (this.#roots.size >= this.#pruneAt) this.#prune();
    if (!this.watched) return;
    this.#attach(actor);
    // Its own `@xstate.actor` was sent in its constructor, before anyone listened.
    this.#fanOut({ type: '@xstate.actor', actorRef: actor, rootId: actor.sessionId });
  }

  /** Subscribes `observer`: the current state first, then the live stream. */
  subscribe(observer: InspectOption): () => void {
    const subscriber: Subscriber = {
      observer: safeObserver(observer, this.#onError),
      queue: [],
      resync: false,
      scheduled: false,
      closed: false,
    };
    const first = !this.watched;
    subscriber.queue = this.#replay();
    this.#subscribers.add(subscriber);
    if (first) for (const root of this.#live()) this.#attach(root);
    this.#schedule(subscriber);
    return () => {
      subscriber.closed = true;
      subscriber.queue = [];
      this.#subscribers.delete(subscriber);
      if (!this.watched) this.#detachAll();
    };
  }

  /** Stops every subscription (the troupe stopped). */
  close(): void {
    for (const subscriber of this.#subscribers) {
      subscriber.closed = true;
      subscriber.queue = [];
    }
    this.#subscribers.clear();
    this.#detachAll();
    this.#roots.clear();
  }

  /** The current state as inspection events: each live actor, then its snapshot. */
  #replay(): InspectionEvent[] {
    const events: InspectionEvent[] = [];
    const visit = (actor: AnyActorRef, rootId: string): void => {
      events.push({ type: '@xstate.actor', actorRef: actor, rootId });
      events.push({
        type: '@xstate.snapshot',
        actorRef: actor,
        rootId,
        snapshot: actor.getSnapshot() as never,
        event: REPLAY_EVENT,
      });
      const children = (actor.getSnapshot() as { children?: Record<string, AnyActorRef> }).children;
      if (children === undefined) return;
      for (const child of Object.values(children)) {
        if ((child.getSnapshot() as { status?: string }).status === 'active') visit(child, rootId);
      }
    };
    for (const root of this.#live()) visit(root, root.sessionId);
    return events;
  }

  /** Roots still live (done, stopped and failed ones are dropped on the way). */
  #live(): AnyActorRef[] {
    this.#prune();
    return [...this.#roots];
  }

  #prune(): void {
    for (const root of this.#roots) {
      if ((root.getSnapshot() as { status?: string }).status === 'active') continue;
      this.#roots.delete(root);
      this.#attached.get(root)?.unsubscribe();
      this.#attached.delete(root);
    }
    this.#pruneAt = Math.max(64, this.#roots.size * 2);
  }

  #attach(root: AnyActorRef): void {
    if (this.#attached.has(root)) return;
    this.#attached.set(
      root,
      root.system.inspect((event: InspectionEvent) => {
        this.#fanOut(event);
      }),
    );
  }

  #detachAll(): void {
    for (const subscription of this.#attached.values()) subscription.unsubscribe();
    this.#attached.clear();
  }

  #fanOut(event: InspectionEvent): void {
    this.#initial?.next?.(event);
    for (const subscriber of this.#subscribers) {
      if (subscriber.resync) continue;
      if (subscriber.queue.length >= QUEUE_LIMIT) {
        // Too slow to keep up: what it missed is replaced by the state now.
        subscriber.queue = [];
        subscriber.resync = true;
      } else {
        subscriber.queue.push(event);
      }
      this.#schedule(subscriber);
    }
  }

  #schedule(subscriber: Subscriber): void {
    if (subscriber.scheduled || subscriber.closed) return;
    subscriber.scheduled = true;
    setImmediate(() => {
      subscriber.scheduled = false;
      if (subscriber.closed) return;
      if (subscriber.resync) {
        subscriber.resync = false;
        subscriber.queue = this.#replay();
      }
      const batch = subscriber.queue;
      subscriber.queue = [];
      for (const event of batch) {
        // The observer may unsubscribe itself while the batch is delivered.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        if (subscriber.closed) return;
        subscriber.observer.next?.(event);
      }
    });
  }
}
