import {
  channelMachine,
  resourceMachine,
  shutdownMachine,
  supervisorMachine,
  type EscalationPolicy,
  type ErrorData,
  type HealthRecovery,
  type ShutdownContext,
} from '@troupe/core';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import type { ModelSpec } from './modelPaths.js';
import { activeStateIds } from './stateValue.js';
import { takenTransitions } from './transitions.js';
import { unrealizable } from './unrealizable.js';

export { modelRestart, runnerModel } from './runnerModel.js';

const error: ErrorData = { _tag: 'Error', name: 'Error', message: 'model' };

/** An XState event (the system's own) that would take a transition `unrealizable` lists. */
function isUnrealizable(
  machine: ModelSpec['machine'],
  snapshot: AnyMachineSnapshot,
  event: EventObject,
): boolean {
  if (!event.type.startsWith('xstate.')) return false;
  return takenTransitions(machine, snapshot, event).some((key) => key in unrealizable);
}

/**
 * What `ShutdownDriver` can make a real troupe do: a phase deadline passes
 * only while a phase's work or gate is held on purpose, and a gate's
 * `forceDeadline` only counts after its phase timed out.
 */
function shutdownRealizable(snapshot: AnyMachineSnapshot, event: EventObject): boolean {
  if (isUnrealizable(shutdownMachine, snapshot, event)) return false;
  const active = activeStateIds(shutdownMachine, snapshot.value);
  const timedOut = (snapshot.context as ShutdownContext).timedOut;
  const type = event.type;
  const context = snapshot.context as ShutdownContext;
  if (type === 'troupe.shutdown.force') {
    // One force per path (a second one only repeats the first), sent while
    // the troupe waits on something the driver holds: the readiness delay,
    // a gate, a held task (draining), a hanging resource (closing). The
    // signal phase's work and the forced paths are over too soon to be cut.
    if (context.forceRequested) return false;
    return (
      active.includes('shutdown.running') ||
      active.includes('shutdown.signaling.delaying') ||
      active.some((id) => id.endsWith('.gating') || id.endsWith('.waiting'))
    );
  }
  // The forced close outlives forceMs only on a thread blocked in its
  // teardown; after a force the threads get no teardown (terminated at once).
  if (type === 'xstate.after.forceDeadline.shutdown.closing.forcing') {
    return !context.forceRequested;
  }
  // The signal phase's own work is over at once: only its gate can outlast the deadline.
  if (type.startsWith('xstate.after.signalingDeadline')) {
    return active.includes('shutdown.signaling.gating');
  }
  for (const phase of ['draining', 'closing'] as const) {
    // A phase's deadline passes once (it marks the phase timed out).
    if (type.startsWith(`xstate.after.${phase}Deadline`)) {
      return (
        !timedOut[phase] &&
        (active.includes(`shutdown.${phase}.waiting`) ||
          active.includes(`shutdown.${phase}.gating`))
      );
    }
    if (type === `xstate.after.forceDeadline.shutdown.${phase}.gating`) return timedOut[phase];
  }
  return true;
}

/** The model of the shutdown coordinator. */
export const shutdownModel: ModelSpec = {
  machine: shutdownMachine,
  input: { signalingMs: 1_000, drainingMs: 100, closingMs: 200, forceMs: 50 },
  // The gates' backstop reads which phases timed out; the phases after a force take their forced paths.
  serializeState: (s) => {
    const context = s.context as ShutdownContext;
    return JSON.stringify([s.value, context.timedOut, context.forceRequested]);
  },
  variants: [
    { type: 'troupe.shutdown.begin', reason: 'model' },
    { type: 'troupe.shutdown.force', reason: 'model' },
  ],
  filterEvents: shutdownRealizable,
};

/** The model of the shutdown coordinator with a readiness delay (`shutdown.readinessDelayMs`). */
export const shutdownModelWithReadinessDelay: ModelSpec = {
  ...shutdownModel,
  input: { ...(shutdownModel.input as object), readinessDelayMs: 50 },
};

/** The model of a resource that opens asynchronously (`open()`). */
export const resourceModel: ModelSpec = {
  machine: resourceMachine,
  input: { id: 'model-resource', closeTimeoutMs: 100, openAtOnce: false },
  serializeState: (s) => JSON.stringify(s.value),
};

/** The model of a resource that is open once registered (no `open()`). */
export const resourceModelOpenAtOnce: ModelSpec = {
  ...resourceModel,
  input: { id: 'model-resource', closeTimeoutMs: 100, openAtOnce: true },
};

/** The model of a channel. */
export const channelModel: ModelSpec = {
  machine: channelMachine,
  input: { id: 'model-channel', closeTimeoutMs: 100 },
  serializeState: (s) => JSON.stringify(s.value),
  variants: [{ type: 'troupe.channel.peerGone', reason: error }],
  filterEvents: (snapshot, event) => !isUnrealizable(channelMachine, snapshot, event),
};

/**
 * The model of the troupe's supervisor under one escalation policy and one
 * health recovery. Escalations: CRITICAL (a runner over its restart limit),
 * HIGH (a first start failing) and, once standing down, MEDIUM (a
 * resource's `open()` rejecting with a plain error); health verdicts; the
 * shutdown's stand-down.
 *
 * @example
 * ```ts
 * const { paths } = modelPaths(supervisorModel('degrade', 'restart'));
 * for (const path of paths) await runModelPath(path, new SupervisorDriver('degrade', 'restart'));
 * ```
 */
export function supervisorModel(escalation: EscalationPolicy, recovery: HealthRecovery): ModelSpec {
  return {
    machine: supervisorMachine,
    input: { escalation, recovery },
    serializeState: (s) => JSON.stringify(s.value),
    variants: [
      {
        type: 'troupe.supervisor.escalate',
        code: 'ERR_RESTART_LIMIT',
        severity: 'CRITICAL',
        message: 'model',
        runnerId: 'model-runner',
        error,
      },
      {
        type: 'troupe.supervisor.escalate',
        code: 'ERR_RUNNER_STARTUP',
        severity: 'HIGH',
        message: 'model',
        runnerId: 'model-runner',
        error,
      },
      {
        type: 'troupe.supervisor.escalate',
        code: 'ERR_UNKNOWN',
        severity: 'MEDIUM',
        message: 'model',
        error,
      },
      {
        type: 'troupe.supervisor.unhealthy',
        runnerId: 'model-runner',
        severity: 'HIGH',
        message: 'model',
        error,
      },
      { type: 'troupe.supervisor.standDown' },
    ],
    // Standing down, the driver escalates with a failing open() (a runner
    // would have to fail during the shutdown); before, with runner errors.
    filterEvents: (snapshot, event) => {
      if (event.type !== 'troupe.supervisor.escalate') return true;
      const code = (event as { code?: string }).code;
      return snapshot.value === 'standingDown' ? code === 'ERR_UNKNOWN' : code !== 'ERR_UNKNOWN';
    },
  };
}
