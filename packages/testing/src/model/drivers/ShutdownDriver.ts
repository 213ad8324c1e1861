import type { ShutdownContext, TimedShutdownPhase } from '@troupe/core';
import { createTroupe, type Troupe } from '@troupe/runtime';
import { blockingPipe, type BlockingPipe } from '../../blockingPipe.js';
import {
  Control,
  TeardownMode,
  counterReached,
  createControl,
  releaseHeld,
} from '../../control.js';
import { fixtures } from '../../fixtures.js';
import type { ModelPath } from '../modelPaths.js';
import type { ModelDriver, ObservedActor } from '../runModelPath.js';
import { ActorRecorder } from '../ActorRecorder.js';
import { Gates } from './Gates.js';
import { Outcomes } from './settle.js';
import { until } from './until.js';

const PHASES = ['signaling', 'draining', 'closing'] as const;

function takes(path: ModelPath, prefix: string): boolean {
  return path.steps.some((s) => s.event.type.startsWith(prefix));
}

/** The gate step of `phase` in the path: its gate resolving, rejecting, or none. */
function gateOutcome(path: ModelPath, phase: TimedShutdownPhase): 'done' | 'error' | null {
  if (takes(path, `xstate.done.actor.0.shutdown.${phase}.gating`)) return 'done';
  if (takes(path, `xstate.error.actor.0.shutdown.${phase}.gating`)) return 'error';
  return null;
}

/**
 * Drives a real troupe's shutdown coordinator along paths of
 * `shutdownMachine`, observed through inspection. `begin` is
 * `troupe.shutdown({ gate })`; each phase's gate resolves or rejects at the
 * path's step, or never (its deadline passes). The rest is the
 * coordinator's own, made to happen by what the path needs in place: a
 * task that never ends (the draining deadline), one that ignores its abort
 * past `forceMs` (the forced drain's backstop), a resource whose close
 * hangs (the closing deadline), a thread blocked in a system call by its
 * teardown, which outlives its termination (the forced close's backstop).
 */
export class ShutdownDriver implements ModelDriver {
  #troupe: Troupe | null = null;
  #outcomes = new Outcomes();
  #gates = new Gates([]);
  #controls: Int32Array[] = [];
  #recorder = new ActorRecorder();
  #pipe: BlockingPipe | null = null;
  /** The path ends in the readiness delay: the finish forces its way out. */
  #lastDelaying = false;

  async start(path: ModelPath): Promise<ObservedActor> {
    // Forcing is entered by the drain deadline only (the drain phase never rejects).
    const drainForced = path.steps.some((s) => s.state.matches({ draining: 'forcing' }));
    const drainBackstop = takes(path, 'xstate.after.forceDeadline.shutdown.draining.forcing');
    const closeForced = path.steps.some((s) => s.state.matches({ closing: 'forcing' }));
    const closeBackstop = takes(path, 'xstate.after.forceDeadline.shutdown.closing.forcing');
    // A readiness delay passes only when the path says so; else it lasts until a force.
    const delayed = ((path.initial.context as ShutdownContext).deadlines.readinessDelayMs ?? 0) > 0;
    const readinessDelayMs = takes(path, 'xstate.after.readinessDelay')
      ? 100
      : delayed
        ? 30_000
        : 0;
    this.#lastDelaying = path.steps.at(-1)?.state.matches({ signaling: 'delaying' }) ?? false;
    this.#outcomes = new Outcomes();
    this.#controls = [];
    this.#gates = new Gates([]);
    for (const phase of PHASES) {
      if (gateOutcome(path, phase) === 'error') this.#gates.failing(phase);
    }
    const recorder = new ActorRecorder();
    this.#recorder = recorder;
    this.#pipe = null;
    const abortGraceMs = drainBackstop ? 2_000 : 20;
    const troupe = createTroupe({
      inspect: recorder.inspect,
      health: { enabled: false },
      shutdown: {
        signalingMs: takes(path, 'xstate.after.signalingDeadline') ? 100 : 30_000,
        drainingMs: takes(path, 'xstate.after.drainingDeadline') ? 100 : 30_000,
        closingMs: takes(path, 'xstate.after.closingDeadline') ? 200 : 30_000,
        // A backstop passes only when the path says so; a forced path that
        // must finish first is a cooperative abort or an abandoned close.
        forceMs: takes(path, 'xstate.after.forceDeadline') ? 300 : 30_000,
        abortGraceMs,
        readinessDelayMs,
      },
    });
    this.#troupe = troupe;
    if (drainForced) {
      // A task that runs until aborted: honouring the abort, or (the
      // backstop) ignoring it for longer than forceMs.
      const control = createControl();
      if (drainBackstop) Atomics.store(control, Control.ignoreAbort, 1);
      this.#controls.push(control);
      const busy = await troupe.spawnRunner({
        id: 'busy',
        worker: fixtures.controllable,
        threads: 1,
        abortGraceMs,
        workerData: { control },
      });
      this.#outcomes.track(busy.run(0, { handler: 'hold' }), 'held task');
      if (!(await counterReached(control, Control.holding, 1, 10_000))) {
        throw new Error('the held task never started');
      }
    }
    if (closeBackstop) {
      // Its teardown blocks the thread in open(2) on a pipe: the closing
      // deadline passes, and the forced close's termination cannot reach it.
      const control = createControl();
      Atomics.store(control, Control.teardownMode, TeardownMode.block);
      this.#controls.push(control);
      this.#pipe = blockingPipe();
      await troupe.spawnRunner({
        id: 'unkillable',
        worker: fixtures.controllable,
        threads: 1,
        closeTimeoutMs: 30_000,
        workerData: { control, pipe: this.#pipe.path },
      });
    } else if (closeForced) {
      troupe.resources.register({
        id: 'hung-resource',
        close: () => new Promise(() => {}),
        closeTimeoutMs: 30_000,
      });
    }
    return recorder.actor('shutdown');
  }

  exec(path: ModelPath, index: number): Promise<boolean> {
    const troupe = this.#troupe;
    const type = path.steps[index]?.event.type;
    if (troupe === null || type === undefined) return Promise.resolve(false);
    if (type === 'troupe.shutdown.begin' || type === 'troupe.shutdown.force') {
      this.#outcomes.track(
        troupe.shutdown({
          reason: 'model',
          gate: (phase) => this.#gates.wait(phase),
          force: type === 'troupe.shutdown.force',
        }),
        type,
      );
      return Promise.resolve(true);
    }
    for (const phase of PHASES) {
      const gating = `actor.0.shutdown.${phase}.gating`;
      if (type === `xstate.done.${gating}` || type === `xstate.error.${gating}`) {
        this.#gates.open(phase);
        return Promise.resolve(true);
      }
    }
    return Promise.resolve(false);
  }

  async finish(): Promise<void> {
    const troupe = this.#troupe;
    if (troupe === null) return;
    for (const control of this.#controls) {
      Atomics.store(control, Control.teardownMode, TeardownMode.ok);
      Atomics.store(control, Control.ignoreAbort, 0);
      releaseHeld(control);
    }
    this.#gates.openAll();
    const pipe = this.#pipe;
    try {
      if (pipe !== null) {
        // The coordinator may stop first; the blocked thread must exit once released.
        const stopped = new Promise<void>((resolve) => {
          troupe.once('shutdown:phase', ({ phase }) => {
            if (phase === 'stopped') resolve();
          });
          if (troupe.phase === 'stopped') resolve();
        });
        void troupe.shutdown({ reason: 'model path done' });
        await stopped;
        pipe.release();
        await until(
          () =>
            (
              this.#recorder.ref('runner:unkillable')?.getSnapshot() as
                { status?: string } | undefined
            )?.status === 'done',
          'the blocked thread to exit once its pipe was released',
        );
      }
      const report = await troupe.shutdown({
        reason: 'model path done',
        force: this.#lastDelaying,
      });
      await this.#outcomes.check(10_000);
      // A thread left behind by the forced close's backstop is reported as leaked.
      const left = pipe === null ? 0 : 1;
      if (report.threads.leaked !== left) {
        throw new Error(`${report.threads.leaked} thread(s) leaked, expected ${left}`);
      }
    } finally {
      pipe?.remove();
      this.#troupe = null;
    }
  }
}
