import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runnerMachine, type RunnerContext, type RunnerRestartConfig } from '@troupe/core';
import { createTroupe, type Runner, type Troupe, type TroupeOptions } from '@troupe/runtime';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import {
  Control,
  LoadMode,
  TeardownMode,
  counterReached,
  createControl,
  releaseHeld,
  releaseLoad,
  releaseTeardowns,
} from '../../control.js';
import { fixtures } from '../../fixtures.js';
import { ActorRecorder } from '../ActorRecorder.js';
import type { ModelPath } from '../modelPaths.js';
import type { ModelDriver, ObservedActor, ObservedStep } from '../runModelPath.js';
import { poolFactsAlong, threadExitKind, type PoolFacts } from '../runnerModel.js';
import { inStateNode } from '../stateValue.js';
import { Gates } from './Gates.js';
import { Outcomes } from './settle.js';
import { until } from './until.js';

const RUNNER_ID = 'model-runner';
const ACTOR_ID = `runner:${RUNNER_ID}`;
const LOADING = 'runner.starting.pool.loading';
const QUEUED = 'runner.starting.pool.queued';
const TEARDOWN_DONE = [
  'xstate.done.actor.0.runner.restarting.releasing.pool.tearingDown',
  'xstate.done.actor.0.runner.draining.terminating.tearingDown',
  'xstate.done.actor.0.runner.closing.tearingDown',
];

function isIn(snapshot: { readonly value: unknown }, id: string): boolean {
  return inStateNode(runnerMachine, snapshot.value, id);
}

function stateBefore(path: ModelPath, index: number): AnyMachineSnapshot {
  return index === 0 ? path.initial : (path.steps[index - 1]?.state ?? path.initial);
}

function busyIn(snapshot: AnyMachineSnapshot): boolean {
  return (snapshot.context as RunnerContext).busy;
}

interface Timing {
  readonly shutdown: NonNullable<TroupeOptions['shutdown']>;
  readonly abortGraceMs: number;
  readonly startupTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

/**
 * Deadlines chosen so the real runner takes the same branch as the path:
 * a deadline the path waits out is short, every other one is far away.
 * Everything the path does between deadlines is held by the fixture, so
 * "far away" is never raced.
 */
function timingFor(path: ModelPath): Timing {
  const takes = (prefix: string): boolean =>
    path.steps.some((s) => s.event.type.startsWith(prefix));
  // The coordinator's forced drain gives up while the aborted task still
  // ignores its abort: forceMs well inside abortGraceMs.
  const closesAborting = path.steps.some(
    (step, i) =>
      step.event.type === 'troupe.runner.close' &&
      isIn(stateBefore(path, i), 'runner.draining.aborting'),
  );
  const abortGraceMs = closesAborting ? 5_000 : 150;
  return {
    abortGraceMs,
    startupTimeoutMs: takes('xstate.after.startupTimeout') ? 1_500 : 30_000,
    closeTimeoutMs: takes('xstate.after.closeTimeout') ? 800 : 30_000,
    shutdown: {
      signalingMs: 30_000,
      // The coordinator's abort, and runner.stop()'s own drain deadline.
      drainingMs: takes('troupe.runner.abort') || takes('xstate.after.drainTimeout') ? 150 : 30_000,
      closingMs: takes('troupe.runner.force') ? 200 : 30_000,
      forceMs: closesAborting ? 100 : 30_000,
      abortGraceMs,
    },
  };
}

/** The loading visits (0-based) whose pool must fail to start: the worker module is gone. */
function missingModuleAt(path: ModelPath): Set<number> {
  const missing = new Set<number>();
  let visits = 0;
  path.steps.forEach((step, i) => {
    if (!isIn(step.state, LOADING) || isIn(stateBefore(path, i), LOADING)) return;
    const next = path.steps[i + 1]?.event.type;
    if (next === 'xstate.error.actor.0.runner.starting.pool.loading') missing.add(visits);
    visits += 1;
  });
  return missing;
}

/** The path does something while the first start waits for its slot. */
function holdsTheSlot(path: ModelPath): boolean {
  return path.steps.some((step, i) => {
    const before = stateBefore(path, i);
    return (
      isIn(before, QUEUED) &&
      !(before.context as RunnerContext).everReady &&
      step.event.type !== 'troupe.runner.slotGranted'
    );
  });
}

interface WorkerModule {
  readonly dir: string;
  readonly file: string;
  readonly missingAt: Set<number>;
  gone: boolean;
}

interface Held {
  readonly index: number;
  readonly controller: AbortController;
  settled: boolean;
}

/**
 * Drives a real runner (one thread, `fixtures.controllable` with gated
 * loads) along paths of `runnerMachine`, observed through inspection from
 * its very first state. Each model event becomes a real cause:
 *
 * - `busy` / `idle`: a held task submitted / every held task released (or,
 *   still queued, aborted by its caller); `idle` after an abort the system
 *   does itself.
 * - `threadUp` / `threadFailed` / a never-loaded `threadExit`: the pending
 *   thread load is released to succeed, throw, or exit; a missed startup
 *   deadline is a load never released.
 * - other `threadExit`s: a held task exits its thread (busy), the idle
 *   thread exits (`exitNow`), exit code 1 or 0; a held task aborted while
 *   ignoring its signal, terminated after `abortGraceMs`. A spare task keeps
 *   the runner busy where the model stays busy.
 * - `restart`: `runner.restart()`; `stop`: `runner.stop()` or
 *   `troupe.shutdown({ gate })`.
 * - the coordinator's `abort`, `close`, `force`: its gates open (signaling
 *   until `abort` or `close`, draining until `close`), and its short drain or
 *   closing deadline does the rest.
 * - teardowns are held until the path's `done` (or never, for a deadline);
 *   the start slot is held by another runner (`maxConcurrentStarts: 1`)
 *   when the path acts before it is granted; a pool that fails to start is
 *   a worker module deleted just before.
 */
export class RunnerDriver implements ModelDriver {
  readonly #restart: RunnerRestartConfig;
  #troupe: Troupe | null = null;
  #runner: Runner | null = null;
  #recorder = new ActorRecorder();
  #control: Int32Array = createControl();
  #holder: { control: Int32Array; released: boolean } | null = null;
  #gates = new Gates();
  #outcomes = new Outcomes();
  #facts: PoolFacts[] = [];
  #held: Held[] = [];
  #holds = 0;
  /** Loads started before the pending one: its index. */
  #loadFloor = 0;
  #teardownsReleased = 0;
  #module: WorkerModule | null = null;
  #visits = 0;
  #last: unknown = undefined;
  #unwatch: () => void = () => {};

  constructor(restart: RunnerRestartConfig) {
    this.#restart = restart;
  }

  async start(path: ModelPath): Promise<ObservedActor> {
    const timing = timingFor(path);
    this.#facts = poolFactsAlong(path);
    this.#recorder = new ActorRecorder();
    this.#gates = new Gates();
    this.#outcomes = new Outcomes();
    this.#held = [];
    this.#holds = 0;
    this.#loadFloor = 0;
    this.#teardownsReleased = 0;
    this.#visits = 0;
    this.#last = undefined;
    const control = createControl();
    Atomics.store(control, Control.gatedLoads, 1);
    Atomics.store(control, Control.teardownMode, TeardownMode.held);
    this.#control = control;
    const holder = holdsTheSlot(path);
    const troupe = createTroupe({
      inspect: this.#recorder.inspect,
      health: { enabled: false },
      shutdown: timing.shutdown,
      ...(holder ? { maxConcurrentStarts: 1 } : {}),
    });
    this.#troupe = troupe;
    this.#holder = null;
    if (holder) {
      // Spawned first, it takes the only start slot and keeps it while its load is held.
      const holderControl = createControl();
      Atomics.store(holderControl, Control.gatedLoads, 1);
      this.#holder = { control: holderControl, released: false };
      this.#outcomes.track(
        troupe.spawnRunner({
          id: 'slot-holder',
          worker: fixtures.controllable,
          threads: 1,
          workerData: { control: holderControl },
        }),
        'spawnRunner(slot-holder)',
      );
    }
    this.#module = this.#workerModule(missingModuleAt(path));
    this.#unwatch = this.#recorder.watch(ACTOR_ID, (step) => {
      this.#onStep(step);
    });
    this.#outcomes.track(
      troupe.spawnRunner({
        id: RUNNER_ID,
        worker: this.#module?.file ?? fixtures.controllable,
        threads: 1,
        restart: this.#restart,
        startupTimeoutMs: timing.startupTimeoutMs,
        abortGraceMs: timing.abortGraceMs,
        closeTimeoutMs: timing.closeTimeoutMs,
        workerData: { control },
      }),
      'spawnRunner',
    );
    const runner = troupe.runner(RUNNER_ID);
    if (runner === undefined) throw new Error('the runner was not registered synchronously');
    this.#runner = runner;
    return Promise.resolve(this.#recorder.actor(ACTOR_ID));
  }

  /** A worker module of our own, which the path deletes before a pool start that must fail. */
  #workerModule(missingAt: Set<number>): WorkerModule | null {
    if (missingAt.size === 0) return null;
    const dir = mkdtempSync(join(tmpdir(), 'troupe-model-'));
    const file = join(dir, 'worker.mjs');
    const module: WorkerModule = { dir, file, missingAt, gone: true };
    if (!missingAt.has(0)) this.#restoreModule(module);
    return module;
  }

  #restoreModule(module: WorkerModule): void {
    writeFileSync(
      module.file,
      `export { default } from ${JSON.stringify(fixtures.controllable.href)};\n`,
    );
    module.gone = false;
  }

  /**
   * Every step of the real runner, synchronously (inside its macrostep):
   * the index of the next thread load, and the worker module deleted
   * before a pool start that must fail and restored once it failed. Both
   * happen before the next pool start can read them.
   */
  #onStep(step: ObservedStep): void {
    const was = this.#last === undefined ? false : isIn({ value: this.#last }, LOADING);
    const is = isIn(step, LOADING);
    this.#last = step.value;
    const module = this.#module;
    if (is && !was) {
      this.#visits += 1;
      this.#loadFloor = Atomics.load(this.#control, Control.loads);
    }
    if (step.event.type === 'troupe.runner.threadExit') {
      const exit = step.event as unknown as { loaded: boolean; replaced: boolean };
      if (exit.loaded && exit.replaced)
        this.#loadFloor = Atomics.load(this.#control, Control.loads);
    }
    if (module === null) return;
    if (was && !is && module.gone) this.#restoreModule(module);
    if (isIn(step, 'runner.restarting') && module.missingAt.has(this.#visits) && !module.gone) {
      rmSync(module.file, { force: true });
      module.gone = true;
    }
  }

  async exec(path: ModelPath, index: number): Promise<boolean> {
    const runner = this.#runner;
    const troupe = this.#troupe;
    const step = path.steps[index];
    if (runner === null || troupe === null || step === undefined) return false;
    const before = stateBefore(path, index);
    const facts = this.#facts[index];
    const event = step.event as EventObject & { reason?: string };
    // The aborted task honours its abort only where the path's next step is
    // that idle; otherwise it outlasts the grace period (or the close).
    if (isIn(step.state, 'runner.draining.aborting') && !isIn(before, 'runner.draining.aborting')) {
      const next = path.steps[index + 1]?.event.type;
      Atomics.store(this.#control, Control.ignoreAbort, next === 'troupe.runner.idle' ? 0 : 1);
    }
    switch (event.type) {
      case 'troupe.runner.busy':
        this.#hold();
        return true;
      case 'troupe.runner.idle':
        return this.#idle(before, facts);
      case 'troupe.runner.stop':
        // Sent synchronously: a step right after `restarting.waiting` was
        // entered runs before that state's backoff timer can fire.
        if (event.reason === 'shutdown') this.#shutdown(troupe);
        else this.#outcomes.track(runner.stop(), 'runner.stop');
        return true;
      case 'troupe.runner.restart':
        this.#outcomes.track(runner.restart(), 'runner.restart');
        return true;
      case 'troupe.runner.threadUp':
        await this.#resolveLoad(LoadMode.ok);
        return true;
      case 'troupe.runner.threadFailed':
        await this.#resolveLoad(LoadMode.throw);
        return true;
      case 'troupe.runner.threadExit':
        return this.#exit(step.event, before);
      case 'troupe.runner.slotGranted':
        return this.#grantSlot(runner);
      case 'troupe.runner.abort':
        // Draining begins; its deadline (drainingMs) sends the abort.
        this.#gates.open('signaling');
        return true;
      case 'troupe.runner.close':
        this.#gates.open('signaling');
        this.#gates.open('draining');
        return true;
      case 'troupe.runner.force':
        // Closing begins (if it has not); its deadline (closingMs) sends force.
        this.#gates.openAll();
        return true;
      default:
        break;
    }
    if (TEARDOWN_DONE.includes(event.type) && facts?.teardown === true) {
      await this.#releaseTeardown();
      return true;
    }
    // Deadlines, a pool that failed to start, destroys, backoffs: the system's own.
    return false;
  }

  #shutdown(troupe: Troupe): void {
    this.#outcomes.track(
      troupe.shutdown({ reason: 'model', gate: (phase) => this.#gates.wait(phase) }),
      'troupe.shutdown',
    );
  }

  #hold(): Held {
    const runner = this.#runner;
    if (runner === null) throw new Error('no runner');
    const held: Held = { index: this.#holds++, controller: new AbortController(), settled: false };
    this.#held.push(held);
    const task = runner.run(held.index, { handler: 'hold', signal: held.controller.signal });
    this.#outcomes.track(task, 'hold');
    const settle = (): void => {
      held.settled = true;
    };
    task.then(settle, settle);
    return held;
  }

  #started(held: Held): boolean {
    return Atomics.load(this.#control, Control.started + (held.index % Control.startedSize)) === 1;
  }

  /** The held task running on the thread (there is one: the runner is busy with a thread up). */
  async #onThread(): Promise<Held> {
    let found: Held | undefined;
    await until(() => {
      found = this.#held.find((held) => !held.settled && this.#started(held));
      return found !== undefined;
    }, 'a held task to start on the thread');
    return found as Held;
  }

  async #idle(before: AnyMachineSnapshot, facts: PoolFacts | undefined): Promise<boolean> {
    const context = before.context as RunnerContext;
    // The coordinator's abort rejected the queued tasks; an aborted task honours its abort.
    if (isIn(before, 'runner.draining.aborting')) return false;
    if ((isIn(before, 'runner.starting') || isIn(before, 'runner.restarting')) && context.forced) {
      return false;
    }
    const live = this.#held.filter((held) => !held.settled);
    if (before.hasTag('dispatching') && (facts?.up ?? 0) >= 1) {
      // On its way to the thread: released once there. Aborted in flight, it
      // would keep the thread busy until its reply came back (no teardown).
      await until(
        () => live.every((held) => held.settled || this.#started(held)),
        'the held tasks to start on the thread',
      );
      releaseHeld(this.#control);
      return true;
    }
    // Queued, never on a thread: their callers give up on them.
    for (const held of live) held.controller.abort(new Error('model: idle'));
    return true;
  }

  async #resolveLoad(mode: number): Promise<void> {
    const index = this.#loadFloor;
    if (!(await counterReached(this.#control, Control.loads, index + 1, 10_000))) {
      throw new Error(`thread load #${index} never started`);
    }
    if (index >= Control.planSize && mode !== LoadMode.ok) {
      throw new Error(`thread load #${index} is beyond the plan`);
    }
    if (index < Control.planSize) Atomics.store(this.#control, Control.plan + index, mode);
    releaseLoad(this.#control, index);
  }

  async #releaseTeardown(): Promise<void> {
    const released = this.#teardownsReleased;
    if (!(await counterReached(this.#control, Control.teardowns, released + 1, 10_000))) {
      throw new Error('the held teardown never started');
    }
    this.#teardownsReleased = Atomics.load(this.#control, Control.teardowns);
    releaseTeardowns(this.#control);
  }

  async #exit(event: EventObject, before: AnyMachineSnapshot): Promise<boolean> {
    const kind = threadExitKind(event);
    switch (kind) {
      case 'neverLoaded':
      case 'neverLoadedReplaced':
        await this.#resolveLoad(LoadMode.exit);
        return true;
      case 'crash':
      case 'normal': {
        const code = kind === 'normal' ? 0 : 1;
        if (busyIn(before)) {
          await this.#onThread();
          // The model stays busy: a spare task waits for the replacement.
          this.#hold();
          Atomics.store(this.#control, Control.exitHeld, code + 1);
          releaseHeld(this.#control);
        } else {
          Atomics.store(this.#control, Control.exitNow, code + 1);
          Atomics.notify(this.#control, Control.exitNow);
        }
        return true;
      }
      case 'terminated': {
        let target: Held;
        if (busyIn(before)) {
          target = await this.#onThread();
          this.#hold();
        } else {
          target = this.#hold();
          await this.#onThread();
        }
        const exits = this.#exitsSeen();
        Atomics.store(this.#control, Control.ignoreAbort, 1);
        target.controller.abort(new Error('model: ignored abort'));
        await until(() => this.#exitsSeen() > exits, 'the termination', 15_000);
        Atomics.store(this.#control, Control.ignoreAbort, 0);
        return true;
      }
      case 'loadedNotReplaced':
      case 'terminatedNotReplaced':
        throw new Error(`the model never asks for a ${kind} exit`);
    }
  }

  #exitsSeen(): number {
    return this.#recorder.events(ACTOR_ID).filter((e) => e.type === 'troupe.runner.threadExit')
      .length;
  }

  #grantSlot(runner: Runner): boolean {
    const holder = this.#holder;
    // Without a holder, or once the holder stopped, the slot comes by itself.
    if (holder === null || holder.released || !isIn(runner.actor.getSnapshot(), QUEUED)) {
      return false;
    }
    holder.released = true;
    releaseLoad(holder.control, 0);
    return true;
  }

  async finish(): Promise<void> {
    const troupe = this.#troupe;
    if (troupe === null) return;
    const control = this.#control;
    this.#gates.openAll();
    Atomics.store(control, Control.ignoreAbort, 0);
    Atomics.store(control, Control.exitHeld, 0);
    Atomics.store(control, Control.exitNow, 0);
    Atomics.store(control, Control.teardownMode, TeardownMode.ok);
    releaseTeardowns(control);
    for (let i = this.#loadFloor; i < Control.planSize; i++) {
      Atomics.store(control, Control.plan + i, LoadMode.ok);
    }
    releaseLoad(control, 1_000_000);
    releaseHeld(control);
    // A held task may still be on its way to the thread (it would wait for
    // the next release): its caller gives up on every one instead.
    for (const held of this.#held) {
      if (!held.settled) held.controller.abort(new Error('model: path done'));
    }
    if (this.#holder !== null) releaseLoad(this.#holder.control, 0);
    try {
      const report = await troupe.shutdown({
        reason: 'model path done',
        gate: (phase) => this.#gates.wait(phase),
      });
      await this.#outcomes.check(10_000);
      if (report.threads.leaked > 0) throw new Error(`${report.threads.leaked} thread(s) leaked`);
    } finally {
      this.#unwatch();
      if (this.#module !== null) rmSync(this.#module.dir, { recursive: true, force: true });
      this.#module = null;
      this.#troupe = null;
      this.#runner = null;
    }
  }
}
