import { stateValueText, type ModelPath } from './modelPaths.js';

/** The real actor a driver hands over: anything XState-like with a value. */
export interface ObservedActor {
  getSnapshot(): { readonly value: unknown };
  subscribe(observer: (snapshot: { readonly value: unknown }) => void): { unsubscribe(): void };
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

/** Every state value the real actor took, in order (consecutive repeats merged). */
class History {
  readonly values: string[] = [];
  #waiters: (() => void)[] = [];
  readonly #subscription: { unsubscribe(): void };

  constructor(actor: ObservedActor) {
    this.#push(actor.getSnapshot().value);
    this.#subscription = actor.subscribe((snapshot) => {
      this.#push(snapshot.value);
    });
  }

  #push(value: unknown): void {
    const text = stateValueText(value);
    if (this.values.at(-1) !== text) this.values.push(text);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** The index of `state` at or after `from`, waiting up to `timeoutMs` for it. */
  async reach(state: string, from: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.values.indexOf(state, from);
      if (index >= 0) return index;
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

  stop(): void {
    this.#subscription.unsubscribe();
  }
}

/**
 * Runs a model path against the real system. After every step the real
 * actor must have reached the state the model is in, in the model's order
 * (the real actor may pass through states the model does not stop at, such
 * as `busy` while a task that crashes its thread runs).
 */
export async function runModelPath(
  path: ModelPath,
  driver: ModelDriver,
  options: { stepTimeoutMs?: number } = {},
): Promise<PathRun> {
  const stepTimeoutMs = options.stepTimeoutMs ?? 5_000;
  const started = performance.now();
  const actor = await driver.start(path);
  const history = new History(actor);
  try {
    const fail = (step: number, expected: string): Error =>
      new Error(
        `model path: ${path.name}\nstep ${step}: the real actor never reached "${expected}" (within ${stepTimeoutMs} ms)\nreal states: ${history.values.join(' → ')}`,
      );
    let at = await history.reach(stateValueText(path.initial.value), 0, stepTimeoutMs);
    if (at < 0) throw fail(0, stateValueText(path.initial.value));
    let previous = stateValueText(path.initial.value);
    for (const [index, step] of path.steps.entries()) {
      // A step the driver causes counts only from now on, never a state
      // recorded before it; a step the system takes by itself may already
      // have happened since the last match.
      const now = Math.max(at, history.values.length - 1);
      const caused = await driver.exec(path, index);
      const expected = stateValueText(step.state.value);
      const anchor = caused ? now : at;
      // A transition that keeps the state (crashed, counted) may match in place.
      const from = expected === previous ? anchor : anchor + 1;
      const reached = await history.reach(expected, from, stepTimeoutMs);
      if (reached < 0) throw fail(index + 1, expected);
      at = reached;
      previous = expected;
    }
  } finally {
    history.stop();
    await driver.finish(path);
  }
  return { name: path.name, history: history.values, durationMs: performance.now() - started };
}
