import type { RunnerState, ShutdownPhase, TroupeErrorContext } from '@troupe/core';
import type { ErrorRecord, Resolution } from '../errors/ErrorHandler.js';
import type { Inspection } from '../inspection/Inspection.js';
import type { Logger } from '../logger.js';
import type { TaskDurations } from '../metrics/TaskDurations.js';
import type { ThreadPool, ThreadPoolListener, ThreadPoolOptions } from '../pool/ThreadPool.js';
import type { ResourceManager } from '../resources/ResourceManager.js';
import type { StartGate } from '../startup/StartGate.js';
import type { Alert } from '../supervision/Supervisor.js';
import type { TaskSettledEvent } from '../task/types.js';

/** What a runner needs from its troupe. Facts and effects; no decisions. */
export interface RunnerHost {
  readonly nodeId: string;
  readonly logger: Logger;
  readonly inspect: Inspection | undefined;
  readonly resources: ResourceManager;
  readonly startGate: StartGate;
  /** Builds a runner's pool: piscina in production, a fake in the runner core's unit tests. */
  readonly createPool: (options: ThreadPoolOptions, listener: ThreadPoolListener) => ThreadPool;
  /** The troupe's per-phase deadlines (a runner's own drain backstop derives from them). */
  readonly signalingMs: number;
  readonly drainingMs: number;
  /** True when someone listens to `task:settled` (per-task timing costs). */
  readonly wantsTaskEvents: boolean;
  /** Default backoff of task retries. */
  readonly retryBackoff: { readonly baseMs: number; readonly capMs: number };
  /** The troupe's shutdown phase now, and why it is shutting down. */
  phase(): ShutdownPhase;
  /** The coordinator admits new work (running, or SIGNALING's readiness delay). */
  admits(): boolean;
  shutdownReason(): string | null;
  reportError(error: unknown, context: TroupeErrorContext): ErrorRecord;
  resolveErrors(records: readonly ErrorRecord[], how: Resolution): void;
  /** A listener you registered threw: reported as `ERR_LISTENER_FAILED`, never acted upon. */
  listenerFailed(error: unknown, listener: string, context: TroupeErrorContext): void;
  /** True when the error handler's action for this error allows retrying a task. */
  isRetryable(error: unknown, context: TroupeErrorContext): boolean;
  emitState(runnerId: string, state: RunnerState, previous: RunnerState | null): void;
  emitTaskSettled(event: TaskSettledEvent): void;
  /** An alert a runner's statechart raised (a hung thread): logged and emitted as `alert`. */
  alert(alert: Alert): void;
  /** A `run()` on a runner that is done (submitted and refused): counted troupe-wide. */
  refusedAfterFinal(runnerId: string): void;
  /** Where a runner's task durations go (`troupe_task_duration_seconds`). */
  taskDurations?(runnerId: string): TaskDurations;
}
