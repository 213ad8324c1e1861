import type { Metric } from 'prom-client';

/** Upper bounds, in seconds, of `troupe_task_duration_seconds` (tiny tasks take ~100 µs). */
export const TASK_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  30, 60,
]);

/**
 * The task durations of one runner: bucket counts, sum and count in place.
 * `observe()` is what a settling task pays: a short scan of the bounds and
 * three writes, no allocation (prom-client's own `observe()` builds a label
 * hash and an object per call).
 */
export class TaskDurations {
  /** Per bucket (not cumulative); the last one is `+Inf`. */
  readonly counts = new Float64Array(TASK_DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    const bounds = TASK_DURATION_BUCKETS;
    let i = 0;
    while (i < bounds.length && seconds > (bounds[i] as number)) i += 1;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += seconds;
    this.count += 1;
  }
}

interface HistogramValue {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

/**
 * `troupe_task_duration_seconds{runner}` as prom-client sees a histogram:
 * registered in the troupe's registry, read from the runners'
 * {@link TaskDurations} when scraped.
 */
export class TaskDurationHistogram {
  readonly name = 'troupe_task_duration_seconds';
  readonly help =
    'Time from a task reaching a thread until it settled (completed, failed or aborted), in seconds.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['runner'];
  readonly #byRunner: ReadonlyMap<string, TaskDurations>;

  constructor(byRunner: ReadonlyMap<string, TaskDurations>) {
    this.#byRunner = byRunner;
  }

  /** For `registry.registerMetric()`, which reads `name` and calls `get()`. */
  asMetric(): Metric {
    return this as unknown as Metric;
  }

  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: HistogramValue[];
  }> {
    const values: HistogramValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [runner, durations] of this.#byRunner) {
      let cumulative = 0;
      TASK_DURATION_BUCKETS.forEach((le, i) => {
        cumulative += durations.counts[i] as number;
        values.push({ metricName: bucket, labels: { runner, le }, value: cumulative });
      });
      values.push({ metricName: bucket, labels: { runner, le: '+Inf' }, value: durations.count });
      values.push({ metricName: `${this.name}_sum`, labels: { runner }, value: durations.sum });
      values.push({ metricName: `${this.name}_count`, labels: { runner }, value: durations.count });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  /** `registry.resetMetrics()`: durations observed so far are forgotten. */
  reset(): void {
    for (const durations of this.#byRunner.values()) {
      durations.counts.fill(0);
      durations.sum = 0;
      durations.count = 0;
    }
  }
}
