import {
  shutdownMachine,
  type ShutdownDeadlines,
  type ShutdownOutput,
  type ShutdownPhase,
  type TimedShutdownPhase,
} from '@troupe/core';
import { createActor, fromPromise, type Actor } from 'xstate';
import type { InspectOption } from '../inspect.js';

/** The work of each phase, provided by the troupe. */
export interface ShutdownWork {
  signal(reason: string): Promise<void>;
  drain(reason: string): Promise<void>;
  forceDrain(reason: string): Promise<void>;
  close(reason: string): Promise<void>;
  forceClose(reason: string): Promise<void>;
}

/** Duration and deadline outcome of one phase. */
export interface PhaseTiming {
  readonly durationMs: number;
  readonly timedOut: boolean;
}

/** What the coordinator hands back when it reaches `stopped`. */
export interface ShutdownOutcome extends ShutdownOutput {
  readonly startedAt: number;
  readonly durationMs: number;
  readonly phases: Readonly<Record<TimedShutdownPhase, PhaseTiming>>;
}

/**
 * Drives the three-phase shutdown (SIGNALING → DRAINING → CLOSING) through
 * a {@link shutdownMachine} actor. `begin()` is idempotent: every call gets
 * the same promise, which always settles (each phase has a deadline and a
 * bounded forced path).
 */
export class ShutdownCoordinator {
  readonly #actor: Actor<typeof shutdownMachine>;
  readonly #entered = new Map<ShutdownPhase, number>();
  readonly #onPhase: (phase: ShutdownPhase, previous: ShutdownPhase) => void;
  readonly #onError: (error: unknown) => void;
  #phase: ShutdownPhase = 'running';
  #result: Promise<ShutdownOutcome> | null = null;
  #startedAtEpoch = 0;

  constructor(options: {
    deadlines: ShutdownDeadlines;
    work: ShutdownWork;
    inspect?: InspectOption | undefined;
    onPhase: (phase: ShutdownPhase, previous: ShutdownPhase) => void;
    onError: (error: unknown) => void;
  }) {
    const { work } = options;
    const machine = shutdownMachine.provide({
      actions: {
        // An entry action, so the phase is announced before its work starts
        // (before runners react to it), not after the macrostep.
        phaseEntered: (_, params) => {
          const previous = this.#phase;
          this.#phase = params.phase;
          this.#entered.set(params.phase, performance.now());
          try {
            this.#onPhase(params.phase, previous);
          } catch (error) {
            // A listener's bug must never stop the shutdown.
            this.#onError(error);
          }
        },
      },
      actors: {
        signal: fromPromise(({ input }) => work.signal(input.reason)),
        drain: fromPromise(({ input }) => work.drain(input.reason)),
        forceDrain: fromPromise(({ input }) => work.forceDrain(input.reason)),
        close: fromPromise(({ input }) => work.close(input.reason)),
        forceClose: fromPromise(({ input }) => work.forceClose(input.reason)),
      },
    });
    this.#onPhase = options.onPhase;
    this.#onError = options.onError;
    this.#actor = createActor(machine, {
      id: 'troupe:shutdown',
      input: options.deadlines,
      ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
    });
    this.#actor.subscribe({ error: options.onError });
    this.#actor.start();
  }

  /** The current phase. */
  get phase(): ShutdownPhase {
    return this.#phase;
  }

  /** The coordinator's statechart actor. */
  get actor(): Actor<typeof shutdownMachine> {
    return this.#actor;
  }

  /** Starts the protocol (once) and resolves when every phase is over. */
  begin(reason: string): Promise<ShutdownOutcome> {
    this.#result ??= this.#run(reason);
    return this.#result;
  }

  async #run(reason: string): Promise<ShutdownOutcome> {
    this.#startedAtEpoch = Date.now();
    const start = performance.now();
    this.#entered.set('running', start);
    const done = new Promise<ShutdownOutput>((resolve, reject) => {
      const sub = this.#actor.subscribe({
        next: (snapshot) => {
          if (snapshot.status === 'done') {
            sub.unsubscribe();
            resolve(snapshot.output);
          }
        },
        error: reject,
      });
    });
    this.#actor.send({ type: 'troupe.shutdown.begin', reason });
    const output = await done;
    const end = performance.now();
    const at = (phase: ShutdownPhase): number => this.#entered.get(phase) ?? end;
    const timing = (phase: TimedShutdownPhase, next: ShutdownPhase): PhaseTiming => ({
      durationMs: Math.max(0, at(next) - at(phase)),
      timedOut: output.timedOut[phase],
    });
    return {
      ...output,
      startedAt: this.#startedAtEpoch,
      durationMs: end - start,
      phases: {
        signaling: timing('signaling', 'draining'),
        draining: timing('draining', 'closing'),
        closing: timing('closing', 'stopped'),
      },
    };
  }
}
