// packages/core/test/readmeMachineTesting.test.ts
// runnerMachine traversed with xstate/graph, and every path replayed on a real actor.
import {
  runnerInternalEvents,
  runnerMachine,
  toErrorData,
  type RunnerMachineInput,
  type RunnerModelEvent,
} from '@troupe/core';
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, SimulatedClock } from 'xstate';
import { createTestModel, getShortestPaths } from 'xstate/graph';

const input: RunnerMachineInput = {
  id: 'r1',
  threads: 1,
  restart: {
    policy: 'permanent',
    maxRestarts: 3,
    windowMs: 60_000,
    backoff: { baseMs: 100, capMs: 1_000 },
    resetAfterMs: 60_000,
  },
  startupTimeoutMs: 1_000,
  drainTimeoutMs: 1_000,
  abortGraceMs: 100,
  closeTimeoutMs: 1_000,
  seed: 1,
};
const crash = toErrorData(new Error('exit 1'));

// Given `events`, the traversal sends these and no others: the runner's
// events, and XState's own (an invoked actor settled, a delay elapsed).
const events: RunnerModelEvent[] = [
  { type: 'troupe.runner.slotGranted' },
  { type: 'troupe.runner.threadUp', threadId: 1 },
  { type: 'troupe.runner.threadFailed', threadId: 1, error: crash },
  // A crash the pool replaced: the runner counts it and serves on.
  {
    type: 'troupe.runner.threadExit',
    threadId: 1,
    exitCode: 1,
    error: crash,
    loaded: true,
    terminated: false,
    replaced: true,
  },
  { type: 'troupe.runner.busy' },
  { type: 'troupe.runner.idle' },
  { type: 'troupe.runner.restart', error: crash },
  { type: 'troupe.runner.stop', reason: 'stop', closeWhenDrained: true },
  { type: 'troupe.runner.abort' },
  { type: 'troupe.runner.close' },
  { type: 'troupe.runner.force' },
  ...runnerInternalEvents,
];

const model = (machine: typeof runnerMachine) =>
  getShortestPaths(machine, {
    input,
    events,
    // What the state handles (an unhandled xstate.error.actor.* is an error
    // of the machine), and no more threads up than the pool has.
    filterEvents: (snapshot, event) =>
      snapshot.status === 'active' &&
      snapshot.can(event) &&
      !(event.type === 'troupe.runner.threadUp' && snapshot.context.threadsUp >= input.threads),
    // A model state: the value and what the guards read of the context.
    serializeState: ({ value, context }) => {
      const { busy, stopReason, closeWhenDrained, threadsUp, everReady, failure, restarts } =
        context;
      const facts = [busy, stopReason, closeWhenDrained, threadsUp, everReady, failure === null];
      return JSON.stringify([value, ...facts, restarts.length]);
    },
  });

// Invoked actors that never settle and a clock nobody advances: only the
// path's events move the actor.
const pending = <TInput>() => fromPromise<void, TInput>(() => new Promise<void>(() => {}));
const inert = runnerMachine.provide({
  actors: {
    startSlot: fromCallback(() => {}), // the default grants the start slot at once
    startPool: pending(),
    teardownThreads: pending(),
    destroyPool: pending(),
  },
});

describe('runnerMachine, path by path', () => {
  it('createTestModel refuses it, with its actors provided or not', () => {
    expect(() => createTestModel(inert)).toThrow('Invocations on test machines are not supported');
  });

  it('a real actor follows every shortest path, internal events included', () => {
    const paths = model(runnerMachine);
    expect(paths.length).toBeGreaterThan(50);
    for (const path of paths) {
      const actor = createActor(inert, { input, clock: new SimulatedClock() }).start();
      // steps[0] is xstate.init: the start.
      for (const { event, state } of path.steps.slice(1)) {
        actor.send(event);
        expect(actor.getSnapshot().value, `after ${event.type}`).toEqual(state.value);
      }
      actor.stop();
    }
  });

  it('.provide() steers the model: with mayRestart never true, no path restarts', () => {
    const restarts = (paths: ReturnType<typeof model>) =>
      paths.some((path) => path.state.matches('restarting'));
    expect(restarts(model(runnerMachine))).toBe(true);
    expect(restarts(model(runnerMachine.provide({ guards: { mayRestart: () => false } })))).toBe(
      false,
    );
  });
});
