import { createTroupe, type Troupe } from '@troupe/runtime';
import { Control, createControl } from '../../control.js';
import { fixtures } from '../../fixtures.js';
import type { ModelPath } from '../modelPaths.js';
import type { ModelDriver, ObservedActor } from '../runModelPath.js';
import { Outcomes } from './settle.js';

function takes(path: ModelPath, fragment: string): boolean {
  return path.steps.some((s) => s.event.type.includes(fragment));
}

/**
 * Drives a real troupe's shutdown coordinator along paths of
 * `shutdownMachine`. `begin` is `troupe.shutdown()`; every other step is
 * the coordinator's own, made to happen by what the path needs in place:
 * a task that never ends (the draining deadline), a slow abort (the forced
 * drain's backstop), a resource whose close hangs (the closing deadline),
 * a runner whose close outlasts the forced close's backstop.
 */
export class ShutdownDriver implements ModelDriver {
  #troupe: Troupe | null = null;
  #outcomes = new Outcomes();
  #control = createControl();

  async start(path: ModelPath): Promise<ObservedActor> {
    const drainForced = takes(path, 'drainingDeadline');
    const drainBackstop = takes(path, 'forceDeadline.shutdown.draining');
    const closeForced = takes(path, 'closingDeadline');
    const closeBackstop = takes(path, 'forceDeadline.shutdown.closing');
    this.#outcomes = new Outcomes();
    this.#control = createControl();
    const troupe = createTroupe({
      health: { enabled: false },
      shutdown: {
        signalingMs: 1_000,
        drainingMs: 100,
        closingMs: 200,
        // The backstops fire only when the path says they do.
        forceMs: drainBackstop || closeBackstop ? 20 : 2_000,
        abortGraceMs: drainBackstop ? 1_000 : 20,
      },
    });
    this.#troupe = troupe;
    if (drainForced) {
      const hung = await troupe.spawnRunner({ id: 'hung', worker: fixtures.hang, threads: 1 });
      this.#outcomes.track(hung.run(), 'hung task');
    }
    if (closeForced) {
      if (closeBackstop) {
        // A runner whose teardown hangs, used by the hung resource: its close
        // is launched by the forced close and outlasts the backstop.
        Atomics.store(this.#control, Control.teardownMode, 1);
        await troupe.spawnRunner({
          id: 'slow-close',
          worker: fixtures.controllable,
          threads: 1,
          closeTimeoutMs: 2_000,
          workerData: { control: this.#control },
        });
      }
      troupe.resources.register({
        id: 'hung-resource',
        close: () => new Promise(() => {}),
        closeTimeoutMs: 10_000,
        ...(closeBackstop ? { dependsOn: ['slow-close'] } : {}),
      });
    }
    return troupe.shutdownActor;
  }

  exec(path: ModelPath, index: number): Promise<boolean> {
    const step = path.steps[index];
    if (step?.event.type === 'troupe.shutdown.begin' && this.#troupe !== null) {
      this.#outcomes.track(this.#troupe.shutdown({ reason: 'model' }), 'troupe.shutdown');
      return Promise.resolve(true);
    }
    return Promise.resolve(false);
  }

  async finish(): Promise<void> {
    const troupe = this.#troupe;
    if (troupe === null) return;
    Atomics.store(this.#control, Control.teardownMode, 0);
    const report = await troupe.shutdown({ reason: 'model path done' });
    await this.#outcomes.check(10_000);
    if (report.threads.leaked > 0) throw new Error(`${report.threads.leaked} thread(s) leaked`);
    this.#troupe = null;
  }
}
