import { isTroupeError, type ErrorCode } from '@troupe/runtime';

/** How one request ended, from the caller's side. */
export type Outcome = 'completed' | 'failed' | 'aborted' | 'rejected';

/** The bookkeeping of one runner's requests. */
export interface RunnerTally {
  readonly runnerId: string;
  submitted: number;
  completed: number;
  failed: number;
  aborted: number;
  rejected: number;
  /** Requests submitted and not yet settled. */
  inFlight: number;
  /** Tokens streamed back (`ctx.emit` events received). */
  tokens: number;
  /** Why requests did not complete, by error code. */
  readonly byCode: Map<string, number>;
  /** The last tokens streamed, oldest first. */
  readonly lastTokens: string[];
}

/** Totals over every runner. */
export interface TallyTotals {
  readonly submitted: number;
  readonly completed: number;
  readonly failed: number;
  readonly aborted: number;
  readonly rejected: number;
  readonly inFlight: number;
  readonly tokens: number;
  /** Submitted but never settled: must be 0 once shutdown is over. */
  readonly lost: number;
}

const LAST_TOKENS = 10;

/** Codes that mean "refused at admission": the task never ran. */
const REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_SHUTDOWN_IN_PROGRESS',
  'ERR_RUNNER_STOPPED',
  'ERR_QUEUE_FULL',
  'ERR_INVALID_CONFIG',
  'ERR_UNKNOWN_HANDLER',
]);

/**
 * The demo's own bookkeeping of requests, independent of Troupe's counters:
 * every request is counted once when submitted and once when it settles, so
 * `lost = submitted − (completed + failed + aborted + rejected)` shows any
 * promise left pending.
 */
export class RequestTally {
  readonly #runners = new Map<string, RunnerTally>();

  constructor(runnerIds: readonly string[]) {
    for (const id of runnerIds) this.#runner(id);
  }

  /** Per-runner tallies, in registration order. */
  get runners(): readonly RunnerTally[] {
    return [...this.#runners.values()];
  }

  submitted(runnerId: string): void {
    const t = this.#runner(runnerId);
    t.submitted += 1;
    t.inFlight += 1;
  }

  /** Records how a request settled; returns the outcome and the error code (if any). */
  settled(runnerId: string, error: unknown): { outcome: Outcome; code: string | null } {
    const t = this.#runner(runnerId);
    t.inFlight -= 1;
    if (error === null) {
      t.completed += 1;
      return { outcome: 'completed', code: null };
    }
    const code = isTroupeError(error) ? error.code : 'non-troupe error';
    const outcome = outcomeOf(error);
    t[outcome] += 1;
    t.byCode.set(code, (t.byCode.get(code) ?? 0) + 1);
    return { outcome, code };
  }

  token(runnerId: string, text: string): void {
    const t = this.#runner(runnerId);
    t.tokens += 1;
    t.lastTokens.push(text);
    if (t.lastTokens.length > LAST_TOKENS) t.lastTokens.shift();
  }

  totals(): TallyTotals {
    let submitted = 0;
    let completed = 0;
    let failed = 0;
    let aborted = 0;
    let rejected = 0;
    let inFlight = 0;
    let tokens = 0;
    for (const t of this.#runners.values()) {
      submitted += t.submitted;
      completed += t.completed;
      failed += t.failed;
      aborted += t.aborted;
      rejected += t.rejected;
      inFlight += t.inFlight;
      tokens += t.tokens;
    }
    const lost = submitted - (completed + failed + aborted + rejected);
    return { submitted, completed, failed, aborted, rejected, inFlight, tokens, lost };
  }

  /** Failures of every runner by code (all outcomes but `completed`). */
  byCode(): Map<string, number> {
    const all = new Map<string, number>();
    for (const t of this.#runners.values()) {
      for (const [code, n] of t.byCode) all.set(code, (all.get(code) ?? 0) + n);
    }
    return all;
  }

  #runner(runnerId: string): RunnerTally {
    let t = this.#runners.get(runnerId);
    if (t === undefined) {
      t = {
        runnerId,
        submitted: 0,
        completed: 0,
        failed: 0,
        aborted: 0,
        rejected: 0,
        inFlight: 0,
        tokens: 0,
        byCode: new Map(),
        lastTokens: [],
      };
      this.#runners.set(runnerId, t);
    }
    return t;
  }
}

/** Sorts an error into an outcome, the way Troupe's counters do. */
function outcomeOf(error: unknown): Exclude<Outcome, 'completed'> {
  if (!isTroupeError(error)) return 'failed';
  if (error.code === 'ERR_TASK_ABORTED' || error.code === 'ERR_TASK_TIMEOUT') return 'aborted';
  if (REFUSALS.has(error.code)) return 'rejected';
  return 'failed';
}
