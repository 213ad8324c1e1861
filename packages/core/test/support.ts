// Shared helpers for the statechart tests: promise actors whose settlement
// the test controls, a macrotask flush, and bookkeeping of root actors so
// that every test checks no error escaped to a root.
import {
  fromPromise,
  type AnyActorRef,
  type AnyStateMachine,
  type AnyStateNode,
  type AnyTransitionDefinition,
  type InspectionEvent,
  type StateValue,
} from 'xstate';

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One invocation of a controlled promise actor. */
export interface Call<TInput> {
  readonly input: TInput;
  /** Aborted by xstate when the invoking state is left. */
  readonly signal: AbortSignal;
  resolve(): void;
  reject(reason: unknown): void;
}

/** A promise actor that never settles by itself: the test settles each call. */
export interface Controlled<TInput> {
  readonly logic: ReturnType<typeof fromPromise<void, TInput>>;
  readonly calls: readonly Call<TInput>[];
  /** The most recent call; throws when there was none. */
  last(): Call<TInput>;
}

export function controlled<TInput>(): Controlled<TInput> {
  const calls: Call<TInput>[] = [];
  const logic = fromPromise<void, TInput>(({ input, signal }) => {
    const d = deferred<undefined>();
    calls.push({
      input,
      signal,
      resolve: () => {
        d.resolve(undefined);
      },
      reject: d.reject,
    });
    return d.promise;
  });
  return {
    logic,
    calls,
    last() {
      const call = calls.at(-1);
      if (call === undefined) throw new Error('the actor was never invoked');
      return call;
    },
  };
}

/** Lets promise actors settle and their done/error events reach the parent. */
export async function flush(): Promise<void> {
  await new Promise<void>((resolve) => {
    setTimeout(resolve, 0);
  });
}

interface TrackedRoot {
  readonly actor: AnyActorRef;
  readonly errors: unknown[];
}

const roots: TrackedRoot[] = [];

/**
 * Subscribes `error` on a root (an unobserved root error kills the process)
 * and remembers it so {@link releaseRoots} can stop it and report errors.
 */
export function track<TActor extends AnyActorRef>(actor: TActor): unknown[] {
  const errors: unknown[] = [];
  actor.subscribe({
    error: (err: unknown) => {
      errors.push(err);
    },
  });
  roots.push({ actor, errors });
  return errors;
}

/** Stops every tracked root and returns the errors they reported. */
export function releaseRoots(): unknown[] {
  const errors = roots.flatMap((root) => root.errors);
  for (const root of roots.splice(0)) root.actor.stop();
  return errors;
}

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states as Record<string, AnyStateNode>).flatMap((child) => [
    child,
    ...allNodes(child),
  ]);
}

function eventLabel(eventType: string): string {
  if (eventType.startsWith('xstate.done.actor.')) return 'onDone';
  if (eventType.startsWith('xstate.error.actor.')) return 'onError';
  if (eventType.startsWith('xstate.after.')) {
    return `after ${eventType.slice('xstate.after.'.length).split('.')[0] ?? ''}`;
  }
  return eventType;
}

function guardLabel(guard: unknown): string {
  if (guard === undefined) return '';
  if (typeof guard === 'string') return ` [${guard}]`;
  if (typeof guard === 'function') return ` [${guard.name}()]`;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) {
    return ` [${String(guard.type)}]`;
  }
  return ' [?]';
}

/**
 * A readable, machine-instance independent name of a transition:
 * `runner.starting onError#1 [mayRestart] -> runner.restarting`. The index
 * tells the guarded branches of one event apart.
 */
function transitionKey(t: AnyTransitionDefinition, always: boolean): string {
  const source = t.source;
  const eventType = String(t.eventType);
  const list: readonly AnyTransitionDefinition[] = always
    ? (source.always ?? [])
    : (source.transitions.get(eventType) ?? []);
  const label = always ? 'always' : eventLabel(eventType);
  const targets = t.target?.map((n) => n.id).join(',') ?? '(self)';
  return `${source.id} ${label}#${list.indexOf(t)}${guardLabel(t.guard)} -> ${targets}`;
}

function machineTransitionKeys(machine: AnyStateMachine): string[] {
  const keys: string[] = [];
  for (const node of allNodes(machine.root)) {
    for (const list of node.transitions.values()) {
      for (const t of list) keys.push(transitionKey(t, false));
    }
    for (const t of node.always ?? []) keys.push(transitionKey(t, true));
  }
  return keys;
}

function statePaths(value: StateValue, prefix: string): string[] {
  if (typeof value === 'string') return [`${prefix}.${value}`];
  return Object.entries(value).flatMap(([key, child]) => [
    `${prefix}.${key}`,
    ...(child === undefined ? [] : statePaths(child, `${prefix}.${key}`)),
  ]);
}

/**
 * Records, through the inspection API, every state a machine's root actors
 * entered (transient ones included: each microstep is inspected) and every
 * transition they took, so a test file can prove it covered its machine.
 */
export class Coverage {
  readonly #states: readonly string[];
  readonly #transitions: readonly string[];
  readonly #machineId: string;
  readonly visitedStates = new Set<string>();
  readonly takenTransitions = new Set<string>();

  constructor(machine: AnyStateMachine) {
    this.#machineId = machine.id;
    this.#states = allNodes(machine.root).map((n) => n.id);
    this.#transitions = machineTransitionKeys(machine);
  }

  /** Pass as `createActor(..., { inspect: coverage.inspect })`. */
  readonly inspect = (event: InspectionEvent): void => {
    if (event.actorRef.sessionId !== event.rootId) return;
    if (event.type === '@xstate.microstep') {
      for (const t of event._transitions) {
        const always = t.source.always?.includes(t) ?? false;
        this.takenTransitions.add(transitionKey(t, always));
      }
    }
    if (event.type === '@xstate.microstep' || event.type === '@xstate.snapshot') {
      const snapshot = event.snapshot as { value?: StateValue };
      if (snapshot.value !== undefined) {
        for (const path of statePaths(snapshot.value, this.#machineId))
          this.visitedStates.add(path);
      }
    }
  };

  get allStates(): readonly string[] {
    return this.#states;
  }

  get allTransitions(): readonly string[] {
    return this.#transitions;
  }

  missingStates(): string[] {
    return this.#states.filter((s) => !this.visitedStates.has(s));
  }

  missingTransitions(): string[] {
    return this.#transitions.filter((t) => !this.takenTransitions.has(t));
  }
}
