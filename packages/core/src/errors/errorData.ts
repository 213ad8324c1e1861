import { isErrorCode, ErrorCodes, type ErrorCode } from './codes.js';
import { createTroupeError } from './subclasses.js';
import { TroupeError, type TroupeErrorContext, type TroupeErrorOptions } from './TroupeError.js';

/**
 * An error as plain, structured-cloneable data: what crosses a thread or
 * process boundary. `_tag` tells a Troupe error from any other error.
 */
export interface ErrorData {
  readonly _tag: 'TroupeError' | 'Error' | 'Thrown';
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  readonly context?: TroupeErrorContext;
  readonly cause?: ErrorData;
}

const MAX_CAUSE_DEPTH = 8;

function isPlainValue(value: unknown): boolean {
  const t = typeof value;
  return value === null || t === 'string' || t === 'number' || t === 'boolean';
}

function cloneableContext(context: TroupeErrorContext): TroupeErrorContext {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    if (isPlainValue(value)) out[key] = value;
    else if (Array.isArray(value) && value.every(isPlainValue))
      out[key] = value.map((v: unknown) => v);
    else if (value !== undefined) out[key] = describe(value);
  }
  return out;
}

/**
 * Turns anything thrown into {@link ErrorData}, keeping the code, context and
 * the chain of causes.
 *
 * @example
 * ```ts
 * port.postMessage({ error: toErrorData(err) });
 * ```
 */
export function toErrorData(error: unknown, depth = 0): ErrorData {
  if (isErrorData(error)) return error;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    // Structural, so a TroupeError from another copy of the package (a
    // worker's bundle, a nested install) keeps its class across threads.
    const troupe =
      error instanceof TroupeError ||
      (isErrorCode(code) && typeof (error as { context?: unknown }).context === 'object');
    const cause =
      depth < MAX_CAUSE_DEPTH && error.cause !== undefined
        ? toErrorData(error.cause, depth + 1)
        : undefined;
    return {
      _tag: troupe ? 'TroupeError' : 'Error',
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(troupe
        ? { context: cloneableContext((error as { context: TroupeErrorContext }).context) }
        : {}),
      ...(cause === undefined ? {} : { cause }),
    };
  }
  return { _tag: 'Thrown', name: typeof error, message: describe(error) };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) {
    // Primitives (bigint, symbol, undefined, numbers) and functions read well as strings.
    return String(value);
  }
  try {
    const json = JSON.stringify(value) as string | undefined;
    if (json !== undefined) return json;
  } catch {
    // cyclic
  }
  return Object.prototype.toString.call(value);
}

/**
 * True when `value` looks like {@link ErrorData}.
 */
export function isErrorData(value: unknown): value is ErrorData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    (v._tag === 'TroupeError' || v._tag === 'Error' || v._tag === 'Thrown') &&
    typeof v.message === 'string' &&
    typeof v.name === 'string'
  );
}

/**
 * Rebuilds an error from {@link ErrorData}: Troupe errors come back as their
 * subclass (so `instanceof` and `code` work), others as `Error` with the
 * original name, message, stack and code.
 *
 * @example
 * ```ts
 * const err = fromErrorData(message.error);
 * if (isTroupeError(err)) console.log(err.code);
 * ```
 */
export function fromErrorData(data: ErrorData): Error {
  const cause = data.cause === undefined ? undefined : fromErrorData(data.cause);
  let error: Error;
  if (data._tag === 'TroupeError' && isErrorCode(data.code)) {
    error = createTroupeError(data.code, data.message, {
      ...(cause === undefined ? {} : { cause }),
      ...(data.context === undefined ? {} : { context: data.context }),
    });
  } else {
    error = new Error(data.message, cause === undefined ? undefined : { cause });
    if (data.name !== 'Error') {
      Object.defineProperty(error, 'name', { value: data.name, configurable: true });
    }
    if (data.code !== undefined) {
      Object.defineProperty(error, 'code', { value: data.code, enumerable: true });
    }
  }
  if (data.stack !== undefined) {
    Object.defineProperty(error, 'stack', {
      value: data.stack,
      configurable: true,
      writable: true,
    });
  }
  return error;
}

/**
 * The normaliser used at every boundary: returns `error` if it already is a
 * {@link TroupeError}, rebuilds it if it is {@link ErrorData}, and otherwise
 * wraps it in the error class of `code`, keeping it as `cause`.
 *
 * @example
 * ```ts
 * catch (err) { throw toTroupeError(err, 'ERR_WORKER_CRASHED', 'thread died', { runnerId }); }
 * ```
 */
export function toTroupeError(
  error: unknown,
  code: ErrorCode = ErrorCodes.UNKNOWN,
  message?: string,
  context?: TroupeErrorContext,
): TroupeError {
  if (error instanceof TroupeError) return error;
  if (isErrorData(error)) {
    const rebuilt = fromErrorData(error);
    if (rebuilt instanceof TroupeError) return rebuilt;
    return toTroupeError(rebuilt, code, message, context);
  }
  const text = message ?? (error instanceof Error ? error.message : describe(error));
  return createTroupeError(code, text, {
    cause: error,
    ...(context === undefined ? {} : { context }),
  });
}

/**
 * Builds the error of `code` through its class and returns it as data
 * without a stack (a stack taken inside a statechart's action points into
 * XState, not at the cause): what statecharts keep in their context.
 *
 * @example
 * ```ts
 * const failure = troupeErrorData('ERR_RESTART_LIMIT', 'runner "r" exceeded 3 restarts', {
 *   context: { runnerId: 'r' },
 * });
 * ```
 */
export function troupeErrorData(
  code: ErrorCode,
  message: string,
  options?: TroupeErrorOptions,
): ErrorData {
  const { stack: _stack, ...data } = toErrorData(createTroupeError(code, message, options));
  return data;
}
