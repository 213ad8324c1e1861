import type { MetricsSink } from './MetricsSink.js';
import { sleep } from './sleep.js';

/**
 * A fake prompt-prefix KV cache shared by the inference runners (they list
 * it in `dependsOn`, so it closes only after every runner stopped). It uses
 * the metrics sink, so it closes before that one.
 */
export class KvCache {
  readonly #entries = new Map<string, number>();
  readonly #metrics: MetricsSink;
  #hits = 0;
  #misses = 0;
  #closedAt: number | null = null;

  constructor(metrics: MetricsSink) {
    this.#metrics = metrics;
  }

  get hits(): number {
    return this.#hits;
  }

  get misses(): number {
    return this.#misses;
  }

  /** `performance.now()` when it closed, or null. */
  get closedAt(): number | null {
    return this.#closedAt;
  }

  /** Looks a prompt's prefix up (and remembers it). */
  lookup(prompt: string): boolean {
    const prefix = prompt.slice(0, 24);
    const hit = this.#entries.has(prefix);
    if (hit) this.#hits += 1;
    else this.#misses += 1;
    this.#entries.set(prefix, (this.#entries.get(prefix) ?? 0) + 1);
    return hit;
  }

  /** Persists the cache (pretend) and reports its figures to the metrics sink. */
  async close(): Promise<void> {
    if (this.#closedAt !== null) return;
    await sleep(50);
    this.#metrics.record(`kv-cache hits=${this.#hits} misses=${this.#misses}`);
    this.#entries.clear();
    this.#closedAt = performance.now();
  }
}
