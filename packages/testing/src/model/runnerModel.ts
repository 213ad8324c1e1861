import {
  runnerMachine,
  type ErrorData,
  type RestartPolicy,
  type RunnerContext,
  type RunnerRestartConfig,
  type ThreadExitFacts,
} from '@troupe/core';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import type { ModelSpec } from './modelPaths.js';
import { activeStateIds } from './stateValue.js';

const error: ErrorData = { _tag: 'Error', name: 'Error', message: 'model' };

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

/** The kinds of thread exit a pool can report, by the facts it knows. */
export type ThreadExitKind =
  | 'crash'
  | 'normal'
  | 'terminated'
  | 'neverLoaded'
  | 'neverLoadedReplaced'
  | 'loadedNotReplaced'
  | 'terminatedNotReplaced';

const exits: Record<ThreadExitKind, Omit<ThreadExitFacts, 'threadId' | 'error'>> = {
  /** A loaded thread died on its own and the pool replaced it: a counted crash. */
  crash: { exitCode: 1, loaded: true, terminated: false, replaced: true },
  /** A loaded thread exited with code 0 and was replaced. */
  normal: { exitCode: 0, loaded: true, terminated: false, replaced: true },
  /** The runtime terminated a loaded thread (an abort ignored past its grace): replaced. */
  terminated: { exitCode: 1, loaded: true, terminated: true, replaced: true },
  /** A replacement died while loading: piscina does not replace a thread that failed to start. */
  neverLoaded: { exitCode: 1, loaded: false, terminated: false, replaced: false },
  /**
   * A thread of a new pool died while loading: piscina counts the threads
   * it starts with as ready at once, so it replaces them.
   */
  neverLoadedReplaced: { exitCode: 1, loaded: false, terminated: false, replaced: true },
  /** A loaded thread the pool did not replace. */
  loadedNotReplaced: { exitCode: 1, loaded: true, terminated: false, replaced: false },
  /** A thread the runtime terminated, not replaced. */
  terminatedNotReplaced: { exitCode: 1, loaded: true, terminated: true, replaced: false },
};

/** Which kind of exit a `threadExit` event of the model is. */
export function threadExitKind(event: EventObject): ThreadExitKind {
  const facts = event as unknown as ThreadExitFacts;
  for (const [kind, known] of Object.entries(exits) as [ThreadExitKind, ThreadExitFacts][]) {
    if (
      facts.exitCode === known.exitCode &&
      facts.loaded === known.loaded &&
      facts.terminated === known.terminated &&
      facts.replaced === known.replaced
    ) {
      return kind;
    }
  }
  throw new Error(`not a modelled thread exit: ${JSON.stringify(event)}`);
}

/**
 * Facts of the real pool (one thread) that the chart does not track but
 * that decide what the runtime can be made to do next. Derived along each
 * traversal step from the facts before it, so they are part of the model's
 * state.
 */
export interface PoolFacts {
  /** Threads up in the real pool: said hello, not exited, pool not destroyed. */
  readonly up: number;
  /** A thread load is under way (held by the driver until it decides how it ends). */
  readonly loading: boolean;
  /** `starting.pool.loading` was just entered: the pool's creation may still fail. */
  readonly fresh: boolean;
  /**
   * A teardown call is pending: entered with an idle thread up, the
   * tearingDown state lasts until the driver releases it (or a deadline).
   */
  readonly teardown: boolean;
}

const START: PoolFacts = { up: 0, loading: false, fresh: false, teardown: false };

const TEARING_DOWN = [
  'runner.restarting.releasing.pool.tearingDown',
  'runner.draining.terminating.tearingDown',
  'runner.closing.tearingDown',
];

const DESTROYED = [
  'xstate.done.actor.0.runner.restarting.releasing.pool.destroying',
  'xstate.done.actor.0.runner.draining.terminating.destroying',
  'xstate.error.actor.0.runner.draining.terminating.destroying',
];

function ids(snapshot: AnyMachineSnapshot): string[] {
  return activeStateIds(runnerMachine, snapshot.value);
}

function nextFacts(
  facts: PoolFacts,
  before: AnyMachineSnapshot,
  event: EventObject,
  after: AnyMachineSnapshot,
): PoolFacts {
  const was = ids(before);
  const is = ids(after);
  let { up, loading, teardown } = facts;
  const type = event.type;
  if (type === 'troupe.runner.threadUp') {
    up += 1;
    loading = false;
  } else if (type === 'troupe.runner.threadFailed') {
    loading = false;
  } else if (type === 'troupe.runner.threadExit') {
    const exit = event as unknown as ThreadExitFacts;
    if (exit.loaded) up = Math.max(0, up - 1);
    loading = exit.loaded && exit.replaced;
  } else if (type.startsWith('xstate.after.startupTimeout') || type.startsWith('xstate.error.')) {
    loading = false;
  } else if (DESTROYED.includes(type)) {
    up = 0;
    loading = false;
  }
  const entering = (id: string): boolean => is.includes(id) && !was.includes(id);
  if (entering('runner.starting')) {
    up = 0;
    loading = false;
  }
  const fresh = entering('runner.starting.pool.loading');
  if (fresh) loading = true;
  // A load pending when the pool is released cannot end by a model event.
  if (entering('runner.restarting') || entering('runner.closing')) loading = false;
  const tearing = TEARING_DOWN.find((id) => is.includes(id));
  if (tearing === undefined) {
    teardown = false;
  } else if (!was.includes(tearing)) {
    // Teardown runs in idle threads only; one still pending (restarting,
    // then closed) stays pending: the thread's teardown is called once.
    const busy = (after.context as RunnerContext).busy;
    teardown = teardown || (up >= 1 && !busy);
  }
  return { up, loading, fresh, teardown };
}

/** The pool facts before the path and after each of its steps. */
export function poolFactsAlong(path: {
  readonly initial: AnyMachineSnapshot;
  readonly steps: readonly { readonly event: EventObject; readonly state: AnyMachineSnapshot }[];
}): PoolFacts[] {
  const along = [START];
  let before = path.initial;
  for (const step of path.steps) {
    along.push(nextFacts(along.at(-1) ?? START, before, step.event, step.state));
    before = step.state;
  }
  return along;
}

function inState(snapshot: AnyMachineSnapshot, id: string): boolean {
  return ids(snapshot).includes(id);
}

/**
 * What the real runtime (one thread, `fixtures.controllable`, driven by
 * `RunnerDriver`) can be made to do: events it cannot produce in a state,
 * or not deterministically, are left out of the model. The reasons are in
 * the comments; the transitions this leaves untaken are in `unrealizable`.
 */
function realizable(snapshot: AnyMachineSnapshot, event: EventObject, facts: PoolFacts): boolean {
  const c = snapshot.context as RunnerContext;
  const is = (id: string): boolean => inState(snapshot, id);
  const type = event.type;
  const shutdown = c.stopReason === 'shutdown';
  const drainedWaiting = is('runner.draining.drained') && !c.closeWhenDrained;
  // The driver acts and the real runner stays put until it did: every
  // thread load, teardown and task is held by the fixture, so only these
  // states end on their own (a timer, a destroy, an abort honoured).
  const held =
    (!is('runner.starting.pool.queued') || !c.everReady) &&
    !is('runner.restarting.releasing.pool.destroying') &&
    !is('runner.restarting.waiting') &&
    (!is('runner.restarting.releasing.pool.tearingDown') || facts.teardown) &&
    !is('runner.draining.aborting') &&
    !is('runner.draining.terminating') &&
    (!is('runner.draining.drained') || drainedWaiting) &&
    !is('runner.closing');
  // After the coordinator's abort rejected the queued work of a runner that
  // was starting or restarting, idle follows by itself, before anything else.
  if ((is('runner.starting') || is('runner.restarting')) && c.forced && c.busy) {
    return type === 'troupe.runner.idle';
  }
  switch (type) {
    case 'troupe.runner.busy':
      return !c.busy && snapshot.hasTag('accepting') && held;
    case 'troupe.runner.idle':
      if (!c.busy) return false;
      // An abort the held task honours.
      if (is('runner.draining.aborting')) return true;
      return held;
    case 'troupe.runner.stop': {
      const { reason } = event as { reason?: string };
      // A stop is sent synchronously: it beats the backoff timer of `waiting`.
      const sync = held || is('runner.restarting.waiting');
      // One troupe shutdown, first; runner.stop() once (a second call sends nothing).
      // Waiting for its slot, only runner.stop(): a troupe shutdown stops the
      // runner holding the slot too, which hands the slot over first.
      if (reason === 'shutdown') {
        return sync && c.stopReason === null && !is('runner.starting.pool.queued');
      }
      return sync && c.stopReason !== 'stop' && !(shutdown && c.closeWhenDrained);
    }
    case 'troupe.runner.restart':
      // A busy thread is not torn down, so its restart releases the pool at
      // once: the model could not tell it from one held by its teardown.
      return is('runner.running') && !(is('runner.running.load.busy') && facts.up >= 1);
    case 'troupe.runner.threadUp':
      return (
        facts.loading &&
        (is('runner.starting.pool.loading') ||
          is('runner.running.threads.replacing') ||
          (is('runner.draining') && held))
      );
    case 'troupe.runner.threadFailed':
      return (
        facts.loading &&
        (is('runner.starting.pool.loading') || is('runner.running.threads.replacing'))
      );
    case 'troupe.runner.threadExit':
      switch (threadExitKind(event)) {
        case 'neverLoaded':
          return facts.loading && is('runner.running.threads.replacing');
        case 'neverLoadedReplaced':
          return facts.loading && is('runner.starting.pool.loading');
        case 'crash':
          // Draining, admission is closed: no spare task can keep the runner
          // busy past the crash of a busy thread, so only an idle one crashes.
          return (
            facts.up >= 1 && !facts.loading && (is('runner.running.threads.full') || drainedWaiting)
          );
        case 'normal':
        case 'terminated':
          return facts.up >= 1 && is('runner.running.threads.full');
        // piscina replaces every thread it loses unless its startup failed
        // (workerFailsDuringBootstrap): a loaded thread is then long gone
        // with its pool, and a thread it terminated itself is replaced.
        case 'loadedNotReplaced':
        case 'terminatedNotReplaced':
          return false;
      }
      return false;
    // The health monitor's verdict: the driver runs without it (see unrealizable).
    case 'troupe.runner.threadHung':
      return false;
    case 'troupe.runner.slotGranted':
      return true;
    // The coordinator: abort at its drain deadline (work still accepted),
    // close once drained (or after abort), force at its closing deadline.
    case 'troupe.runner.abort':
      return (
        shutdown &&
        c.busy &&
        !c.forced &&
        held &&
        (is('runner.starting') ||
          is('runner.restarting.releasing') ||
          is('runner.draining.flushing'))
      );
    case 'troupe.runner.close':
      return (
        shutdown &&
        ((is('runner.restarting.releasing.pool.tearingDown') && facts.teardown && !c.busy) ||
          is('runner.draining.aborting') ||
          drainedWaiting)
      );
    case 'troupe.runner.force':
      return shutdown && is('runner.closing.tearingDown') && facts.teardown;
    default:
      break;
  }
  if (type.startsWith('xstate.after.startupTimeout')) return facts.loading;
  if (type.startsWith('xstate.after.closeTimeout')) return facts.teardown;
  if (type === 'xstate.after.abortGrace.runner.draining.terminating.tearingDown') {
    return facts.teardown;
  }
  // The runner's own drain deadline; in a troupe shutdown the coordinator's comes first.
  if (type.startsWith('xstate.after.drainTimeout')) return !shutdown;
  // startPool fails when the worker module is gone: only straight away.
  if (type === 'xstate.error.actor.0.runner.starting.pool.loading') return facts.fresh;
  // teardownThreads and destroyPool settle everything they await: they never reject.
  if (type.startsWith('xstate.error.actor')) return false;
  return true;
}

/** The model of a runner of one thread with a given restart policy. */
export function runnerModel(policy: RestartPolicy): ModelSpec {
  const factsOf = new WeakMap<AnyMachineSnapshot, PoolFacts>();
  const facts = (snapshot: AnyMachineSnapshot): PoolFacts => {
    const known = factsOf.get(snapshot);
    if (known === undefined)
      throw new Error('pool facts of a snapshot the traversal never reached');
    return known;
  };
  return {
    machine: runnerMachine,
    input: {
      id: 'model-runner',
      threads: 1,
      restart: modelRestart(policy),
      startupTimeoutMs: 400,
      drainTimeoutMs: 200,
      abortGraceMs: 50,
      closeTimeoutMs: 2_000,
    },
    serializeState: (snapshot, event, previous) => {
      let known = factsOf.get(snapshot);
      if (known === undefined) {
        known =
          previous === undefined || event === undefined
            ? START
            : nextFacts(facts(previous), previous, event, snapshot);
        factsOf.set(snapshot, known);
      }
      const c = snapshot.context as RunnerContext;
      return JSON.stringify([
        snapshot.value,
        c.everReady,
        c.restarts.length,
        c.failure === null ? null : (c.failure.code ?? c.failure.name),
        c.closeWhenDrained,
        c.forced,
        c.busy,
        c.threadsUp,
        c.stopReason,
        known,
      ]);
    },
    variants: [
      { type: 'troupe.runner.busy' },
      { type: 'troupe.runner.idle' },
      { type: 'troupe.runner.slotGranted' },
      { type: 'troupe.runner.threadUp', threadId: 1 },
      { type: 'troupe.runner.threadFailed', threadId: 1, error },
      ...(Object.values(exits).map((facts) => ({
        type: 'troupe.runner.threadExit',
        threadId: 1,
        error,
        ...facts,
        at: 0,
      })) as (EventObject & Record<string, unknown>)[]),
      { type: 'troupe.runner.restart', error, at: 0 },
      { type: 'troupe.runner.stop', reason: 'stop', closeWhenDrained: true },
      { type: 'troupe.runner.stop', reason: 'shutdown', closeWhenDrained: false },
      { type: 'troupe.runner.abort' },
      { type: 'troupe.runner.close' },
      { type: 'troupe.runner.force' },
    ],
    filterEvents: (snapshot, event) => realizable(snapshot, event, facts(snapshot)),
  };
}
