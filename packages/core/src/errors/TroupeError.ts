import type { ErrorCode } from './codes.js';

/** Where an error happened. Every field is optional; errors fill in what they know. */
export interface TroupeErrorContext {
  readonly runnerId?: string;
  readonly taskId?: string;
  readonly threadId?: number;
  readonly resourceId?: string;
  readonly channelId?: string;
  readonly phase?: string;
  readonly component?: string;
  readonly operation?: string;
  readonly handler?: string;
  readonly attempt?: number;
  readonly [key: string]: unknown;
}

/** Options accepted by every {@link TroupeError} constructor. */
export interface TroupeErrorOptions {
  readonly cause?: unknown;
  readonly context?: TroupeErrorContext;
}

/**
 * The base of every error Troupe raises: a stable `code`, the `cause`, and
 * the `context` (runner id, task id, phase, ...). Errors cross threads as
 * plain data (see `toErrorData`) and are rebuilt with their class.
 *
 * @example
 * ```ts
 * try { await runner.run(x); }
 * catch (err) {
 *   if (isTroupeError(err) && err.code === 'ERR_QUEUE_FULL') retryLater();
 * }
 * ```
 */
export class TroupeError extends Error {
  readonly code: ErrorCode;
  readonly context: TroupeErrorContext;

  constructor(code: ErrorCode, message: string, options: TroupeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = Object.freeze({ ...options.context });
  }

  override get name(): string {
    return this.constructor.name;
  }

  /** A plain, structured-cloneable description of this error. */
  toJSON(): {
    name: string;
    code: ErrorCode;
    message: string;
    context: TroupeErrorContext;
  } {
    return { name: this.name, code: this.code, message: this.message, context: this.context };
  }
}

/**
 * True when `value` is a {@link TroupeError} (or one of its subclasses).
 * Optionally narrows to one code.
 *
 * @example
 * ```ts
 * if (isTroupeError(err, 'ERR_TASK_TIMEOUT')) metrics.timeouts++;
 * ```
 */
export function isTroupeError<TCode extends ErrorCode>(
  value: unknown,
  code?: TCode,
): value is TroupeError & { code: TCode } {
  return value instanceof TroupeError && (code === undefined || value.code === code);
}
