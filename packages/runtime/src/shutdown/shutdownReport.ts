import type { ErrorData, RunnerState } from '@troupe/core';
import type { RunnerStats } from '../runner/types.js';
import type { ResourceCloseRecord, ResourceCloseReport } from '../resources/ResourceManager.js';
import type { PhaseTiming, ShutdownOutcome } from './ShutdownCoordinator.js';

/** Task counts in a {@link ShutdownReport}. */
export interface ShutdownTaskCounts {
  /** Every `run()` call over the troupe's life. */
  readonly submitted: number;
  readonly completed: number;
  readonly failed: number;
  readonly aborted: number;
  /** Refused at admission (including during shutdown). */
  readonly rejected: number;
  /** Tasks accepted and not settled (running or queued) when admission closed (SIGNALING, after its readiness delay). */
  readonly inFlightAtSignal: number;
  /** What became of the tasks settled since SIGNALING began. */
  readonly drained: {
    readonly completed: number;
    readonly failed: number;
    readonly aborted: number;
  };
}

/** What `troupe.shutdown()` resolves with. Plain data: log it, publish it. */
export interface ShutdownReport {
  readonly nodeId: string;
  readonly reason: string;
  /** Epoch ms when shutdown began. */
  readonly startedAt: number;
  readonly durationMs: number;
  /**
   * A deadline was missed somewhere (something was aborted, force-closed or
   * left running), or a force was asked for (a second signal).
   */
  readonly forced: boolean;
  /** `shutdown({ force: true })` or a second signal forced it. */
  readonly forceRequested: boolean;
  /** How long SIGNALING kept admitting work after readiness turned false (`readinessDelayMs`, cut short by a force). */
  readonly readinessDelayMs: number;
  readonly phases: Readonly<Record<'signaling' | 'draining' | 'closing', PhaseTiming>>;
  readonly tasks: ShutdownTaskCounts;
  readonly resources: {
    readonly closed: number;
    readonly failed: number;
    readonly forced: number;
    readonly details: readonly ResourceCloseRecord[];
  };
  /** The runners that were live when the shutdown began. */
  readonly runners: readonly {
    readonly id: string;
    readonly state: RunnerState;
    readonly restarts: number;
    /** Its drain or close missed a deadline. */
    readonly forced: boolean;
  }[];
  /** Every OS thread the troupe started, and how many of them exited (joined). */
  readonly threads: { readonly started: number; readonly exited: number; readonly leaked: number };
  readonly errors: readonly ErrorData[];
}

/** Task counters summed over runners. */
export interface TaskTotals {
  readonly submitted: number;
  readonly completed: number;
  readonly failed: number;
  readonly aborted: number;
  readonly rejected: number;
}

/** No tasks yet. */
export const NO_TASKS: TaskTotals = {
  submitted: 0,
  completed: 0,
  failed: 0,
  aborted: 0,
  rejected: 0,
};

/** `totals` plus one runner's counters. */
export function addTasks(totals: TaskTotals, stats: RunnerStats): TaskTotals {
  return {
    submitted: totals.submitted + stats.submitted,
    completed: totals.completed + stats.completed,
    failed: totals.failed + stats.failed,
    aborted: totals.aborted + stats.aborted,
    rejected: totals.rejected + stats.rejected,
  };
}

/** What the report is made from. */
export interface ShutdownReportInput {
  readonly nodeId: string;
  readonly outcome: ShutdownOutcome;
  readonly close: ResourceCloseReport | null;
  readonly runners: ShutdownReport['runners'];
  readonly tasks: TaskTotals;
  /** Totals and the unsettled count when SIGNALING began (null: it never did). */
  readonly atSignal: (TaskTotals & { readonly unsettled: number }) | null;
  readonly threads: { readonly started: number; readonly exited: number };
}

/** Builds the report: counts add up by construction (`drained` is what settled since SIGNALING). */
export function shutdownReport(input: ShutdownReportInput): ShutdownReport {
  const { outcome, tasks, threads } = input;
  const close = input.close ?? { closed: 0, failed: 0, forced: 0, resources: [] };
  const atSignal = input.atSignal ?? { ...tasks, unsettled: 0 };
  const leaked = threads.started - threads.exited;
  return {
    nodeId: input.nodeId,
    reason: outcome.reason,
    startedAt: outcome.startedAt,
    durationMs: outcome.durationMs,
    forced:
      outcome.forceRequested ||
      outcome.timedOut.draining ||
      outcome.timedOut.closing ||
      close.forced > 0 ||
      leaked > 0 ||
      input.runners.some((r) => r.forced),
    forceRequested: outcome.forceRequested,
    readinessDelayMs: outcome.readinessDelayMs,
    phases: outcome.phases,
    tasks: {
      submitted: tasks.submitted,
      completed: tasks.completed,
      failed: tasks.failed,
      aborted: tasks.aborted,
      rejected: tasks.rejected,
      inFlightAtSignal: atSignal.unsettled,
      drained: {
        completed: tasks.completed - atSignal.completed,
        failed: tasks.failed - atSignal.failed,
        aborted: tasks.aborted - atSignal.aborted,
      },
    },
    resources: {
      closed: close.closed,
      failed: close.failed,
      forced: close.forced,
      details: close.resources,
    },
    runners: input.runners,
    threads: { started: threads.started, exited: threads.exited, leaked },
    errors: outcome.errors,
  };
}
