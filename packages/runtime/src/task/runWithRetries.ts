import { TaskAbortedError, TroupeError, retryMachine, toTroupeError } from '@troupe/core';
import { createActor, fromPromise } from 'xstate';
import type { ErrorRecord } from '../errors/ErrorHandler.js';
import type { ExecutorHost } from './ExecutorRunner.js';
import type { RunOptions } from './types.js';

/** Per-attempt bookkeeping of a task run with `retries`. */
export interface AttemptMeta {
  readonly attempt: number;
  readonly records: ErrorRecord[];
}

/**
 * Runs a task with `retries` through a {@link retryMachine} actor: each
 * attempt is admitted like a task of its own; a failure is retried when the
 * error handler's action for it is RETRY or RESTART, after a full-jitter
 * backoff that is the statechart's delay; the task's signal (or the runner
 * ending) cancels between attempts. The errors of failed attempts are
 * resolved "by retry" when an attempt succeeds.
 */
export function runWithRetries(task: {
  readonly id: string;
  readonly runnerId: string;
  readonly host: ExecutorHost;
  readonly payload: unknown;
  readonly options: RunOptions;
  /** Admits one attempt (its options without the retry fields). */
  readonly attempt: (options: RunOptions, meta: AttemptMeta) => Promise<unknown>;
  /** What the task rejects with when the runner ends between attempts. */
  readonly refusal: () => TroupeError;
  /** Registers the cancel for when the runner ends; returns its removal. */
  readonly onCancel: (cancel: (error: TroupeError) => void) => () => void;
}): Promise<unknown> {
  const { retries, idempotent: _idempotent, retryBackoff, ...attemptOptions } = task.options;
  const { id, host, runnerId } = task;
  const backoff = retryBackoff ?? host.retryBackoff;
  const records: ErrorRecord[] = [];
  const machine = retryMachine.provide({
    actors: {
      attempt: fromPromise<unknown, { id: string; attempt: number }>(({ input }) =>
        task.attempt(attemptOptions, { attempt: input.attempt, records }),
      ),
    },
    guards: {
      retryable: ({ event }: { event: unknown }) =>
        host.isRetryable((event as { error?: unknown }).error, {
          component: 'runner',
          runnerId,
          operation: 'run',
        }),
    },
  });
  const inspection = host.inspect;
  const actor = createActor(machine, {
    id: `retry:${id}`,
    input: { id, maxAttempts: (retries ?? 0) + 1, backoff },
    // A troupe's hub attaches once the actor exists; a plain observer goes in.
    ...(inspection === undefined || 'track' in inspection ? {} : { inspect: inspection }),
  });
  if (inspection !== undefined && 'track' in inspection) inspection.track(actor);
  return new Promise((resolve, reject) => {
    const signal = attemptOptions.signal;
    const onAbort = (): void => {
      actor.send({ type: 'troupe.retry.cancel', reason: signal?.reason });
    };
    const forget = task.onCancel((error) => {
      actor.send({ type: 'troupe.retry.cancel', reason: error });
    });
    const finish = (): void => {
      signal?.removeEventListener('abort', onAbort);
      forget();
    };
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status !== 'done') return;
        finish();
        const output = snapshot.output;
        switch (output.outcome) {
          case 'succeeded':
            host.resolveErrors(records, 'retry');
            resolve(output.value);
            break;
          case 'exhausted':
          case 'rejected':
            reject(toTroupeError(output.lastError));
            break;
          case 'cancelled': {
            const reason = snapshot.context.cancelReason;
            reject(
              reason instanceof TroupeError
                ? reason
                : new TaskAbortedError(`task ${id} was cancelled between attempts`, {
                    ...(reason === undefined ? {} : { cause: reason }),
                    context: { runnerId, attempt: output.attempts, operation: 'run' },
                  }),
            );
            break;
          }
        }
      },
      error: (error) => {
        finish();
        reject(toTroupeError(error));
      },
      complete: () => {
        finish();
        reject(task.refusal());
      },
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    actor.start();
  });
}
