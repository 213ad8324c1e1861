/** The five measured parts of a runner's health, each in [0, 1]. */
export interface HealthComponents {
  /** Threads alive and answering a probe (a thread busy with a task counts as fine). */
  readonly process: number;
  /** The runner's state: ready/busy 1, starting/restarting 0.5, draining/closing 0.25, stopped/failed 0. */
  readonly status: number;
  /** 1 when none of its resources failed or was forced. */
  readonly resource: number;
  /** 1 minus the recent error rate over its threshold (floored at 0). */
  readonly error: number;
  /**
   * Saturation: 1 minus how long queued tasks wait for a thread over its
   * threshold (`thresholds.queueWaitMs`, floored at 0). A runner whose
   * threads are all busy with a queue that waits reads degraded.
   */
  readonly tasks: number;
}

/** Weights of the components (normalized by their sum). */
export interface HealthWeights {
  readonly process: number;
  readonly status: number;
  readonly resource: number;
  readonly error: number;
  readonly tasks: number;
}

/** Score thresholds: at or above `healthy` is healthy, at or above `degraded` degraded. */
export interface HealthThresholds {
  readonly healthy: number;
  readonly degraded: number;
}

/** Health status derived from a score. */
export type HealthLevel = 'healthy' | 'degraded' | 'unhealthy';

/**
 * The default weights: 0.4 process, 0.15 status, 0.15 resource, 0.15 error,
 * 0.15 tasks (summing to 1). Saturation alone scores at least 0.85:
 * degraded, never unhealthy (load is not a reason to restart a runner).
 */
export const defaultHealthWeights: HealthWeights = Object.freeze({
  process: 0.4,
  status: 0.15,
  resource: 0.15,
  error: 0.15,
  tasks: 0.15,
});

const clamp = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/**
 * The weighted health score in [0, 1].
 *
 * @example
 * ```ts
 * healthScore({ process: 1, status: 1, resource: 1, error: 0.5, tasks: 1 }); // 0.925
 * ```
 */
export function healthScore(
  components: HealthComponents,
  weights: HealthWeights = defaultHealthWeights,
): number {
  const total = weights.process + weights.status + weights.resource + weights.error + weights.tasks;
  if (total <= 0) return 0;
  return clamp(
    (weights.process * clamp(components.process) +
      weights.status * clamp(components.status) +
      weights.resource * clamp(components.resource) +
      weights.error * clamp(components.error) +
      weights.tasks * clamp(components.tasks)) /
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

/**
 * The task (saturation) component from how long queued tasks waited for a
 * thread: `1 - waitMs / thresholdMs`, floored at 0.
 *
 * @example
 * ```ts
 * taskComponent(0, 1000); // 1: nothing waits
 * taskComponent(500, 1000); // 0.5
 * taskComponent(2500, 1000); // 0: saturated
 * ```
 */
export function taskComponent(waitMs: number, thresholdMs: number): number {
  if (thresholdMs <= 0) return waitMs > 0 ? 0 : 1;
  return clamp(1 - waitMs / thresholdMs);
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
