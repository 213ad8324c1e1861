/**
 * Every error Troupe raises carries one of these stable codes.
 * The first twelve are the public contract; the rest are additions.
 *
 * @example
 * ```ts
 * import { ErrorCodes } from '@troupe/core';
 * if (err.code === ErrorCodes.QUEUE_FULL) backOff();
 * ```
 */
export const ErrorCodes = {
  SHUTDOWN_IN_PROGRESS: 'ERR_SHUTDOWN_IN_PROGRESS',
  RUNNER_STOPPED: 'ERR_RUNNER_STOPPED',
  RUNNER_STARTUP: 'ERR_RUNNER_STARTUP',
  WORKER_CRASHED: 'ERR_WORKER_CRASHED',
  TASK_TIMEOUT: 'ERR_TASK_TIMEOUT',
  TASK_ABORTED: 'ERR_TASK_ABORTED',
  QUEUE_FULL: 'ERR_QUEUE_FULL',
  CHANNEL_CLOSED: 'ERR_CHANNEL_CLOSED',
  RESOURCE_CYCLE: 'ERR_RESOURCE_CYCLE',
  INVALID_CONFIG: 'ERR_INVALID_CONFIG',
  DATA_CLONE: 'ERR_DATA_CLONE',
  RESTART_LIMIT: 'ERR_RESTART_LIMIT',
  /** A task's handler threw or rejected; `cause` is what it threw. */
  TASK_FAILED: 'ERR_TASK_FAILED',
  /** `run()` named a handler the worker module does not export. */
  UNKNOWN_HANDLER: 'ERR_UNKNOWN_HANDLER',
  /** A resource's `close()` threw or rejected. */
  RESOURCE_CLOSE_FAILED: 'ERR_RESOURCE_CLOSE_FAILED',
  /** A resource's `close()` missed its deadline and was abandoned. */
  RESOURCE_CLOSE_TIMEOUT: 'ERR_RESOURCE_CLOSE_TIMEOUT',
  /** The health monitor found a runner persistently unhealthy (hung threads, errors). */
  UNHEALTHY: 'ERR_UNHEALTHY',
  /**
   * A thread of a runner that was already serving failed to start: a
   * replacement thread (or a restarted pool) whose module threw on load,
   * whose `setup` failed, or that missed `startupTimeoutMs`. The runner's
   * first start fails with `ERR_RUNNER_STARTUP` instead.
   */
  THREAD_STARTUP: 'ERR_THREAD_STARTUP',
  /**
   * A thread answered no health probe for `health.thresholds.hungAfterMs`
   * while it ran a task (a busy loop, a blocked event loop): its task fails
   * with this, and the thread is terminated and replaced (counted against
   * the runner's restart budget, like a crash).
   */
  WORKER_UNRESPONSIVE: 'ERR_WORKER_UNRESPONSIVE',
  /** A listener you registered (`troupe.on`, `runner.on`, an inspection observer) threw. */
  LISTENER_FAILED: 'ERR_LISTENER_FAILED',
  /** A forced shutdown path (abort and terminate, force-close) did not finish within `forceMs`. */
  SHUTDOWN_TIMEOUT: 'ERR_SHUTDOWN_TIMEOUT',
  /**
   * Cluster: the node running a task left the cluster without finishing it
   * (killed, or its heartbeat lapsed). A task marked `idempotent` is retried
   * on another node first.
   */
  NODE_LOST: 'ERR_NODE_LOST',
  /** Cluster: no node (that is up) hosts a runner of that name. */
  NO_NODE: 'ERR_NO_NODE',
  /** Cluster: a payload, an event or a result is larger than the broker's `max_payload`. */
  PAYLOAD_TOO_LARGE: 'ERR_PAYLOAD_TOO_LARGE',
  /** Cluster: the broker cannot be reached (the connection is down or closed). */
  CLUSTER_UNAVAILABLE: 'ERR_CLUSTER_UNAVAILABLE',
  /** A value that is not an Error was thrown somewhere we had to report it. */
  UNKNOWN: 'ERR_UNKNOWN',
} as const;

/** One of the values of {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const codeSet: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/**
 * True when `value` is one of Troupe's error codes.
 *
 * @example
 * ```ts
 * isErrorCode('ERR_QUEUE_FULL'); // true
 * ```
 */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && codeSet.has(value);
}
