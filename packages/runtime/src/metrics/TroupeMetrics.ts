import type { Registry } from 'prom-client';

/**
 * `troupe.metrics`: the troupe's Prometheus metrics, in a registry of its
 * own (never prom-client's global one, so two troupes in one process do not
 * clash). Serve `await troupe.metrics.text()` with
 * `Content-Type: troupe.metrics.contentType`.
 */
export interface TroupeMetrics {
  /** The troupe's own prom-client registry: add your metrics, merge it, read it as JSON. */
  readonly registry: Registry;
  /** The exposition format's content type (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** Every metric in the exposition format; the gauges are read at this moment. */
  text(): Promise<string>;
}
