import type { AnyStateMachine, StateValue } from 'xstate';
import { stateValueText } from '@troupe/core';
import { getStateNodes } from 'xstate';

// The one-line rendering of a state value lives in @troupe/core (logs use it too).
export { stateValueText };

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
