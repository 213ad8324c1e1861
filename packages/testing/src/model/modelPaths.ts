import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import { __unsafe_getAllOwnEventDescriptors as ownEventTypes } from 'xstate';
import { TestModel } from 'xstate/graph';
import {
  allStateIds,
  allTransitions,
  initialTransitions,
  takenTransitions,
} from './transitions.js';

/** One step of a model path: the event, and the model's state after it. */
export interface ModelStep {
  readonly event: EventObject;
  readonly state: AnyMachineSnapshot;
}

/** A path through a machine, from its initial state. */
export interface ModelPath {
  /** Readable: `starting → running.ready → …` with the events between. */
  readonly name: string;
  readonly initial: AnyMachineSnapshot;
  readonly steps: readonly ModelStep[];
  /** Transition keys this path takes. */
  readonly transitions: readonly string[];
}

/** How to traverse a machine. */
export interface ModelSpec {
  readonly machine: AnyStateMachine;
  readonly input: unknown;
  /** What makes two model states different (value plus the context guards read). */
  readonly serializeState: (snapshot: AnyMachineSnapshot) => string;
  /** Concrete payloads for event types; other event types are sent as `{ type }`. */
  readonly variants?: readonly (EventObject & Record<string, unknown>)[];
  /** Skip events the system under test cannot produce in this state. */
  readonly filterEvents?: (snapshot: AnyMachineSnapshot, event: EventObject) => boolean;
  /** Transitions already taken by other paths (e.g. another policy's model): not sought again. */
  readonly covered?: ReadonlySet<string>;
}

/** Coverage of a machine by a set of paths. */
export interface ModelCoverage {
  readonly states: {
    readonly total: number;
    readonly covered: readonly string[];
    readonly missing: readonly string[];
  };
  readonly transitions: {
    readonly total: number;
    readonly covered: readonly string[];
    readonly missing: readonly string[];
  };
}

export function stateValueText(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, inner] = Object.entries(value as Record<string, unknown>)[0] ?? ['?', undefined];
  return inner === undefined ? key : `${key}.${stateValueText(inner)}`;
}

function testModel(spec: ModelSpec): TestModel<AnyMachineSnapshot, EventObject, unknown> {
  const variants = spec.variants ?? [];
  // createTestModel() refuses machines with invoke/after; the traversal itself
  // works on transition() with a mock actor scope, so use TestModel directly.
  return new TestModel<AnyMachineSnapshot, EventObject, unknown>(
    spec.machine as never,
    {
      input: spec.input,
      serializeState: (snapshot: AnyMachineSnapshot) => spec.serializeState(snapshot),
      events: (snapshot: AnyMachineSnapshot) =>
        ownEventTypes(snapshot).flatMap((type: string) => {
          const matching = variants.filter((e) => e.type === type);
          return matching.length > 0 ? matching : [{ type }];
        }),
      ...(spec.filterEvents === undefined ? {} : { filterEvents: spec.filterEvents }),
    } as never,
  );
}

function describe(initial: AnyMachineSnapshot, steps: readonly ModelStep[]): string {
  const parts = [stateValueText(initial.value)];
  for (const step of steps) {
    const type = step.event.type
      .replace(/^xstate\.done\.actor\.\d+\..*/, 'done')
      .replace(/^xstate\.error\.actor\.\d+\..*/, 'error')
      .replace(/^xstate\.after\.([^.]+)\..*/, 'after $1')
      .replace(/^troupe\.[a-z]+\./, '');
    const payload = Object.entries(step.event as Record<string, unknown>)
      .filter(([k, v]) => k !== 'type' && k !== 'error' && k !== 'at' && v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(',');
    parts.push(
      `-(${type}${payload === '' ? '' : ` ${payload}`})→ ${stateValueText(step.state.value)}`,
    );
  }
  return parts.join(' ');
}

/**
 * Paths through a machine that together take every transition the traversal
 * can reach: for each transition, the shortest path to a state where it is
 * enabled, plus that step. Shortest paths to every distinct model state are
 * included too.
 */
export function modelPaths(spec: ModelSpec): { paths: ModelPath[]; coverage: ModelCoverage } {
  const model = testModel(spec);
  const shortest = model.getShortestPaths({ allowDuplicatePaths: true });
  const byState = new Map<string, ModelStep[]>();
  let initial: AnyMachineSnapshot | undefined;
  for (const path of shortest) {
    const steps = path.steps
      .filter((s) => s.event.type !== 'xstate.init')
      .map((s) => ({ event: s.event, state: s.state }));
    initial ??= path.steps[0]?.state;
    byState.set(spec.serializeState(path.state), steps);
  }
  if (initial === undefined) throw new Error('the model has no initial state');
  const start: AnyMachineSnapshot = initial;
  const atStart = initialTransitions(spec.machine, spec.input);
  const transitionsOf = (steps: readonly ModelStep[]): string[] => {
    const keys: string[] = [...atStart];
    let before = start;
    for (const step of steps) {
      keys.push(...takenTransitions(spec.machine, before, step.event));
      before = step.state;
    }
    return keys;
  };
  const covered = new Set<string>(spec.covered ?? []);
  const paths: ModelPath[] = [];
  const add = (steps: ModelStep[]): void => {
    const transitions = transitionsOf(steps);
    for (const key of transitions) covered.add(key);
    paths.push({ name: describe(start, steps), initial: start, steps, transitions });
  };
  const adjacency = model.getAdjacencyMap();
  // Shorter prefixes first, so every transition is reached the short way.
  const entries = Object.entries(adjacency).sort(
    ([a], [b]) => (byState.get(a)?.length ?? 0) - (byState.get(b)?.length ?? 0),
  );
  for (const [serialized, { state, transitions }] of entries) {
    const prefix = byState.get(serialized);
    if (prefix === undefined) continue;
    for (const { event, state: next } of Object.values(
      transitions as Record<string, { event: EventObject; state: AnyMachineSnapshot }>,
    )) {
      const keys = takenTransitions(spec.machine, state as AnyMachineSnapshot, event);
      if (keys.length === 0 || keys.every((k) => covered.has(k))) continue;
      add([...prefix, { event, state: next }]);
    }
  }
  // Every state node reached at least once: the shortest path to one that
  // no path visits yet.
  const nodesOf = (s: AnyMachineSnapshot): string[] =>
    (s as unknown as { _nodes: { id: string }[] })._nodes.map((n) => n.id);
  const seen = new Set(
    paths.flatMap((p) => [p.initial, ...p.steps.map((s) => s.state)]).flatMap(nodesOf),
  );
  for (const steps of byState.values()) {
    const last = steps.at(-1)?.state;
    if (last === undefined || nodesOf(last).every((id) => seen.has(id))) continue;
    add(steps);
    for (const id of nodesOf(last)) seen.add(id);
  }
  return { paths, coverage: coverageOf(spec.machine, paths) };
}

/** Which states and transitions of `machine` the paths cover. */
export function coverageOf(machine: AnyStateMachine, paths: readonly ModelPath[]): ModelCoverage {
  const stateIds = allStateIds(machine);
  const seenStates = new Set<string>();
  for (const path of paths) {
    for (const snapshot of [path.initial, ...path.steps.map((s) => s.state)]) {
      for (const node of (snapshot as unknown as { _nodes: { id: string }[] })._nodes) {
        seenStates.add(node.id);
      }
    }
  }
  const transitionKeys = allTransitions(machine).map((t) => t.key);
  const seenTransitions = new Set(paths.flatMap((p) => p.transitions));
  return {
    states: {
      total: stateIds.length,
      covered: stateIds.filter((id) => seenStates.has(id)),
      missing: stateIds.filter((id) => !seenStates.has(id)),
    },
    transitions: {
      total: transitionKeys.length,
      covered: transitionKeys.filter((k) => seenTransitions.has(k)),
      missing: transitionKeys.filter((k) => !seenTransitions.has(k)),
    },
  };
}

/**
 * Simple paths (no state visited twice) from the initial state to a final
 * state. `sample` keeps that many, chosen with a seeded shuffle (longest
 * first within the sample), so big models stay affordable and reproducible.
 */
export function simplePaths(
  spec: ModelSpec,
  options: { sample?: number; seed?: number } = {},
): ModelPath[] {
  const model = testModel(spec);
  const all = model.getSimplePaths({
    toState: (s: AnyMachineSnapshot) => s.status === 'done',
    allowDuplicatePaths: true,
  } as never);
  let chosen = all;
  if (options.sample !== undefined && all.length > options.sample) {
    let seed = (options.seed ?? 1) >>> 0;
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    const shuffled = [...all];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [
        shuffled[j] as (typeof all)[number],
        shuffled[i] as (typeof all)[number],
      ];
    }
    chosen = shuffled.slice(0, options.sample).sort((a, b) => b.steps.length - a.steps.length);
  }
  return chosen.map((path) => {
    const steps = path.steps
      .filter((s) => s.event.type !== 'xstate.init')
      .map((s) => ({ event: s.event, state: s.state }));
    const initial = path.steps[0]?.state ?? path.state;
    let before = initial;
    const transitions: string[] = initialTransitions(spec.machine, spec.input);
    for (const step of steps) {
      transitions.push(...takenTransitions(spec.machine, before, step.event));
      before = step.state;
    }
    return { name: describe(initial, steps), initial, steps, transitions };
  });
}
