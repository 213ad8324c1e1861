import { mulberry32 } from '@troupe/core';
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import { __unsafe_getAllOwnEventDescriptors as ownEventTypes, transition } from 'xstate';
import { TestModel } from 'xstate/graph';
import { activeStateIds, stateValueText } from './stateValue.js';
import {
  allStateIds,
  allTransitions,
  initialTransitions,
  takenTransitions,
} from './transitions.js';

/** A named action a step runs, with its parameters (`alert` with `{ kind, decision }`). */
export interface ModelAction {
  readonly type: string;
  readonly params?: unknown;
}

/** One step of a model path: the event, the model's state after it, the named actions it ran. */
export interface ModelStep {
  readonly event: EventObject;
  readonly state: AnyMachineSnapshot;
  /** The machine's own named actions (not XState's built-ins), in order. */
  readonly actions: readonly ModelAction[];
}

/** A path through a machine, from its initial state. */
export interface ModelPath {
  /** Readable: `starting(admission.open|pool.queued) -(slotGranted)→ …`. */
  readonly name: string;
  readonly initial: AnyMachineSnapshot;
  readonly steps: readonly ModelStep[];
  /** Transition keys this path takes. */
  readonly transitions: readonly string[];
  /** The machine's effect actions (see `effectActions`): what steps are compared on. */
  readonly effects: readonly string[];
}

/** How to traverse a machine. */
export interface ModelSpec {
  readonly machine: AnyStateMachine;
  readonly input: unknown;
  /**
   * What makes two model states different (value plus the context guards
   * read). The traversal passes the event and the state before, so a spec
   * can derive facts of the real system the chart does not track.
   */
  readonly serializeState: (
    snapshot: AnyMachineSnapshot,
    event?: EventObject,
    previous?: AnyMachineSnapshot,
  ) => string;
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

type Model = TestModel<AnyMachineSnapshot, EventObject, unknown>;

interface Adjacency {
  readonly state: AnyMachineSnapshot;
  readonly transitions: Record<string, { event: EventObject; state: AnyMachineSnapshot }>;
}

function testModel(spec: ModelSpec): Model {
  const variants = spec.variants ?? [];
  // createTestModel() refuses machines with invoke/after; the traversal itself
  // works on transition() with a mock actor scope, so use TestModel directly.
  return new TestModel<AnyMachineSnapshot, EventObject, unknown>(
    spec.machine as never,
    {
      input: spec.input,
      serializeState: (
        snapshot: AnyMachineSnapshot,
        event?: EventObject,
        previous?: AnyMachineSnapshot,
      ) => spec.serializeState(snapshot, event, previous),
      events: (snapshot: AnyMachineSnapshot) =>
        ownEventTypes(snapshot).flatMap((type: string) => {
          const matching = variants.filter((e) => e.type === type);
          return matching.length > 0 ? matching : [{ type }];
        }),
      ...(spec.filterEvents === undefined ? {} : { filterEvents: spec.filterEvents }),
    } as never,
  );
}

/** The machine's own named actions that `event` runs from `snapshot`. */
function actionsOf(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  event: EventObject,
): ModelAction[] {
  const [, actions] = transition(machine, snapshot as never, event as never);
  return (actions as { type: string; params?: unknown }[])
    .filter((action) => !action.type.startsWith('xstate.'))
    .map((action) =>
      action.params === undefined
        ? { type: action.type }
        : { type: action.type, params: action.params },
    );
}

/** Payload fields that do not say which variant an event is: ids, times, messages. */
const NOISE = new Set(['type', 'at', 'threadId', 'message', 'runnerId']);

/**
 * The fields of a model event that the real event must match: its plain
 * values (flags, codes, reasons), not the errors it carries.
 */
export function eventFacts(event: EventObject): [string, unknown][] {
  return Object.entries(event as Record<string, unknown>).filter(
    ([key, value]) =>
      !NOISE.has(key) &&
      (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'),
  );
}

/**
 * The machine's named actions that are effects (plain functions), not
 * XState built-ins (assign, raise, cancel): the ones a real actor reports
 * running, and the only ones a step's actions are compared on.
 */
export function effectActions(machine: AnyStateMachine): string[] {
  const actions = machine.implementations.actions as Record<string, unknown>;
  return Object.entries(actions)
    .filter(([, action]) => {
      const type = (action as { type?: unknown } | undefined)?.type;
      return !(typeof type === 'string' && type.startsWith('xstate.'));
    })
    .map(([name]) => name);
}

function describe(initial: AnyMachineSnapshot, steps: readonly ModelStep[]): string {
  const parts = [stateValueText(initial.value)];
  let previous = parts[0];
  for (const step of steps) {
    const type = step.event.type
      .replace(/^xstate\.done\.actor\.\d+\..*/, 'done')
      .replace(/^xstate\.error\.actor\.\d+\..*/, 'error')
      .replace(/^xstate\.after\.([^.]+)\..*/, 'after $1')
      .replace(/^troupe\.[a-z]+\./, '');
    const payload = eventFacts(step.event)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(',');
    const state = stateValueText(step.state.value);
    // A step that keeps the state says what it did.
    const effects =
      state === previous && step.actions.length > 0
        ? ` [${step.actions.map((a) => `${a.type}${a.params === undefined ? '' : ` ${Object.values(a.params as object).join('/')}`}`).join(', ')}]`
        : '';
    parts.push(`-(${type}${payload === '' ? '' : ` ${payload}`})→ ${state}${effects}`);
    previous = state;
  }
  return parts.join(' ');
}

function toPath(spec: ModelSpec, initial: AnyMachineSnapshot, steps: ModelStep[]): ModelPath {
  const transitions: string[] = initialTransitions(spec.machine, spec.input);
  let before = initial;
  for (const step of steps) {
    transitions.push(...takenTransitions(spec.machine, before, step.event));
    before = step.state;
  }
  return {
    name: describe(initial, steps),
    initial,
    steps,
    transitions,
    effects: effectActions(spec.machine),
  };
}

function stepsOf(
  machine: AnyStateMachine,
  initial: AnyMachineSnapshot,
  raw: readonly { event: EventObject; state: AnyMachineSnapshot }[],
): ModelStep[] {
  const steps: ModelStep[] = [];
  let before = initial;
  for (const { event, state } of raw) {
    const effects = new Set(effectActions(machine));
    steps.push({
      event,
      state,
      actions: actionsOf(machine, before, event).filter((a) => effects.has(a.type)),
    });
    before = state;
  }
  return steps;
}

/**
 * Paths through a machine that together take every transition the traversal
 * can reach: for each transition, the shortest path to a state where it is
 * enabled, plus that step. Shortest paths to states whose nodes no path
 * visits yet are included too.
 */
export function modelPaths(spec: ModelSpec): { paths: ModelPath[]; coverage: ModelCoverage } {
  const model = testModel(spec);
  const shortest = model.getShortestPaths({ allowDuplicatePaths: true });
  const byState = new Map<string, { event: EventObject; state: AnyMachineSnapshot }[]>();
  let initial: AnyMachineSnapshot | undefined;
  for (const path of shortest) {
    initial ??= path.steps[0]?.state;
    const raw = path.steps
      .filter((s) => s.event.type !== 'xstate.init')
      .map((s) => ({ event: s.event, state: s.state }));
    byState.set(spec.serializeState(path.state), raw);
  }
  if (initial === undefined) throw new Error('the model has no initial state');
  const start: AnyMachineSnapshot = initial;
  const covered = new Set<string>(spec.covered ?? []);
  const paths: ModelPath[] = [];
  const add = (raw: { event: EventObject; state: AnyMachineSnapshot }[]): void => {
    const path = toPath(spec, start, stepsOf(spec.machine, start, raw));
    for (const key of path.transitions) covered.add(key);
    paths.push(path);
  };
  const adjacency = model.getAdjacencyMap() as unknown as Record<string, Adjacency>;
  // Shorter prefixes first, so every transition is reached the short way.
  const entries = Object.entries(adjacency).sort(
    ([a], [b]) => (byState.get(a)?.length ?? 0) - (byState.get(b)?.length ?? 0),
  );
  for (const [serialized, { state, transitions }] of entries) {
    const prefix = byState.get(serialized);
    if (prefix === undefined) continue;
    for (const { event, state: next } of Object.values(transitions)) {
      const keys = takenTransitions(spec.machine, state, event);
      if (keys.length === 0 || keys.every((k) => covered.has(k))) continue;
      add([...prefix, { event, state: next }]);
    }
  }
  // Every state node reached at least once: the shortest path to one that
  // no path visits yet.
  const nodesOf = (s: AnyMachineSnapshot): string[] => activeStateIds(spec.machine, s.value);
  const seen = new Set(
    paths.flatMap((p) => [p.initial, ...p.steps.map((s) => s.state)]).flatMap(nodesOf),
  );
  for (const raw of byState.values()) {
    const last = raw.at(-1)?.state;
    if (last === undefined || nodesOf(last).every((id) => seen.has(id))) continue;
    add(raw);
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
      for (const id of activeStateIds(machine, snapshot.value)) seenStates.add(id);
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

/** Options of {@link simplePaths}. */
export interface SimplePathOptions {
  /**
   * Keep this many, found by seeded random walks that never revisit a
   * state (big models have far too many simple paths to list). Without it,
   * every simple path is listed.
   */
  readonly sample?: number;
  readonly seed?: number;
  /** Longest walk kept, in steps (sampled only). Default 24. */
  readonly maxSteps?: number;
}

/**
 * Simple paths (no state visited twice) from the initial state to a final
 * state: all of them, or a reproducible sample of random ones.
 */
export function simplePaths(spec: ModelSpec, options: SimplePathOptions = {}): ModelPath[] {
  const model = testModel(spec);
  if (options.sample === undefined) {
    return model
      .getSimplePaths({
        toState: (s: AnyMachineSnapshot) => s.status === 'done',
        allowDuplicatePaths: true,
      } as never)
      .map((path) => {
        const initial = path.steps[0]?.state ?? path.state;
        const raw = path.steps
          .filter((s) => s.event.type !== 'xstate.init')
          .map((s) => ({ event: s.event, state: s.state }));
        return toPath(spec, initial, stepsOf(spec.machine, initial, raw));
      });
  }
  return sampledPaths(spec, model, options.sample, options.seed ?? 1, options.maxSteps ?? 24);
}

function sampledPaths(
  spec: ModelSpec,
  model: Model,
  sample: number,
  seed: number,
  maxSteps: number,
): ModelPath[] {
  const adjacency = model.getAdjacencyMap() as unknown as Record<string, Adjacency>;
  const [startKey] = Object.keys(adjacency);
  const start = startKey === undefined ? undefined : adjacency[startKey];
  if (startKey === undefined || start === undefined) return [];
  const random = mulberry32(seed);
  const found = new Map<string, ModelPath>();
  // Each walk is a randomized depth-first search for a final state, bounded
  // in depth and in work, so one unlucky walk cannot take long.
  for (let attempt = 0; attempt < sample * 20 && found.size < sample; attempt++) {
    const raw = walk(spec, adjacency, startKey, random, maxSteps);
    if (raw === null) continue;
    const path = toPath(spec, start.state, stepsOf(spec.machine, start.state, raw));
    if (!found.has(path.name)) found.set(path.name, path);
  }
  return [...found.values()];
}

function walk(
  spec: ModelSpec,
  adjacency: Record<string, Adjacency>,
  startKey: string,
  random: () => number,
  maxSteps: number,
): { event: EventObject; state: AnyMachineSnapshot }[] | null {
  const onPath = new Set<string>([startKey]);
  const raw: { event: EventObject; state: AnyMachineSnapshot }[] = [];
  let budget = 2_000;
  const search = (key: string): boolean => {
    const here = adjacency[key];
    if (here === undefined) return false;
    if (here.state.status === 'done') return true;
    if (raw.length >= maxSteps || budget-- <= 0) return false;
    const options = Object.values(here.transitions);
    for (let i = options.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [options[i], options[j]] = [
        options[j] as (typeof options)[number],
        options[i] as (typeof options)[number],
      ];
    }
    for (const option of options) {
      const next = spec.serializeState(option.state);
      if (onPath.has(next)) continue;
      onPath.add(next);
      raw.push(option);
      if (search(next)) return true;
      raw.pop();
      onPath.delete(next);
    }
    return false;
  };
  return search(startKey) ? raw : null;
}
