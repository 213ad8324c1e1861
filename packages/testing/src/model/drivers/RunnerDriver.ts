import type { RunnerRestartConfig } from '@troupe/core';
import { createTroupe, type Runner, type Troupe, type TroupeOptions } from '@troupe/runtime';
import { Control, LoadMode, counterReached, createControl, releaseHeld } from '../../control.js';
import { fixtures } from '../../fixtures.js';
import { stateValueText, type ModelPath } from '../modelPaths.js';
import type { ModelDriver, ObservedActor } from '../runModelPath.js';
import { Outcomes } from './settle.js';

const RUNNER_ID = 'model-runner';

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

interface Timing {
  readonly shutdown: NonNullable<TroupeOptions['shutdown']>;
  readonly abortGraceMs: number;
  readonly startupTimeoutMs: number;
  readonly teardownHangs: boolean;
}

/** Whether step `i` is `close` taken from the given draining substate. */
function closesFrom(path: ModelPath, substate: string): boolean {
  return path.steps.some(
    (step, i) =>
      step.event.type === 'troupe.runner.close' &&
      stateValueText(
        (i === 0 ? path.initial : (path.steps[i - 1] as { state: { value: unknown } }).state).value,
      ) === `draining.${substate}`,
  );
}

/** Deadlines chosen so the real system takes the same branch as the path. */
function timingFor(path: ModelPath): Timing {
  if (closesFrom(path, 'terminating')) {
    // The coordinator reaches CLOSING while the runner terminates threads:
    // abort at 100 ms, grace 300 ms, a teardown that waits its bound (300 ms).
    return {
      shutdown: { drainingMs: 100, forceMs: 450, closingMs: 3_000, abortGraceMs: 300 },
      abortGraceMs: 300,
      startupTimeoutMs: 400,
      teardownHangs: true,
    };
  }
  if (closesFrom(path, 'aborting')) {
    // The coordinator gives up on the forced drain long before the grace ends.
    return {
      shutdown: { drainingMs: 100, forceMs: 50, closingMs: 3_000, abortGraceMs: 2_000 },
      abortGraceMs: 2_000,
      startupTimeoutMs: 400,
      teardownHangs: false,
    };
  }
  return {
    shutdown: { drainingMs: 200, forceMs: 1_000, closingMs: 3_000, abortGraceMs: 50 },
    abortGraceMs: 50,
    startupTimeoutMs: 400,
    teardownHangs: false,
  };
}

function modeFor(nextEvent: string | undefined): number {
  if (nextEvent === undefined) return LoadMode.ok;
  if (nextEvent.startsWith('xstate.error.actor')) return LoadMode.throw;
  if (nextEvent.startsWith('xstate.after.startupTimeout')) return LoadMode.hang;
  if (nextEvent === 'troupe.runner.stop') return LoadMode.hang;
  return LoadMode.ok;
}

/**
 * The load plan of a path: the mode of every thread load, in order. One
 * thread per runner makes it exact: each `starting` loads one thread, a
 * crash or a broken pool one replacement.
 */
export function loadPlan(path: ModelPath): number[] {
  const plan: number[] = [];
  if (stateValueText(path.initial.value) === 'starting') {
    plan.push(modeFor(path.steps[0]?.event.type));
  }
  path.steps.forEach((step, i) => {
    const type = step.event.type;
    const after = stateValueText(step.state.value);
    if (type === 'troupe.runner.crashed') plan.push(LoadMode.ok);
    if (type === 'troupe.runner.broken') plan.push(LoadMode.throw);
    if (after === 'starting') plan.push(modeFor(path.steps[i + 1]?.event.type));
  });
  return plan;
}

/**
 * Drives a real runner (one thread, `fixtures.controllable`) along paths
 * of `runnerMachine`. Each model event becomes a real cause: a task that
 * holds its thread (busy), its release (idle), a held task exiting its
 * thread or an idle thread exiting (crashed), a thread terminated after an
 * ignored abort whose replacement fails to load (broken), a health-style
 * restart request (restart), `runner.stop()` or `troupe.shutdown()` (stop).
 * Startup outcomes follow the load plan; deadlines fire on their own.
 */
export class RunnerDriver implements ModelDriver {
  readonly #restart: RunnerRestartConfig;
  #troupe: Troupe | null = null;
  #runner: Runner | null = null;
  #control: Int32Array = createControl();
  #outcomes = new Outcomes();
  #held: AbortController[] = [];
  #holds = 0;
  readonly #live = new Set<number>();

  constructor(restart: RunnerRestartConfig) {
    this.#restart = restart;
  }

  start(path: ModelPath): Promise<ObservedActor> {
    const timing = timingFor(path);
    this.#control = createControl();
    this.#outcomes = new Outcomes();
    this.#held = [];
    this.#holds = 0;
    this.#live.clear();
    loadPlan(path).forEach((mode, i) => {
      if (i < Control.planSize) Atomics.store(this.#control, Control.plan + i, mode);
    });
    if (timing.teardownHangs) Atomics.store(this.#control, Control.teardownMode, 1);
    const troupe = createTroupe({ shutdown: timing.shutdown, health: { enabled: false } });
    this.#troupe = troupe;
    this.#outcomes.track(
      troupe.spawnRunner({
        id: RUNNER_ID,
        worker: fixtures.controllable,
        threads: 1,
        restart: this.#restart,
        startupTimeoutMs: timing.startupTimeoutMs,
        abortGraceMs: timing.abortGraceMs,
        closeTimeoutMs: 2_000,
        workerData: { control: this.#control },
      }),
      'spawnRunner',
    );
    const runner = troupe.runner(RUNNER_ID);
    if (runner === undefined) throw new Error('the runner was not registered synchronously');
    this.#runner = runner;
    return Promise.resolve(runner.actor);
  }

  async exec(path: ModelPath, index: number): Promise<boolean> {
    const runner = this.#runner;
    const troupe = this.#troupe;
    const step = path.steps[index];
    if (runner === null || troupe === null || step === undefined) return false;
    const before = stateValueText(
      (index === 0 ? path.initial : (path.steps[index - 1]?.state ?? path.initial)).value,
    );
    const event = step.event as { type: string; normal?: boolean; closeWhenDrained?: boolean };
    const later = path.steps.slice(index + 1).map((s) => s.event.type);
    // Held tasks ignore aborts only when the path (from this step on) waits
    // out the abort grace.
    Atomics.store(
      this.#control,
      Control.ignoreAbort,
      [event.type, ...later].some((t) => t.startsWith('xstate.after.abortGrace')) ? 1 : 0,
    );
    switch (event.type) {
      case 'troupe.runner.busy':
        this.#hold(runner);
        break;
      case 'troupe.runner.idle':
        // From `aborting` the held tasks end cooperatively; otherwise release them.
        if (before !== 'draining.aborting') {
          await this.#holdsStarted();
          releaseHeld(this.#control);
        }
        break;
      case 'troupe.runner.crashed': {
        const code = event.normal === true ? 0 : 1;
        const crashes = runner.stats().crashes;
        const restarts = runner.stats().restarts;
        const loads = Atomics.load(this.#control, Control.loads);
        if (before === 'running.busy') {
          await this.#holdsStarted();
          const after = stateValueText(step.state.value);
          if (after === 'running.busy' || after === 'draining.flushing') {
            // The model still has work in flight after the crash. One thread:
            // queue a second task; the replacement thread picks it up.
            this.#hold(runner, false);
          }
          Atomics.store(this.#control, Control.exitHeld, code + 1);
          releaseHeld(this.#control);
        } else {
          this.#outcomes.track(
            runner.run({ code, delayMs: 30 }, { handler: 'exitLater' }),
            'exitLater',
          );
        }
        // A counted crash leaves the state as it was: wait for the crash
        // itself, and for the replacement thread when the runner goes on.
        await until(() => runner.stats().crashes > crashes, 5_000, 'the crash');
        if (stateValueText(step.state.value).startsWith('running')) {
          await until(
            () => runner.stats().restarts > restarts && runner.threadIds.length === 1,
            5_000,
            'the replacement thread',
          );
          // ... and until it has loaded, so the load plan stays in step.
          if (!(await counterReached(this.#control, Control.loads, loads + 1, 5_000))) {
            throw new Error('the replacement thread never loaded');
          }
        }
        break;
      }
      case 'troupe.runner.broken': {
        // An aborted task that ignores its signal gets its thread terminated
        // (not a crash); the replacement fails to load (the plan says so).
        Atomics.store(this.#control, Control.ignoreAbort, 1);
        if (this.#held.length === 0) this.#hold(runner);
        await this.#holdsStarted();
        for (const controller of this.#held) controller.abort(new Error('model: broken'));
        this.#held = [];
        break;
      }
      case 'troupe.runner.restart':
        void runner.restart().catch(() => {});
        break;
      case 'troupe.runner.stop':
        if (event.closeWhenDrained === true) this.#outcomes.track(runner.stop(), 'runner.stop');
        else this.#outcomes.track(troupe.shutdown({ reason: 'model' }), 'troupe.shutdown');
        break;
      default:
        // Invocations finishing, deadlines, abort and close: the system does these itself.
        return false;
    }
    return true;
  }

  /** Waits until every held task is waiting in its thread. */
  /** Waits until every held task that is still live is waiting in its thread. */
  async #holdsStarted(): Promise<void> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const waiting = [...this.#live].filter(
        (i) => Atomics.load(this.#control, Control.started + (i % Control.startedSize)) === 0,
      );
      if (waiting.length === 0) return;
      if (Date.now() > deadline) throw new Error('a held task never started');
      const seen = Atomics.load(this.#control, Control.holding);
      await counterReached(this.#control, Control.holding, seen + 1, 50);
    }
  }

  #hold(runner: Runner, resetExit = true): void {
    const index = this.#holds++;
    this.#live.add(index);
    if (resetExit) Atomics.store(this.#control, Control.exitHeld, 0);
    const controller = new AbortController();
    this.#held.push(controller);
    const task = runner.run(index, { handler: 'hold', signal: controller.signal });
    this.#outcomes.track(task, 'hold');
    // A settled task is no longer held (released, aborted, or its thread died).
    const forget = (): void => {
      this.#held = this.#held.filter((c) => c !== controller);
      this.#live.delete(index);
    };
    task.then(forget, forget);
  }

  async finish(): Promise<void> {
    const troupe = this.#troupe;
    if (troupe === null) return;
    Atomics.store(this.#control, Control.teardownMode, 0);
    releaseHeld(this.#control);
    const report = await troupe.shutdown({ reason: 'model path done' });
    await this.#outcomes.check(10_000);
    if (report.threads.leaked > 0) throw new Error(`${report.threads.leaked} thread(s) leaked`);
    this.#troupe = null;
    this.#runner = null;
  }
}
