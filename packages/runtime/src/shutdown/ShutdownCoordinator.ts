import {
  shutdownMachine,
  shutdownPhaseOf,
  type ShutdownDeadlines,
  type ShutdownOutput,
  type ShutdownPhase,
  type TimedShutdownPhase,
} from '@troupe/core';
import { createActor, fromPromise, type Actor, type SnapshotFrom } from 'xstate';
import { actorView, type ActorView } from '../inspection/ActorView.js';
import { inspectOptions, trackActor, type Inspection } from '../inspection/Inspection.js';
import { logTransitions } from '../logging/logTransitions.js';
import { silentLogger, type Logger } from '../logger.js';

/** The work of each phase, provided by the troupe. */
export interface ShutdownWork {
  signal(reason: string): Promise<void>;
  drain(reason: string): Promise<void>;
  forceDrain(reason: string): Promise<void>;
  close(reason: string): Promise<void>;
  forceClose(reason: string): Promise<void>;
}

/**
 * Awaited before the coordinator leaves a phase, once the phase's own work
 * is done, under the phase's deadline: lets an outside party (a cluster)
 * step several coordinators through the phases in unison.
 */
export type ShutdownGate = (phase: TimedShutdownPhase) => Promise<void> | void;

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
  /** From SIGNALING until admission closed: the readiness delay as it was served (0 without one). */
  readonly readinessDelayMs: number;
}

/** The coordinator's statechart snapshot. */
export type ShutdownSnapshot = SnapshotFrom<typeof shutdownMachine>;

/**
 * Drives the three-phase shutdown (SIGNALING → DRAINING → CLOSING) through
 * a {@link shutdownMachine} actor. `begin()` is idempotent (the statechart
 * ignores a second begin) and {@link outcome} is created with the
 * coordinator, so every caller gets the same promise, whoever began.
 */
export class ShutdownCoordinator {
  readonly #actor: Actor<typeof shutdownMachine>;
  readonly #view: ActorView<ShutdownSnapshot>;
  readonly #entered = new Map<ShutdownPhase, number>();
  readonly #onPhase: (phase: ShutdownPhase, previous: ShutdownPhase) => void;
  readonly #onError: (error: unknown) => void;
  readonly #outcome: Promise<ShutdownOutcome>;
  readonly #logger: Logger;
  #phase: ShutdownPhase = 'running';
  #admits = true;
  #admissionClosedAt: number | null = null;
  #gate: ShutdownGate | null = null;
  #startedAtEpoch = 0;

  constructor(options: {
    deadlines: ShutdownDeadlines;
    work: ShutdownWork;
    inspect?: Inspection | undefined;
    /** Phases at info (`shutdown began`, each `shutdown phase done` with `durationMs`), transitions at debug. */
    logger?: Logger;
    onPhase: (phase: ShutdownPhase, previous: ShutdownPhase) => void;
    onError: (error: unknown) => void;
  }) {
    const { work } = options;
    this.#onPhase = options.onPhase;
    this.#onError = options.onError;
    this.#logger = options.logger ?? silentLogger;
    const machine = shutdownMachine.provide({
      actions: {
        // An entry action, so the phase is announced before its work starts
        // (before runners react to it), not after the macrostep.
        phaseEntered: ({ context }, params) => {
          this.#enter(params.phase, context);
        },
        admissionClosed: () => {
          this.#admits = false;
          this.#admissionClosedAt = performance.now();
        },
      },
      actors: {
        signal: fromPromise(({ input }) => work.signal(input.reason)),
        drain: fromPromise(({ input }) => work.drain(input.reason)),
        forceDrain: fromPromise(({ input }) => work.forceDrain(input.reason)),
        close: fromPromise(({ input }) => work.close(input.reason)),
        forceClose: fromPromise(({ input }) => work.forceClose(input.reason)),
        gate: fromPromise(async ({ input }) => {
          await this.#gate?.(input.phase);
        }),
      },
    });
    this.#actor = createActor(machine, {
      id: 'shutdown',
      input: options.deadlines,
      ...inspectOptions(options.inspect),
    });
    trackActor(options.inspect, this.#actor);
    logTransitions(this.#actor, this.#logger, 'shutdown state');
    this.#view = actorView(this.#actor);
    this.#outcome = new Promise<ShutdownOutput>((resolve) => {
      const finish = (): void => {
        const snapshot = this.#actor.getSnapshot();
        resolve(
          snapshot.status === 'done'
            ? snapshot.output
            : {
                // Errored or stopped from outside: what the context holds.
                reason: snapshot.context.reason ?? 'shutdown',
                timedOut: snapshot.context.timedOut,
                forceRequested: snapshot.context.forceRequested,
                errors: snapshot.context.errors,
              },
        );
      };
      this.#actor.subscribe({
        next: (snapshot) => {
          if (snapshot.status === 'done') finish();
        },
        error: (error) => {
          options.onError(error);
          finish();
        },
        complete: finish,
      });
    }).then((output) => this.#timed(output));
    this.#actor.start();
  }

  /** The current phase. */
  get phase(): ShutdownPhase {
    return this.#phase;
  }

  /**
   * Readiness: true while `running`. Read from the phase the statechart's
   * entry action announced, so it is already false for the listeners of
   * SIGNALING (the snapshot's `ready` tag follows once the step is over).
   */
  get ready(): boolean {
    return this.#phase === 'running';
  }

  /**
   * New work is admitted: while `running`, and in SIGNALING's readiness
   * delay (readiness is already false, the load balancer still routes
   * here). Set by the statechart's `admissionClosed` entry action.
   */
  get admits(): boolean {
    return this.#admits;
  }

  /** The coordinator's statechart, read-only. */
  get view(): ActorView<ShutdownSnapshot> {
    return this.#view;
  }

  /** Resolves once the protocol is over (or its actor is gone). Settles only after a begin. */
  get outcome(): Promise<ShutdownOutcome> {
    return this.#outcome;
  }

  /** Starts the protocol unless it already started; the first `gate` given is the one used. */
  begin(reason: string, gate?: ShutdownGate): void {
    if (this.#actor.getSnapshot().status !== 'active' || this.#phase !== 'running') return;
    if (gate !== undefined) this.#gate = gate;
    this.#actor.send({ type: 'troupe.shutdown.begin', reason });
  }

  /**
   * Forces the shutdown (a second signal): begins it if need be, ends the
   * phase under way as its deadline would, and sends the later phases down
   * their forced paths. Ignored once stopped.
   */
  force(reason: string, gate?: ShutdownGate): void {
    if (this.#actor.getSnapshot().status !== 'active') return;
    if (gate !== undefined && this.#phase === 'running') this.#gate = gate;
    this.#actor.send({ type: 'troupe.shutdown.force', reason });
  }

  /** A force was asked for. */
  get forceRequested(): boolean {
    return this.#actor.getSnapshot().context.forceRequested;
  }

  #enter(phase: ShutdownPhase, context: ShutdownSnapshot['context']): void {
    const previous = this.#phase;
    const now = performance.now();
    if (previous === 'running') {
      this.#startedAtEpoch = Date.now();
      this.#entered.set('running', now);
    }
    this.#phase = phase;
    this.#entered.set(phase, now);
    this.#logPhase(previous, now, context);
    try {
      this.#onPhase(phase, previous);
    } catch (error) {
      // A listener's bug must never stop the shutdown.
      this.#onError(error);
    }
  }

  /** The shutdown began, or the phase before `now` ended: at info. */
  #logPhase(previous: ShutdownPhase, now: number, context: ShutdownSnapshot['context']): void {
    try {
      if (previous === 'running') {
        this.#logger.info({ reason: context.reason }, 'shutdown began');
        return;
      }
      const entered = this.#entered.get(previous);
      if (previous === 'stopped' || entered === undefined) return;
      this.#logger.info(
        { phase: previous, durationMs: now - entered, timedOut: context.timedOut[previous] },
        'shutdown phase done',
      );
    } catch {
      // A logger's bug must never stop the shutdown.
    }
  }

  #timed(output: ShutdownOutput): ShutdownOutcome {
    const end = performance.now();
    const at = (phase: ShutdownPhase): number => this.#entered.get(phase) ?? end;
    const timing = (phase: TimedShutdownPhase, next: ShutdownPhase): PhaseTiming => ({
      durationMs: at(next) - at(phase),
      timedOut: output.timedOut[phase],
    });
    // A phase never entered (the actor was stopped from outside) lasted 0 ms.
    if (!this.#entered.has('stopped')) this.#phase = shutdownPhaseOf('stopped');
    const signaled = this.#entered.get('signaling');
    return {
      ...output,
      readinessDelayMs:
        signaled === undefined ? 0 : (this.#admissionClosedAt ?? at('draining')) - signaled,
      startedAt: this.#startedAtEpoch,
      durationMs: end - at('running'),
      phases: {
        signaling: timing('signaling', 'draining'),
        draining: timing('draining', 'closing'),
        closing: timing('closing', 'stopped'),
      },
    };
  }
}
