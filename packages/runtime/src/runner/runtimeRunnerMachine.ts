import {
  runnerMachine,
  type ErrorData,
  type RunnerEvent,
  type RunnerPoolInput,
  type RunnerTeardownInput,
} from '@troupe/core';
import { fromCallback, fromPromise, type ActorSystem, type SnapshotFrom } from 'xstate';

/** The effects the runner statechart names, performed by the runner's core. */
export interface RunnerEffects {
  /** Asks the troupe for a start slot; the returned function gives it back. */
  acquireStartSlot(granted: () => void): () => void;
  startPool(input: RunnerPoolInput, signal: AbortSignal): Promise<void>;
  teardownThreads(input: RunnerTeardownInput): Promise<void>;
  destroyPool(): Promise<void>;
  notifyDraining(): void;
  abortQueued(): void;
  abortInFlight(): void;
  rejectQueued(failure: ErrorData | null): void;
  /** Fails the hung thread's task with `error`, terminates the thread, raises an alert. */
  terminateHungThread(threadId: number, error: ErrorData, decision: 'restart' | 'stop'): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any actor's system
type AnyActorSystem = ActorSystem<any>;

const owners = new WeakMap<AnyActorSystem, RunnerEffects>();

function effectsOf(system: AnyActorSystem): RunnerEffects {
  const effects = owners.get(system);
  if (effects === undefined) throw new Error('runner actor without its runtime core');
  return effects;
}

/** Binds an actor (by its system: each runner actor is a root) to the core that performs its effects. */
export function bindEffects(system: AnyActorSystem, effects: RunnerEffects): void {
  owners.set(system, effects);
}

/**
 * The runner statechart with the runtime's effects, built once: each effect
 * finds its runner through the actor's system, so spawning a runner does
 * not copy the machine.
 */
export const runtimeRunnerMachine = runnerMachine.provide({
  actors: {
    startSlot: fromCallback<RunnerEvent, { id: string }>(({ sendBack, system }) =>
      effectsOf(system).acquireStartSlot(() => {
        sendBack({ type: 'troupe.runner.slotGranted' });
      }),
    ),
    startPool: fromPromise<void, RunnerPoolInput>(({ input, system, signal }) =>
      effectsOf(system).startPool(input, signal),
    ),
    teardownThreads: fromPromise<void, RunnerTeardownInput>(({ input, system }) =>
      effectsOf(system).teardownThreads(input),
    ),
    destroyPool: fromPromise<void, RunnerPoolInput>(({ system }) =>
      effectsOf(system).destroyPool(),
    ),
  },
  actions: {
    notifyDraining: ({ system }) => {
      effectsOf(system).notifyDraining();
    },
    abortQueued: ({ system }) => {
      effectsOf(system).abortQueued();
    },
    abortInFlight: ({ system }) => {
      effectsOf(system).abortInFlight();
    },
    // The action's own context: the snapshot is the one from before this step.
    rejectQueued: ({ system, context }) => {
      effectsOf(system).rejectQueued(context.failure);
    },
    terminateHungThread: ({ system, event }, params) => {
      if (event.type !== 'troupe.runner.threadHung') return;
      effectsOf(system).terminateHungThread(event.threadId, event.error, params.decision);
    },
  },
});

/** A runner actor's snapshot. */
export type RuntimeRunnerSnapshot = SnapshotFrom<typeof runtimeRunnerMachine>;
