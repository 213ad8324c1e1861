// ErrorHandler: the bounded ring, stats (counts, windowed rate, resolved),
// logging by severity, listener isolation, and how non-Error inputs are
// recorded.
import {
  QueueFullError,
  ResourceCloseFailedError,
  RestartLimitError,
  ShutdownInProgressError,
  TaskFailedError,
  TaskTimeoutError,
  UnknownError,
  WorkerCrashedError,
  toErrorData,
  type TroupeErrorContext,
} from '@troupe/core';
import { describe, expect, it, vi } from 'vitest';
import {
  ErrorHandler,
  type ErrorHandlerOptions,
  type ErrorRecord,
} from '../src/errors/ErrorHandler.js';
import { recordingLogger, type RecordingLogger } from './support.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');

function handler(options: Partial<Omit<ErrorHandlerOptions, 'logger'>> = {}): {
  errors: ErrorHandler;
  logger: RecordingLogger;
  emitted: ErrorRecord[];
  escalated: ErrorRecord[];
  clock: { now: number };
} {
  const logger = recordingLogger();
  const emitted: ErrorRecord[] = [];
  const escalated: ErrorRecord[] = [];
  const clock = { now: T0 };
  const errors = new ErrorHandler({
    logger,
    ringSize: 10,
    windowMs: 60_000,
    emit: (record) => {
      emitted.push(record);
    },
    escalate: (record) => {
      escalated.push(record);
    },
    phase: () => 'running',
    now: () => clock.now,
    ...options,
  });
  return { errors, logger, emitted, escalated, clock };
}

const ctx = (component: string, extra: TroupeErrorContext = {}): TroupeErrorContext => ({
  component,
  ...extra,
});

describe('ErrorHandler ring', () => {
  it('keeps the last ringSize records, oldest first', () => {
    const { errors } = handler({ ringSize: 3 });
    for (let i = 1; i <= 5; i++) errors.report(new Error(`e${i}`), ctx('test'));
    expect(errors.recent().map((r) => r.message)).toEqual(['e3', 'e4', 'e5']);
    expect(errors.recent(2).map((r) => r.message)).toEqual(['e4', 'e5']);
    expect(errors.recent(10).map((r) => r.message)).toEqual(['e3', 'e4', 'e5']);
    expect(errors.recent().map((r) => r.id)).toEqual([3, 4, 5]);
  });

  it('before it wraps, recent() has no holes', () => {
    const { errors } = handler({ ringSize: 3 });
    expect(errors.recent()).toEqual([]);
    errors.report(new Error('e1'), ctx('test'));
    errors.report(new Error('e2'), ctx('test'));
    expect(errors.recent().map((r) => r.message)).toEqual(['e1', 'e2']);
  });

  // Regression (fixed) (src/errors/ErrorHandler.ts, recent():
  it('recent(0) returns no records', () => {
    const { errors } = handler({ ringSize: 3 });
    errors.report(new Error('e1'), ctx('test'));
    expect(errors.recent(0)).toEqual([]);
  });
});

describe('ErrorHandler stats', () => {
  it('counts by code and by component, in total beyond the ring', () => {
    const { errors } = handler({ ringSize: 3 });
    errors.report(new QueueFullError('full', { context: { runnerId: 'r' } }), ctx('runner'));
    errors.report(new QueueFullError('full again'), ctx('runner'));
    errors.report(new TaskTimeoutError('slow'), ctx('tasks'));
    errors.report(new Error('plain'), ctx('resources'));
    errors.report('a string', {});
    const stats = errors.stats();
    expect(stats.total).toBe(5);
    expect(stats.byCode).toEqual({ ERR_QUEUE_FULL: 2, ERR_TASK_TIMEOUT: 1, ERR_UNKNOWN: 2 });
    expect(stats.byComponent).toEqual({ runner: 2, tasks: 1, resources: 1, unknown: 1 });
    expect(stats.bySeverity).toEqual({ LOW: 0, MEDIUM: 5, HIGH: 0, CRITICAL: 0 });
    expect(stats.byAction).toEqual({ RETRY: 3, ESCALATE: 2 });
    expect(stats.unresolved).toBe(5);
  });

  it('takes the component from the error when the report has none', () => {
    const { errors } = handler();
    errors.report(new QueueFullError('full', { context: { component: 'admission' } }), {});
    expect(errors.stats().byComponent).toEqual({ admission: 1 });
  });

  it('ratePerMin counts the errors inside the window, independent of the ring size', () => {
    const { errors, clock } = handler({ ringSize: 2, windowMs: 60_000 });
    for (let i = 0; i < 4; i++) errors.report(new Error(`e${i}`), ctx('x'));
    expect(errors.stats().window).toEqual({ ms: 60_000, count: 4, ratePerMin: 4 });
    clock.now = T0 + 30_000;
    errors.report(new Error('later'), ctx('x'));
    expect(errors.stats().window.count).toBe(5);
    clock.now = T0 + 62_000;
    expect(errors.stats().window).toEqual({ ms: 60_000, count: 1, ratePerMin: 1 });
    clock.now = T0 + 200_000;
    expect(errors.stats().window.ratePerMin).toBe(0);
    expect(errors.stats().total).toBe(5);
  });

  it('scales ratePerMin to the window length', () => {
    const { errors, clock } = handler({ windowMs: 1_000 });
    errors.report(new Error('a'), ctx('x'));
    errors.report(new Error('b'), ctx('x'));
    expect(errors.stats().window.ratePerMin).toBe(120);
    clock.now = T0 + 1_500;
    errors.report(new Error('c'), ctx('x'));
    expect(errors.stats().window.ratePerMin).toBe(60);
  });

  it("ratePerMin(runnerId) counts one runner's non-LOW errors", () => {
    const { errors } = handler();
    errors.report(new TaskTimeoutError('slow'), ctx('runner', { runnerId: 'a' }));
    errors.report(new TaskTimeoutError('slow'), ctx('runner', { runnerId: 'a' }));
    errors.report(new TaskTimeoutError('slow'), ctx('runner', { runnerId: 'b' }));
    errors.report(new ShutdownInProgressError('refused'), ctx('runner', { runnerId: 'a' }));
    expect(errors.ratePerMin('a')).toBe(2);
    expect(errors.ratePerMin('b')).toBe(1);
    expect(errors.ratePerMin('c')).toBe(0);
    expect(errors.ratePerMin()).toBe(4);
  });

  it("ratePerMin(runnerId) counts a crash once: a task's ERR_WORKER_CRASHED echoes its thread's record", () => {
    // Found by the soak: each crash counted twice (the thread's exit and
    // the task it ran), so a runner recovering from crashes read as
    // unhealthy and was restarted, losing the tasks of its healthy thread.
    const { errors } = handler();
    const crash = (): WorkerCrashedError => new WorkerCrashedError('thread 7 exited with code 1');
    errors.report(crash(), ctx('runner', { runnerId: 'a', threadId: 7, operation: 'thread' }));
    errors.report(crash(), ctx('runner', { runnerId: 'a', operation: 'run' }));
    expect(errors.ratePerMin('a')).toBe(1);
    // both are still records, counted by code
    expect(errors.stats().byCode).toMatchObject({ ERR_WORKER_CRASHED: 2 });
    expect(errors.ratePerMin()).toBe(2);
  });

  it("ratePerMin(runnerId) is windowed in time buckets, beyond the ring, like the troupe's rate", () => {
    const { errors, clock } = handler({ ringSize: 2, windowMs: 60_000 });
    const slow = (): TaskTimeoutError => new TaskTimeoutError('slow');
    for (let i = 0; i < 5; i++) errors.report(slow(), ctx('runner', { runnerId: 'a' }));
    expect(errors.ratePerMin('a')).toBe(5);
    clock.now = T0 + 30_000;
    errors.report(slow(), ctx('runner', { runnerId: 'a' }));
    expect(errors.ratePerMin('a')).toBe(6);
    // the first five leave the window, the sixth stays
    clock.now = T0 + 61_000;
    expect(errors.ratePerMin('a')).toBe(1);
    clock.now = T0 + 91_000;
    expect(errors.ratePerMin('a')).toBe(0);
    // a bucket reused after the window wrapped starts from zero
    clock.now = T0 + 120_000;
    errors.report(slow(), ctx('runner', { runnerId: 'a' }));
    expect(errors.ratePerMin('a')).toBe(1);
  });

  it("forget(runnerId) drops that runner's rate only; a later error counts from scratch", () => {
    const { errors } = handler();
    for (const runnerId of ['a', 'a', 'b']) {
      errors.report(new TaskTimeoutError('slow'), ctx('runner', { runnerId }));
    }
    errors.forget('a');
    expect(errors.ratePerMin('a')).toBe(0);
    expect(errors.ratePerMin('b')).toBe(1);
    // the troupe-wide figures keep every error
    expect(errors.ratePerMin()).toBe(3);
    expect(errors.stats().total).toBe(3);
    errors.report(new TaskTimeoutError('slow'), ctx('runner', { runnerId: 'a' }));
    expect(errors.ratePerMin('a')).toBe(1);
    errors.forget('never-seen');
    expect(errors.ratePerMin('b')).toBe(1);
  });

  it('resolve() marks records once and moves them from unresolved to resolved', () => {
    const { errors } = handler();
    const a = errors.report(new TaskTimeoutError('slow'), ctx('tasks'));
    const b = errors.report(new TaskTimeoutError('slow'), ctx('tasks'));
    errors.report(new TaskTimeoutError('slow'), ctx('tasks'));
    errors.resolve([a, b], 'retry');
    errors.resolve([a], 'restart');
    const stats = errors.stats();
    expect(stats.resolved).toEqual({ total: 2, retry: 2, restart: 0, cleanup: 0 });
    expect(stats.unresolved).toBe(1);
    expect(a.resolution).toBe('retry');
  });
});

describe('ErrorHandler report()', () => {
  it('logs each record once: warn for LOW and MEDIUM, error for HIGH and CRITICAL, with code, severity and action', () => {
    const { errors, logger } = handler();
    errors.report(new ShutdownInProgressError('refused'), ctx('troupe'));
    errors.report(new QueueFullError('full'), ctx('runner'));
    errors.report(new ResourceCloseFailedError('db failed'), ctx('resources'));
    errors.report(new RestartLimitError('gave up'), ctx('runner', { runnerId: 'r1' }));
    expect(logger.records.map((r) => [r.level, r.msg, r.fields.severity, r.fields.action])).toEqual(
      [
        ['warn', 'refused', 'LOW', 'SKIP'],
        ['warn', 'full', 'MEDIUM', 'RETRY'],
        ['error', 'db failed', 'HIGH', 'FORCE_CLEANUP'],
        ['error', 'gave up', 'CRITICAL', 'ESCALATE'],
      ],
    );
    expect(logger.records.map((r) => r.fields.code)).toEqual([
      'ERR_SHUTDOWN_IN_PROGRESS',
      'ERR_QUEUE_FULL',
      'ERR_RESOURCE_CLOSE_FAILED',
      'ERR_RESTART_LIMIT',
    ]);
    // The record's id, its context, the error; the ids in the context at the top, as bindings are.
    expect(logger.records[3]?.fields).toMatchObject({
      errorId: 4,
      runnerId: 'r1',
      context: expect.objectContaining({ component: 'runner', runnerId: 'r1' }) as unknown,
      err: expect.objectContaining({ code: 'ERR_RESTART_LIMIT' }) as unknown,
    });
    expect(logger.debug).not.toHaveBeenCalled();
    expect(logger.info).not.toHaveBeenCalled();
  });

  it('a logger that throws does not throw out of report(): the record is kept and emitted', () => {
    const { errors, logger, emitted } = handler();
    logger.warn.mockImplementation(() => {
      throw new Error('logger broke');
    });
    expect(() => errors.report(new TaskTimeoutError('slow'), ctx('tasks'))).not.toThrow();
    expect(emitted).toHaveLength(1);
    expect(errors.recent()).toHaveLength(1);
  });

  it('emits the record it returns, stamped with an id, the time and the phase', () => {
    const { errors, emitted, clock } = handler({ phase: () => 'draining' });
    clock.now = T0 + 5;
    const record = errors.report(new TaskTimeoutError('slow'), ctx('tasks', { taskId: 't1' }));
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toBe(record);
    expect(record).toMatchObject({
      id: 1,
      at: T0 + 5,
      code: 'ERR_TASK_TIMEOUT',
      severity: 'MEDIUM',
      action: 'SKIP', // while draining there is nothing to retry into
      message: 'slow',
      context: { component: 'tasks', taskId: 't1', phase: 'draining' },
      resolution: null,
    });
    expect(errors.report(new Error('next'), {}).id).toBe(2);
    // a phase given in the context wins
    expect(errors.report(new Error('x'), { phase: 'closing' }).context.phase).toBe('closing');
  });

  it("keeps a TroupeError's code and merges contexts, the report's winning", () => {
    const { errors } = handler();
    const original = new QueueFullError('full', { context: { runnerId: 'r', component: 'old' } });
    const record = errors.report(original, { component: 'runner', taskId: 't1' });
    expect(record.code).toBe('ERR_QUEUE_FULL');
    expect(record.error).toBe(original);
    expect(record.context).toEqual({
      runnerId: 'r',
      component: 'runner',
      taskId: 't1',
      phase: 'running',
    });
  });

  it('rebuilds ErrorData to its code', () => {
    const { errors } = handler();
    const data = toErrorData(new TaskTimeoutError('too slow', { context: { taskId: 't9' } }));
    const record = errors.report(data, ctx('tasks'));
    expect(record.code).toBe('ERR_TASK_TIMEOUT');
    expect(record.error).toBeInstanceOf(TaskTimeoutError);
    expect(record.context).toMatchObject({ taskId: 't9', component: 'tasks' });
  });

  it.each<[string, unknown, string]>([
    ['a string', 'boom', 'boom'],
    ['a number', 42, '42'],
    ['an object', { a: 1 }, '{"a":1}'],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a plain Error', new RangeError('out of range'), 'out of range'],
  ])('records %s as an ERR_UNKNOWN record keeping it as cause', (_label, input, message) => {
    const { errors, escalated } = handler();
    const record = errors.report(input, ctx('x'));
    expect(record.code).toBe('ERR_UNKNOWN');
    expect(record.message).toBe(message);
    expect(record.error).toBeInstanceOf(UnknownError);
    expect(record.error.cause).toBe(input);
    expect(record.context).toEqual({ component: 'x', phase: 'running' });
    // ERR_UNKNOWN escalates by default
    expect(escalated).toEqual([record]);
  });

  it('applies per-code policies and a custom classifier', () => {
    const classify = vi.fn(() => ({ severity: 'HIGH' as const }));
    const { errors } = handler({
      policies: { ERR_TASK_FAILED: { action: 'RETRY' } },
      classify,
    });
    const record = errors.report(new TaskFailedError('handler threw'), ctx('tasks'));
    expect(record).toMatchObject({ code: 'ERR_TASK_FAILED', action: 'RETRY', severity: 'HIGH' });
    expect(classify).toHaveBeenCalledTimes(1);
    expect(classify).toHaveBeenCalledWith(
      expect.any(TaskFailedError),
      expect.objectContaining({ component: 'tasks' }),
      { code: 'ERR_TASK_FAILED', severity: 'MEDIUM', action: 'RETRY' },
    );
  });

  it('a throwing classifier falls back to the built-in policy, logged', () => {
    const { errors, logger } = handler({
      classify: () => {
        throw new Error('classifier bug');
      },
    });
    const record = errors.report(new TaskTimeoutError('slow'), ctx('tasks'));
    expect(record).toMatchObject({ severity: 'MEDIUM', action: 'RETRY' });
    expect(logger.error).toHaveBeenCalledWith(
      { err: expect.objectContaining({ message: 'classifier bug' }) as unknown },
      expect.stringContaining('classifier threw'),
    );
  });

  it('a throwing listener does not throw out of report(); it is logged as an error', () => {
    const { errors, logger } = handler({
      emit: () => {
        throw new Error('listener broke');
      },
    });
    let record: ErrorRecord | undefined;
    expect(() => {
      record = errors.report(new TaskTimeoutError('original'), ctx('x'));
    }).not.toThrow();
    expect(record?.message).toBe('original');
    expect(errors.recent()).toHaveLength(1);
    expect(errors.stats().total).toBe(1);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith(
      { err: expect.objectContaining({ message: 'listener broke' }) as unknown },
      'error listener threw',
    );
  });

  it('a throwing escalate hook is contained too', () => {
    const { errors, logger, emitted } = handler({
      escalate: () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw 'nope';
      },
    });
    expect(() => errors.report(new RestartLimitError('gave up'), ctx('runner'))).not.toThrow();
    expect(emitted).toHaveLength(1);
    expect(logger.error).toHaveBeenCalledWith({ err: 'nope' }, 'escalation failed');
  });

  // Regression (fixed) (src/errors/ErrorHandler.ts, report():
  it('a throwing error listener does not prevent escalation', () => {
    const { errors, escalated } = handler({
      emit: () => {
        throw new Error('listener broke');
      },
    });
    const record = errors.report(new RestartLimitError('gave up'), ctx('runner'));
    expect(escalated).toEqual([record]);
  });
});
