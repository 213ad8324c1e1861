import { ErrorCodes, type ErrorCode } from './codes.js';
import { toTroupeError } from './errorData.js';
import type { Operation, TroupeError } from './TroupeError.js';

/** How bad an error is. */
export type Severity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/**
 * What to do about an error:
 * `RETRY` (again, with backoff, where the caller allowed it), `SKIP` (record
 * and move on), `RESTART` (replace the thread or pool), `FORCE_CLEANUP`
 * (abandon a hung close and go on), `DEGRADE` (keep serving with less),
 * `ESCALATE` (raise an alert; the escalation policy decides the rest).
 */
export type RecoveryAction =
  'RETRY' | 'SKIP' | 'RESTART' | 'FORCE_CLEANUP' | 'DEGRADE' | 'ESCALATE';

/** Where an error happened, as the error handler sees it. */
export interface ErrorContext {
  readonly component: string;
  readonly operation?: Operation;
  readonly runnerId?: string;
  readonly taskId?: string;
  readonly attempt?: number;
  /** The shutdown phase at the time: `running`, `signaling`, `draining`, `closing`, `stopped`. */
  readonly phase?: string;
}

/** The verdict on one error. */
export interface Classification {
  readonly code: ErrorCode;
  readonly severity: Severity;
  readonly action: RecoveryAction;
}

/** A per-code override of severity and/or action. */
export interface ErrorPolicy {
  readonly severity?: Severity;
  readonly action?: RecoveryAction;
}

/** Overrides by error code. */
export type ErrorPolicies = Readonly<Partial<Record<ErrorCode, ErrorPolicy>>>;

/**
 * A custom classifier: sees the error, its context and the verdict so far
 * (built-in policy with the per-code override applied); returns changes, or
 * nothing to keep the verdict. The runtime guards against one that throws.
 */
export type Classifier = (
  error: TroupeError,
  context: ErrorContext,
  verdict: Classification,
) => ErrorPolicy | undefined;

type Rule = (context: ErrorContext) => { severity: Severity; action: RecoveryAction };

const SHUTDOWN_PHASES: ReadonlySet<string> = new Set([
  'signaling',
  'draining',
  'closing',
  'stopped',
]);

/** True while the troupe is shutting down (a known shutdown phase). */
const during = (context: ErrorContext): boolean =>
  context.phase !== undefined && SHUTDOWN_PHASES.has(context.phase);

/** The caller's own mistake or a refusal it is told about: never the system's. */
const byCaller = (context: ErrorContext): boolean =>
  context.operation === 'admit' || context.operation === 'run';

/**
 * The built-in policy of every code. Errors that are expected while shutting
 * down (closed queues and channels, refused work) are LOW and SKIP.
 */
export const builtInPolicies: Readonly<Record<ErrorCode, Rule>> = {
  [ErrorCodes.SHUTDOWN_IN_PROGRESS]: () => ({ severity: 'LOW', action: 'SKIP' }),
  [ErrorCodes.RUNNER_STOPPED]: () => ({ severity: 'LOW', action: 'SKIP' }),
  [ErrorCodes.CHANNEL_CLOSED]: (c) =>
    during(c) ? { severity: 'LOW', action: 'SKIP' } : { severity: 'MEDIUM', action: 'SKIP' },
  [ErrorCodes.TASK_ABORTED]: () => ({ severity: 'LOW', action: 'SKIP' }),
  [ErrorCodes.QUEUE_FULL]: (c) =>
    during(c) ? { severity: 'LOW', action: 'SKIP' } : { severity: 'MEDIUM', action: 'RETRY' },
  [ErrorCodes.TASK_TIMEOUT]: (c) =>
    during(c) ? { severity: 'MEDIUM', action: 'SKIP' } : { severity: 'MEDIUM', action: 'RETRY' },
  [ErrorCodes.WORKER_CRASHED]: (c) =>
    during(c) ? { severity: 'MEDIUM', action: 'SKIP' } : { severity: 'HIGH', action: 'RESTART' },
  // A hung thread: terminated and replaced by its runner, like a crash.
  [ErrorCodes.WORKER_UNRESPONSIVE]: (c) =>
    during(c) ? { severity: 'MEDIUM', action: 'SKIP' } : { severity: 'HIGH', action: 'RESTART' },
  // A first start: the caller of spawnRunner gets the error; an alert says so.
  [ErrorCodes.RUNNER_STARTUP]: (c) =>
    during(c) ? { severity: 'MEDIUM', action: 'SKIP' } : { severity: 'HIGH', action: 'ESCALATE' },
  [ErrorCodes.THREAD_STARTUP]: (c) =>
    during(c) ? { severity: 'MEDIUM', action: 'SKIP' } : { severity: 'HIGH', action: 'RESTART' },
  // Escalated once, by the supervisor; calls refused afterwards only inform.
  [ErrorCodes.RESTART_LIMIT]: (c) =>
    byCaller(c)
      ? { severity: 'MEDIUM', action: 'SKIP' }
      : { severity: 'CRITICAL', action: 'ESCALATE' },
  [ErrorCodes.TASK_FAILED]: () => ({ severity: 'MEDIUM', action: 'SKIP' }),
  // Cluster: an idempotent task is retried on another node; the node itself is gone.
  [ErrorCodes.NODE_LOST]: () => ({ severity: 'HIGH', action: 'RETRY' }),
  [ErrorCodes.NO_NODE]: () => ({ severity: 'MEDIUM', action: 'SKIP' }),
  [ErrorCodes.PAYLOAD_TOO_LARGE]: () => ({ severity: 'MEDIUM', action: 'SKIP' }),
  [ErrorCodes.CLUSTER_UNAVAILABLE]: () => ({ severity: 'HIGH', action: 'RETRY' }),
  [ErrorCodes.DATA_CLONE]: () => ({ severity: 'MEDIUM', action: 'SKIP' }),
  [ErrorCodes.UNKNOWN_HANDLER]: () => ({ severity: 'HIGH', action: 'SKIP' }),
  [ErrorCodes.RESOURCE_CLOSE_FAILED]: () => ({ severity: 'HIGH', action: 'FORCE_CLEANUP' }),
  [ErrorCodes.RESOURCE_CLOSE_TIMEOUT]: () => ({ severity: 'HIGH', action: 'FORCE_CLEANUP' }),
  [ErrorCodes.RESOURCE_CYCLE]: () => ({ severity: 'CRITICAL', action: 'ESCALATE' }),
  // A bad argument to run() is the caller's error: it is rejected, never escalated.
  [ErrorCodes.INVALID_CONFIG]: (c) =>
    byCaller(c)
      ? { severity: 'LOW', action: 'SKIP' }
      : { severity: 'CRITICAL', action: 'ESCALATE' },
  // A listener's bug is reported, never acted upon (acting could call it again).
  [ErrorCodes.LISTENER_FAILED]: () => ({ severity: 'LOW', action: 'SKIP' }),
  [ErrorCodes.SHUTDOWN_TIMEOUT]: () => ({ severity: 'HIGH', action: 'FORCE_CLEANUP' }),
  [ErrorCodes.UNHEALTHY]: (c) =>
    during(c) ? { severity: 'LOW', action: 'SKIP' } : { severity: 'HIGH', action: 'RESTART' },
  [ErrorCodes.UNKNOWN]: () => ({ severity: 'MEDIUM', action: 'ESCALATE' }),
};

/**
 * Classifies an error: built-in policy for its code, then the per-code
 * override, then the custom classifier. Anything that is not a TroupeError
 * is classified as `ERR_UNKNOWN`.
 *
 * @example
 * ```ts
 * classifyError(err, { component: 'runner', phase: 'running' });
 * // { code: 'ERR_WORKER_CRASHED', severity: 'HIGH', action: 'RESTART' }
 * classifyError(err, ctx, { policies: { ERR_TASK_FAILED: { action: 'RETRY' } } });
 * ```
 */
export function classifyError(
  error: unknown,
  context: ErrorContext,
  options: { policies?: ErrorPolicies; classify?: Classifier } = {},
): Classification {
  const troupeError = toTroupeError(error);
  const code = troupeError.code;
  const base = builtInPolicies[code](context);
  const override = options.policies?.[code];
  let verdict: Classification = {
    code,
    severity: override?.severity ?? base.severity,
    action: override?.action ?? base.action,
  };
  const custom = options.classify?.(troupeError, context, verdict);
  if (custom !== undefined) {
    verdict = {
      code,
      severity: custom.severity ?? verdict.severity,
      action: custom.action ?? verdict.action,
    };
  }
  return verdict;
}
