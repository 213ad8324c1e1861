import type { EscalationPolicy, HealthRecovery } from '@troupe/core';
import { createTroupe, type Troupe } from '@troupe/runtime';
import { Control, counterReached, createControl, releaseHeld } from '../../control.js';
import { fixtures } from '../../fixtures.js';
import { ActorRecorder } from '../ActorRecorder.js';
import type { ModelPath } from '../modelPaths.js';
import type { ModelDriver, ObservedActor } from '../runModelPath.js';
import { Outcomes } from './settle.js';

/**
 * Drives a real troupe's supervisor along paths of `supervisorMachine`,
 * observed through inspection (the actor `supervisor`), with each
 * escalation and health verdict caused for real:
 *
 * - a CRITICAL escalation: a runner over its restart limit
 *   (`maxRestarts: 0`, its thread crashes) fails with `ERR_RESTART_LIMIT`;
 * - a HIGH one: a runner's first start fails (`ERR_RUNNER_STARTUP`);
 * - a MEDIUM one, standing down: a resource's `open()` rejects with a plain
 *   error (`ERR_UNKNOWN`) while a held task keeps the shutdown draining;
 * - unhealthy: a thread blocks its event loop outside any task, so it
 *   answers no probe (`unhealthyProbes: 1`; a thread silent in a task
 *   would be replaced by its runner instead);
 * - standDown: `troupe.shutdown()`.
 *
 * Each step must match a real one with the same named actions, so the
 * alert's decision and the recovery (restart, stop, shutdown) are checked.
 */
export class SupervisorDriver implements ModelDriver {
  readonly #escalation: EscalationPolicy;
  readonly #recovery: HealthRecovery;
  #troupe: Troupe | null = null;
  #outcomes = new Outcomes();
  #control: Int32Array | null = null;
  #spawned = 0;

  constructor(escalation: EscalationPolicy, recovery: HealthRecovery) {
    this.#escalation = escalation;
    this.#recovery = recovery;
  }

  async start(path: ModelPath): Promise<ObservedActor> {
    const events = path.steps.map((s) => s.event as { type: string; code?: string });
    const unhealthy = events.some((e) => e.type === 'troupe.supervisor.unhealthy');
    const lateEscalation = events.some((e) => e.code === 'ERR_UNKNOWN');
    this.#outcomes = new Outcomes();
    this.#control = null;
    this.#spawned = 0;
    const recorder = new ActorRecorder();
    const troupe = createTroupe({
      inspect: recorder.inspect,
      errors: { escalation: this.#escalation },
      health: unhealthy
        ? {
            recovery: this.#recovery,
            intervalMs: 50,
            probeTimeoutMs: 30,
            thresholds: { hungAfterMs: 100, unhealthyProbes: 1 },
          }
        : { enabled: false, recovery: this.#recovery },
      // A hung thread is drained no longer than needed; a held task, as long as the path needs.
      shutdown: { drainingMs: lateEscalation ? 30_000 : 300, abortGraceMs: 50 },
    });
    this.#troupe = troupe;
    if (lateEscalation) {
      // Keeps the shutdown draining (resources can register until closing).
      const control = createControl();
      this.#control = control;
      const busy = await troupe.spawnRunner({
        id: 'busy',
        worker: fixtures.controllable,
        threads: 1,
        workerData: { control },
      });
      this.#outcomes.track(busy.run(0, { handler: 'hold' }), 'held task');
      if (!(await counterReached(control, Control.holding, 1, 10_000))) {
        throw new Error('the held task never started');
      }
    }
    return recorder.actor('supervisor');
  }

  async exec(path: ModelPath, index: number): Promise<boolean> {
    const troupe = this.#troupe;
    const event = path.steps[index]?.event as { type: string; code?: string } | undefined;
    if (troupe === null || event === undefined) return false;
    const id = `model-${++this.#spawned}`;
    switch (event.type) {
      case 'troupe.supervisor.escalate':
        if (event.code === 'ERR_RESTART_LIMIT') {
          const doomed = await troupe.spawnRunner({
            id,
            worker: fixtures.crashMidTask,
            threads: 1,
            restart: { maxRestarts: 0 },
          });
          this.#outcomes.track(doomed.run({ code: 1 }), 'crashing task');
        } else if (event.code === 'ERR_RUNNER_STARTUP') {
          this.#outcomes.track(
            troupe.spawnRunner({ id, worker: fixtures.throwOnLoad, threads: 1 }),
            'failing start',
          );
        } else {
          troupe.resources.register({
            id,
            open: () => Promise.reject(new Error('model: open fails')),
            close: () => undefined,
          });
        }
        return true;
      case 'troupe.supervisor.unhealthy': {
        const stuck = await troupe.spawnRunner({
          id,
          worker: fixtures.blockAfterReturn,
          threads: 1,
          restart: { backoff: { baseMs: 1, capMs: 5 } },
        });
        this.#outcomes.track(stuck.run(60_000), 'task that blocks its thread after it returns');
        return true;
      }
      case 'troupe.supervisor.standDown':
        this.#outcomes.track(troupe.shutdown({ reason: 'model' }), 'troupe.shutdown');
        return true;
      default:
        return false;
    }
  }

  async finish(): Promise<void> {
    const troupe = this.#troupe;
    if (troupe === null) return;
    if (this.#control !== null) releaseHeld(this.#control);
    const report = await troupe.shutdown({ reason: 'model path done' });
    await this.#outcomes.check(10_000);
    if (report.threads.leaked > 0) throw new Error(`${report.threads.leaked} thread(s) leaked`);
    this.#troupe = null;
  }
}
