import type { AnyStateMachine, StateValue } from 'xstate';
import { getStateNodes } from 'xstate';

/**
 * A state value as one line: nested states joined with `.`, the regions
 * of a parallel state in parentheses, sorted by name and separated by `|`,
 * so the same value always reads the same.
 *
 * @example
 * ```ts
 * stateValueText({ starting: { admission: 'open', pool: 'loading' } });
 * // 'starting(admission.open|pool.loading)'
 * stateValueText({ draining: 'flushing' }); // 'draining.flushing'
 * ```
 */
export function stateValueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return String(value);
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  if (entries.length === 0) return '';
  if (entries.length === 1) {
    const [key, inner] = entries[0] as [string, unknown];
    const rest = stateValueText(inner);
    if (rest === '') return key;
    return rest.startsWith('(') ? `${key}${rest}` : `${key}.${rest}`;
  }
  return `(${entries.map(([key, inner]) => stateValueText({ [key]: inner })).join('|')})`;
}

/**
 * The ids of every state node a snapshot of `machine` is in (the root, each
 * active ancestor and leaf, every region of a parallel state), each once.
 *
 * @example
 * ```ts
 * activeStateIds(runnerMachine, { restarting: 'waiting' });
 * // ['runner', 'runner.restarting', 'runner.restarting.waiting']
 * ```
 */
export function activeStateIds(machine: AnyStateMachine, value: unknown): string[] {
  // getStateNodes lists an ancestor once per active descendant: dedupe, keep order.
  return [...new Set(getStateNodes(machine.root, value as StateValue).map((node) => node.id))];
}

/** True when a snapshot of `machine` with this value is in the state node `id`. */
export function inStateNode(machine: AnyStateMachine, value: unknown, id: string): boolean {
  return activeStateIds(machine, value).includes(id);
}
