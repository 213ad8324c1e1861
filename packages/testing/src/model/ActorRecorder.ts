import type { AnyActorRef, EventObject, InspectionEvent } from 'xstate';
import type { ModelAction } from './modelPaths.js';
import type { ObservedActor, ObservedStep } from './runModelPath.js';

interface Recording {
  readonly ref: AnyActorRef;
  readonly steps: ObservedStep[];
  actions: ModelAction[];
  readonly listeners: Set<(step: ObservedStep) => void>;
}

/**
 * Records, through XState inspection, every event the actors of a system
 * processed, the value each one led to and the named actions it ran, from
 * the moment each actor was created. Pass {@link inspect} as the troupe's
 * (or channel's) `inspect` option before the actor exists; {@link actor}
 * then hands a model path the actor's whole life, its initial state
 * included, even if the actor left it before anyone could subscribe.
 *
 * @example
 * ```ts
 * const recorder = new ActorRecorder();
 * const troupe = createTroupe({ inspect: recorder.inspect });
 * const observed = recorder.actor('supervisor');
 * ```
 */
export class ActorRecorder {
  readonly #byId = new Map<string, Recording>();
  readonly #byRef = new Map<AnyActorRef, Recording>();
  readonly #watchers = new Map<string, Set<(step: ObservedStep) => void>>();

  /** The inspection observer: give it to the system before its actors are created. */
  readonly inspect = (event: InspectionEvent): void => {
    // Inspection types actorRef loosely (ActorRefLike); it is a full actor.
    const ref = event.actorRef as AnyActorRef;
    switch (event.type) {
      case '@xstate.actor': {
        const id = ref.id;
        // An id seen again is a new actor (a runner id reused, an invocation re-entered).
        const recording: Recording = {
          ref,
          steps: [],
          actions: [],
          listeners: this.#watchers.get(id) ?? new Set(),
        };
        this.#byId.set(id, recording);
        this.#byRef.set(ref, recording);
        break;
      }
      case '@xstate.action': {
        const recording = this.#byRef.get(ref);
        if (recording === undefined || event.action.type.startsWith('xstate.')) return;
        recording.actions.push(
          event.action.params === undefined
            ? { type: event.action.type }
            : { type: event.action.type, params: event.action.params },
        );
        break;
      }
      case '@xstate.snapshot': {
        const recording = this.#byRef.get(ref);
        if (recording === undefined) return;
        const snapshot = event.snapshot as { value?: unknown; status?: string };
        const step: ObservedStep = {
          event: event.event,
          value: snapshot.value,
          actions: recording.actions,
        };
        recording.actions = [];
        recording.steps.push(step);
        for (const listener of recording.listeners) listener(step);
        break;
      }
      case '@xstate.event':
      case '@xstate.microstep':
      case '@xstate.transition':
        break;
    }
  };

  /** Every event the actor `id` processed so far (empty before it exists). */
  events(id: string): readonly EventObject[] {
    return (this.#byId.get(id)?.steps ?? []).map((step) => step.event);
  }

  /** The live actor with this id, if it exists yet. */
  ref(id: string): AnyActorRef | undefined {
    return this.#byId.get(id)?.ref;
  }

  /**
   * The actor with this id as a model path observes it: its steps since it
   * was created, replayed, then live. The actor must exist already.
   */
  actor(id: string): ObservedActor {
    const recording = this.#byId.get(id);
    if (recording === undefined) throw new Error(`no actor "${id}" was created under inspection`);
    const { ref, steps, listeners } = recording;
    return {
      getSnapshot: () => ref.getSnapshot() as { value: unknown },
      subscribe: (observer) => ref.subscribe(observer as never),
      timeline: (observer) => {
        for (const step of steps) observer(step);
        listeners.add(observer);
        return {
          unsubscribe: () => {
            listeners.delete(observer);
          },
        };
      },
    };
  }

  /** Calls `listener` with every step of the actor `id` from now on (created later, too). */
  watch(id: string, listener: (step: ObservedStep) => void): () => void {
    const recording = this.#byId.get(id);
    const listeners = recording?.listeners ?? this.#watchers.get(id) ?? new Set();
    if (recording === undefined) this.#watchers.set(id, listeners);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }
}
