/**
 * Bounds how many runners load their pools at once. Every thread start
 * competes for the same cores: two hundred runners starting together on two
 * cores each miss a startup deadline that one of them alone would meet. A
 * runner waits for a slot before its startup deadline starts counting
 * (the runner statechart's `starting.pool.queued`).
 */
export class StartGate {
  readonly #limit: number;
  readonly #waiting: (() => void)[] = [];
  #held = 0;

  constructor(limit: number) {
    this.#limit = Number.isFinite(limit) ? Math.max(1, Math.floor(limit)) : 1;
  }

  /** Slots in use. */
  get held(): number {
    return this.#held;
  }

  /** Runners waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Calls `granted` once a slot is free (maybe at once). The returned
   * function gives the slot back, or withdraws the request if it was not
   * granted yet; calling it again does nothing.
   */
  acquire(granted: () => void): () => void {
    let state: 'waiting' | 'held' | 'done' = 'waiting';
    const grant = (): void => {
      state = 'held';
      this.#held += 1;
      granted();
    };
    if (this.#held < this.#limit) grant();
    else this.#waiting.push(grant);
    return () => {
      if (state === 'done') return;
      if (state === 'waiting') {
        const at = this.#waiting.indexOf(grant);
        if (at >= 0) this.#waiting.splice(at, 1);
      } else {
        this.#held -= 1;
        this.#waiting.shift()?.();
      }
      state = 'done';
    };
  }
}
