import { RunnerStoppedError, troupeErrorData, type RunnerState } from '@troupe/core';
import type { ActorView } from '../inspection/ActorView.js';
import { untilSnapshot } from '../inspection/untilSnapshot.js';
import type { RunOptions } from '../task/types.js';
import type { Runner, RunnerEvents, RunnerSnapshot } from './Runner.js';
import type { RunnerCore } from './RunnerCore.js';
import type { RunnerStats } from './types.js';

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
