// Shared helpers of the regression tests (issue 9). Every wait here is on an
// event or a promise; a time bound only turns a hang into a failure.
import { access } from 'node:fs/promises';
import {
  isTroupeError,
  type Runner,
  type RunnerState,
  type Troupe,
  type TroupeError,
  type TroupeEvents,
} from '@troupe/runtime';
import {
  Control,
  counterReached,
  createControl,
  fixtures,
  releaseHeld,
  snapshotHandles,
} from '@troupe/testing';
import { expect } from 'vitest';

/** A worker module of test/fixtures. */
export function fixture(name: string): URL {
  return new URL(`../../fixtures/${name}.mjs`, import.meta.url);
}

/** Resolves or rejects as `promise` does; rejects if it is still pending after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: still pending after ${ms} ms`));
    }, ms);
    timer.unref();
  });
  const raced = Promise.race([promise, bound]).finally(() => {
    clearTimeout(timer);
  });
  // Whoever awaits it sees the failure; nobody else is blamed for an unhandled one.
  raced.catch(() => {});
  return raced;
}

/** The error `promise` rejects with (within `ms`); fails if it resolves or hangs. */
export async function rejectionOf(
  promise: Promise<unknown>,
  ms = 5_000,
  what = 'the call',
): Promise<unknown> {
  const outcome = await within(
    promise.then(
      (value: unknown) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    ms,
    what,
  );
  if (outcome.ok) {
    throw new Error(`${what} resolved (${JSON.stringify(outcome.value)}) but should reject`);
  }
  return outcome.error;
}

/** Like {@link rejectionOf}, and the error must be a TroupeError. */
export async function troupeErrorOf(
  promise: Promise<unknown>,
  ms = 5_000,
  what = 'the call',
): Promise<TroupeError> {
  const error = await rejectionOf(promise, ms, what);
  if (!isTroupeError(error)) {
    throw new Error(`${what} rejected with a non-TroupeError: ${String(error)}`, { cause: error });
  }
  return error;
}

/** The next `event` whose payload matches `predicate`, within `ms`. Subscribe before you cause it. */
export function nextEvent<E extends keyof TroupeEvents>(
  troupe: Troupe,
  event: E,
  predicate: (...args: TroupeEvents[E]) => boolean = () => true,
  ms = 5_000,
): Promise<TroupeEvents[E][0]> {
  let listener!: (...args: TroupeEvents[E]) => void;
  const seen = new Promise<TroupeEvents[E][0]>((resolve) => {
    listener = (...args: TroupeEvents[E]) => {
      if (predicate(...args)) resolve(args[0]);
    };
    troupe.on(event, listener);
  });
  const out = within(seen, ms, `event "${event}"`).finally(() => {
    troupe.off(event, listener);
  });
  out.catch(() => {});
  return out;
}

/** Resolves once `runner` is in `state` (at once if it already is). */
export function stateReached(
  troupe: Troupe,
  runner: Runner,
  state: RunnerState,
  ms = 5_000,
): Promise<unknown> {
  const event = nextEvent(
    troupe,
    'runner:state',
    (e) => e.runnerId === runner.id && e.state === state,
    ms,
  );
  return runner.state === state ? Promise.resolve() : event;
}

/**
 * OS threads before a test's troupe: libuv's thread pool is started first
 * (a runner's start uses it), so it is not counted as a leak.
 */
export async function threadBaseline(): Promise<number> {
  await access(process.cwd());
  return osThreads();
}

/** OS threads of this process right now. */
export function osThreads(): number {
  return snapshotHandles().osThreads;
}

/** Ref'd handles of one type (`process.getActiveResourcesInfo()`). */
export function activeOf(type: string): number {
  return process.getActiveResourcesInfo().filter((t) => t === type).length;
}

/** A fresh shared Int32Array of `n` slots. */
export function sharedInts(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

/** A promise with its resolve function. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets pending callbacks run: `n` turns of the event loop (no clock involved). */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Everything an error says about itself: message, then its causes' messages. */
export function textOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current !== undefined && current !== null; depth++) {
    if (typeof current === 'object') {
      const { message, code } = current as { message?: unknown; code?: unknown };
      const text = typeof message === 'string' ? message : JSON.stringify(message);
      parts.push(`${typeof code === 'string' ? code + ' ' : ''}${text}`);
      current = (current as { cause?: unknown }).cause;
    } else {
      parts.push(typeof current === 'string' ? current : `${typeof current} value`);
      break;
    }
  }
  return parts.join(' <- ');
}

/**
 * A `controllable` runner of one thread whose loads follow `plan`, and a way
 * to make it restart its pool: a held task exits its thread, and the
 * replacement (load #1) must be planned to throw.
 */
export async function controllableRunner(
  troupe: Troupe,
  plan: readonly number[],
  extra: { startupTimeoutMs?: number } = {},
): Promise<{ runner: Runner; breakPool: () => Promise<void> }> {
  const control = createControl();
  plan.forEach((mode, i) => {
    Atomics.store(control, Control.plan + i, mode);
  });
  const runner = await troupe.spawnRunner({
    id: 'ctl',
    worker: fixtures.controllable,
    threads: 1,
    workerData: { control },
    restart: { maxRestarts: 10, windowMs: 60_000, backoff: { baseMs: 5, capMs: 20 } },
    ...extra,
  });
  const breakPool = async (): Promise<void> => {
    const held = runner.run(0, { handler: 'hold' });
    held.catch(() => {});
    expect(await counterReached(control, Control.holding, 1, 5_000)).toBe(true);
    Atomics.store(control, Control.exitHeld, 1 + 1); // exit code 1
    releaseHeld(control);
    expect((await troupeErrorOf(held)).code).toBe('ERR_WORKER_CRASHED');
  };
  return { runner, breakPool };
}
