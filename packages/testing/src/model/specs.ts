import {
  channelMachine,
  resourceMachine,
  runnerMachine,
  shutdownMachine,
  type ErrorData,
  type RestartPolicy,
  type RunnerContext,
  type RunnerRestartConfig,
} from '@troupe/core';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { stateValueText, type ModelSpec } from './modelPaths.js';

const error: ErrorData = { _tag: 'Error', name: 'Error', message: 'model' };

/**
 * Transitions the real runtime cannot take, and why. Each is a defensive
 * path of an effect that is bounded and settled by construction; the core
 * unit tests take them with fake effects. A new transition that is neither
 * realized nor listed here fails the model-based test.
 */
export const unrealizable: Readonly<Record<string, string>> = {
  'runner.restarting.releasing --xstate.error.actor.0.runner.restarting.releasing[0]--> runner.restarting.waiting':
    'releasePool cannot reject: pool.destroy() awaits allSettled exits',
  'runner.draining.terminating --xstate.error.actor.0.runner.draining.terminating[0]--> runner.draining.drained':
    'terminateThreads cannot reject: teardown calls are settled, destroy() awaits allSettled',
  'runner.closing --xstate.error.actor.0.runner.closing[0]--> runner.failed':
    'closePool cannot reject: every step in it is settled',
  'runner.closing --xstate.error.actor.0.runner.closing[1]--> runner.stopped':
    'closePool cannot reject: every step in it is settled',
  'runner.closing --xstate.after.closeTimeout.runner.closing[0]--> runner.failed':
    'closePool finishes within closeTimeoutMs: its teardown is bounded by half of it',
  'runner.closing --xstate.after.closeTimeout.runner.closing[1]--> runner.stopped':
    'closePool finishes within closeTimeoutMs: its teardown is bounded by half of it',
  'runner.draining.flushing --troupe.runner.close[0]--> runner.closing':
    'the coordinator sends abort before close, so close never finds a runner still flushing',
  'channel.closing --xstate.error.actor.0.channel.closing[0]--> channel.closed':
    'flushCalls cannot reject: it waits for pending calls to settle',
  'shutdown.signaling --xstate.error.actor.0.shutdown.signaling[0]--> shutdown.draining':
    'the signal phase cannot reject: it only closes admission and posts notices',
  'shutdown.signaling --xstate.after.signalingDeadline.shutdown.signaling[0]--> shutdown.draining':
    'the signal phase is synchronous work: it ends long before any deadline',
  'shutdown.draining.waiting --xstate.error.actor.0.shutdown.draining.waiting[0]--> shutdown.draining.forcing':
    'the drain phase cannot reject: it waits for runners to drain',
  'shutdown.draining.forcing --xstate.error.actor.0.shutdown.draining.forcing[0]--> shutdown.closing':
    'forceDrain cannot reject',
  'shutdown.closing.waiting --xstate.error.actor.0.shutdown.closing.waiting[0]--> shutdown.closing.forcing':
    'closeAll() cannot reject: each resource close is settled',
  'shutdown.closing.forcing --xstate.error.actor.0.shutdown.closing.forcing[0]--> shutdown.stopped':
    'forceClose cannot reject: it awaits allSettled',
};

/** The restart config a runner model and its real runner share. */
export function modelRestart(policy: RestartPolicy): RunnerRestartConfig {
  // A window no run can leave: restarts in the model (at: 0) and in the real
  // runner (Date.now()) all count, so both take the same guarded branches.
  return {
    policy,
    maxRestarts: 2,
    windowMs: 1e15,
    backoff: { baseMs: 1, capMs: 5 },
    resetAfterMs: 1e15,
  };
}

function isUnrealizableRunnerEvent(snapshot: AnyMachineSnapshot, event: EventObject): boolean {
  const state = stateValueText(snapshot.value);
  const context = snapshot.context as RunnerContext;
  if (event.type.startsWith('xstate.error.actor')) {
    return (
      state === 'restarting.releasing' || state === 'draining.terminating' || state === 'closing'
    );
  }
  if (event.type.startsWith('xstate.after.closeTimeout')) return true;
  if (event.type === 'troupe.runner.close') {
    // Only the coordinator sends close: in shutdown mode, after abort.
    return state === 'draining.flushing' || context.closeWhenDrained;
  }
  return false;
}

/** The model of a runner with a given restart policy. */
export function runnerModel(policy: RestartPolicy): ModelSpec {
  return {
    machine: runnerMachine,
    input: {
      id: 'model-runner',
      restart: modelRestart(policy),
      startupTimeoutMs: 400,
      drainTimeoutMs: 200,
      abortGraceMs: 50,
      closeTimeoutMs: 2_000,
    },
    serializeState: (s) => {
      const c = s.context as RunnerContext;
      return JSON.stringify([
        s.value,
        c.everReady,
        c.restarts.length,
        c.failure === null ? null : (c.failure.code ?? c.failure.name),
        c.closeWhenDrained,
        c.forced,
      ]);
    },
    variants: [
      { type: 'troupe.runner.crashed', error, normal: false, at: 0 },
      { type: 'troupe.runner.crashed', error, normal: true, at: 0 },
      { type: 'troupe.runner.broken', error, at: 0 },
      { type: 'troupe.runner.restart', error, at: 0 },
      { type: 'troupe.runner.stop', reason: 'stop', closeWhenDrained: true },
      { type: 'troupe.runner.stop', reason: 'shutdown', closeWhenDrained: false },
    ],
    filterEvents: (snapshot, event) => !isUnrealizableRunnerEvent(snapshot, event),
  };
}

function isUnrealizable(snapshot: AnyMachineSnapshot, event: EventObject): boolean {
  if (!event.type.startsWith('xstate.')) return false;
  for (const key of Object.keys(unrealizable)) {
    const [source, rest] = key.split(' --');
    const eventType = rest?.split('[')[0];
    if (
      eventType === event.type &&
      (snapshot as unknown as { _nodes: { id: string }[] })._nodes.some((n) => n.id === source)
    ) {
      return true;
    }
  }
  return false;
}

/** The model of the shutdown coordinator. */
export const shutdownModel: ModelSpec = {
  machine: shutdownMachine,
  input: { signalingMs: 1_000, drainingMs: 100, closingMs: 200, forceMs: 50 },
  serializeState: (s) => JSON.stringify(s.value),
  variants: [{ type: 'troupe.shutdown.begin', reason: 'model' }],
  filterEvents: (snapshot, event) => !isUnrealizable(snapshot, event),
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
  filterEvents: (snapshot, event) => !isUnrealizable(snapshot, event),
};
