import type { AnyActorRef, InspectionEvent } from 'xstate';
import { stateValueText } from '@troupe/core';
import { isLevelEnabled, type Logger } from '../logger.js';

/** A state value as one line (`running(load.busy|threads.full)`). */
export const stateText = stateValueText;

/**
 * Logs every state transition of `actor` once, at debug: `{ state,
 * previous, event }` (the event type that caused it; `previous` is null for
 * the first state), on `logger.child(bindings)`. Call it before the actor
 * starts. Snapshots do not carry their event, so this listens to the actor
 * system's inspection stream, and only when the logger writes debug records
 * as the actor is created: otherwise it adds nothing at all. A logger that
 * throws never breaks the actor.
 */
export function logTransitions(
  actor: AnyActorRef,
  logger: Logger,
  msg: string,
  bindings?: Record<string, unknown>,
): void {
  if (!isLevelEnabled(logger, 'debug')) return;
  const log = bindings === undefined ? logger : logger.child(bindings);
  let previous: string | null = null;
  actor.system.inspect((inspection: InspectionEvent) => {
    if (inspection.type !== '@xstate.snapshot' || inspection.actorRef !== actor) return;
    const state = stateText((inspection.snapshot as { value?: unknown }).value);
    if (state === previous) return;
    const from = previous;
    previous = state;
    try {
      log.debug({ state, previous: from, event: inspection.event.type }, msg);
    } catch {
      // A logger's failure must not become the actor's.
    }
  });
}
