// Tracks every submitted soak task to exactly one outcome.
import { TroupeError } from '@troupe/runtime';
import { EXPECTED, type TaskKind } from './FaultInjector.js';

/** An outcome that is not 'ok' nor a TroupeError with a code. */
export const INVALID = 'INVALID (not a TroupeError with a code)';

export class Ledger {
  submitted = 0;
  settled = 0;
  /** Settled as the kind's expected outcome. */
  expected = 0;
  readonly #byKind = new Map<TaskKind, Map<string, number>>();
  readonly #byCode = new Map<string, number>();
  readonly #invalid: string[] = [];
  readonly #unexpected: string[] = [];
  #waiters: (() => void)[] = [];

  /** Records `work`'s outcome; the returned promise never rejects. */
  track(kind: TaskKind, work: Promise<unknown>): Promise<void> {
    this.submitted += 1;
    return work.then(
      () => {
        this.#settle(kind, 'ok', null);
      },
      (error: unknown) => {
        const valid = error instanceof TroupeError && typeof error.code === 'string';
        this.#settle(kind, valid ? error.code : INVALID, error);
      },
    );
  }

  /** Tasks not settled yet. */
  get pending(): number {
    return this.submitted - this.settled;
  }

  /** Resolves when every submitted task settled, or after `ms`. */
  whenSettled(ms: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve(this.pending === 0);
      }, ms);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Outcome counts of one kind. */
  outcomes(kind: TaskKind): ReadonlyMap<string, number> {
    return this.#byKind.get(kind) ?? new Map<string, number>();
  }

  get kinds(): TaskKind[] {
    return [...this.#byKind.keys()];
  }

  get byCode(): ReadonlyMap<string, number> {
    return this.#byCode;
  }

  /** Rejections that were not TroupeErrors with a code (samples). */
  get invalid(): readonly string[] {
    return this.#invalid;
  }

  /** Outcomes other than the kind's expected one (samples). */
  get unexpected(): readonly string[] {
    return this.#unexpected;
  }

  get invalidCount(): number {
    return this.#byCode.get(INVALID) ?? 0;
  }

  get unexpectedCount(): number {
    return this.settled - this.expected;
  }

  #settle(kind: TaskKind, outcome: string, error: unknown): void {
    this.settled += 1;
    let counts = this.#byKind.get(kind);
    if (counts === undefined) {
      counts = new Map();
      this.#byKind.set(kind, counts);
    }
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    this.#byCode.set(outcome, (this.#byCode.get(outcome) ?? 0) + 1);
    const message = error instanceof Error ? error.message : String(error);
    if (outcome === INVALID) {
      if (this.#invalid.length < 10) this.#invalid.push(`${kind}: ${message}`);
    }
    if (outcome === EXPECTED[kind]) {
      this.expected += 1;
    } else if (this.#unexpected.length < 20) {
      this.#unexpected.push(`${kind} → ${outcome}: ${message}`);
    }
    if (this.pending === 0 && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }
}
