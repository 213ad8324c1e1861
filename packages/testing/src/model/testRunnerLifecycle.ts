import {
  createTroupe,
  isTroupeError,
  type RunOptions,
  type Runner,
  type RunnerSpec,
  type Troupe,
} from '@troupe/runtime';
import { runnerMachine, type RunnerContext } from '@troupe/core';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { checkLeaks, snapshotHandles } from '../leakCheck.js';
import { Outcomes } from './drivers/settle.js';
import { ActorRecorder } from './ActorRecorder.js';
import { modelPaths, simplePaths, type ModelPath } from './modelPaths.js';
import { runModelPath, type ModelDriver, type ObservedActor } from './runModelPath.js';
import { modelRestart, runnerModel } from './runnerModel.js';
import { inStateNode } from './stateValue.js';

/** A task of your worker module: the handler and its payload. */
export interface LifecycleTask {
  readonly handler?: string;
  readonly payload?: unknown;
}

/** Options of {@link testRunnerLifecycle}. */
export interface RunnerLifecycleOptions {
  /** Your worker module (plain or `defineRunner`). */
  readonly worker: string | URL;
  /** A task that keeps a thread busy for a little while (tens of ms is plenty). */
  readonly task: LifecycleTask;
  /**
   * A task that runs until it is aborted (it may honour `ctx.signal` or
   * not). Given one, the cases also cover the drain deadline: cooperative
   * abort, then threads terminated after the grace period.
   */
  readonly longTask?: LifecycleTask & { readonly honoursAbort: boolean };
  /** Extra runner spec fields (threads, workerData, ...). */
  readonly spec?: Omit<RunnerSpec, 'worker' | 'id' | 'restart'>;
  /** Also run simple paths to the final states (up to this many). Default 4. */
  readonly simplePaths?: number;
  /** Check that no thread, ref'd port or timer is left after each case. Default true. */
  readonly leakCheck?: boolean;
}

/** One generated case: give it to `it(name, run)`. */
export interface LifecycleCase {
  readonly name: string;
  readonly run: () => Promise<void>;
}

const RUNNER_ID = 'lifecycle';

/**
 * Events any worker module can be driven through, given the options: the
 * runtime's own steps (slot, load, teardowns, destroys, backoff), tasks
 * that keep the threads busy for a while and end by themselves, stop,
 * troupe shutdown, restart, and with a long task the drain deadline. A
 * user's module cannot be told to crash, hang or fail, so nothing else.
 */
function allowed(long: boolean, honours: boolean) {
  return (snapshot: AnyMachineSnapshot, event: EventObject): boolean => {
    const is = (id: string): boolean => inStateNode(runnerMachine, snapshot.value, id);
    const type = event.type;
    const context = snapshot.context as RunnerContext;
    switch (type) {
      case 'troupe.runner.slotGranted':
        return true;
      case 'troupe.runner.threadUp':
        return is('runner.starting.pool.loading');
      case 'troupe.runner.busy':
        return !context.busy && is('runner.running');
      case 'troupe.runner.idle':
        if (is('runner.draining.aborting')) return long && honours;
        return is('runner.running.load.busy') || is('runner.draining.flushing');
      case 'troupe.runner.stop':
        return is('runner.running') && context.stopReason === null;
      // A busy thread would be terminated: restart from idle only.
      case 'troupe.runner.restart':
        return is('runner.running.load.ready') && is('runner.running.threads.full');
      // The coordinator's: its drain deadline while a long task runs, its close once drained.
      case 'troupe.runner.abort':
        return long && is('runner.draining.flushing') && context.stopReason === 'shutdown';
      case 'troupe.runner.close':
        return is('runner.draining.drained') && !context.closeWhenDrained;
      default:
        break;
    }
    if (type.startsWith('xstate.after.drainTimeout')) return long && context.stopReason === 'stop';
    if (type === 'xstate.after.abortGrace.runner.draining.aborting') return long && !honours;
    if (type.startsWith('xstate.after.restartDelay')) return true;
    return type.startsWith('xstate.done.actor');
  };
}

class UserRunnerDriver implements ModelDriver {
  readonly #options: RunnerLifecycleOptions;
  #troupe: Troupe | null = null;
  #runner: Runner | null = null;
  #outcomes = new Outcomes();
  #baseline = snapshotHandles();

  constructor(options: RunnerLifecycleOptions) {
    this.#options = options;
  }

  start(): Promise<ObservedActor> {
    this.#baseline = snapshotHandles();
    this.#outcomes = new Outcomes();
    const recorder = new ActorRecorder();
    const troupe = createTroupe({
      inspect: recorder.inspect,
      health: { enabled: false },
      shutdown: { drainingMs: 100, abortGraceMs: 100, closingMs: 5_000 },
    });
    this.#troupe = troupe;
    this.#outcomes.track(
      troupe.spawnRunner({
        threads: 1,
        ...this.#options.spec,
        id: RUNNER_ID,
        worker: this.#options.worker,
        restart: modelRestart('permanent'),
      }),
      'spawnRunner',
    );
    const runner = troupe.runner(RUNNER_ID);
    if (runner === undefined) throw new Error('the runner was not registered');
    this.#runner = runner;
    // Observed from its first state on (the start slot is granted at once).
    return Promise.resolve(recorder.actor(`runner:${RUNNER_ID}`));
  }

  #run(task: LifecycleTask, count: number): void {
    const runner = this.#runner;
    if (runner === null) return;
    const options: RunOptions = task.handler === undefined ? {} : { handler: task.handler };
    for (let i = 0; i < count; i++) {
      this.#outcomes.track(runner.run(task.payload, options), 'task');
    }
  }

  exec(path: ModelPath, index: number): Promise<boolean> {
    const runner = this.#runner;
    const troupe = this.#troupe;
    const step = path.steps[index];
    if (runner === null || troupe === null || step === undefined) return Promise.resolve(false);
    const event = step.event as { type: string; closeWhenDrained?: boolean };
    const later = path.steps.slice(index + 1).map((s) => s.event.type);
    switch (event.type) {
      case 'troupe.runner.busy': {
        const long = later.some(
          (t) => t === 'troupe.runner.abort' || t.startsWith('xstate.after.drainTimeout'),
        );
        const threads = runner.threadCount;
        if (long && this.#options.longTask !== undefined)
          this.#run(this.#options.longTask, threads);
        else this.#run(this.#options.task, threads * 4);
        return Promise.resolve(true);
      }
      case 'troupe.runner.restart':
        this.#outcomes.track(runner.restart(), 'runner.restart');
        return Promise.resolve(true);
      case 'troupe.runner.stop':
        if (event.closeWhenDrained === true) this.#outcomes.track(runner.stop(), 'runner.stop');
        else this.#outcomes.track(troupe.shutdown({ reason: 'lifecycle' }), 'troupe.shutdown');
        return Promise.resolve(true);
      default:
        // Tasks finishing (idle), starts, restarts, deadlines: the runtime does these.
        return Promise.resolve(false);
    }
  }

  async finish(): Promise<void> {
    const troupe = this.#troupe;
    if (troupe === null) return;
    const report = await troupe.shutdown({ reason: 'lifecycle case done' });
    await this.#outcomes.check(15_000);
    if (report.threads.leaked > 0) throw new Error(`${report.threads.leaked} thread(s) leaked`);
    this.#troupe = null;
    this.#runner = null;
    if (this.#options.leakCheck !== false) {
      const leaks = await checkLeaks(this.#baseline, { settleMs: 2_000 });
      if (!leaks.ok) throw new Error(`after the case: ${leaks.message}`);
    }
  }
}

/**
 * Model-tests your worker module against Troupe's runner lifecycle: paths
 * generated from `runnerMachine` (every transition your module can be
 * driven through: start, busy ⇄ idle, `runner.stop()`, troupe shutdown,
 * restart, and — with a `longTask` — the drain deadline) each run your
 * module on real threads and check, step by step, that the runner is in
 * the state the model says; then that every promise settled (with a value
 * or a TroupeError), no thread leaked, and no handle was left.
 *
 * @example
 * ```ts
 * import { testRunnerLifecycle } from '@troupe/testing';
 * import { describe, it } from 'vitest';
 *
 * describe('my worker follows the runner lifecycle', () => {
 *   for (const c of testRunnerLifecycle({
 *     worker: new URL('../dist/worker.js', import.meta.url),
 *     task: { handler: 'generate', payload: 20 },
 *   })) {
 *     it(c.name, c.run, 30_000);
 *   }
 * });
 * ```
 */
export function testRunnerLifecycle(options: RunnerLifecycleOptions): LifecycleCase[] {
  const long = options.longTask !== undefined;
  const honours = options.longTask?.honoursAbort ?? true;
  const model = runnerModel('permanent');
  const spec = {
    ...model,
    input: { ...(model.input as object), threads: options.spec?.threads ?? 1 },
    filterEvents: allowed(long, honours),
  };
  const driver = new UserRunnerDriver(options);
  const paths: ModelPath[] = [
    ...modelPaths(spec).paths,
    ...simplePaths(spec, { sample: options.simplePaths ?? 4, seed: 11 }),
  ];
  return paths.map((path) => ({
    name: path.name,
    run: async () => {
      try {
        await runModelPath(path, driver, { stepTimeoutMs: 10_000 });
      } catch (error) {
        throw isTroupeError(error) ? new Error(error.message, { cause: error }) : error;
      }
    },
  }));
}
