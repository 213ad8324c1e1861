import type { EventObject } from 'xstate';
import { eventFacts, type ModelAction, type ModelPath, type ModelStep } from './modelPaths.js';
import { ModelPathError } from './ModelPathError.js';
import { stateValueText } from './stateValue.js';

/** One event a real actor processed, the value it led to, and the named actions it ran. */
export interface ObservedStep {
  readonly event: EventObject;
  readonly value: unknown;
  readonly actions: readonly ModelAction[];
}

/** The real actor a driver hands over: anything XState-like with a value. */
export interface ObservedActor {
  getSnapshot(): { readonly value: unknown };
  subscribe(observer: (snapshot: { readonly value: unknown }) => void): { unsubscribe(): void };
  /**
   * Every event the actor processed since it was created, replayed, then
   * live (see `ActorRecorder`). Given one, each model step must match a real
   * step: the same event (type and variant), the same value, the same
   * named actions. Without it, only the values are compared.
   */
  readonly timeline?: (observer: (step: ObservedStep) => void) => { unsubscribe(): void };
}

/** Drives one system under test along a model path. */
export interface ModelDriver {
  /** Builds the system for this path; returns the actor whose states are checked. */
  start(path: ModelPath): Promise<ObservedActor>;
  /**
   * Makes the real system take step `index`. Resolves `true` when the driver
   * caused it, `false` when the system takes that step by itself (an
   * invocation finishing, a deadline).
   */
  exec(path: ModelPath, index: number): Promise<boolean>;
  /** Tears the system down and checks what must hold at the end (nothing lost or leaked). */
  finish(path: ModelPath): Promise<void>;
}

/** The outcome of one path. */
export interface PathRun {
  readonly name: string;
  /** The states the real actor went through. */
  readonly history: readonly string[];
  readonly durationMs: number;
}

/** The steps a real actor took, as they arrive. */
interface History {
  /** Index of the first real step at or after `from` that matches, waiting up to `timeoutMs`. */
  reach(expected: Expected, from: number, timeoutMs: number, strict?: Strict): Promise<number>;
  /** The real step at `index` (a timeline's only). */
  step(index: number): ObservedStep | undefined;
  /** How many real steps are recorded (the next one's index). */
  readonly length: number;
  /** The values so far, consecutive repeats merged. */
  states(): string[];
  describe(): string;
  stop(): void;
}

interface Expected {
  readonly text: string;
  /** The model step (null for the initial state). */
  readonly step: ModelStep | null;
}

/**
 * Strict matching: every real step from `checkFrom` on, up to the match,
 * must stay in one of the `allowed` states; the first that does not is
 * reported as `-(index + 2)`.
 */
interface Strict {
  readonly checkFrom: number;
  readonly allowed: ReadonlySet<string>;
}

function sameActions(model: readonly ModelAction[], real: readonly ModelAction[]): boolean {
  const key = (a: ModelAction): string => `${a.type}${JSON.stringify(a.params ?? null)}`;
  return (
    model.length === real.length && model.map(key).sort().join() === real.map(key).sort().join()
  );
}

function sameEvent(model: EventObject, real: EventObject): boolean {
  if (model.type !== real.type) return false;
  const facts = real as unknown as Record<string, unknown>;
  return eventFacts(model).every(
    ([key, value]) => JSON.stringify(facts[key]) === JSON.stringify(value),
  );
}

/** Wakes `reach` waiters on every new entry. */
class Waiters {
  #waiters: (() => void)[] = [];

  wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  async until(found: () => number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = found();
      if (index >= 0 || index < -1) return index;
      const left = deadline - Date.now();
      if (left <= 0) return -1;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Every step of an actor with a timeline: events, values, actions. */
class TimelineHistory implements History {
  readonly #steps: ObservedStep[] = [];
  readonly #waiters = new Waiters();
  readonly #subscription: { unsubscribe(): void };

  constructor(timeline: NonNullable<ObservedActor['timeline']>, effects: readonly string[]) {
    const compared = new Set(effects);
    this.#subscription = timeline((step) => {
      // Effects the model implements as XState built-ins (a raise, a
      // cancel) the runtime may provide as its own actions: not compared.
      this.#steps.push({ ...step, actions: step.actions.filter((a) => compared.has(a.type)) });
      this.#waiters.wake();
    });
  }

  get length(): number {
    return this.#steps.length;
  }

  step(index: number): ObservedStep | undefined {
    return this.#steps[index];
  }

  reach(expected: Expected, from: number, timeoutMs: number, strict?: Strict): Promise<number> {
    return this.#waiters.until(() => {
      const start = strict === undefined ? Math.max(0, from) : Math.max(0, strict.checkFrom);
      for (let i = start; i < this.#steps.length; i++) {
        const real = this.#steps[i] as ObservedStep;
        const text = stateValueText(real.value);
        if (strict !== undefined && text !== expected.text && !strict.allowed.has(text)) {
          return -(i + 2);
        }
        if (i < from) continue;
        if (text !== expected.text) continue;
        if (expected.step === null) return i;
        if (!sameEvent(expected.step.event, real.event)) continue;
        if (sameActions(expected.step.actions, real.actions)) return i;
      }
      return -1;
    }, timeoutMs);
  }

  states(): string[] {
    const texts: string[] = [];
    for (const step of this.#steps) {
      const text = stateValueText(step.value);
      if (texts.at(-1) !== text) texts.push(text);
    }
    return texts;
  }

  describe(): string {
    return this.#steps
      .map((step) => {
        const type = step.event.type.replace(/^troupe\.[a-z]+\./, '');
        const facts = eventFacts(step.event)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',');
        const actions = step.actions.map((a) => a.type).join(',');
        return `-(${type}${facts === '' ? '' : ` ${facts}`}${actions === '' ? '' : ` [${actions}]`})→ ${stateValueText(step.value)}`;
      })
      .join(' ');
  }

  stop(): void {
    this.#subscription.unsubscribe();
  }
}

/** Every state value the real actor took, in order (consecutive repeats merged). */
class ValueHistory implements History {
  readonly values: string[] = [];
  readonly #waiters = new Waiters();
  readonly #subscription: { unsubscribe(): void };

  constructor(actor: ObservedActor) {
    this.#push(actor.getSnapshot().value);
    this.#subscription = actor.subscribe((snapshot) => {
      this.#push(snapshot.value);
    });
  }

  get length(): number {
    return this.values.length;
  }

  #push(value: unknown): void {
    const text = stateValueText(value);
    if (this.values.at(-1) !== text) this.values.push(text);
    this.#waiters.wake();
  }

  reach(expected: Expected, from: number, timeoutMs: number): Promise<number> {
    return this.#waiters.until(() => this.values.indexOf(expected.text, from), timeoutMs);
  }

  step(): ObservedStep | undefined {
    return undefined;
  }

  states(): string[] {
    return [...this.values];
  }

  describe(): string {
    return this.values.join(' → ');
  }

  stop(): void {
    this.#subscription.unsubscribe();
  }
}

/** Options of {@link runModelPath}. */
export interface RunModelPathOptions {
  /** How long the real actor may take to reach each step's state. Default 5,000 ms. */
  readonly stepTimeoutMs?: number;
  /**
   * Fail at the first real transition to a state the model does not pass
   * through (needs an actor with a timeline): a runner that takes a detour,
   * even one that comes back, fails at that transition, at once.
   */
  readonly strict?: boolean;
  /** Called after each step matched (0 for the initial state); a throw fails the path there. */
  readonly afterStep?: (step: number, state: string) => void | Promise<void>;
}

/**
 * Runs a model path against the real system. After every step the real
 * actor must have reached the state the model is in, in the model's order
 * (the real actor may pass through states the model does not stop at, such
 * as `busy` while a task that crashes its thread runs — unless `strict`).
 * With a timeline, each model step must also be the same event, with the
 * same named actions, as a real step: a self-transition is checked too, not
 * just matched in place. Failures are {@link ModelPathError}s.
 */
export async function runModelPath(
  path: ModelPath,
  driver: ModelDriver,
  options: RunModelPathOptions = {},
): Promise<PathRun> {
  const stepTimeoutMs = options.stepTimeoutMs ?? 5_000;
  const started = performance.now();
  const actor = await driver.start(path);
  const timeline = actor.timeline;
  const history: History =
    timeline === undefined ? new ValueHistory(actor) : new TimelineHistory(timeline, path.effects);
  const values = history instanceof ValueHistory ? history.values : null;
  const strict = options.strict === true && values === null;
  const steps = path.steps.length;
  let failure: unknown = null;
  let finishFailure: unknown = null;
  try {
    const fail = (
      step: number,
      expected: string,
      reached: number,
      previous: string,
      cause?: unknown,
    ): ModelPathError => {
      const by = step === 0 ? null : describeStep(path.steps[step - 1]);
      const unexpected = reached < -1 ? history.step(-reached - 2) : undefined;
      const before = unexpected === undefined ? undefined : history.step(-reached - 3)?.value;
      const actual =
        unexpected === undefined
          ? null
          : {
              from: before === undefined ? previous : stateValueText(before),
              event: unexpected.event,
              to: stateValueText(unexpected.value),
            };
      const head = `model path: ${path.name}\nstep ${step} of ${steps}: `;
      const what =
        cause !== undefined
          ? `the check after "${expected}"${by === null ? '' : ` (by ${by})`} failed: ${cause instanceof Error ? cause.message : JSON.stringify(cause)}`
          : actual !== null
            ? `expected "${expected}"${by === null ? '' : ` by ${by}`}; the real actor went "${actual.from}" -(${describeEvent(actual.event)})→ "${actual.to}" instead`
            : `the real actor never reached "${expected}"${by === null ? '' : ` by ${by}`} (within ${stepTimeoutMs} ms)`;
      return new ModelPathError(`${head}${what}\nreal: ${history.describe()}`, {
        path: path.name,
        step,
        steps,
        failure: cause !== undefined ? 'hook' : actual !== null ? 'unexpected' : 'timeout',
        expected,
        by,
        actual,
        real: history.describe(),
        ...(cause === undefined ? {} : { cause }),
      });
    };
    const hook = async (step: number, state: string, previous: string): Promise<void> => {
      if (options.afterStep === undefined) return;
      try {
        await options.afterStep(step, state);
      } catch (error) {
        throw fail(step, state, -1, previous, error);
      }
    };
    const initial = stateValueText(path.initial.value);
    let at = await history.reach(
      { text: initial, step: null },
      0,
      stepTimeoutMs,
      strict ? { checkFrom: 0, allowed: new Set() } : undefined,
    );
    if (at < 0) throw fail(0, initial, at, initial);
    await hook(0, initial, initial);
    let previous = initial;
    for (const [index, step] of path.steps.entries()) {
      // A step the driver causes counts only from now on, never a state
      // recorded before it; a step the system takes by itself may already
      // have happened since the last match.
      const now = history.length;
      const caused = await driver.exec(path, index);
      const expected = stateValueText(step.state.value);
      let from: number;
      if (values === null) {
        from = caused ? now : at + 1;
      } else {
        // Values only: a transition that keeps the state may match in place.
        const anchor = caused ? Math.max(at, now - 1) : at;
        from = expected === previous ? anchor : anchor + 1;
      }
      const reached = await history.reach(
        { text: expected, step },
        from,
        stepTimeoutMs,
        strict ? { checkFrom: at + 1, allowed: new Set([previous]) } : undefined,
      );
      if (reached < 0) throw fail(index + 1, expected, reached, previous);
      at = reached;
      await hook(index + 1, expected, previous);
      previous = expected;
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    history.stop();
    try {
      await driver.finish(path);
    } catch (finishError) {
      // A failed step is the story; what went wrong tearing down comes after it.
      if (failure === null) finishFailure = finishError;
      else if (failure instanceof Error) {
        failure.message += `\nand then, tearing down: ${finishError instanceof Error ? finishError.message : String(finishError)}`;
      }
    }
  }
  if (finishFailure !== null) {
    throw finishFailure instanceof Error ? finishFailure : new Error(JSON.stringify(finishFailure));
  }
  return {
    name: path.name,
    history: history.states(),
    durationMs: performance.now() - started,
  };
}

function describeEvent(event: EventObject): string {
  const facts = eventFacts(event)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return `${event.type}${facts === '' ? '' : ` {${facts}}`}`;
}

function describeStep(step: ModelStep | undefined): string {
  if (step === undefined) return '?';
  const facts = eventFacts(step.event)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  const actions = step.actions.map(
    (a) => `${a.type}${a.params === undefined ? '' : JSON.stringify(a.params)}`,
  );
  return `${step.event.type}${facts === '' ? '' : ` {${facts}}`}${actions.length === 0 ? '' : ` [${actions.join(', ')}]`}`;
}
