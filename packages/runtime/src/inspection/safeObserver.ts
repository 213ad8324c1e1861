import type { InspectionEvent, Observer } from 'xstate';
import type { InspectOption } from './InspectOption.js';

/**
 * Wraps an inspection observer so that it can never break an actor: XState
 * calls observers inside the actor's own step, and an observer that throws
 * there fails the actor. A failure is reported once (then again only after
 * the observer worked in between), so a broken observer cannot flood the
 * error handler either.
 */
export function safeObserver(
  inspect: InspectOption,
  onError: (error: unknown) => void,
): Observer<InspectionEvent> {
  const next = typeof inspect === 'function' ? inspect : inspect.next?.bind(inspect);
  let failing = false;
  return {
    next: (event) => {
      if (next === undefined) return;
      try {
        next(event);
        failing = false;
      } catch (error) {
        if (failing) return;
        failing = true;
        try {
          onError(error);
        } catch {
          // the report itself must not throw into the actor either
        }
      }
    },
  };
}
