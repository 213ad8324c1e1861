// Shared helpers of the runtime unit tests: deferreds the test settles,
// a real-timer sleep, a recording logger, and a settle-state probe.
import { vi, type Mock } from 'vitest';
import { LOG_LEVELS, type LogFn, type LogLevel, type Logger } from '../src/logger.js';

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Simulated work that takes `ms`; never a way to wait for something to happen. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One record a {@link recordingLogger} (or one of its children) received, bindings merged in. */
export interface LogEntry {
  readonly level: LogLevel;
  readonly fields: Record<string, unknown>;
  readonly msg: string | undefined;
}

export type RecordingLogger = { [K in LogLevel]: Mock<LogFn> } & {
  readonly child: Mock<Logger['child']>;
  /** Every record, children's included, in order, with their bindings merged in. */
  readonly records: LogEntry[];
};

/**
 * A logger whose level methods are spies (a child calls its parent's with
 * its bindings merged into the fields), and which keeps every record.
 */
export function recordingLogger(): RecordingLogger {
  const records: LogEntry[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const levels = Object.fromEntries(
      LOG_LEVELS.map((level) => [
        level,
        (obj: object, msg?: string) => {
          root[level]({ ...bindings, ...obj }, msg);
        },
      ]),
    ) as Record<LogLevel, LogFn>;
    return {
      ...levels,
      child: (more) => make({ ...bindings, ...more }),
      // A test may give the root a level check: children follow it.
      isLevelEnabled: (level) => (root as Logger).isLevelEnabled?.(level) ?? true,
    };
  };
  const root = {
    ...(Object.fromEntries(
      LOG_LEVELS.map((level) => [
        level,
        vi.fn<LogFn>((obj, msg) => {
          records.push({ level, fields: { ...obj }, msg });
        }),
      ]),
    ) as { [K in LogLevel]: Mock<LogFn> }),
    child: vi.fn<Logger['child']>((bindings) => make(bindings)),
    records,
  };
  return root;
}

/**
 * How `promise` stands after `withinMs` (0: after one macrotask turn):
 * 'resolved', 'rejected' or 'pending'. Observes the rejection, so no
 * unhandled-rejection noise.
 */
export async function settleState(
  promise: Promise<unknown>,
  withinMs = 0,
): Promise<'resolved' | 'rejected' | 'pending'> {
  const probe = promise.then(
    () => 'resolved' as const,
    () => 'rejected' as const,
  );
  const timeout = new Promise<'pending'>((resolve) => {
    if (withinMs === 0) setImmediate(() => resolve('pending'));
    else setTimeout(() => resolve('pending'), withinMs);
  });
  return Promise.race([probe, timeout]);
}

/** The rejection reason of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, it resolved');
}

/** What `fn` throws (fails the test if it returns). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, got a return');
}

/** Whether a MessagePort keeps the event loop alive (Node has `hasRef`; @types/node 20 lacks it). */
export function hasRef(port: object): boolean {
  return (port as { hasRef(): boolean }).hasRef();
}
