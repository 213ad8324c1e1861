// Waits on promises. Every wait settles: a time bound only turns a hang into
// a failure that names what was awaited; it never stands in for an event.
import { isTroupeError, type TroupeError } from '@troupe/runtime';

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

/** A settled promise's code: 'fulfilled', a TroupeError's code, or the reason as text. */
export function codeOf(outcome: PromiseSettledResult<unknown>): unknown {
  if (outcome.status === 'fulfilled') return 'fulfilled';
  const reason: unknown = outcome.reason;
  return isTroupeError(reason) ? reason.code : String(reason);
}

/**
 * True if `promise` settles before the event loop's next turn: no thread,
 * port or timer could have answered it, so it was settled "at once". No
 * clock is involved.
 */
export function settlesAtOnce(promise: Promise<unknown>): Promise<boolean> {
  const settled = promise.then(
    () => true,
    () => true,
  );
  const nextTurn = new Promise<false>((resolve) => setImmediate(() => resolve(false)));
  return Promise.race([settled, nextTurn]);
}

/** A promise with its resolve function. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Lets pending callbacks run: `n` turns of the event loop (no clock
 * involved). Only for asserting that something does NOT happen once its
 * cause was processed, where nothing announces "it was ignored".
 */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}
