import {
  RunnerStoppedError,
  troupeErrorData,
  type RunnerState,
  type runnerMachine,
} from '@troupe/core';
import type { SnapshotFrom } from 'xstate';
import type { ActorView } from '../inspection/ActorView.js';
import { untilSnapshot } from '../inspection/untilSnapshot.js';
import type { RunnerCore, RunnerEvents } from './RunnerCore.js';
import type { RunOptions } from '../task/types.js';
import type { RunnerStats } from './types.js';

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

/** The {@link Runner} users hold: a facade over the runner core. */
class RunnerHandle implements Runner {
  readonly #core: RunnerCore;
  readonly id: string;
  readonly workerPath: string;
  readonly actor: ActorView<RunnerSnapshot>;
  readonly threadCount: number;
  readonly dependsOn: readonly string[];

  constructor(core: RunnerCore) {
    this.#core = core;
    this.id = core.id;
    this.workerPath = core.workerPath;
    this.actor = core.view;
    this.threadCount = core.spec.threads;
    this.dependsOn = core.spec.dependsOn;
  }

  get state(): RunnerState {
    return this.#core.state;
  }

  get threadIds(): readonly number[] {
    return this.#core.threadIds;
  }

  get moduleKind(): 'plain' | 'defined' {
    return this.#core.moduleKind;
  }

  get handlers(): readonly string[] {
    return this.#core.handlers;
  }

  run<TResult = unknown, TEvent = unknown>(
    payload?: unknown,
    options?: RunOptions<TEvent>,
  ): Promise<TResult> {
    return this.#core.run(payload, options as RunOptions | undefined) as Promise<TResult>;
  }

  stop(): Promise<void> {
    return this.#core.stop();
  }

  async restart(): Promise<void> {
    const core = this.#core;
    const serving = (s: RunnerSnapshot): boolean => s.matches('running');
    const before = core.view.getSnapshot();
    if (serving(before)) {
      const count = before.context.restartCount;
      core.restart(
        troupeErrorData('ERR_RUNNER_STOPPED', `runner "${core.id}": restart requested`, {
          context: { runnerId: core.id, operation: 'restart' },
        }),
      );
      await untilSnapshot(core.view, (s) => serving(s) && s.context.restartCount > count);
    } else if (before.matches('starting') || before.matches('restarting')) {
      await untilSnapshot(core.view, serving);
    }
    if (!serving(core.view.getSnapshot())) {
      throw new RunnerStoppedError(
        `runner "${core.id}" is ${core.state}: it does not serve after the restart`,
        { context: { runnerId: core.id, state: core.state, operation: 'restart' } },
      );
    }
  }

  stats(): RunnerStats {
    return this.#core.stats();
  }

  on<E extends keyof RunnerEvents>(event: E, listener: (...args: RunnerEvents[E]) => void): this {
    this.#core.events.on(event, listener);
    return this;
  }

  once<E extends keyof RunnerEvents>(event: E, listener: (...args: RunnerEvents[E]) => void): this {
    this.#core.events.once(event, listener);
    return this;
  }

  off<E extends keyof RunnerEvents>(event: E, listener: (...args: RunnerEvents[E]) => void): this {
    this.#core.events.off(event, listener);
    return this;
  }
}

/** The {@link Runner} users hold for this core. */
export function runnerFacade(core: RunnerCore): Runner {
  return new RunnerHandle(core);
}
