// Waits on what the runtime announces: troupe events and its statecharts'
// snapshots. Subscribe before you cause what you wait for (a snapshot wait
// also checks the snapshot of now).
import type { ActorView, Runner, RunnerState, Troupe, TroupeEvents } from '@troupe/runtime';
import { waitFor, type AnyActorRef } from 'xstate';
import { within } from './wait.js';

/** The next `event` whose payload matches `predicate`, within `ms`. */
export function nextEvent<E extends keyof TroupeEvents>(
  troupe: Troupe,
  event: E,
  predicate: (...args: TroupeEvents[E]) => boolean = () => true,
  ms = 5_000,
): Promise<TroupeEvents[E][0]> {
  let listener!: (...args: TroupeEvents[E]) => void;
  const seen = new Promise<TroupeEvents[E][0]>((resolve) => {
    listener = (...args: TroupeEvents[E]) => {
      if (predicate(...args)) resolve(args[0]);
    };
    troupe.on(event, listener);
  });
  const out = within(seen, ms, `event "${event}"`).finally(() => {
    troupe.off(event, listener);
  });
  out.catch(() => {});
  return out;
}

/** The `count`-th `event` (counted from now) whose payload matches `predicate`. */
export function nthEvent<E extends keyof TroupeEvents>(
  troupe: Troupe,
  event: E,
  count: number,
  predicate: (...args: TroupeEvents[E]) => boolean = () => true,
  ms = 5_000,
): Promise<TroupeEvents[E][0]> {
  let seen = 0;
  return nextEvent(troupe, event, (...args) => predicate(...args) && ++seen >= count, ms);
}

/** Resolves once `runner` is in `state` (at once if it already is). */
export function stateReached(
  troupe: Troupe,
  runner: Runner,
  state: RunnerState,
  ms = 5_000,
): Promise<unknown> {
  if (runner.state === state) return Promise.resolve();
  return nextEvent(
    troupe,
    'runner:state',
    (e) => e.runnerId === runner.id && e.state === state,
    ms,
  );
}

/**
 * The first snapshot of `view` (now or later) that satisfies `predicate`,
 * within `ms`; rejects if the actor ends first. The runner's own figures
 * (`state`, `threadIds`, `stats()`) are current when its snapshot is
 * announced, so a predicate may read them instead of the snapshot.
 */
export async function whenSnapshot<TSnapshot extends { readonly value: unknown }>(
  view: ActorView<TSnapshot>,
  predicate: (snapshot: TSnapshot) => boolean,
  ms = 5_000,
  what = 'the condition',
): Promise<TSnapshot> {
  try {
    return (await waitFor(
      view as unknown as AnyActorRef,
      predicate as (snapshot: unknown) => boolean,
      { timeout: ms },
    )) as TSnapshot;
  } catch (error) {
    const value = JSON.stringify(view.getSnapshot().value);
    throw new Error(`${view.id}: ${what} did not hold (now ${value})`, { cause: error });
  }
}
