/** Listeners are kept by identity; their argument types do not matter here. */
type AnyListener = (...args: never[]) => unknown;

interface Entry {
  readonly listener: AnyListener;
  readonly once: boolean;
}

/**
 * The troupe's typed event emitter. Each listener runs on its own: one
 * that throws is handed to `onListenerError` and the others still run. A
 * listener added with `once` is removed before it runs, per event name (the
 * same function may be `once` on several events).
 */
export class TroupeEmitter<TEvents extends { [K in keyof TEvents]: unknown[] }> {
  readonly #listeners = new Map<keyof TEvents, Entry[]>();
  readonly #onListenerError: (error: unknown, event: keyof TEvents) => void;
  readonly #onChange: () => void;

  constructor(options: {
    onListenerError: (error: unknown, event: keyof TEvents) => void;
    /** The set of listeners changed (e.g. someone now listens to an event that costs). */
    onChange?: () => void;
  }) {
    this.#onListenerError = options.onListenerError;
    this.#onChange = options.onChange ?? (() => {});
  }

  on<E extends keyof TEvents>(event: E, listener: (...args: TEvents[E]) => void): void {
    this.#add(event, listener, false);
  }

  once<E extends keyof TEvents>(event: E, listener: (...args: TEvents[E]) => void): void {
    this.#add(event, listener, true);
  }

  /** Removes the listener from this event (one registration, the latest). */
  off<E extends keyof TEvents>(event: E, listener: (...args: TEvents[E]) => void): void {
    const entries = this.#listeners.get(event);
    if (entries === undefined) return;
    for (let i = entries.length - 1; i >= 0; i--) {
      if (entries[i]?.listener === (listener as unknown as AnyListener)) {
        entries.splice(i, 1);
        break;
      }
    }
    if (entries.length === 0) this.#listeners.delete(event);
    this.#onChange();
  }

  listenerCount(event: keyof TEvents): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  emit<E extends keyof TEvents>(event: E, ...args: TEvents[E]): void {
    const entries = this.#listeners.get(event);
    if (entries === undefined) return;
    let onceRemoved = false;
    for (const entry of [...entries]) {
      if (entry.once) {
        const at = entries.indexOf(entry);
        if (at < 0) continue;
        entries.splice(at, 1);
        onceRemoved = true;
      }
      try {
        (entry.listener as unknown as (...a: TEvents[E]) => void)(...args);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
    if (onceRemoved) {
      if (entries.length === 0) this.#listeners.delete(event);
      this.#onChange();
    }
  }

  #add(event: keyof TEvents, listener: AnyListener, once: boolean): void {
    const entries = this.#listeners.get(event);
    if (entries === undefined) this.#listeners.set(event, [{ listener, once }]);
    else entries.push({ listener, once });
    this.#onChange();
  }
}
