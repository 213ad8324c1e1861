import type { RunnerState, runnerMachine } from '@troupe/core';
import type { SnapshotFrom } from 'xstate';
import type { ActorView } from '../inspection/ActorView.js';
import type { RunOptions, TaskEventMeta } from '../task/types.js';
import type { RunnerStats } from './types.js';

/** Events of a runner (`runner.on(...)`). */
export interface RunnerEvents {
  /** An event a task emitted with `ctx.emit()`. */
  event: [event: unknown, meta: TaskEventMeta];
  /** The runner changed state (`previous` is null for the first, `starting`). */
  state: [state: RunnerState, previous: RunnerState | null];
}

/** A runner statechart's snapshot. */
export type RunnerSnapshot = SnapshotFrom<typeof runnerMachine>;

/**
 * A supervised pool of worker threads running one worker module, created
 * with `troupe.spawnRunner()`. Its lifecycle is a `runnerMachine` actor
 * (read-only here: {@link actor}); tasks go to its threads under its
 * admission control.
 *
 * @example
 * ```ts
 * const runner = await troupe.spawnRunner({ id: 'llm-0', worker: new URL('./worker.js', import.meta.url) });
 * runner.on('event', (e, { taskId }) => console.log(taskId, e));
 * const out = await runner.run({ prompt: 'hi' }, { handler: 'generate', timeoutMs: 5_000 });
 * await runner.stop();
 * ```
 */
export interface Runner {
  readonly id: string;
  /** The worker module's path. */
  readonly workerPath: string;
  /** `starting`, `ready`, `busy`, `restarting`, `draining`, `closing`, `stopped` or `failed`. */
  readonly state: RunnerState;
  /** The runner's statechart, read-only: its snapshot (`hasTag('accepting')`, ...) and a subscription. */
  readonly actor: ActorView<RunnerSnapshot>;
  /** Threads the runner keeps. */
  readonly threadCount: number;
  /** Threads alive and serving now. */
  readonly threadIds: readonly number[];
  /** Resources this runner uses (`dependsOn`): they close after it. */
  readonly dependsOn: readonly string[];
  /** `'plain'` (piscina-style module) or `'defined'` (`defineRunner`). */
  readonly moduleKind: 'plain' | 'defined';
  /** Handler names the worker module provides. */
  readonly handlers: readonly string[];
  /**
   * Runs a task on one of the runner's threads and resolves with its
   * result. Rejects with a TroupeError: `ERR_QUEUE_FULL`, `ERR_TASK_TIMEOUT`,
   * `ERR_TASK_ABORTED`, `ERR_WORKER_CRASHED`, `ERR_DATA_CLONE`,
   * `ERR_TASK_FAILED` (the handler threw; see `cause`), `ERR_UNKNOWN_HANDLER`,
   * `ERR_INVALID_CONFIG` (a bad option), `ERR_RUNNER_STOPPED`,
   * `ERR_SHUTDOWN_IN_PROGRESS` or `ERR_RESTART_LIMIT`.
   */
  run<TResult = unknown, TEvent = unknown>(
    payload?: unknown,
    options?: RunOptions<TEvent>,
  ): Promise<TResult>;
  /**
   * Stops this runner with the three-phase protocol: admission closes,
   * accepted tasks drain (aborted at the drain deadline), teardown runs,
   * threads exit. Resolves once every thread exited and every port closed;
   * the id can then be reused. Idempotent.
   */
  stop(): Promise<void>;
  /**
   * Restarts the runner's pool whole: idle threads run `teardown`, busy ones
   * are terminated (their tasks reject with `ERR_WORKER_CRASHED`), queued
   * tasks wait for the new pool. Counts against the restart budget. Resolves
   * when the runner serves again; rejects if it fails or stops instead.
   */
  restart(): Promise<void>;
  /** Counters of this runner. */
  stats(): RunnerStats;
  on<E extends keyof RunnerEvents>(event: E, listener: (...args: RunnerEvents[E]) => void): this;
  once<E extends keyof RunnerEvents>(event: E, listener: (...args: RunnerEvents[E]) => void): this;
  off<E extends keyof RunnerEvents>(event: E, listener: (...args: RunnerEvents[E]) => void): this;
}
