// Samples the process's RSS and heap on an interval that never keeps the
// process alive.
import { median } from '../stats.js';

export interface MemorySample {
  readonly atMs: number;
  readonly rss: number;
  readonly heapUsed: number;
}

export class RssSampler {
  readonly samples: MemorySample[] = [];
  readonly #start = performance.now();
  #timer: NodeJS.Timeout | null = null;

  start(intervalMs: number): void {
    this.sample();
    this.#timer = setInterval(() => {
      this.sample();
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  sample(): MemorySample {
    const { rss, heapUsed } = process.memoryUsage();
    const s = { atMs: performance.now() - this.#start, rss, heapUsed };
    this.samples.push(s);
    return s;
  }

  /** Median RSS of the samples taken in [fromMs, toMs), or null with fewer than `min`. */
  medianRss(
    fromMs: number,
    toMs: number,
    min = 4,
  ): { rss: number; heap: number; n: number } | null {
    const window = this.samples.filter((s) => s.atMs >= fromMs && s.atMs < toMs);
    if (window.length < min) return null;
    return {
      rss: median(window.map((s) => s.rss)),
      heap: median(window.map((s) => s.heapUsed)),
      n: window.length,
    };
  }

  /** Milliseconds since the sampler was created. */
  now(): number {
    return performance.now() - this.#start;
  }
}
