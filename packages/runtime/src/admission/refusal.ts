import {
  RunnerStoppedError,
  ShutdownInProgressError,
  TaskAbortedError,
  fromErrorData,
  runnerStateOf,
  toTroupeError,
  type ErrorData,
  type RunnerState,
  type ShutdownPhase,
  type TroupeError,
} from '@troupe/core';

/** What a refusal is built from: read at the moment of the refusal, never remembered. */
export interface RefusalFacts {
  readonly runnerId: string;
  /** The runner statechart's state value now. */
  readonly value: unknown;
  readonly failure: ErrorData | null;
  /** The troupe's shutdown phase now, and the reason it was given. */
  readonly phase: ShutdownPhase;
  readonly nodeId: string;
  readonly reason: string | null;
}

/** The error a troupe refuses new work with once its shutdown began (or ended). */
export function shutdownRefusal(
  nodeId: string,
  phase: ShutdownPhase,
  reason: string | null,
): ShutdownInProgressError {
  const why = reason === null ? '' : ` (${reason})`;
  const message =
    phase === 'stopped'
      ? `troupe ${nodeId} has shut down${why}: no new work is accepted`
      : `troupe ${nodeId} is shutting down${why}: no new work is accepted`;
  return new ShutdownInProgressError(message, {
    context: {
      component: 'troupe',
      operation: 'admit',
      phase,
      ...(reason === null ? {} : { reason }),
    },
  });
}

/**
 * The error `run()` rejects with when the runner does not accept tasks: the
 * troupe's shutdown, the runner's failure (e.g. `ERR_RESTART_LIMIT`), or
 * `ERR_RUNNER_STOPPED` naming the state the runner is in now.
 */
export function refusalOf(facts: RefusalFacts): TroupeError {
  if (facts.phase !== 'running') {
    const refusal = shutdownRefusal(facts.nodeId, facts.phase, facts.reason);
    return new ShutdownInProgressError(refusal.message, {
      context: { ...refusal.context, runnerId: facts.runnerId },
    });
  }
  if (facts.failure !== null) {
    const failure = fromErrorData(facts.failure);
    return toTroupeError(failure, 'ERR_RUNNER_STOPPED', failure.message, {
      runnerId: facts.runnerId,
    });
  }
  const state: RunnerState = runnerStateOf(facts.value);
  return new RunnerStoppedError(`runner "${facts.runnerId}" is ${state} and takes no new tasks`, {
    context: { runnerId: facts.runnerId, state, operation: 'admit' },
  });
}

/** What queued tasks reject with when the runner closes before a thread took them. */
export function queuedRejection(runnerId: string, failure: ErrorData | null): TroupeError {
  if (failure !== null) {
    const error = fromErrorData(failure);
    return toTroupeError(error, 'ERR_RUNNER_STOPPED', error.message, { runnerId });
  }
  return new TaskAbortedError(`runner "${runnerId}" closed before a thread took the task`, {
    context: { runnerId, operation: 'run' },
  });
}

/** What queued tasks reject with at the drain deadline. */
export function drainDeadlineRejection(runnerId: string): TaskAbortedError {
  return new TaskAbortedError(
    `runner "${runnerId}" missed its drain deadline before a thread took the task`,
    { context: { runnerId, phase: 'draining', operation: 'run' } },
  );
}
