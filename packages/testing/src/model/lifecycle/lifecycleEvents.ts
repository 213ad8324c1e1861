import { runnerMachine, type RunnerContext } from '@troupe/core';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { threadExitKind } from '../runnerModel.js';
import { inStateNode } from '../stateValue.js';

/** What the lifecycle cases of a user's worker may include. */
export interface LifecycleEventOptions {
  /** A long task was given: the drain deadline paths. */
  readonly long: boolean;
  /** The long task honours `ctx.signal` (the abort ends it) or not (its thread is terminated). */
  readonly honours: boolean;
  /** Crash an idle thread, fail or hang a replacement's load (broken pool, startup timeout). */
  readonly faults: boolean;
}

/**
 * The events a user's worker module can be driven through, as a filter of
 * `runnerMachine`'s traversal. The harness causes: tasks (held at their
 * start until released, or the long task), `runner.stop()`, the troupe's
 * shutdown, `runner.restart()` from idle, an idle thread's exit, and how a
 * replacement thread loads. Everything else (loads, teardowns, destroys,
 * deadlines, backoffs) the runtime does by itself. What the harness cannot
 * cause deterministically is left out: a busy thread's crash, a stop while
 * a pool is being (re)started, the coordinator's closing deadline.
 */
export function lifecycleEvents(options: LifecycleEventOptions) {
  return (snapshot: AnyMachineSnapshot, event: EventObject): boolean => {
    const is = (id: string): boolean => inStateNode(runnerMachine, snapshot.value, id);
    const c = snapshot.context as RunnerContext;
    const idleAndFull =
      is('runner.running.load.ready') && is('runner.running.threads.full') && !c.busy;
    const type = event.type;
    switch (type) {
      case 'troupe.runner.slotGranted':
        return true;
      case 'troupe.runner.threadUp':
        return is('runner.starting.pool.loading') || is('runner.running.threads.replacing');
      case 'troupe.runner.threadFailed':
        return options.faults && is('runner.running.threads.replacing');
      case 'troupe.runner.threadExit':
        return (
          options.faults &&
          threadExitKind(event) === 'crash' &&
          idleAndFull &&
          c.stopReason === null
        );
      case 'troupe.runner.busy':
        return idleAndFull && c.stopReason === null;
      case 'troupe.runner.idle':
        if (!c.busy) return false;
        if (is('runner.draining.aborting')) return options.long && options.honours;
        return is('runner.running.load.busy') || is('runner.draining.flushing');
      case 'troupe.runner.stop':
        return is('runner.running') && c.stopReason === null;
      case 'troupe.runner.restart':
        return idleAndFull;
      case 'troupe.runner.abort':
        return (
          options.long &&
          is('runner.draining.flushing') &&
          c.stopReason === 'shutdown' &&
          c.busy &&
          !c.forced
        );
      case 'troupe.runner.close':
        return is('runner.draining.drained') && !c.closeWhenDrained;
      case 'troupe.runner.force':
        return false;
      default:
        break;
    }
    if (type.startsWith('xstate.after.startupTimeout')) {
      return options.faults && is('runner.running.threads.replacing');
    }
    if (type === 'xstate.after.abortGrace.runner.draining.aborting') {
      return options.long && !options.honours;
    }
    if (type.startsWith('xstate.after.drainTimeout'))
      return options.long && c.stopReason === 'stop';
    if (type.startsWith('xstate.after.restartDelay')) return true;
    if (type.startsWith('xstate.after.')) return false;
    return type.startsWith('xstate.done.actor');
  };
}
