/** The four measured parts of a runner's health, each in [0, 1]. */
export interface HealthComponents {
  /** Threads alive and answering a probe (a thread busy with a task counts as fine). */
  readonly process: number;
  /** The runner's state: ready/busy 1, starting/restarting 0.5, draining/closing 0.25, stopped/failed 0. */
  readonly status: number;
  /** 1 when none of its resources failed or was forced. */
  readonly resource: number;
  /** 1 minus the recent error rate over its threshold (floored at 0). */
  readonly error: number;
}

/** Weights of the components (normalized by their sum). */
export interface HealthWeights {
  readonly process: number;
  readonly status: number;
  readonly resource: number;
  readonly error: number;
}

/** Score thresholds: at or above `healthy` is healthy, at or above `degraded` degraded. */
export interface HealthThresholds {
  readonly healthy: number;
  readonly degraded: number;
}

/** Health status derived from a score. */
export type HealthLevel = 'healthy' | 'degraded' | 'unhealthy';

/** The weights of DESIGN.md: 0.4 process, 0.2 status, 0.2 resource, 0.2 error. */
export const defaultHealthWeights: HealthWeights = Object.freeze({
  process: 0.4,
  status: 0.2,
  resource: 0.2,
  error: 0.2,
});

const clamp = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/**
 * The weighted health score in [0, 1].
 *
 * @example
 * ```ts
 * healthScore({ process: 1, status: 1, resource: 1, error: 0.5 }); // 0.9
 * ```
 */
export function healthScore(
  components: HealthComponents,
  weights: HealthWeights = defaultHealthWeights,
): number {
  const total = weights.process + weights.status + weights.resource + weights.error;
  if (total <= 0) return 0;
  return clamp(
    (weights.process * clamp(components.process) +
      weights.status * clamp(components.status) +
      weights.resource * clamp(components.resource) +
      weights.error * clamp(components.error)) /
      total,
  );
}

/**
 * The status of a score.
 *
 * @example
 * ```ts
 * healthLevel(0.7, { healthy: 0.8, degraded: 0.5 }); // 'degraded'
 * ```
 */
export function healthLevel(score: number, thresholds: HealthThresholds): HealthLevel {
  if (score >= thresholds.healthy) return 'healthy';
  if (score >= thresholds.degraded) return 'degraded';
  return 'unhealthy';
}

/**
 * The error component from a rate: `1 - rate / threshold`, floored at 0.
 *
 * @example
 * ```ts
 * errorComponent(15, 30); // 0.5
 * ```
 */
export function errorComponent(ratePerMin: number, thresholdPerMin: number): number {
  if (thresholdPerMin <= 0) return ratePerMin > 0 ? 0 : 1;
  return clamp(1 - ratePerMin / thresholdPerMin);
}

/** The status component of a runner state. */
export function statusComponent(state: string): number {
  switch (state) {
    case 'ready':
    case 'busy':
      return 1;
    case 'starting':
    case 'restarting':
      return 0.5;
    case 'draining':
    case 'closing':
      return 0.25;
    default:
      return 0;
  }
}
