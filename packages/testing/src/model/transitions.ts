import type {
  AnyMachineSnapshot,
  AnyStateMachine,
  AnyStateNode,
  EventObject,
  StateValue,
} from 'xstate';
import { getInitialMicrosteps, getMicrosteps, getStateNodes } from 'xstate';

/** One transition of a machine: a source state node, an event, a branch. */
export interface TransitionInfo {
  /** `<source id> --<event>[<branch>]--> <targets>` */
  readonly key: string;
  readonly source: string;
  readonly event: string;
  readonly branch: number;
  readonly targets: readonly string[];
  readonly guard: string | null;
}

interface TransitionDef {
  readonly source: AnyStateNode;
  readonly eventType: string;
  readonly target?: readonly AnyStateNode[] | undefined;
  readonly guard?: unknown;
}

function guardLabel(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && 'type' in guard) return String(guard.type);
  return 'inline';
}

function keyOf(def: TransitionDef, branch: number): string {
  const targets = (def.target ?? []).map((t) => t.id).join(',') || '(self)';
  return `${def.source.id} --${def.eventType}[${branch}]--> ${targets}`;
}

function nodesOf(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states as Record<string, AnyStateNode>).flatMap(nodesOf)];
}

/** Every state node id of a machine. */
export function allStateIds(machine: AnyStateMachine): string[] {
  return nodesOf(machine.root).map((n) => n.id);
}

/** Every transition of a machine, guarded branches and `always` transitions included. */
export function allTransitions(machine: AnyStateMachine): TransitionInfo[] {
  const out: TransitionInfo[] = [];
  for (const node of nodesOf(machine.root)) {
    for (const [eventType, defs] of node.transitions as Map<string, TransitionDef[]>) {
      defs.forEach((def, branch) => {
        out.push({
          key: keyOf(def, branch),
          source: node.id,
          event: eventType,
          branch,
          targets: (def.target ?? []).map((t) => t.id),
          guard: guardLabel(def.guard),
        });
      });
    }
    for (const [branch, def] of ((node.always ?? []) as TransitionDef[]).entries()) {
      out.push({
        key: keyOf({ ...def, eventType: 'always' }, branch),
        source: node.id,
        event: 'always',
        branch,
        targets: (def.target ?? []).map((t) => t.id),
        guard: guardLabel(def.guard),
      });
    }
  }
  return out;
}

function branchOf(def: TransitionDef): number {
  const defs =
    def.eventType === 'always'
      ? ((def.source.always ?? []) as TransitionDef[])
      : ((def.source.transitions as Map<string, TransitionDef[]>).get(def.eventType) ?? []);
  return defs.indexOf(def);
}

/** The state nodes a snapshot is in, each once. */
function activeNodes(machine: AnyStateMachine, snapshot: AnyMachineSnapshot): AnyStateNode[] {
  return [...new Set(getStateNodes(machine.root, snapshot.value as StateValue))];
}

/**
 * The transitions `event` takes from `snapshot` (the event's own, then any
 * `always` transitions of the microsteps that follow), as keys of
 * {@link allTransitions}.
 */
export function takenTransitions(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  event: EventObject,
): string[] {
  const keys: string[] = [];
  const first = machine.getTransitionData(snapshot as never, event) as TransitionDef[];
  for (const def of first) keys.push(keyOf(def, branchOf(def)));
  const steps = getMicrosteps(machine, snapshot as never, event as never).map(
    ([next]) => next as unknown as AnyMachineSnapshot,
  );
  keys.push(...eventless(machine, steps));
  return keys;
}

/** The `always` transitions taken while the machine starts (with `input`). */
export function initialTransitions(machine: AnyStateMachine, input: unknown): string[] {
  const steps = (getInitialMicrosteps as (m: AnyStateMachine, i: unknown) => [unknown, unknown][])(
    machine,
    input,
  ).map(([next]) => next as AnyMachineSnapshot);
  return eventless(machine, steps);
}

function eventless(machine: AnyStateMachine, steps: readonly AnyMachineSnapshot[]): string[] {
  const keys: string[] = [];
  // Eventless steps: the always transition of the state before that leads there.
  for (let i = 0; i + 1 < steps.length; i++) {
    const before = activeNodes(machine, steps[i] as AnyMachineSnapshot);
    const after = activeNodes(machine, steps[i + 1] as AnyMachineSnapshot);
    for (const node of before) {
      for (const [branch, def] of ((node.always ?? []) as TransitionDef[]).entries()) {
        const target = def.target?.[0];
        if (target !== undefined && after.includes(target)) {
          keys.push(keyOf({ ...def, eventType: 'always' }, branch));
        }
      }
    }
  }
  return keys;
}
