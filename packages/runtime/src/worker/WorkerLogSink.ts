import { toErrorData } from '@troupe/core/errors';
import { describeValue } from '../describeValue.js';
import { LOG_LEVELS, type LogLevel } from '../logger.js';
import type { LogRecord } from '../protocol.js';
import type { WorkerLogFn, WorkerLogger } from './defineRunner.js';

/** Where the sink sends: the thread's events channel. */
export interface LogPort {
  /** Posts a batch, no reply; throws (DataCloneError) when it cannot be cloned. */
  post(records: readonly LogRecord[]): void;
  /** Settles once the main thread handled everything posted before. */
  sync(): Promise<unknown>;
}

/**
 * The worker side of `ctx.log`: records below the main logger's level are
 * dropped at once; the others are queued and posted in one message per
 * microtask over the thread's channel, with no reply (no logging transport
 * per thread, no round trip per record). Never throws into user code: a
 * value that cannot be cloned is sent described, and a record that cannot
 * be built is dropped.
 */
export class WorkerLogSink {
  /** Index in LOG_LEVELS of the lowest level sent. */
  readonly #min: number;
  #port: LogPort | null = null;
  #pending: LogRecord[] = [];
  #scheduled = false;

  constructor(level: LogLevel | 'silent') {
    this.#min = level === 'silent' ? LOG_LEVELS.length : Math.max(0, LOG_LEVELS.indexOf(level));
  }

  /** True when nothing would be sent (the main logger is silent). */
  get silent(): boolean {
    return this.#min >= LOG_LEVELS.length;
  }

  /** The channel is open: from now on, batches are posted on it. */
  open(port: LogPort): void {
    this.#port = port;
    this.flush();
  }

  /**
   * A logger whose records belong to task `seq` (null: setup and teardown).
   */
  logger(seq: number | null): WorkerLogger {
    const at = (level: LogLevel, rank: number): WorkerLogFn => {
      if (rank < this.#min) return noop;
      return (first: unknown, second?: unknown): void => {
        try {
          this.#push(level, seq, first, second);
        } catch {
          // ctx.log never throws into user code.
        }
      };
    };
    return Object.freeze({
      trace: at('trace', 0),
      debug: at('debug', 1),
      info: at('info', 2),
      warn: at('warn', 3),
      error: at('error', 4),
      fatal: at('fatal', 5),
    });
  }

  /**
   * Takes what is queued (setup's records, before the channel exists), made
   * cloneable: it travels in the thread's hello, which must not fail.
   */
  drain(): LogRecord[] {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = [];
    return pending.length === 0 || cloneable(pending) ? pending : pending.map(describeRecord);
  }

  /** Posts what is queued now (nothing before the channel is open). Never throws. */
  flush(): void {
    this.#scheduled = false;
    const port = this.#port;
    if (port === null || this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    try {
      port.post(batch);
      return;
    } catch {
      // A value could not be cloned (or the channel is gone: the retry fails too).
    }
    try {
      port.post(batch.map(describeRecord));
    } catch {
      // The channel is gone: nothing left to do from here.
    }
  }

  /** Posts what is queued and resolves once the main thread has it all. Never rejects. */
  async settled(): Promise<void> {
    this.flush();
    try {
      await this.#port?.sync();
    } catch {
      // The channel is gone: nothing left to wait for.
    }
  }

  #push(level: LogLevel, seq: number | null, first: unknown, second: unknown): void {
    let fields: Record<string, unknown>;
    let msg: string | undefined =
      second === undefined || typeof second === 'string' ? second : describeValue(second);
    if (typeof first === 'string') {
      fields = {};
      msg = first;
    } else if (first instanceof Error) {
      // pino's convention: an Error alone is the record's `err`.
      fields = { err: first };
      msg ??= first.message;
    } else if (typeof first === 'object' && first !== null) {
      // A copy: the record is cloned when the batch goes, after the caller moved on.
      fields = { ...(first as Record<string, unknown>) };
    } else {
      fields = first === undefined ? {} : { value: first };
    }
    let errorKeys: string[] | null = null;
    for (const key of Object.keys(fields)) {
      const value = fields[key];
      if (value instanceof Error) {
        fields[key] = toErrorData(value);
        (errorKeys ??= []).push(key);
      }
    }
    this.#pending.push([level, seq, fields, msg, errorKeys]);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => {
        if (this.#scheduled) this.flush();
      });
    }
  }
}

function noop(): void {}

function describeRecord(record: LogRecord): LogRecord {
  const [level, seq, fields, msg, errorKeys] = record;
  const described: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    described[key] = cloneable(value) ? value : `[not cloneable] ${describeValue(value)}`;
  }
  return [level, seq, described, msg, errorKeys];
}

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}
