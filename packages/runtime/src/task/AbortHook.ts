/**
 * The smallest object piscina accepts as a task's `signal`: it reads
 * `aborted`/`reason` and calls `addEventListener('abort', fn)`. Cheaper than
 * an AbortController per task, and only Troupe decides when it fires (after
 * the cooperative abort had its grace period).
 */
export class AbortHook {
  aborted = false;
  reason: unknown = undefined;
  #listener: (() => void) | null = null;

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  removeEventListener(): void {
    this.#listener = null;
  }

  /** Aborts the piscina task: dequeued if waiting, its thread terminated if running. */
  fire(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listener = this.#listener;
    this.#listener = null;
    listener?.();
  }
}
