import type { ErrorData, RunnerState } from '@troupe/core';

/** Counters of one runner. `submitted = completed + failed + aborted + rejected + inFlight + queued`. */
export interface RunnerStats {
  readonly id: string;
  readonly state: RunnerState;
  /** Threads alive and serving. */
  readonly threads: number;
  /** Accepted tasks a thread is running. */
  readonly inFlight: number;
  /** Accepted tasks waiting for a thread: all threads busy, or the runner starting or restarting. */
  readonly queued: number;
  readonly submitted: number;
  readonly completed: number;
  /** Rejected by their handler, a crash or a clone error. */
  readonly failed: number;
  /** Cancelled, timed out, or aborted at a shutdown deadline. */
  readonly aborted: number;
  /** Refused at admission (queue full, stopped, shutting down, bad options). */
  readonly rejected: number;
  readonly restarts: number;
  readonly crashes: number;
  /** Attempts beyond the first, of tasks run with `retries` (each also counts in `submitted`). */
  readonly retried: number;
}

/** What is left of a runner once it is done: plain data, kept for reports. */
export interface RunnerSummary {
  readonly id: string;
  readonly state: RunnerState;
  readonly restarts: number;
  readonly forced: boolean;
  readonly failure: ErrorData | null;
  readonly stats: RunnerStats;
  readonly threads: { readonly started: number; readonly exited: number };
}
