/*
 * classifyError and builtInPolicies. The expected table below is written out
 * by hand (not derived from the source); C01 fails when a code is added to
 * ErrorCodes without a row here.
 *
 * ERR_RESTART_LIMIT and ERR_INVALID_CONFIG also depend on context.operation
 * (C04b, C04c); the table rows are for contexts without an operation.
 *
 * Precedence: built-in < per-code policy < custom classifier (C12-C22).
 */
import { describe, expect, it, vi } from 'vitest';
import {
  builtInPolicies,
  ChannelClosedError,
  classifyError,
  createTroupeError,
  ErrorCodes,
  QueueFullError,
  TaskFailedError,
  toErrorData,
  TroupeError,
  UnknownError,
  WorkerCrashedError,
  type Classification,
  type Classifier,
  type ErrorCode,
  type ErrorContext,
  type ErrorPolicies,
  type RecoveryAction,
  type Severity,
} from '../src/index.js';

interface Verdict {
  readonly severity: Severity;
  readonly action: RecoveryAction;
}

interface Row {
  /** `phase: 'running'` (and no phase at all). */
  readonly running: Verdict;
  /** Every shutdown phase: signaling, draining, closing, stopped. */
  readonly shutdown: Verdict;
}

const v = (severity: Severity, action: RecoveryAction): Verdict => ({ severity, action });
const same = (severity: Severity, action: RecoveryAction): Row => ({
  running: v(severity, action),
  shutdown: v(severity, action),
});

/** The built-in table, by hand. */
const table: Readonly<Record<ErrorCode, Row>> = {
  ERR_SHUTDOWN_IN_PROGRESS: same('LOW', 'SKIP'),
  ERR_RUNNER_STOPPED: same('LOW', 'SKIP'),
  ERR_RUNNER_STARTUP: { running: v('HIGH', 'ESCALATE'), shutdown: v('MEDIUM', 'SKIP') },
  ERR_WORKER_CRASHED: { running: v('HIGH', 'RESTART'), shutdown: v('MEDIUM', 'SKIP') },
  ERR_WORKER_UNRESPONSIVE: { running: v('HIGH', 'RESTART'), shutdown: v('MEDIUM', 'SKIP') },
  ERR_TASK_TIMEOUT: { running: v('MEDIUM', 'RETRY'), shutdown: v('MEDIUM', 'SKIP') },
  ERR_TASK_ABORTED: same('LOW', 'SKIP'),
  ERR_QUEUE_FULL: { running: v('MEDIUM', 'RETRY'), shutdown: v('LOW', 'SKIP') },
  ERR_CHANNEL_CLOSED: { running: v('MEDIUM', 'SKIP'), shutdown: v('LOW', 'SKIP') },
  ERR_RESOURCE_CYCLE: same('CRITICAL', 'ESCALATE'),
  ERR_INVALID_CONFIG: same('CRITICAL', 'ESCALATE'),
  ERR_DATA_CLONE: same('MEDIUM', 'SKIP'),
  ERR_RESTART_LIMIT: same('CRITICAL', 'ESCALATE'),
  ERR_TASK_FAILED: same('MEDIUM', 'SKIP'),
  ERR_NODE_LOST: same('HIGH', 'RETRY'),
  ERR_NO_NODE: same('MEDIUM', 'SKIP'),
  ERR_PAYLOAD_TOO_LARGE: same('MEDIUM', 'SKIP'),
  ERR_CLUSTER_UNAVAILABLE: same('HIGH', 'RETRY'),
  ERR_UNKNOWN_HANDLER: same('HIGH', 'SKIP'),
  ERR_RESOURCE_CLOSE_FAILED: same('HIGH', 'FORCE_CLEANUP'),
  ERR_RESOURCE_CLOSE_TIMEOUT: same('HIGH', 'FORCE_CLEANUP'),
  ERR_UNHEALTHY: { running: v('HIGH', 'RESTART'), shutdown: v('LOW', 'SKIP') },
  ERR_THREAD_STARTUP: { running: v('HIGH', 'RESTART'), shutdown: v('MEDIUM', 'SKIP') },
  ERR_LISTENER_FAILED: same('LOW', 'SKIP'),
  ERR_SHUTDOWN_TIMEOUT: same('HIGH', 'FORCE_CLEANUP'),
  ERR_UNKNOWN: same('MEDIUM', 'ESCALATE'),
};

const codes = Object.values(ErrorCodes);
const shutdownPhases = ['signaling', 'draining', 'closing', 'stopped'] as const;

const running: ErrorContext = { component: 'runner', phase: 'running' };
const draining: ErrorContext = { component: 'runner', phase: 'draining' };

function errorOf(code: ErrorCode): TroupeError {
  return createTroupeError(code, `a ${code}`);
}

describe('classifyError: the built-in table', () => {
  it('C01 the hand-written table has a row for every ErrorCode and nothing else', () => {
    expect(Object.keys(table).sort()).toEqual([...codes].sort());
    expect(Object.keys(builtInPolicies).sort()).toEqual([...codes].sort());
    expect(codes).toHaveLength(26);
  });

  it('C02 every code while running (phase "running" and no phase at all)', () => {
    for (const code of codes) {
      const expected: Classification = { code, ...table[code].running };
      expect(classifyError(errorOf(code), running), code).toEqual(expected);
      expect(classifyError(errorOf(code), { component: 'runner' }), code).toEqual(expected);
      expect(builtInPolicies[code](running), code).toEqual(table[code].running);
    }
  });

  it('C03 every code in every shutdown phase', () => {
    for (const phase of shutdownPhases) {
      for (const code of codes) {
        const context: ErrorContext = { component: 'runner', phase };
        expect(classifyError(errorOf(code), context), `${code} ${phase}`).toEqual({
          code,
          ...table[code].shutdown,
        });
        expect(builtInPolicies[code](context), `${code} ${phase}`).toEqual(table[code].shutdown);
      }
    }
  });

  it('C04 ERR_RUNNER_STARTUP escalates whatever the attempt; ERR_THREAD_STARTUP restarts', () => {
    const classify = (code: ErrorCode, attempt: number | undefined, phase = 'running') =>
      classifyError(errorOf(code), {
        component: 'runner',
        operation: code === ErrorCodes.RUNNER_STARTUP ? 'start' : 'restart',
        phase,
        ...(attempt === undefined ? {} : { attempt }),
      });
    const escalate = { code: ErrorCodes.RUNNER_STARTUP, severity: 'HIGH', action: 'ESCALATE' };
    // A later attempt is no longer a reason to restart: that is ERR_THREAD_STARTUP's verdict.
    for (const attempt of [undefined, 0, 1, 7]) {
      expect(classify(ErrorCodes.RUNNER_STARTUP, attempt), String(attempt)).toEqual(escalate);
    }
    const restart = { code: ErrorCodes.THREAD_STARTUP, severity: 'HIGH', action: 'RESTART' };
    for (const attempt of [undefined, 1, 7]) {
      expect(classify(ErrorCodes.THREAD_STARTUP, attempt), String(attempt)).toEqual(restart);
    }
    // While shutting down there is nothing to escalate or restart.
    for (const code of [ErrorCodes.RUNNER_STARTUP, ErrorCodes.THREAD_STARTUP]) {
      for (const attempt of [0, 2]) {
        expect(classify(code, attempt, 'draining')).toEqual({
          code,
          severity: 'MEDIUM',
          action: 'SKIP',
        });
      }
    }
    // Only known shutdown phases count as shutting down (a typo does not).
    expect(classify(ErrorCodes.RUNNER_STARTUP, 2, 'ready')).toEqual(escalate);
    expect(classify(ErrorCodes.THREAD_STARTUP, 2, 'ready')).toEqual(restart);
  });

  it('C04b ERR_RESTART_LIMIT escalates once; refused admit/run calls afterwards only inform', () => {
    const error = errorOf(ErrorCodes.RESTART_LIMIT);
    const escalate = { code: ErrorCodes.RESTART_LIMIT, severity: 'CRITICAL', action: 'ESCALATE' };
    const inform = { code: ErrorCodes.RESTART_LIMIT, severity: 'MEDIUM', action: 'SKIP' };
    expect(classifyError(error, { component: 'runner' })).toEqual(escalate);
    expect(classifyError(error, { component: 'supervisor', operation: 'restart' })).toEqual(
      escalate,
    );
    for (const phase of ['running', 'draining']) {
      expect(classifyError(error, { component: 'runner', operation: 'admit', phase })).toEqual(
        inform,
      );
      expect(classifyError(error, { component: 'runner', operation: 'run', phase })).toEqual(
        inform,
      );
    }
  });

  it("C04c ERR_INVALID_CONFIG is the caller's error under admit/run, the system's otherwise", () => {
    const error = errorOf(ErrorCodes.INVALID_CONFIG);
    const caller = { code: ErrorCodes.INVALID_CONFIG, severity: 'LOW', action: 'SKIP' };
    const system = { code: ErrorCodes.INVALID_CONFIG, severity: 'CRITICAL', action: 'ESCALATE' };
    for (const phase of [undefined, 'running', 'draining']) {
      const base = { component: 'runner', ...(phase === undefined ? {} : { phase }) };
      expect(classifyError(error, { ...base, operation: 'admit' }), `admit ${phase}`).toEqual(
        caller,
      );
      expect(classifyError(error, { ...base, operation: 'run' }), `run ${phase}`).toEqual(caller);
      expect(classifyError(error, base), `none ${phase}`).toEqual(system);
      for (const operation of ['start', 'register', 'probe', 'emit'] as const) {
        expect(classifyError(error, { ...base, operation }), `${operation} ${phase}`).toEqual(
          system,
        );
      }
    }
  });

  it('C04d ERR_LISTENER_FAILED is reported and never acted upon; ERR_SHUTDOWN_TIMEOUT cleans up', () => {
    const listener = errorOf(ErrorCodes.LISTENER_FAILED);
    const timeout = errorOf(ErrorCodes.SHUTDOWN_TIMEOUT);
    for (const phase of [undefined, 'running', ...shutdownPhases]) {
      for (const operation of [undefined, 'listen', 'run', 'shutdown'] as const) {
        const context: ErrorContext = {
          component: 'troupe',
          ...(phase === undefined ? {} : { phase }),
          ...(operation === undefined ? {} : { operation }),
        };
        expect(classifyError(listener, context), `${phase} ${operation}`).toEqual({
          code: ErrorCodes.LISTENER_FAILED,
          severity: 'LOW',
          action: 'SKIP',
        });
        expect(classifyError(timeout, context), `${phase} ${operation}`).toEqual({
          code: ErrorCodes.SHUTDOWN_TIMEOUT,
          severity: 'HIGH',
          action: 'FORCE_CLEANUP',
        });
      }
    }
  });

  it('C05 spot checks of the contract rows', () => {
    expect(classifyError(new ChannelClosedError('closed'), draining)).toEqual({
      code: 'ERR_CHANNEL_CLOSED',
      severity: 'LOW',
      action: 'SKIP',
    });
    expect(classifyError(new QueueFullError('full'), draining)).toEqual({
      code: 'ERR_QUEUE_FULL',
      severity: 'LOW',
      action: 'SKIP',
    });
    expect(classifyError(new QueueFullError('full'), running)).toEqual({
      code: 'ERR_QUEUE_FULL',
      severity: 'MEDIUM',
      action: 'RETRY',
    });
    expect(classifyError(new WorkerCrashedError('died'), running)).toEqual({
      code: 'ERR_WORKER_CRASHED',
      severity: 'HIGH',
      action: 'RESTART',
    });
    expect(classifyError(new WorkerCrashedError('died'), draining)).toEqual({
      code: 'ERR_WORKER_CRASHED',
      severity: 'MEDIUM',
      action: 'SKIP',
    });
    for (const code of [ErrorCodes.RESOURCE_CLOSE_FAILED, ErrorCodes.RESOURCE_CLOSE_TIMEOUT]) {
      expect(classifyError(errorOf(code), draining)).toEqual({
        code,
        severity: 'HIGH',
        action: 'FORCE_CLEANUP',
      });
    }
    expect(classifyError(errorOf(ErrorCodes.RESTART_LIMIT), running)).toEqual({
      code: 'ERR_RESTART_LIMIT',
      severity: 'CRITICAL',
      action: 'ESCALATE',
    });
  });

  it('C06 the phase comes from the context argument, not from the error context', () => {
    const error = new QueueFullError('full', { context: { phase: 'draining' } });
    expect(classifyError(error, running).action).toBe('RETRY');
    const other = new QueueFullError('full', { context: { phase: 'running' } });
    expect(classifyError(other, draining).action).toBe('SKIP');
  });

  it('C07 a base TroupeError is classified by its code, not its class', () => {
    const error = new TroupeError(ErrorCodes.WORKER_CRASHED, 'died');
    expect(classifyError(error, running)).toEqual({
      code: 'ERR_WORKER_CRASHED',
      severity: 'HIGH',
      action: 'RESTART',
    });
  });
});

describe('classifyError: anything that is not a TroupeError', () => {
  const unknown: Classification = { code: 'ERR_UNKNOWN', severity: 'MEDIUM', action: 'ESCALATE' };

  it('C08 plain errors and thrown values are ERR_UNKNOWN, MEDIUM, ESCALATE in any phase', () => {
    const values: unknown[] = [
      new Error('plain'),
      new TypeError('type'),
      'a string',
      42,
      0,
      null,
      undefined,
      { some: 'object' },
      Symbol('s'),
    ];
    for (const value of values) {
      expect(classifyError(value, running), String(value)).toEqual(unknown);
      expect(classifyError(value, draining), String(value)).toEqual(unknown);
    }
  });

  it('C09 a foreign error carrying a Troupe code string is still ERR_UNKNOWN', () => {
    const error = Object.assign(new Error('looks like it'), { code: 'ERR_QUEUE_FULL' });
    expect(classifyError(error, running)).toEqual(unknown);
  });

  it('C10 Troupe ErrorData (an error that crossed a thread) is classified by its code', () => {
    const data = toErrorData(new WorkerCrashedError('died'));
    expect(data._tag).toBe('TroupeError');
    expect(classifyError(data, running)).toEqual({
      code: 'ERR_WORKER_CRASHED',
      severity: 'HIGH',
      action: 'RESTART',
    });
    expect(classifyError(data, draining).action).toBe('SKIP');
    // ErrorData of a foreign error stays unknown even with a Troupe-looking code.
    expect(
      classifyError(
        { _tag: 'Error', name: 'Error', message: 'x', code: 'ERR_QUEUE_FULL' },
        running,
      ),
    ).toEqual(unknown);
  });

  it('C11 an explicit ERR_UNKNOWN error classifies like a wrapped value', () => {
    expect(classifyError(new UnknownError('?'), running)).toEqual(unknown);
  });
});

describe('classifyError: per-code policies', () => {
  it('C12 a severity-only override keeps the built-in action', () => {
    const policies: ErrorPolicies = { ERR_TASK_TIMEOUT: { severity: 'HIGH' } };
    expect(classifyError(errorOf(ErrorCodes.TASK_TIMEOUT), running, { policies })).toEqual({
      code: 'ERR_TASK_TIMEOUT',
      severity: 'HIGH',
      action: 'RETRY',
    });
  });

  it('C13 an action-only override keeps the built-in severity', () => {
    const policies: ErrorPolicies = { ERR_TASK_FAILED: { action: 'RETRY' } };
    expect(classifyError(new TaskFailedError('threw'), running, { policies })).toEqual({
      code: 'ERR_TASK_FAILED',
      severity: 'MEDIUM',
      action: 'RETRY',
    });
  });

  it('C14 an override of both replaces the verdict, whatever the phase', () => {
    const policies: ErrorPolicies = {
      ERR_WORKER_CRASHED: { severity: 'CRITICAL', action: 'DEGRADE' },
    };
    const expected = { code: 'ERR_WORKER_CRASHED', severity: 'CRITICAL', action: 'DEGRADE' };
    expect(classifyError(new WorkerCrashedError('x'), running, { policies })).toEqual(expected);
    expect(classifyError(new WorkerCrashedError('x'), draining, { policies })).toEqual(expected);
  });

  it('C15 a policy applies to its own code only; an empty policy changes nothing', () => {
    const policies: ErrorPolicies = {
      ERR_QUEUE_FULL: { severity: 'CRITICAL', action: 'ESCALATE' },
      ERR_TASK_TIMEOUT: {},
    };
    for (const code of codes) {
      if (code === ErrorCodes.QUEUE_FULL) continue;
      expect(classifyError(errorOf(code), running, { policies }), code).toEqual({
        code,
        ...table[code].running,
      });
    }
    expect(classifyError(new QueueFullError('full'), running, { policies })).toEqual({
      code: 'ERR_QUEUE_FULL',
      severity: 'CRITICAL',
      action: 'ESCALATE',
    });
  });

  it('C16 an ERR_UNKNOWN policy applies to plain errors and thrown values', () => {
    const policies: ErrorPolicies = { ERR_UNKNOWN: { severity: 'LOW', action: 'SKIP' } };
    expect(classifyError(new Error('plain'), running, { policies })).toEqual({
      code: 'ERR_UNKNOWN',
      severity: 'LOW',
      action: 'SKIP',
    });
    expect(classifyError('thrown', running, { policies }).action).toBe('SKIP');
  });
});

describe('classifyError: custom classifier', () => {
  it('C17 sees the TroupeError itself, the context and the verdict after overrides', () => {
    const classify = vi.fn<Classifier>(() => undefined);
    const error = new QueueFullError('full');
    const context: ErrorContext = { component: 'runner', runnerId: 'r1', phase: 'running' };
    const policies: ErrorPolicies = { ERR_QUEUE_FULL: { severity: 'HIGH' } };
    classifyError(error, context, { policies, classify });
    expect(classify).toHaveBeenCalledTimes(1);
    const [seenError, seenContext, seenVerdict] = classify.mock.calls[0]!;
    expect(seenError).toBe(error);
    expect(seenContext).toBe(context);
    expect(seenVerdict).toEqual({ code: 'ERR_QUEUE_FULL', severity: 'HIGH', action: 'RETRY' });
  });

  it('C18 sees a plain error wrapped as ERR_UNKNOWN with the original as cause', () => {
    const classify = vi.fn<Classifier>(() => undefined);
    const original = new Error('plain');
    classifyError(original, running, { classify });
    const [seenError, , seenVerdict] = classify.mock.calls[0]!;
    expect(seenError).toBeInstanceOf(UnknownError);
    expect(seenError.code).toBe('ERR_UNKNOWN');
    expect(seenError.message).toBe('plain');
    expect(seenError.cause).toBe(original);
    expect(seenVerdict).toEqual({ code: 'ERR_UNKNOWN', severity: 'MEDIUM', action: 'ESCALATE' });
  });

  it('C19 returning undefined or an empty object keeps the verdict', () => {
    const policies: ErrorPolicies = { ERR_TASK_FAILED: { action: 'RETRY' } };
    const expected = { code: 'ERR_TASK_FAILED', severity: 'MEDIUM', action: 'RETRY' };
    const error = new TaskFailedError('threw');
    expect(classifyError(error, running, { policies, classify: () => undefined })).toEqual(
      expected,
    );
    expect(classifyError(error, running, { policies, classify: () => ({}) })).toEqual(expected);
  });

  it('C20 partial changes merge with the verdict after overrides', () => {
    const policies: ErrorPolicies = { ERR_TASK_TIMEOUT: { severity: 'HIGH' } };
    const error = errorOf(ErrorCodes.TASK_TIMEOUT);
    expect(
      classifyError(error, running, { policies, classify: () => ({ action: 'SKIP' }) }),
    ).toEqual({ code: 'ERR_TASK_TIMEOUT', severity: 'HIGH', action: 'SKIP' });
    expect(
      classifyError(error, running, { policies, classify: () => ({ severity: 'LOW' }) }),
    ).toEqual({ code: 'ERR_TASK_TIMEOUT', severity: 'LOW', action: 'RETRY' });
  });

  it('C21 precedence: built-in < policy < classifier, field by field', () => {
    const error = new WorkerCrashedError('died');
    // built-in: HIGH / RESTART
    expect(classifyError(error, running)).toEqual({
      code: 'ERR_WORKER_CRASHED',
      severity: 'HIGH',
      action: 'RESTART',
    });
    const policies: ErrorPolicies = {
      ERR_WORKER_CRASHED: { severity: 'MEDIUM', action: 'DEGRADE' },
    };
    // policy over built-in
    expect(classifyError(error, running, { policies })).toEqual({
      code: 'ERR_WORKER_CRASHED',
      severity: 'MEDIUM',
      action: 'DEGRADE',
    });
    // classifier over policy, for both fields
    expect(
      classifyError(error, running, {
        policies,
        classify: () => ({ severity: 'CRITICAL', action: 'ESCALATE' }),
      }),
    ).toEqual({ code: 'ERR_WORKER_CRASHED', severity: 'CRITICAL', action: 'ESCALATE' });
    // classifier over built-in without a policy
    expect(
      classifyError(error, running, { classify: () => ({ action: 'FORCE_CLEANUP' }) }),
    ).toEqual({ code: 'ERR_WORKER_CRASHED', severity: 'HIGH', action: 'FORCE_CLEANUP' });
  });

  it('C22 the classifier can decide from the context but cannot change the code', () => {
    const classify: Classifier = (error, context, verdict) =>
      context.operation === 'probe' && error.code === 'ERR_TASK_TIMEOUT'
        ? { severity: 'HIGH', action: 'RESTART' }
        : verdict.severity === 'LOW'
          ? { severity: 'MEDIUM' }
          : undefined;
    const timeout = errorOf(ErrorCodes.TASK_TIMEOUT);
    expect(
      classifyError(timeout, { component: 'health', operation: 'probe' }, { classify }),
    ).toEqual({ code: 'ERR_TASK_TIMEOUT', severity: 'HIGH', action: 'RESTART' });
    expect(classifyError(timeout, { component: 'runner', operation: 'run' }, { classify })).toEqual(
      { code: 'ERR_TASK_TIMEOUT', severity: 'MEDIUM', action: 'RETRY' },
    );
    expect(classifyError(new QueueFullError('full'), draining, { classify })).toEqual({
      code: 'ERR_QUEUE_FULL',
      severity: 'MEDIUM',
      action: 'SKIP',
    });
    // A returned object with extra keys (a code, say) is not a way to relabel the error.
    const relabel = (() => ({ code: 'ERR_RESTART_LIMIT', severity: 'LOW' })) as Classifier;
    expect(classifyError(timeout, running, { classify: relabel })).toEqual({
      code: 'ERR_TASK_TIMEOUT',
      severity: 'LOW',
      action: 'RETRY',
    });
  });
});
