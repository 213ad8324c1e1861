import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

// How a state node and a transition of a machine's definition read in a
// drawing: shared by toMermaid and statechartGraph.

export function children(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states);
}

/** Every state node under `root`, itself first, in document order. */
export function stateNodes(root: AnyStateNode): AnyStateNode[] {
  const nodes: AnyStateNode[] = [root];
  for (const child of children(root)) nodes.push(...stateNodes(child));
  return nodes;
}

/** The transitions a state node defines: by event (and `after`, `invoke`, `onDone`), then `always`. */
export function ownTransitions(node: AnyStateNode): AnyTransitionDefinition[] {
  const transitions: AnyTransitionDefinition[] = [];
  for (const byEvent of node.transitions.values()) transitions.push(...byEvent);
  transitions.push(...(node.always ?? []));
  return transitions;
}

/** Unique Mermaid-safe ids, from the state node ids. */
export function stateLabel(node: AnyStateNode): string {
  if (node.parent === undefined) return node.machine.id;
  if (node.type === 'history') return node.history === 'deep' ? 'H*' : 'H';
  return node.key;
}

/** Writes the characters Mermaid reads as syntax as its entity codes. */
export function transitionLabel(
  machine: AnyStateMachine,
  node: AnyStateNode,
  transition: AnyTransitionDefinition,
): string {
  let label = eventLabel(node, transition);
  if (transition.guard !== undefined) label += ` [${guardLabel(machine, transition.guard, true)}]`;
  if (transition.reenter) label += ' (reenter)';
  return label;
}

function eventLabel(node: AnyStateNode, transition: AnyTransitionDefinition): string {
  const type = transition.eventType as string;
  if (type === '') return 'always';
  if (type.startsWith('xstate.after.')) {
    const delay: unknown = (transition as { delay?: unknown }).delay;
    if (typeof delay === 'number') return `after ${delay}ms`;
    if (typeof delay === 'string') return `after ${delay}`;
    return 'after';
  }
  for (const [prefix, word] of [
    ['xstate.done.actor.', 'done'],
    ['xstate.error.actor.', 'error'],
    ['xstate.snapshot.', 'snapshot'],
  ] as const) {
    if (!type.startsWith(prefix)) continue;
    const actorId = type.slice(prefix.length);
    const invoked = node.invoke.find((invoke) => invoke.id === actorId);
    return `${word}: ${invoked === undefined ? actorId : actorName(invoked)}`;
  }
  if (type.startsWith('xstate.done.state.')) return 'done';
  if (type === 'xstate.route') return 'route';
  return /^troupe\.[^.]+\.(.+)$/.exec(type)?.[1] ?? type;
}

/** The name of an invoked actor: its `src`, or its `id` for inline logic. */
function actorName(invoke: { readonly id: string; readonly src: unknown }): string {
  return typeof invoke.src === 'string' && !invoke.src.startsWith('xstate.invoke.')
    ? invoke.src
    : invoke.id;
}

interface HigherOrderGuard {
  readonly name: string;
  readonly guards?: readonly unknown[];
  readonly stateValue?: unknown;
}

function guardLabel(machine: AnyStateMachine, guard: unknown, top: boolean): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const fn = guard as HigherOrderGuard;
    if (fn.stateValue !== undefined) return `in ${stateValueLabel(machine, fn.stateValue)}`;
    if (fn.guards !== undefined) {
      const parts = fn.guards.map((g) => guardLabel(machine, g, false));
      if (fn.name === 'not') return `not ${parts.join(' ')}`;
      const joined = parts.join(fn.name === 'or' ? ' or ' : ' and ');
      return top || parts.length < 2 ? joined : `(${joined})`;
    }
    return fn.name === '' ? 'guard' : fn.name;
  }
  if (typeof guard === 'object' && guard !== null && 'type' in guard) {
    const { type, params } = guard as { type: unknown; params?: unknown };
    const name = String(type);
    if (typeof params !== 'object' || params === null) return name;
    const values = Object.values(params).filter(
      (v): v is string | number | boolean =>
        typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean',
    );
    return values.length === 0 ? name : `${name}(${values.join(', ')})`;
  }
  return 'guard';
}

/** `#runner.running.load` → `running.load` (relative to the machine), objects as paths. */
function stateValueLabel(machine: AnyStateMachine, value: unknown): string {
  if (typeof value === 'string') {
    const path = value.startsWith('#') ? value.slice(1) : value;
    return path.startsWith(`${machine.id}.`) ? path.slice(machine.id.length + 1) : path;
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .map(([key, sub]) => (sub === undefined ? key : `${key}.${stateValueLabel(machine, sub)}`))
      .join(', ');
  }
  return String(value);
}
