import {
  toErrorData,
  toTroupeError,
  type ErrorCode,
  type ErrorData,
  type TroupeErrorContext,
} from '@troupe/core';
import type { Logger } from '../logger.js';

/** One error as the error handler recorded it. */
export interface ErrorRecord {
  readonly at: number;
  readonly code: ErrorCode;
  readonly message: string;
  readonly context: TroupeErrorContext;
  readonly error: ErrorData;
}

/** `troupe.errors.stats()`. */
export interface ErrorStats {
  readonly total: number;
  readonly byCode: Readonly<Record<string, number>>;
  readonly byComponent: Readonly<Record<string, number>>;
  /** Errors per minute over the stats window. */
  readonly ratePerMin: number;
  readonly windowMs: number;
}

/** The public face of the error handler (`troupe.errors`). */
export interface ErrorRegistry {
  stats(): ErrorStats;
  /** The most recent records, oldest first (bounded). */
  recent(limit?: number): ErrorRecord[];
}

/**
 * Receives every failure in the runtime: records it in a bounded ring with
 * its context, logs it once, and hands it to listeners of `troupe.on('error')`.
 */
export class ErrorHandler implements ErrorRegistry {
  readonly #ring: (ErrorRecord | undefined)[];
  readonly #logger: Logger;
  readonly #windowMs: number;
  readonly #emit: (record: ErrorRecord) => void;
  readonly #byCode = new Map<string, number>();
  readonly #byComponent = new Map<string, number>();
  #next = 0;
  #total = 0;

  constructor(options: {
    logger: Logger;
    ringSize: number;
    windowMs: number;
    emit: (record: ErrorRecord) => void;
  }) {
    this.#ring = new Array<ErrorRecord | undefined>(options.ringSize);
    this.#logger = options.logger;
    this.#windowMs = options.windowMs;
    this.#emit = options.emit;
  }

  /** Records, logs and emits `error`. Never throws. */
  report(error: unknown, context: TroupeErrorContext): ErrorRecord {
    const troupeError = toTroupeError(error, 'ERR_UNKNOWN', undefined, context);
    const merged = { ...troupeError.context, ...context };
    const record: ErrorRecord = {
      at: Date.now(),
      code: troupeError.code,
      message: troupeError.message,
      context: merged,
      error: toErrorData(troupeError),
    };
    this.#ring[this.#next] = record;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#total += 1;
    this.#byCode.set(record.code, (this.#byCode.get(record.code) ?? 0) + 1);
    const component = typeof merged.component === 'string' ? merged.component : 'unknown';
    this.#byComponent.set(component, (this.#byComponent.get(component) ?? 0) + 1);
    this.#logger.warn({ code: record.code, context: merged, err: record.error }, record.message);
    try {
      this.#emit(record);
    } catch (listenerError) {
      this.#logger.error({ err: toErrorData(listenerError) }, 'error listener threw');
    }
    return record;
  }

  recent(limit = this.#ring.length): ErrorRecord[] {
    const out: ErrorRecord[] = [];
    for (let i = 0; i < this.#ring.length; i++) {
      const record = this.#ring[(this.#next + i) % this.#ring.length];
      if (record !== undefined) out.push(record);
    }
    return out.slice(-limit);
  }

  stats(): ErrorStats {
    const since = Date.now() - this.#windowMs;
    const inWindow = this.recent().filter((r) => r.at >= since).length;
    return {
      total: this.#total,
      byCode: Object.fromEntries(this.#byCode),
      byComponent: Object.fromEntries(this.#byComponent),
      ratePerMin: (inWindow * 60_000) / this.#windowMs,
      windowMs: this.#windowMs,
    };
  }
}
