import { createTroupe, type Troupe } from '@troupe/runtime';
import { ActorRecorder } from '../ActorRecorder.js';
import type { ModelPath } from '../modelPaths.js';
import type { ModelDriver, ObservedActor } from '../runModelPath.js';
import { Outcomes } from './settle.js';

const ID = 'model-resource';

/**
 * Drives a real resource of a troupe's resource manager along paths of
 * `resourceMachine`: `open` resolves the resource's `open()`, `close` is
 * `troupe.shutdown()`, and its `close()` succeeds, throws or hangs past
 * `closeTimeoutMs` as the path's next step requires.
 */
export class ResourceDriver implements ModelDriver {
  #troupe: Troupe | null = null;
  #outcomes = new Outcomes();
  #open: () => void = () => {};

  start(path: ModelPath): Promise<ObservedActor> {
    const types = path.steps.map((s) => s.event.type);
    const fails = types.includes('troupe.resource.closeFailed');
    const hangs = types.includes('troupe.resource.closeTimeout');
    const openAtOnce = (path.initial.context as { openAtOnce?: boolean }).openAtOnce === true;
    this.#outcomes = new Outcomes();
    const recorder = new ActorRecorder();
    const troupe = createTroupe({
      inspect: recorder.inspect,
      health: { enabled: false },
      shutdown: { closingMs: 2_000 },
    });
    this.#troupe = troupe;
    const opened = new Promise<void>((resolve) => {
      this.#open = resolve;
    });
    troupe.resources.register({
      id: ID,
      ...(openAtOnce ? {} : { open: () => opened }),
      close: () => {
        if (fails) throw new Error('model: close fails');
        if (hangs) return new Promise(() => {});
        return undefined;
      },
      closeTimeoutMs: 100,
    });
    return Promise.resolve(recorder.actor(`resource:${ID}`));
  }

  exec(path: ModelPath, index: number): Promise<boolean> {
    const type = path.steps[index]?.event.type;
    if (type === 'troupe.resource.open') {
      this.#open();
      return Promise.resolve(true);
    }
    if (type === 'troupe.resource.close' && this.#troupe !== null) {
      this.#outcomes.track(this.#troupe.shutdown({ reason: 'model' }), 'troupe.shutdown');
      return Promise.resolve(true);
    }
    return Promise.resolve(false);
  }

  async finish(): Promise<void> {
    const troupe = this.#troupe;
    if (troupe === null) return;
    this.#open();
    await troupe.shutdown({ reason: 'model path done' });
    await this.#outcomes.check(10_000);
    this.#troupe = null;
  }
}
