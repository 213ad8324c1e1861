import type { AnyActorRef, InspectionEvent } from 'xstate';
import { isLevelEnabled, type Logger } from '../logger.js';

/**
 * A state value as one line: nested states joined with `.`, the regions of
 * a parallel state in parentheses, sorted and separated by `|`
 * (`running(threads.up|work.idle)`), so the same value always reads the same.
 */
export function stateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return String(value);
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  if (entries.length === 0) return '';
  if (entries.length === 1) {
    const [key, inner] = entries[0] as [string, unknown];
    const rest = stateText(inner);
    if (rest === '') return key;
    return rest.startsWith('(') ? `${key}${rest}` : `${key}.${rest}`;
  }
  return `(${entries.map(([key, inner]) => stateText({ [key]: inner })).join('|')})`;
}

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
