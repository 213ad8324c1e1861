import { toErrorData } from '@troupe/core/errors';

/**
 * Makes every function of `api` throw plain `ErrorData` instead of an Error,
 * so a `TroupeError`'s code, context and cause survive Comlink (which keeps
 * only the name, message and stack of an Error it carries).
 */
export function toWireApi<T extends object>(api: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const key of Object.keys(api)) {
    const value: unknown = (api as Record<string, unknown>)[key];
    if (typeof value !== 'function') {
      wrapped[key] = value;
      continue;
    }
    const fn = value as (...args: unknown[]) => unknown;
    wrapped[key] = (...args: unknown[]): unknown => {
      try {
        const out = fn.apply(api, args);
        if (out instanceof Promise) {
          return out.catch((error: unknown) => {
            // Plain data on purpose: Comlink passes non-Errors through whole.
            // eslint-disable-next-line @typescript-eslint/only-throw-error
            throw toErrorData(error);
          });
        }
        return out;
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw toErrorData(error);
      }
    };
  }
  return wrapped as T;
}
