import {
  classifyError,
  toTroupeError,
  type Classification,
  type Classifier,
  type ErrorCode,
  type ErrorContext,
  type ErrorPolicies,
  type RecoveryAction,
  type Severity,
  type TroupeError,
  type TroupeErrorContext,
} from '@troupe/core';
import type { Logger } from '../logger.js';

/** How a recorded error was resolved. */
export type Resolution = 'retry' | 'restart' | 'cleanup';

/** One error as the error handler recorded it. */
export interface ErrorRecord {
  /** Increasing id, unique per troupe. */
  readonly id: number;
  readonly at: number;
  readonly code: ErrorCode;
  readonly severity: Severity;
  readonly action: RecoveryAction;
  readonly message: string;
  readonly context: TroupeErrorContext;
  readonly error: TroupeError;
  /** How it was resolved, once it is (the record is updated in place). */
  readonly resolution: Resolution | null;
}

/** `troupe.errors.stats()`. */
export interface ErrorStats {
  readonly total: number;
  readonly byCode: Readonly<Partial<Record<ErrorCode, number>>>;
  readonly bySeverity: Readonly<Record<Severity, number>>;
  readonly byComponent: Readonly<Record<string, number>>;
  readonly byAction: Readonly<Partial<Record<RecoveryAction, number>>>;
  /** Errors in the last `windowMs`, and per minute. */
  readonly window: { readonly ms: number; readonly count: number; readonly ratePerMin: number };
  readonly resolved: {
    readonly total: number;
    readonly retry: number;
    readonly restart: number;
    readonly cleanup: number;
  };
  readonly unresolved: number;
}

/** The public face of the error handler (`troupe.errors`). */
export interface ErrorRegistry {
  /** Counts by code, severity, component and action; windowed rate; resolved vs unresolved. */
  stats(): ErrorStats;
  /** The most recent records (bounded ring), oldest first. */
  recent(limit?: number): ErrorRecord[];
  /** What the handler would decide for `error` in `context`. */
  classify(error: unknown, context: ErrorContext): Classification;
}

/** Options of {@link ErrorHandler}. */
export interface ErrorHandlerOptions {
  readonly logger: Logger;
  readonly ringSize: number;
  readonly windowMs: number;
  readonly policies?: ErrorPolicies;
  readonly classify?: Classifier;
  /** Every record, after it is stored and logged. */
  readonly emit: (record: ErrorRecord) => void;
  /** Records whose action is ESCALATE. */
  readonly escalate: (record: ErrorRecord) => void;
  /** The current shutdown phase, added to every context. */
  readonly phase: () => string;
  readonly now?: () => number;
}

interface MutableRecord extends Omit<ErrorRecord, 'resolution'> {
  resolution: Resolution | null;
}

const BUCKETS = 60;

/**
 * Receives every failure in the runtime. It classifies it (severity and
 * recovery action: built-in policy per code, the user's overrides, a custom
 * classifier), records it in a bounded ring with its context, logs it once
 * at the level its severity calls for, emits it, escalates when the action
 * says so, and keeps statistics: counts, a windowed rate, and how many
 * errors were resolved by a retry, a restart or a cleanup.
 */
export class ErrorHandler implements ErrorRegistry {
  readonly #ring: (MutableRecord | undefined)[];
  readonly #options: ErrorHandlerOptions;
  readonly #now: () => number;
  readonly #byCode = new Map<ErrorCode, number>();
  readonly #bySeverity: Record<Severity, number> = { LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0 };
  readonly #byComponent = new Map<string, number>();
  readonly #byAction = new Map<RecoveryAction, number>();
  readonly #resolved = { retry: 0, restart: 0, cleanup: 0 };
  // Rate over the window: BUCKETS time buckets, independent of the ring size.
  readonly #buckets = new Array<number>(BUCKETS).fill(0);
  readonly #bucketStamp = new Array<number>(BUCKETS).fill(-1);
  readonly #bucketMs: number;
  /** Per runner: errors above LOW in the window, in the same time buckets. */
  readonly #byRunner = new Map<string, { counts: number[]; stamps: number[] }>();
  #next = 0;
  #total = 0;
  #lastId = 0;

  constructor(options: ErrorHandlerOptions) {
    this.#options = options;
    this.#ring = new Array<MutableRecord | undefined>(options.ringSize);
    this.#now = options.now ?? Date.now;
    this.#bucketMs = Math.max(1, options.windowMs / BUCKETS);
  }

  classify(error: unknown, context: ErrorContext): Classification {
    return classifyError(error, context, {
      ...(this.#options.policies === undefined ? {} : { policies: this.#options.policies }),
      ...(this.#options.classify === undefined ? {} : { classify: this.#options.classify }),
    });
  }

  /** Classifies, records, logs, emits and (if so classified) escalates. Never throws. */
  report(error: unknown, context: TroupeErrorContext): ErrorRecord {
    const troupeError = toTroupeError(error, 'ERR_UNKNOWN', undefined, context);
    const merged: TroupeErrorContext = {
      ...troupeError.context,
      ...context,
      phase: context.phase ?? this.#options.phase(),
    };
    const component = typeof merged.component === 'string' ? merged.component : 'unknown';
    let verdict: Classification;
    try {
      verdict = this.classify(troupeError, { ...merged, component });
    } catch (classifierError) {
      this.#options.logger.error(
        { err: classifierError },
        'custom error classifier threw; using the built-in policy',
      );
      verdict = classifyError(troupeError, { ...merged, component });
    }
    const at = this.#now();
    const record: MutableRecord = {
      id: ++this.#lastId,
      at,
      code: verdict.code,
      severity: verdict.severity,
      action: verdict.action,
      message: troupeError.message,
      context: merged,
      error: troupeError,
      resolution: null,
    };
    this.#ring[this.#next] = record;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#total += 1;
    this.#byCode.set(record.code, (this.#byCode.get(record.code) ?? 0) + 1);
    this.#bySeverity[record.severity] += 1;
    this.#byComponent.set(component, (this.#byComponent.get(component) ?? 0) + 1);
    this.#byAction.set(record.action, (this.#byAction.get(record.action) ?? 0) + 1);
    this.#count(at);
    const runnerId = merged.runnerId;
    if (typeof runnerId === 'string' && countsTowardRate(record)) this.#countRunner(runnerId, at);
    this.#log(record);
    try {
      this.#options.emit(record);
    } catch (listenerError) {
      this.#options.logger.error({ err: listenerError }, 'error listener threw');
    }
    if (record.action === 'ESCALATE') {
      try {
        this.#options.escalate(record);
      } catch (escalationError) {
        this.#options.logger.error({ err: escalationError }, 'escalation failed');
      }
    }
    return record;
  }

  /** Marks records as resolved (each once). */
  resolve(records: readonly ErrorRecord[], how: Resolution): void {
    for (const record of records) {
      const mutable = record as MutableRecord;
      if (mutable.resolution !== null) continue;
      mutable.resolution = how;
      this.#resolved[how] += 1;
    }
  }

  recent(limit = this.#ring.length): ErrorRecord[] {
    if (limit <= 0) return [];
    const out: ErrorRecord[] = [];
    for (let i = 0; i < this.#ring.length; i++) {
      const record = this.#ring[(this.#next + i) % this.#ring.length];
      if (record !== undefined) out.push(record);
    }
    return out.slice(-limit);
  }

  /** Errors per minute over the window; for one runner, its errors above LOW. O(1). */
  ratePerMin(runnerId?: string): number {
    const windowMs = this.#options.windowMs;
    if (runnerId === undefined) return (this.#windowCount() * 60_000) / windowMs;
    const buckets = this.#byRunner.get(runnerId);
    if (buckets === undefined) return 0;
    return (this.#sumWindow(buckets.counts, buckets.stamps) * 60_000) / windowMs;
  }

  /** Drops a runner's rate (it is gone for good). */
  forget(runnerId: string): void {
    this.#byRunner.delete(runnerId);
  }

  stats(): ErrorStats {
    const resolvedTotal = this.#resolved.retry + this.#resolved.restart + this.#resolved.cleanup;
    const count = this.#windowCount();
    return {
      total: this.#total,
      byCode: Object.fromEntries(this.#byCode),
      bySeverity: { ...this.#bySeverity },
      byComponent: Object.fromEntries(this.#byComponent),
      byAction: Object.fromEntries(this.#byAction),
      window: {
        ms: this.#options.windowMs,
        count,
        ratePerMin: (count * 60_000) / this.#options.windowMs,
      },
      resolved: { total: resolvedTotal, ...this.#resolved },
      unresolved: this.#total - resolvedTotal,
    };
  }

  #count(at: number): void {
    this.#bump(this.#buckets, this.#bucketStamp, at);
  }

  #countRunner(runnerId: string, at: number): void {
    let buckets = this.#byRunner.get(runnerId);
    if (buckets === undefined) {
      buckets = {
        counts: new Array<number>(BUCKETS).fill(0),
        stamps: new Array<number>(BUCKETS).fill(-1),
      };
      this.#byRunner.set(runnerId, buckets);
    }
    this.#bump(buckets.counts, buckets.stamps, at);
  }

  #bump(counts: number[], stamps: number[], at: number): void {
    const slot = Math.floor(at / this.#bucketMs);
    const index = slot % BUCKETS;
    if (stamps[index] !== slot) {
      stamps[index] = slot;
      counts[index] = 0;
    }
    counts[index] = (counts[index] ?? 0) + 1;
  }

  #windowCount(): number {
    return this.#sumWindow(this.#buckets, this.#bucketStamp);
  }

  #sumWindow(counts: readonly number[], stamps: readonly number[]): number {
    const current = Math.floor(this.#now() / this.#bucketMs);
    let count = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const stamp = stamps[i] ?? -1;
      if (stamp > current - BUCKETS && stamp <= current) count += counts[i] ?? 0;
    }
    return count;
  }

  #log(record: ErrorRecord): void {
    const logger = this.#options.logger;
    const context = record.context;
    const fields: Record<string, unknown> = {};
    // The ids the actors' child loggers carry, at the top as they do.
    for (const key of LIFTED_IDS) if (context[key] !== undefined) fields[key] = context[key];
    fields.errorId = record.id;
    fields.code = record.code;
    fields.severity = record.severity;
    fields.action = record.action;
    fields.context = context;
    fields.err = record.error;
    try {
      if (record.severity === 'LOW' || record.severity === 'MEDIUM') {
        logger.warn(fields, record.message);
      } else {
        logger.error(fields, record.message);
      }
    } catch {
      // A logger that throws must not lose the record, its listeners or its escalation.
    }
  }
}

/** Context fields logged at the top of an error record, like a child logger's bindings. */
const LIFTED_IDS = ['runnerId', 'threadId', 'taskId', 'resourceId'] as const;

/**
 * Whether a record counts toward its runner's error rate (the health
 * score's error component): errors above LOW, except a task's
 * `ERR_WORKER_CRASHED`, the echo of its thread's crash (recorded on its
 * own) or of a restart (whose cause is recorded): one failure counts once.
 */
function countsTowardRate(record: ErrorRecord): boolean {
  if (record.severity === 'LOW') return false;
  return !(record.code === 'ERR_WORKER_CRASHED' && record.context.operation === 'run');
}
