import type { ErrorCode } from './codes.js';

/**
 * What the runtime was doing when an error happened. Policies and custom
 * classifiers branch on it, so it is a closed set:
 *
 * | operation | what |
 * | --- | --- |
 * | `admit` | `run()` refused a task before it ran (bad option, full queue, stopped) |
 * | `run` | a task failed, timed out or was aborted |
 * | `emit` | delivering an event a task emitted |
 * | `start` | a runner's first start (`spawnRunner`) |
 * | `restart` | a replacement thread or a restarted pool starting |
 * | `supervise` | the supervisor's verdict on a runner (crash counted, restart limit) |
 * | `thread` | a thread exited or failed outside any task |
 * | `teardown` | a thread's `teardown` hook |
 * | `probe` | a health probe, or the health monitor's verdict |
 * | `register` / `open` / `close` | a resource's registration, `open()`, `close()` |
 * | `listen` | a listener or observer you registered |
 * | `shutdown` | the work of a shutdown phase |
 * | `channel` | a message channel to a thread |
 * | `actor` | a statechart actor failed internally |
 * | `join` | joining a cluster (connecting to its broker, its membership) |
 */
export type Operation =
  | 'admit'
  | 'run'
  | 'emit'
  | 'start'
  | 'restart'
  | 'supervise'
  | 'thread'
  | 'teardown'
  | 'probe'
  | 'register'
  | 'open'
  | 'close'
  | 'listen'
  | 'shutdown'
  | 'channel'
  | 'actor'
  | 'join';

/** Where an error happened. Every field is optional; errors fill in what they know. */
export interface TroupeErrorContext {
  readonly runnerId?: string;
  readonly taskId?: string;
  readonly threadId?: number;
  readonly resourceId?: string;
  readonly channelId?: string;
  readonly phase?: string;
  readonly component?: string;
  readonly operation?: Operation;
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
