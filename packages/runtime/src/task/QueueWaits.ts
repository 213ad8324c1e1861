/** How long tasks waited for a thread over a window, in ms. */
export interface QueueWaitWindow {
  /** Tasks that reached a thread in the window (those that never waited included). */
  readonly count: number;
  readonly p90: number;
  readonly max: number;
}

const SIZE = 512;

/**
 * The queue waits of a runner's tasks since the last {@link take}: a task
 * dispatched at once costs an increment, one that waited a slot of a
 * bounded ring (the latest {@link SIZE} waits of the window are kept).
 */
export class QueueWaits {
  readonly #ring = new Float64Array(SIZE);
  /** Waits recorded in the window (may exceed the ring). */
  #waited = 0;
  /** Tasks of the window that never waited. */
  #direct = 0;
  #max = 0;

  /** A task went to a thread without waiting. */
  direct(): void {
    this.#direct += 1;
  }

  /** A task went to a thread after waiting `ms` in the queue. */
  waited(ms: number): void {
    this.#ring[this.#waited % SIZE] = ms;
    this.#waited += 1;
    if (ms > this.#max) this.#max = ms;
  }

  /** The window's figures; the next window starts now. */
  take(): QueueWaitWindow {
    const waited = this.#waited;
    const direct = this.#direct;
    const max = this.#max;
    this.#waited = 0;
    this.#direct = 0;
    this.#max = 0;
    const count = waited + direct;
    if (waited === 0) return { count, p90: 0, max: 0 };
    const kept = Math.min(waited, SIZE);
    const values = Array.from(this.#ring.subarray(0, kept)).sort((a, b) => a - b);
    // The tasks that never waited, scaled to the waits kept.
    const zeros = waited > SIZE ? Math.round((direct * kept) / waited) : direct;
    const index = Math.max(0, Math.ceil(0.9 * (zeros + kept)) - 1);
    const p90 = index < zeros ? 0 : (values[index - zeros] ?? max);
    return { count, p90, max };
  }
}
