import type { TimedShutdownPhase } from '@troupe/core';

/**
 * The gates of a troupe's shutdown (`troupe.shutdown({ gate })`), each
 * opened when a model path says: the coordinator leaves a phase only once
 * its gate is open (or its deadline passed).
 */
export class Gates {
  readonly #gates = new Map<TimedShutdownPhase, { promise: Promise<void>; open: () => void }>();
  readonly #fail = new Set<TimedShutdownPhase>();

  constructor(open: readonly TimedShutdownPhase[] = ['closing']) {
    for (const phase of ['signaling', 'draining', 'closing'] as const) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A gate nobody waits on must not report an unhandled rejection.
      promise.catch(() => {});
      this.#gates.set(phase, {
        promise,
        open: () => {
          if (this.#fail.has(phase)) reject(new Error(`model: the ${phase} gate fails`));
          else resolve();
        },
      });
    }
    for (const phase of open) this.open(phase);
  }

  /** What the coordinator awaits before it leaves `phase`. */
  wait(phase: TimedShutdownPhase): Promise<void> {
    return this.#gates.get(phase)?.promise ?? Promise.resolve();
  }

  /** The gate of `phase` rejects instead of resolving when it opens. */
  failing(phase: TimedShutdownPhase): void {
    this.#fail.add(phase);
  }

  open(phase: TimedShutdownPhase): void {
    this.#gates.get(phase)?.open();
  }

  openAll(): void {
    for (const phase of ['signaling', 'draining', 'closing'] as const) this.open(phase);
  }
}
