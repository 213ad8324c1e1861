import type { RunnerState, ShutdownPhase } from '@troupe/core';
import type { ErrorRecord } from '../errors/ErrorHandler.js';
import type { HealthReport } from '../health/HealthMonitor.js';
import type { ShutdownGate } from '../shutdown/ShutdownCoordinator.js';
import type { Alert } from '../supervision/Supervisor.js';
import type { TaskSettledEvent } from '../task/types.js';

/** `runner:state` event payload. */
export interface RunnerStateEvent {
  readonly runnerId: string;
  readonly state: RunnerState;
  /** Null for a runner's first state (`starting`). */
  readonly previous: RunnerState | null;
}

/** `shutdown:phase` event payload. */
export interface ShutdownPhaseEvent {
  readonly phase: ShutdownPhase;
  readonly previous: ShutdownPhase;
  readonly reason: string;
}

/** Typed events of `troupe.on(...)`. */
export interface TroupeEvents {
  'runner:state': [event: RunnerStateEvent];
  'task:settled': [event: TaskSettledEvent];
  error: [record: ErrorRecord];
  health: [report: HealthReport];
  alert: [alert: Alert];
  'shutdown:phase': [event: ShutdownPhaseEvent];
}

/** Options of `troupe.shutdown()`. */
export interface ShutdownOptions {
  readonly reason?: string;
  /**
   * Awaited before each phase is left, once the phase's own work is done,
   * under the same deadlines: lets an outside party (a cluster) step this
   * troupe through the phases in unison with others. Only the first
   * `shutdown()` call's gate counts.
   */
  readonly gate?: ShutdownGate;
  /**
   * Force the shutdown, as a second signal does: the phase under way ends
   * now (as at its deadline) and every later phase takes its forced path
   * (tasks aborted, threads terminated, resources closed within `forceMs`).
   * Begins the shutdown if it has not begun. The report says `forced`.
   */
  readonly force?: boolean;
}
