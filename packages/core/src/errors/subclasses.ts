import { ErrorCodes, type ErrorCode } from './codes.js';
import { TroupeError, type TroupeErrorOptions } from './TroupeError.js';

/** `run()`, `spawnRunner()` or `register()` was called after shutdown began. */
export class ShutdownInProgressError extends TroupeError {
  declare readonly code: typeof ErrorCodes.SHUTDOWN_IN_PROGRESS;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.SHUTDOWN_IN_PROGRESS, message, options);
  }
}

/** The runner is draining, closing or stopped and takes no new work. */
export class RunnerStoppedError extends TroupeError {
  declare readonly code: typeof ErrorCodes.RUNNER_STOPPED;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.RUNNER_STOPPED, message, options);
  }
}

/** The worker module is missing, threw on load, failed `setup`, or missed `startupTimeoutMs`.
 * `context.workerPath` names the module; `cause` says why. */
export class RunnerStartupError extends TroupeError {
  declare readonly code: typeof ErrorCodes.RUNNER_STARTUP;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.RUNNER_STARTUP, message, options);
  }
}

/** The thread running the task exited, threw outside a handler, or ran out of memory. */
export class WorkerCrashedError extends TroupeError {
  declare readonly code: typeof ErrorCodes.WORKER_CRASHED;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.WORKER_CRASHED, message, options);
  }
}

/**
 * The thread running the task answered no health probe for
 * `health.thresholds.hungAfterMs`: it was terminated and replaced.
 * `context.threadId` and `context.silentMs` say which and for how long.
 */
export class WorkerUnresponsiveError extends TroupeError {
  declare readonly code: typeof ErrorCodes.WORKER_UNRESPONSIVE;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.WORKER_UNRESPONSIVE, message, options);
  }
}

/** The task exceeded its `timeoutMs` (or the runner's `taskTimeoutMs`). */
export class TaskTimeoutError extends TroupeError {
  declare readonly code: typeof ErrorCodes.TASK_TIMEOUT;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.TASK_TIMEOUT, message, options);
  }
}

/** The task was cancelled by its signal, or forcibly aborted at a shutdown deadline. */
export class TaskAbortedError extends TroupeError {
  declare readonly code: typeof ErrorCodes.TASK_ABORTED;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.TASK_ABORTED, message, options);
  }
}

/** Admission control refused the task: the runner already holds `threads + maxQueue` tasks. */
export class QueueFullError extends TroupeError {
  declare readonly code: typeof ErrorCodes.QUEUE_FULL;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.QUEUE_FULL, message, options);
  }
}

/** A call on a closing or closed channel, or the peer died while the call was pending. */
export class ChannelClosedError extends TroupeError {
  declare readonly code: typeof ErrorCodes.CHANNEL_CLOSED;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.CHANNEL_CLOSED, message, options);
  }
}

/** Registering these resources would create a dependency cycle; `context.cycle` lists it. */
export class ResourceCycleError extends TroupeError {
  declare readonly code: typeof ErrorCodes.RESOURCE_CYCLE;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.RESOURCE_CYCLE, message, options);
  }
}

/** An option, spec or argument is invalid; the message names the field and the value. */
export class InvalidConfigError extends TroupeError {
  declare readonly code: typeof ErrorCodes.INVALID_CONFIG;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.INVALID_CONFIG, message, options);
  }
}

/** A payload or result could not be structured-cloned across threads. */
export class DataCloneError extends TroupeError {
  declare readonly code: typeof ErrorCodes.DATA_CLONE;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.DATA_CLONE, message, options);
  }
}

/** The runner exceeded `maxRestarts` within `windowMs` and is `failed`. */
export class RestartLimitError extends TroupeError {
  declare readonly code: typeof ErrorCodes.RESTART_LIMIT;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.RESTART_LIMIT, message, options);
  }
}

/** The task's handler threw or rejected; `cause` is its error, rebuilt on this thread. */
export class TaskFailedError extends TroupeError {
  declare readonly code: typeof ErrorCodes.TASK_FAILED;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.TASK_FAILED, message, options);
  }
}

/** `run()` named a handler that the worker module does not provide. */
export class UnknownHandlerError extends TroupeError {
  declare readonly code: typeof ErrorCodes.UNKNOWN_HANDLER;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.UNKNOWN_HANDLER, message, options);
  }
}

/** A resource's `close()` threw or rejected. */
export class ResourceCloseFailedError extends TroupeError {
  declare readonly code: typeof ErrorCodes.RESOURCE_CLOSE_FAILED;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.RESOURCE_CLOSE_FAILED, message, options);
  }
}

/** A resource's `close()` missed its deadline and was abandoned (reported as forced). */
export class ResourceCloseTimeoutError extends TroupeError {
  declare readonly code: typeof ErrorCodes.RESOURCE_CLOSE_TIMEOUT;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.RESOURCE_CLOSE_TIMEOUT, message, options);
  }
}

/** The health monitor found a runner persistently unhealthy; `context` has its health figures. */
export class UnhealthyError extends TroupeError {
  declare readonly code: typeof ErrorCodes.UNHEALTHY;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.UNHEALTHY, message, options);
  }
}

/** A replacement thread (or a restarted pool) of a serving runner failed to start; `cause` says why. */
export class ThreadStartupError extends TroupeError {
  declare readonly code: typeof ErrorCodes.THREAD_STARTUP;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.THREAD_STARTUP, message, options);
  }
}

/** A listener you registered threw; `cause` is what it threw, `context.event` the event. */
export class ListenerFailedError extends TroupeError {
  declare readonly code: typeof ErrorCodes.LISTENER_FAILED;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.LISTENER_FAILED, message, options);
  }
}

/** A forced shutdown path did not finish within `forceMs`; the shutdown went on without it. */
export class ShutdownTimeoutError extends TroupeError {
  declare readonly code: typeof ErrorCodes.SHUTDOWN_TIMEOUT;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.SHUTDOWN_TIMEOUT, message, options);
  }
}

/** A value that is not an Error was thrown; `cause` holds it. */
export class UnknownError extends TroupeError {
  declare readonly code: typeof ErrorCodes.UNKNOWN;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.UNKNOWN, message, options);
  }
}

/** Cluster: the node running the task left without finishing it (`context.nodeId`). */
export class NodeLostError extends TroupeError {
  declare readonly code: typeof ErrorCodes.NODE_LOST;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.NODE_LOST, message, options);
  }
}

/** Cluster: no node that is up hosts a runner of that name (`context.runnerId`). */
export class NoNodeError extends TroupeError {
  declare readonly code: typeof ErrorCodes.NO_NODE;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.NO_NODE, message, options);
  }
}

/** Cluster: a message is larger than the broker's `max_payload` (`context.bytes`, `context.limit`). */
export class PayloadTooLargeError extends TroupeError {
  declare readonly code: typeof ErrorCodes.PAYLOAD_TOO_LARGE;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.PAYLOAD_TOO_LARGE, message, options);
  }
}

/** Cluster: the broker cannot be reached. */
export class ClusterUnavailableError extends TroupeError {
  declare readonly code: typeof ErrorCodes.CLUSTER_UNAVAILABLE;
  constructor(message: string, options?: TroupeErrorOptions) {
    super(ErrorCodes.CLUSTER_UNAVAILABLE, message, options);
  }
}

type TroupeErrorClass = new (message: string, options?: TroupeErrorOptions) => TroupeError;

const byCode: Readonly<Record<ErrorCode, TroupeErrorClass>> = {
  [ErrorCodes.SHUTDOWN_IN_PROGRESS]: ShutdownInProgressError,
  [ErrorCodes.RUNNER_STOPPED]: RunnerStoppedError,
  [ErrorCodes.RUNNER_STARTUP]: RunnerStartupError,
  [ErrorCodes.WORKER_CRASHED]: WorkerCrashedError,
  [ErrorCodes.WORKER_UNRESPONSIVE]: WorkerUnresponsiveError,
  [ErrorCodes.TASK_TIMEOUT]: TaskTimeoutError,
  [ErrorCodes.TASK_ABORTED]: TaskAbortedError,
  [ErrorCodes.QUEUE_FULL]: QueueFullError,
  [ErrorCodes.CHANNEL_CLOSED]: ChannelClosedError,
  [ErrorCodes.RESOURCE_CYCLE]: ResourceCycleError,
  [ErrorCodes.INVALID_CONFIG]: InvalidConfigError,
  [ErrorCodes.DATA_CLONE]: DataCloneError,
  [ErrorCodes.RESTART_LIMIT]: RestartLimitError,
  [ErrorCodes.TASK_FAILED]: TaskFailedError,
  [ErrorCodes.UNKNOWN_HANDLER]: UnknownHandlerError,
  [ErrorCodes.RESOURCE_CLOSE_FAILED]: ResourceCloseFailedError,
  [ErrorCodes.RESOURCE_CLOSE_TIMEOUT]: ResourceCloseTimeoutError,
  [ErrorCodes.UNHEALTHY]: UnhealthyError,
  [ErrorCodes.THREAD_STARTUP]: ThreadStartupError,
  [ErrorCodes.LISTENER_FAILED]: ListenerFailedError,
  [ErrorCodes.SHUTDOWN_TIMEOUT]: ShutdownTimeoutError,
  [ErrorCodes.NODE_LOST]: NodeLostError,
  [ErrorCodes.NO_NODE]: NoNodeError,
  [ErrorCodes.PAYLOAD_TOO_LARGE]: PayloadTooLargeError,
  [ErrorCodes.CLUSTER_UNAVAILABLE]: ClusterUnavailableError,
  [ErrorCodes.UNKNOWN]: UnknownError,
};

/**
 * Builds the {@link TroupeError} subclass that belongs to `code`.
 *
 * @example
 * ```ts
 * throw createTroupeError('ERR_QUEUE_FULL', 'queue is full', { context: { runnerId } });
 * ```
 */
export function createTroupeError(
  code: ErrorCode,
  message: string,
  options?: TroupeErrorOptions,
): TroupeError {
  return new byCode[code](message, options);
}
