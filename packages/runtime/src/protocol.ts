import type { MessagePort } from 'node:worker_threads';
import type { ErrorData } from '@troupe/core/errors';
import type { LogLevel } from './logger.js';

// What crosses the thread boundary between a runner and its threads. Keys
// are plain strings (symbols do not survive structured cloning), prefixed so
// they cannot collide with user data.

/** Key under which the runner's boot data sits in piscina's `workerData`. */
export const kBootKey = '__troupe_boot';
/** Key of the hello message every thread sends once its module is loaded. */
export const kHelloKey = '__troupe_hello';
/** Key of the marker a dispatched task returns when its handler threw. */
export const kFailureKey = '__troupe_failure';
/** Key of the note a dying thread posts about the exception that kills it. */
export const kCrashKey = '__troupe_crash';
/** piscina handler name of the dispatcher for `defineRunner` modules. */
export const kDispatchName = 'dispatchTask';

/** Data a thread needs to boot, passed through piscina's `workerData`. */
export interface WorkerBoot {
  readonly runnerId: string;
  readonly moduleUrl: string;
  readonly userData: unknown;
  /** The lowest level the runner's logger writes: `ctx.log` drops what is below (all of it when 'silent'). */
  readonly logLevel: LogLevel | 'silent';
}

/** The two shapes of worker module Troupe accepts. */
export type WorkerModuleKind = 'plain' | 'defined';

/** Sent by each thread through `parentPort` once its module loaded (or failed to). */
export interface HelloMessage {
  readonly [kHelloKey]: {
    readonly threadId: number;
    readonly ok: boolean;
    readonly error: ErrorData | null;
    readonly kind: WorkerModuleKind;
    readonly handlers: readonly string[];
    /** What `setup` wrote with `ctx.log`: logged before the thread counts as up. */
    readonly logs?: readonly LogRecord[];
  };
  readonly control: MessagePort;
  readonly events: MessagePort;
}

/** A task for a `defineRunner` module: sequence number, handler name, payload. */
export interface TaskEnvelope {
  readonly s: number;
  readonly h: string;
  readonly p: unknown;
}

/** What a dispatched task resolves with when its handler threw. */
export interface TaskFailure {
  readonly [kFailureKey]: ErrorData;
}

/** The API each thread exposes on its control port (main → thread calls). */
export interface ControlApi {
  ping(): { threadId: number; active: number; heapUsed: number };
  shutdownNotice(reason: string): boolean;
  abortTask(seq: number, reason: ErrorData): boolean;
  abortAll(reason: ErrorData): number;
  teardown(): Promise<void>;
}

/**
 * One `ctx.log` record as it crosses: level, the task's sequence number
 * (null: setup or teardown), the fields, the message, and the fields that
 * held an Error (sent as ErrorData, rebuilt on arrival).
 */
export type LogRecord = readonly [
  level: LogLevel,
  seq: number | null,
  fields: Record<string, unknown>,
  msg: string | undefined,
  errorKeys: readonly string[] | null,
];

/** The API the main thread exposes on each thread's events port (thread → main calls). */
export interface EventsApi {
  emit(seq: number, event: unknown): void;
  /** Answers once the messages posted before it on this port were handled (a teardown's log records). */
  sync(): void;
}

/** Key of a batch of `ctx.log` records a thread posts on its events port (no Comlink, no reply). */
export const kLogKey = '__troupe_log';

/** `ctx.log` records, batched per turn of the thread's event loop. */
export interface LogMessage {
  readonly [kLogKey]: readonly LogRecord[];
}

export function isLogMessage(message: unknown): message is LogMessage {
  return typeof message === 'object' && message !== null && kLogKey in message;
}

/** Posted by a thread from `uncaughtExceptionMonitor`, just before it dies. */
export interface CrashNote {
  readonly [kCrashKey]: { readonly threadId: number; readonly error: ErrorData };
}

export function isCrashNote(message: unknown): message is CrashNote {
  return typeof message === 'object' && message !== null && kCrashKey in message;
}

export function isHelloMessage(message: unknown): message is HelloMessage {
  return typeof message === 'object' && message !== null && kHelloKey in message;
}

export function isTaskFailure(value: unknown): value is TaskFailure {
  return typeof value === 'object' && value !== null && kFailureKey in value;
}
