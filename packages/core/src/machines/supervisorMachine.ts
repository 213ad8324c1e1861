import { setup } from 'xstate';
import type { ErrorCode } from '../errors/codes.js';
import type { ErrorData } from '../errors/errorData.js';
import type { Severity } from '../errors/classify.js';
import { internalEventsOf } from './internalEvents.js';

/** What the troupe does when an error escalates: keep serving with less, or shut down. */
export type EscalationPolicy = 'degrade' | 'shutdown';

/** What the troupe does with a runner that stays unhealthy. */
export type HealthRecovery = 'restart' | 'stop' | 'none';

/** Input of {@link supervisorMachine}. */
export interface SupervisorMachineInput {
  readonly escalation: EscalationPolicy;
  readonly recovery: HealthRecovery;
}

/** Context of {@link supervisorMachine}. */
export type SupervisorContext = SupervisorMachineInput;

/** What an alert decided. */
export type AlertDecision = 'degrade' | 'shutdown' | 'restart' | 'stop' | 'none';

/** Namespaced event names of {@link supervisorMachine}. */
export const SupervisorEventTypes = {
  escalate: 'troupe.supervisor.escalate',
  unhealthy: 'troupe.supervisor.unhealthy',
  standDown: 'troupe.supervisor.standDown',
} as const;

/** Events {@link supervisorMachine} accepts. */
export type SupervisorEvent =
  /** An error the error handler classified ESCALATE. */
  | {
      readonly type: 'troupe.supervisor.escalate';
      readonly code: ErrorCode;
      readonly severity: Severity;
      readonly message: string;
      readonly runnerId?: string;
      readonly error: ErrorData;
    }
  /** The health monitor found a runner unhealthy for `unhealthyProbes` probes in a row. */
  | {
      readonly type: 'troupe.supervisor.unhealthy';
      readonly runnerId: string;
      readonly severity: Severity;
      readonly message: string;
      readonly error: ErrorData;
    }
  /** A shutdown began: recovery stops, escalations only inform. */
  | { readonly type: 'troupe.supervisor.standDown' };

/**
 * {@link supervisorMachine} invokes no actor and has no `after`, so XState
 * sends it no event of its own. Declared for symmetry with the other machines.
 */
export type SupervisorInternalEvent = never;

/**
 * Every event {@link supervisorMachine} reacts to: its event type, and what a model
 * sends. Its {@link SupervisorEvent}s only, as it has no internal events.
 */
export type SupervisorModelEvent = SupervisorEvent;

/** The parameters of the `alert` action. */
export interface AlertParams {
  readonly kind: 'escalation' | 'health';
  readonly decision: AlertDecision;
}

/**
 * The troupe's supervisor: the decisions an OTP supervisor makes above its
 * children. An escalated error raises an alert and, when it is CRITICAL
 * under `escalation: 'shutdown'`, shuts the troupe down; a persistently
 * unhealthy runner raises an alert and is restarted or stopped as
 * `health.recovery` says. Once a shutdown began (`standingDown`) nothing
 * is recovered and escalations only inform.
 *
 * Named effects, provided by `@troupe/runtime`: actions `alert` (params:
 * kind and decision), `beginShutdown`, `restartRunner`, `stopRunner`.
 *
 * @example
 * ```ts
 * const actor = createActor(supervisorMachine.provide({ actions: { alert: (_, p) => log(p) } }), {
 *   input: { escalation: 'degrade', recovery: 'restart' },
 * });
 * ```
 */
export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorMachineInput,
  },
  actions: {
    alert: (_, _params: AlertParams) => {},
    beginShutdown: () => {},
    restartRunner: () => {},
    stopRunner: () => {},
  },
  guards: {
    critical: ({ event }) => 'severity' in event && event.severity === 'CRITICAL',
    /** CRITICAL under `escalation: 'shutdown'`. */
    shutsDown: ({ context, event }) =>
      context.escalation === 'shutdown' && 'severity' in event && event.severity === 'CRITICAL',
    recoveryIs: ({ context }, params: { recovery: HealthRecovery }) =>
      context.recovery === params.recovery,
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({ escalation: input.escalation, recovery: input.recovery }),
  initial: 'supervising',
  states: {
    supervising: {
      on: {
        'troupe.supervisor.escalate': [
          {
            guard: 'shutsDown',
            target: 'standingDown',
            actions: [
              { type: 'alert', params: { kind: 'escalation', decision: 'shutdown' } },
              'beginShutdown',
            ],
          },
          {
            guard: 'critical',
            actions: { type: 'alert', params: { kind: 'escalation', decision: 'degrade' } },
          },
          { actions: { type: 'alert', params: { kind: 'escalation', decision: 'none' } } },
        ],
        'troupe.supervisor.unhealthy': [
          {
            guard: { type: 'recoveryIs', params: { recovery: 'restart' } },
            actions: [
              { type: 'alert', params: { kind: 'health', decision: 'restart' } },
              'restartRunner',
            ],
          },
          {
            guard: { type: 'recoveryIs', params: { recovery: 'stop' } },
            actions: [
              { type: 'alert', params: { kind: 'health', decision: 'stop' } },
              'stopRunner',
            ],
          },
          { actions: { type: 'alert', params: { kind: 'health', decision: 'none' } } },
        ],
        'troupe.supervisor.standDown': 'standingDown',
      },
    },
    standingDown: {
      on: {
        'troupe.supervisor.escalate': {
          actions: { type: 'alert', params: { kind: 'escalation', decision: 'none' } },
        },
      },
    },
  },
});

/**
 * The internal events of {@link supervisorMachine}, read from its definition:
 * none (see {@link SupervisorInternalEvent}).
 */
export const supervisorInternalEvents: readonly SupervisorInternalEvent[] = Object.freeze(
  internalEventsOf(supervisorMachine) as SupervisorInternalEvent[],
);
