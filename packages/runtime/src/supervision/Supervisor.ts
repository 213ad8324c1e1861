import {
  supervisorMachine,
  toErrorData,
  type AlertDecision,
  type ErrorCode,
  type ErrorData,
  type EscalationPolicy,
  type HealthRecovery,
  type Severity,
  type SupervisorEvent,
  type UnhealthyError,
} from '@troupe/core';
import { createActor, type Actor, type SnapshotFrom } from 'xstate';
import type { ErrorRecord } from '../errors/ErrorHandler.js';
import { actorView, type ActorView } from '../inspection/ActorView.js';
import { inspectOptions, trackActor, type Inspection } from '../inspection/Inspection.js';
import { logTransitions } from '../logging/logTransitions.js';
import { silentLogger, type Logger } from '../logger.js';

/** An alert: something persistent needs a human. */
export interface Alert {
  /** `escalation`: an error whose action is ESCALATE; `health`: a runner that stays unhealthy. */
  readonly kind: 'escalation' | 'health';
  readonly severity: Severity;
  readonly code: ErrorCode | null;
  readonly message: string;
  readonly runnerId?: string;
  readonly error?: ErrorData;
  /** What the troupe does about it. */
  readonly decision: AlertDecision;
}

/** The effects the supervisor's statechart names, performed by the troupe. */
export interface SupervisorEffects {
  readonly alert: (alert: Alert) => void;
  readonly beginShutdown: (reason: string) => void;
  readonly restartRunner: (
    runnerId: string,
    error: ErrorData,
    record: ErrorRecord | undefined,
  ) => void;
  readonly stopRunner: (runnerId: string) => void;
}

/**
 * The troupe's supervisor actor ({@link supervisorMachine}): escalations and
 * health verdicts go in as events, alerts and recoveries come out as the
 * named actions the statechart chose.
 */
export class Supervisor {
  readonly #actor: Actor<typeof supervisorMachine>;
  readonly #view: ActorView<SnapshotFrom<typeof supervisorMachine>>;
  /** The error record behind the event being handled (resolved once its runner serves again). */
  #record: ErrorRecord | undefined;

  constructor(options: {
    escalation: EscalationPolicy;
    recovery: HealthRecovery;
    effects: SupervisorEffects;
    inspect?: Inspection | undefined;
    /** Its state transitions are logged here at debug. Default silent. */
    logger?: Logger;
    onError: (error: unknown) => void;
  }) {
    // An effect that throws (a logger, a listener) must not fail the
    // supervisor: it would ignore every later escalation.
    const guarded = <TArgs extends unknown[]>(
      effect: (...args: TArgs) => void,
    ): ((...args: TArgs) => void) => {
      return (...args) => {
        try {
          effect(...args);
        } catch (error) {
          options.onError(error);
        }
      };
    };
    const effects: SupervisorEffects = {
      alert: guarded(options.effects.alert),
      beginShutdown: guarded(options.effects.beginShutdown),
      restartRunner: guarded(options.effects.restartRunner),
      stopRunner: guarded(options.effects.stopRunner),
    };
    const machine = supervisorMachine.provide({
      actions: {
        alert: ({ event }, params) => {
          if (event.type === 'troupe.supervisor.standDown') return;
          effects.alert({
            kind: params.kind,
            severity: event.severity,
            code: event.type === 'troupe.supervisor.escalate' ? event.code : 'ERR_UNHEALTHY',
            message: event.message,
            ...(event.runnerId === undefined ? {} : { runnerId: event.runnerId }),
            error: event.error,
            decision: params.decision,
          });
        },
        beginShutdown: ({ event }) => {
          if (event.type !== 'troupe.supervisor.escalate') return;
          const where = event.runnerId === undefined ? '' : ` (${event.runnerId})`;
          effects.beginShutdown(`escalation: ${event.code}${where}`);
        },
        restartRunner: ({ event }) => {
          if (event.type === 'troupe.supervisor.unhealthy') {
            effects.restartRunner(event.runnerId, event.error, this.#record);
          }
        },
        stopRunner: ({ event }) => {
          if (event.type === 'troupe.supervisor.unhealthy') effects.stopRunner(event.runnerId);
        },
      },
    });
    this.#actor = createActor(machine, {
      id: 'supervisor',
      input: { escalation: options.escalation, recovery: options.recovery },
      ...inspectOptions(options.inspect),
    });
    trackActor(options.inspect, this.#actor);
    logTransitions(this.#actor, options.logger ?? silentLogger, 'supervisor state');
    this.#actor.subscribe({ error: options.onError });
    this.#view = actorView(this.#actor);
    this.#actor.start();
  }

  /** The supervisor's statechart, read-only. */
  get view(): ActorView<SnapshotFrom<typeof supervisorMachine>> {
    return this.#view;
  }

  /** An error the error handler classified ESCALATE. */
  escalate(record: ErrorRecord): void {
    const runnerId = record.context.runnerId;
    this.#send(
      {
        type: 'troupe.supervisor.escalate',
        code: record.code,
        severity: record.severity,
        message: record.message,
        ...(typeof runnerId === 'string' ? { runnerId } : {}),
        error: toErrorData(record.error),
      },
      record,
    );
  }

  /** A runner stayed unhealthy for `unhealthyProbes` probes. */
  unhealthy(runnerId: string, error: UnhealthyError, record: ErrorRecord): void {
    this.#send(
      {
        type: 'troupe.supervisor.unhealthy',
        runnerId,
        severity: record.severity,
        message: error.message,
        error: toErrorData(error),
      },
      record,
    );
  }

  /** A shutdown began: no more recovery. */
  standDown(): void {
    this.#send({ type: 'troupe.supervisor.standDown' }, undefined);
  }

  /** Stops the actor (the troupe is done). */
  stop(): void {
    this.#actor.stop();
  }

  #send(event: SupervisorEvent, record: ErrorRecord | undefined): void {
    if (this.#actor.getSnapshot().status !== 'active') return;
    this.#record = record;
    try {
      this.#actor.send(event);
    } finally {
      this.#record = undefined;
    }
  }
}
