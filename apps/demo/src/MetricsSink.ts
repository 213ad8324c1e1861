import { sleep } from './sleep.js';

/**
 * A fake metrics exporter: buffers samples and "ships" them every second.
 * Its interval keeps the event loop alive until it is closed, so the demo
 * exits by itself only if shutdown really closed it.
 */
export class MetricsSink {
  readonly #buffer: string[] = [];
  #timer: NodeJS.Timeout | null;
  #shipped = 0;
  #closedAt: number | null = null;

  constructor(intervalMs = 1_000) {
    this.#timer = setInterval(() => {
      this.#ship();
    }, intervalMs);
  }

  /** Samples shipped so far. */
  get shipped(): number {
    return this.#shipped;
  }

  /** `performance.now()` when it closed, or null. */
  get closedAt(): number | null {
    return this.#closedAt;
  }

  record(sample: string): void {
    if (this.#timer === null) return;
    this.#buffer.push(sample);
  }

  /** Stops the interval and flushes what is buffered. */
  async close(): Promise<void> {
    if (this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
    await sleep(30); // the last flush goes over the "network"
    this.#ship();
    this.#closedAt = performance.now();
  }

  #ship(): void {
    this.#shipped += this.#buffer.length;
    this.#buffer.length = 0;
  }
}
