import type { TokenEvent } from './protocol.js';

/** True when an event a task emitted is a streamed {@link TokenEvent}. */
export function isTokenEvent(event: unknown): event is TokenEvent {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  return e.type === 'token' && typeof e.text === 'string' && typeof e.index === 'number';
}
