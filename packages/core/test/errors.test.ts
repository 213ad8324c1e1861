import { describe, expect, it } from 'vitest';
import {
  ChannelClosedError,
  createTroupeError,
  DataCloneError,
  ErrorCodes,
  fromErrorData,
  InvalidConfigError,
  isErrorCode,
  isErrorData,
  isTroupeError,
  QueueFullError,
  ListenerFailedError,
  ResourceCloseFailedError,
  ResourceCloseTimeoutError,
  ResourceCycleError,
  RestartLimitError,
  RunnerStartupError,
  RunnerStoppedError,
  ShutdownInProgressError,
  ShutdownTimeoutError,
  TaskAbortedError,
  TaskFailedError,
  TaskTimeoutError,
  ThreadStartupError,
  toErrorData,
  toTroupeError,
  TroupeError,
  troupeErrorData,
  UnhealthyError,
  UnknownError,
  NodeLostError,
  NoNodeError,
  PayloadTooLargeError,
  ClusterUnavailableError,
  UnknownHandlerError,
  WorkerCrashedError,
  WorkerUnresponsiveError,
  type ErrorCode,
  type ErrorData,
  type TroupeErrorOptions,
} from '../src/index.js';

type TroupeErrorClass = new (message: string, options?: TroupeErrorOptions) => TroupeError;

const classByCode: Record<ErrorCode, TroupeErrorClass> = {
  ERR_SHUTDOWN_IN_PROGRESS: ShutdownInProgressError,
  ERR_RUNNER_STOPPED: RunnerStoppedError,
  ERR_RUNNER_STARTUP: RunnerStartupError,
  ERR_WORKER_CRASHED: WorkerCrashedError,
  ERR_WORKER_UNRESPONSIVE: WorkerUnresponsiveError,
  ERR_TASK_TIMEOUT: TaskTimeoutError,
  ERR_TASK_ABORTED: TaskAbortedError,
  ERR_QUEUE_FULL: QueueFullError,
  ERR_CHANNEL_CLOSED: ChannelClosedError,
  ERR_RESOURCE_CYCLE: ResourceCycleError,
  ERR_INVALID_CONFIG: InvalidConfigError,
  ERR_DATA_CLONE: DataCloneError,
  ERR_RESTART_LIMIT: RestartLimitError,
  ERR_TASK_FAILED: TaskFailedError,
  ERR_NODE_LOST: NodeLostError,
  ERR_NO_NODE: NoNodeError,
  ERR_PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  ERR_CLUSTER_UNAVAILABLE: ClusterUnavailableError,
  ERR_UNKNOWN_HANDLER: UnknownHandlerError,
  ERR_RESOURCE_CLOSE_FAILED: ResourceCloseFailedError,
  ERR_RESOURCE_CLOSE_TIMEOUT: ResourceCloseTimeoutError,
  ERR_UNHEALTHY: UnhealthyError,
  ERR_THREAD_STARTUP: ThreadStartupError,
  ERR_LISTENER_FAILED: ListenerFailedError,
  ERR_SHUTDOWN_TIMEOUT: ShutdownTimeoutError,
  ERR_UNKNOWN: UnknownError,
};

const contractCodes = [
  'ERR_SHUTDOWN_IN_PROGRESS',
  'ERR_RUNNER_STOPPED',
  'ERR_RUNNER_STARTUP',
  'ERR_WORKER_CRASHED',
  'ERR_TASK_TIMEOUT',
  'ERR_TASK_ABORTED',
  'ERR_QUEUE_FULL',
  'ERR_CHANNEL_CLOSED',
  'ERR_RESOURCE_CYCLE',
  'ERR_INVALID_CONFIG',
  'ERR_DATA_CLONE',
  'ERR_RESTART_LIMIT',
];

/** Narrows with a real instanceof check (a failed check fails the test). */
function instanceOf<T>(value: unknown, cls: abstract new (...args: never[]) => T): T {
  if (!(value instanceof cls)) throw new Error(`expected an instance of ${cls.name}`);
  return value;
}

/** Structured clone is what a MessagePort does to a message. */
function acrossThreads(error: unknown): Error {
  return fromErrorData(structuredClone(toErrorData(error)));
}

describe('ErrorCodes', () => {
  it('holds the twelve contract codes, all distinct', () => {
    const values = Object.values(ErrorCodes);
    for (const code of contractCodes) expect(values).toContain(code);
    expect(new Set(values).size).toBe(values.length);
    // Adding a code without a class (or to this test) fails here.
    expect(values.slice().sort()).toEqual(Object.keys(classByCode).sort());
  });

  it('isErrorCode accepts exactly the codes', () => {
    for (const code of Object.values(ErrorCodes)) expect(isErrorCode(code)).toBe(true);
    expect(isErrorCode('ERR_NOPE')).toBe(false);
    expect(isErrorCode('err_queue_full')).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });
});

describe('createTroupeError', () => {
  it.each(Object.values(ErrorCodes))('%s builds its own subclass', (code) => {
    const cause = new Error('root cause');
    const error = createTroupeError(code, `failed with ${code}`, {
      cause,
      context: { runnerId: 'r1', taskId: 't9' },
    });
    const cls = classByCode[code];
    expect(error).toBeInstanceOf(cls);
    expect(error).toBeInstanceOf(TroupeError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.name).toBe(cls.name);
    expect(error.message).toBe(`failed with ${code}`);
    expect(error.cause).toBe(cause);
    expect(error.context).toEqual({ runnerId: 'r1', taskId: 't9' });
    expect(isTroupeError(error, code)).toBe(true);
    // No other class claims this error.
    for (const [other, otherCls] of Object.entries(classByCode)) {
      if (other !== code) expect(error).not.toBeInstanceOf(otherCls);
    }
  });

  it('the subclass constructors set their code themselves', () => {
    for (const [code, cls] of Object.entries(classByCode)) {
      expect(new cls('m').code).toBe(code);
    }
  });

  it('freezes a copy of the context and leaves out an undefined cause', () => {
    const context = { runnerId: 'r1' };
    const error = new QueueFullError('full', { context });
    context.runnerId = 'changed';
    expect(error.context).toEqual({ runnerId: 'r1' });
    expect(Object.isFrozen(error.context)).toBe(true);
    expect('cause' in error).toBe(false);
    expect(new QueueFullError('full').context).toEqual({});
  });

  it('toJSON is plain data', () => {
    const error = new TaskTimeoutError('too slow', { context: { taskId: 't1' } });
    expect(error.toJSON()).toEqual({
      name: 'TaskTimeoutError',
      code: 'ERR_TASK_TIMEOUT',
      message: 'too slow',
      context: { taskId: 't1' },
    });
    expect(JSON.parse(JSON.stringify(error))).toEqual(error.toJSON());
  });
});

describe('toErrorData / fromErrorData', () => {
  it('round-trips class, code, message, context, stack and a nested cause chain', () => {
    const fsError = Object.assign(new Error("ENOENT: no such file, open '/models/llama.bin'"), {
      code: 'ENOENT',
    });
    const crash = new WorkerCrashedError('thread 2 exited', {
      cause: fsError,
      context: { runnerId: 'llm-0', threadId: 2 },
    });
    const top = new TaskFailedError('generate failed', {
      cause: crash,
      context: {
        runnerId: 'llm-0',
        taskId: 't-17',
        attempt: 2,
        tags: ['a', 'b'],
        ok: true,
        none: null,
      },
    });

    const rebuilt = acrossThreads(top);
    expect(rebuilt).toBeInstanceOf(TaskFailedError);
    expect(isTroupeError(rebuilt, 'ERR_TASK_FAILED')).toBe(true);
    const rebuiltTop = instanceOf(rebuilt, TaskFailedError);
    expect(rebuiltTop.message).toBe('generate failed');
    expect(rebuiltTop.stack).toBe(top.stack);
    expect(rebuiltTop.context).toEqual({
      runnerId: 'llm-0',
      taskId: 't-17',
      attempt: 2,
      tags: ['a', 'b'],
      ok: true,
      none: null,
    });

    const rebuiltCrash = rebuiltTop.cause;
    expect(rebuiltCrash).toBeInstanceOf(WorkerCrashedError);
    expect(rebuiltCrash).toMatchObject({
      code: 'ERR_WORKER_CRASHED',
      message: 'thread 2 exited',
      context: { runnerId: 'llm-0', threadId: 2 },
      stack: crash.stack,
    });

    const rebuiltFs = instanceOf(rebuiltCrash, WorkerCrashedError).cause;
    expect(rebuiltFs).toBeInstanceOf(Error);
    expect(rebuiltFs).not.toBeInstanceOf(TroupeError);
    expect(rebuiltFs).toMatchObject({
      name: 'Error',
      code: 'ENOENT',
      message: "ENOENT: no such file, open '/models/llama.bin'",
      stack: fsError.stack,
    });
    expect(instanceOf(rebuiltFs, Error).cause).toBeUndefined();
  });

  it('describes the error as tagged plain data', () => {
    const error = new RunnerStartupError('bad module', {
      cause: new TypeError('x is not a function'),
      context: { workerPath: '/w.js' },
    });
    const data = toErrorData(error);
    expect(data).toEqual({
      _tag: 'TroupeError',
      name: 'RunnerStartupError',
      code: 'ERR_RUNNER_STARTUP',
      message: 'bad module',
      stack: error.stack,
      context: { workerPath: '/w.js' },
      cause: {
        _tag: 'Error',
        name: 'TypeError',
        message: 'x is not a function',
        stack: instanceOf(error.cause, Error).stack,
      },
    });
    expect(isErrorData(data)).toBe(true);
  });

  it('keeps the name of a built-in error class (as a plain Error with that name)', () => {
    const rebuilt = acrossThreads(new RangeError('out of range'));
    expect(rebuilt.name).toBe('RangeError');
    expect(rebuilt.message).toBe('out of range');
    expect(rebuilt).not.toHaveProperty('code');
  });

  it('turns context values that are not plain into strings and drops undefined ones', () => {
    const fn = () => 1;
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const error = new InvalidConfigError('bad option', {
      context: {
        component: 'runner',
        big: 10n,
        sym: Symbol('tag'),
        fn,
        nested: { a: 1 },
        mixed: [1, { b: 2 }],
        cyclic,
        missing: undefined,
      },
    });
    const data = structuredClone(toErrorData(error));
    expect(data.context).toEqual({
      component: 'runner',
      // Primitives and functions are spelled with String(), objects with JSON.
      big: '10',
      sym: 'Symbol(tag)',
      fn: String(fn),
      nested: '{"a":1}',
      mixed: '[1,{"b":2}]',
      // JSON cannot spell a cycle: Object.prototype.toString.
      cyclic: '[object Object]',
    });
  });

  it('describes values that are not Errors', () => {
    expect(toErrorData('boom')).toEqual({ _tag: 'Thrown', name: 'string', message: 'boom' });
    expect(toErrorData(42)).toEqual({ _tag: 'Thrown', name: 'number', message: '42' });
    expect(toErrorData({ reason: 'x' })).toEqual({
      _tag: 'Thrown',
      name: 'object',
      message: '{"reason":"x"}',
    });
    expect(toErrorData(null)).toEqual({ _tag: 'Thrown', name: 'object', message: 'null' });
    // Other primitives and functions are spelled with String() and keep their type as name.
    const fn = () => 1;
    expect(toErrorData(undefined)).toEqual({
      _tag: 'Thrown',
      name: 'undefined',
      message: 'undefined',
    });
    expect(toErrorData(10n)).toEqual({ _tag: 'Thrown', name: 'bigint', message: '10' });
    expect(toErrorData(10n).message).toBe('10');
    expect(toErrorData(-0.5).message).toBe('-0.5');
    expect(toErrorData(Number.NaN).message).toBe('NaN');
    expect(toErrorData(true)).toEqual({ _tag: 'Thrown', name: 'boolean', message: 'true' });
    expect(toErrorData(Symbol('s'))).toEqual({
      _tag: 'Thrown',
      name: 'symbol',
      message: 'Symbol(s)',
    });
    expect(toErrorData(fn)).toEqual({ _tag: 'Thrown', name: 'function', message: String(fn) });
    expect(toErrorData(fn).message).toContain('=> 1');
    // Objects JSON cannot spell fall back to Object.prototype.toString.
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(toErrorData(circular)).toEqual({
      _tag: 'Thrown',
      name: 'object',
      message: '[object Object]',
    });
    const cyclicArray: unknown[] = [];
    cyclicArray.push(cyclicArray);
    expect(toErrorData(cyclicArray).message).toBe('[object Array]');

    const rebuilt = acrossThreads('boom');
    expect(rebuilt).toBeInstanceOf(Error);
    expect(rebuilt.message).toBe('boom');
    expect(rebuilt.name).toBe('string');
  });

  it('keeps a thrown non-Error value as the end of a cause chain', () => {
    const error = new TaskFailedError('handler threw', { cause: { status: 503 } });
    const rebuilt = instanceOf(acrossThreads(error), TaskFailedError);
    expect(instanceOf(rebuilt.cause, Error).message).toBe('{"status":503}');
    expect(toErrorData(error).cause).toEqual({
      _tag: 'Thrown',
      name: 'object',
      message: '{"status":503}',
    });
  });

  it('passes ErrorData through unchanged and ignores a non-string code', () => {
    const data: ErrorData = { _tag: 'Error', name: 'Error', message: 'already data' };
    expect(toErrorData(data)).toBe(data);
    const withNumberCode = Object.assign(new Error('errno'), { code: 13 });
    expect(toErrorData(withNumberCode)).not.toHaveProperty('code');
  });

  it('stops a cause chain after eight levels', () => {
    let error = new Error('level 0');
    for (let i = 1; i <= 12; i++) error = new Error(`level ${i}`, { cause: error });
    let depth = 0;
    let data: ErrorData | undefined = toErrorData(error);
    while (data !== undefined) {
      depth += 1;
      data = data.cause;
    }
    expect(depth).toBe(9);
  });

  it('rebuilds TroupeError data with an unknown code as a plain Error keeping name and code', () => {
    const rebuilt = fromErrorData({
      _tag: 'TroupeError',
      name: 'FutureError',
      code: 'ERR_FROM_THE_FUTURE',
      message: 'newer peer',
    });
    expect(rebuilt).not.toBeInstanceOf(TroupeError);
    expect(rebuilt).toMatchObject({
      name: 'FutureError',
      code: 'ERR_FROM_THE_FUTURE',
      message: 'newer peer',
    });
  });

  it('rebuilds a base TroupeError as the subclass that owns its code', () => {
    const rebuilt = acrossThreads(new TroupeError('ERR_QUEUE_FULL', 'full'));
    expect(rebuilt).toBeInstanceOf(QueueFullError);
    expect(rebuilt.name).toBe('QueueFullError');
  });

  it('isErrorData checks the tag, name and message', () => {
    expect(isErrorData({ _tag: 'Thrown', name: 'string', message: 'x' })).toBe(true);
    expect(isErrorData({ _tag: 'Other', name: 'x', message: 'x' })).toBe(false);
    expect(isErrorData({ _tag: 'Error', name: 'x' })).toBe(false);
    expect(isErrorData({ _tag: 'Error', message: 'x' })).toBe(false);
    expect(isErrorData(new Error('x'))).toBe(false);
    expect(isErrorData(null)).toBe(false);
    expect(isErrorData('x')).toBe(false);
  });
});

describe('troupeErrorData', () => {
  it('builds the error through the class of its code and returns it as data without a stack', () => {
    for (const code of Object.values(ErrorCodes)) {
      const data = troupeErrorData(code, `failed with ${code}`, { context: { runnerId: 'r1' } });
      expect(data, code).toEqual({
        _tag: 'TroupeError',
        name: classByCode[code].name,
        code,
        message: `failed with ${code}`,
        context: { runnerId: 'r1' },
      });
      expect(data, code).not.toHaveProperty('stack');
      expect(fromErrorData(data), code).toBeInstanceOf(classByCode[code]);
    }
  });

  it('keeps the cause, as data with its own stack, and leaves out what was not given', () => {
    const cause = new Error('setup() threw');
    const data = troupeErrorData('ERR_THREAD_STARTUP', 'a thread of runner "r1" failed to start', {
      cause,
    });
    expect(data).toEqual({
      _tag: 'TroupeError',
      name: 'ThreadStartupError',
      code: 'ERR_THREAD_STARTUP',
      message: 'a thread of runner "r1" failed to start',
      context: {},
      cause: { _tag: 'Error', name: 'Error', message: 'setup() threw', stack: cause.stack },
    });
    // A cause that is already data is kept as it is.
    const causeData = toErrorData(cause);
    expect(troupeErrorData('ERR_RESTART_LIMIT', 'limit', { cause: causeData }).cause).toBe(
      causeData,
    );
    expect(troupeErrorData('ERR_UNKNOWN', 'bare')).toEqual({
      _tag: 'TroupeError',
      name: 'UnknownError',
      code: 'ERR_UNKNOWN',
      message: 'bare',
      context: {},
    });
    expect(structuredClone(data)).toEqual(data);
  });
});

describe('toTroupeError', () => {
  it('returns a TroupeError itself, whatever code is asked for', () => {
    const error = new QueueFullError('full');
    expect(toTroupeError(error, 'ERR_TASK_FAILED', 'other message')).toBe(error);
  });

  it('rebuilds TroupeError data into its subclass', () => {
    const data = structuredClone(
      toErrorData(new TaskAbortedError('cancelled', { context: { taskId: 't1' } })),
    );
    const error = toTroupeError(data, 'ERR_UNKNOWN');
    expect(error).toBeInstanceOf(TaskAbortedError);
    expect(error.code).toBe('ERR_TASK_ABORTED');
    expect(error.context).toEqual({ taskId: 't1' });
  });

  it('wraps data of a plain Error in the given code, keeping the rebuilt error as cause', () => {
    const original = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    const data = structuredClone(toErrorData(original));
    const error = toTroupeError(data, 'ERR_TASK_FAILED', undefined, { taskId: 't2' });
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error.message).toBe('disk full');
    expect(error.context).toEqual({ taskId: 't2' });
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.cause).toMatchObject({
      message: 'disk full',
      code: 'ENOSPC',
      stack: original.stack,
    });
  });

  it('wraps another Error in the given code with message and context, keeping it as cause', () => {
    const cause = new Error('Terminating worker thread');
    const error = toTroupeError(cause, 'ERR_WORKER_CRASHED', 'thread died', { runnerId: 'r1' });
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(error.message).toBe('thread died');
    expect(error.context).toEqual({ runnerId: 'r1' });
    expect(error.cause).toBe(cause);

    const defaultMessage = toTroupeError(cause, 'ERR_TASK_ABORTED');
    expect(defaultMessage).toBeInstanceOf(TaskAbortedError);
    expect(defaultMessage.message).toBe('Terminating worker thread');
    expect(defaultMessage.context).toEqual({});
  });

  it('wraps a thrown non-Error as ERR_UNKNOWN by default', () => {
    const error = toTroupeError('just a string');
    expect(error).toBeInstanceOf(UnknownError);
    expect(error.code).toBe('ERR_UNKNOWN');
    expect(error.message).toBe('just a string');
    expect(error.cause).toBe('just a string');

    const thrown = { status: 500 };
    const fromObject = toTroupeError(thrown);
    expect(fromObject.message).toBe('{"status":500}');
    expect(fromObject.cause).toBe(thrown);

    const fromBigint = toTroupeError(10n);
    expect(fromBigint.message).toBe('10');
    expect(fromBigint.cause).toBe(10n);
    expect(toTroupeError(Symbol('gone')).message).toBe('Symbol(gone)');
    expect(toTroupeError(undefined).message).toBe('undefined');
  });
});

describe('isTroupeError', () => {
  it('tells Troupe errors from others, optionally by code', () => {
    const error = new ChannelClosedError('closed');
    expect(isTroupeError(error)).toBe(true);
    expect(isTroupeError(error, 'ERR_CHANNEL_CLOSED')).toBe(true);
    expect(isTroupeError(error, 'ERR_QUEUE_FULL')).toBe(false);
    expect(isTroupeError(new TroupeError('ERR_DATA_CLONE', 'x'), 'ERR_DATA_CLONE')).toBe(true);
    expect(isTroupeError(Object.assign(new Error('x'), { code: 'ERR_CHANNEL_CLOSED' }))).toBe(
      false,
    );
    expect(isTroupeError(toErrorData(error))).toBe(false);
    expect(isTroupeError(undefined)).toBe(false);
  });
});

describe('toErrorData across copies of the package', () => {
  it('keeps the class of a TroupeError made by another copy (a worker bundle)', () => {
    // Not an instance of this copy's TroupeError: same code and context shape.
    const foreign = Object.assign(new Error('queue is full'), {
      code: 'ERR_QUEUE_FULL',
      context: { runnerId: 'r1' },
    });
    expect(foreign instanceof TroupeError).toBe(false);
    const data = toErrorData(foreign);
    expect(data).toMatchObject({
      _tag: 'TroupeError',
      code: 'ERR_QUEUE_FULL',
      context: { runnerId: 'r1' },
    });
    const rebuilt = fromErrorData(structuredClone(data));
    expect(rebuilt).toBeInstanceOf(QueueFullError);
    // A plain error with a Node code stays a plain error.
    const plain = Object.assign(new Error('nope'), { code: 'ENOENT' });
    expect(toErrorData(plain)._tag).toBe('Error');
  });
});
