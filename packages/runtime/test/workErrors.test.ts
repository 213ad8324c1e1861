// classifyWorkError / mapWorkError / mapHandlerFailure
// against the errors piscina 5.3.2 really rejects with (see FIELD-NOTES.md),
// built from piscina's own classes where it has them.
import { MessageChannel } from 'node:worker_threads';
import {
  DataCloneError,
  QueueFullError,
  RestartLimitError,
  TaskAbortedError,
  TaskFailedError,
  TaskTimeoutError,
  UnknownHandlerError,
  WorkerCrashedError,
  toErrorData,
  troupeErrorData,
  type ErrorData,
  type TroupeError,
} from '@troupe/core';
import { describe, expect, it } from 'vitest';
import {
  classifyWorkError,
  mapHandlerFailure,
  mapWorkError,
  type TeardownCause,
  type WorkErrorFacts,
  type WorkErrorKind,
} from '../src/task/workErrors.js';
import { PiscinaAbortError, PiscinaErrors } from './piscinaInternals.js';

function cloneError(): unknown {
  try {
    structuredClone(() => 1);
  } catch (error) {
    return error;
  }
  throw new Error('structuredClone of a function did not throw');
}

function missingTransferError(): unknown {
  const { port1, port2 } = new MessageChannel();
  const other = new MessageChannel();
  try {
    port1.postMessage({ port: other.port1 });
  } catch (error) {
    return error;
  } finally {
    port1.close();
    port2.close();
    other.port1.close();
    other.port2.close();
  }
  throw new Error('posting a port without transferList did not throw');
}

describe('classifyWorkError', () => {
  it('sees the real shapes it relies on', () => {
    const abort = new PiscinaAbortError('pool is closed');
    expect(abort.name).toBe('AbortError');
    expect(abort.message).toBe('The task has been aborted');
    expect(PiscinaErrors.ThreadTermination().message).toBe('Terminating worker thread');
    const clone = cloneError();
    expect(clone).toBeInstanceOf(DOMException);
    expect((clone as DOMException).name).toBe('DataCloneError');
    expect(missingTransferError()).toMatchObject({
      name: 'TypeError',
      code: 'ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST',
    });
  });

  const cases: [string, unknown, WorkErrorKind][] = [
    ['process.exit(7) in the worker', new Error('worker exited with code: 7'), 'crash'],
    ['terminate() of a running thread', new Error('worker exited with code: 1'), 'crash'],
    ['a negative exit code', new Error('worker exited with code: -1'), 'crash'],
    ['heap limit, as a bare shape', { code: 'ERR_WORKER_OUT_OF_MEMORY' }, 'crash'],
    [
      'heap limit, as Node emits it',
      Object.assign(
        new Error('Worker terminated due to reaching memory limit: JS heap out of memory'),
        {
          code: 'ERR_WORKER_OUT_OF_MEMORY',
        },
      ),
      'crash',
    ],
    ["destroy(): piscina's ThreadTermination", PiscinaErrors.ThreadTermination(), 'terminated'],
    ['destroy(): the same message', new Error('Terminating worker thread'), 'terminated'],
    ["piscina's AbortError (our hook fired)", new PiscinaAbortError('deadline'), 'aborted'],
    ["piscina's AbortError without a reason", new PiscinaAbortError(), 'aborted'],
    ['a DataCloneError DOMException', cloneError(), 'clone'],
    ['a port missing from transferList', missingTransferError(), 'clone'],
    [
      "a user's AbortError with another message",
      Object.assign(new Error('stopped by user'), { name: 'AbortError' }),
      'handler',
    ],
    ['a DOM AbortError (AbortSignal.abort())', AbortSignal.abort().reason, 'handler'],
    ['a handler TypeError', new TypeError('x is not a function'), 'handler'],
    ['an exit message with extra text', new Error('worker exited with code: 7 (x)'), 'handler'],
    ['an exit message embedded in another', new Error('the worker exited with code: 7'), 'handler'],
    ['a different termination message', new Error('terminating worker thread'), 'handler'],
    ['an unregistered plain object', {}, 'handler'],
    ['an exit message as a string', 'worker exited with code: 7', 'handler'],
    ['null', null, 'handler'],
    ['undefined', undefined, 'handler'],
    ['a number', 7, 'handler'],
    ['a symbol', Symbol('x'), 'handler'],
  ];

  it.each(cases)('%s → %s', (_label, error, kind) => {
    expect(classifyWorkError(error, false)).toBe(kind);
  });

  it("an error the pool saw as its thread's 'error' event is a crash whatever it says, or clone if it's a DataCloneError", () => {
    const thrown = new Error('boom');
    const looksAborted = new PiscinaAbortError('x');
    const looksTerminated = PiscinaErrors.ThreadTermination();
    const opaque = {};
    const cloneData = { name: 'DataCloneError', message: 'could not be cloned' };
    expect(classifyWorkError(thrown, true)).toBe('crash');
    expect(classifyWorkError(looksAborted, true)).toBe('crash');
    expect(classifyWorkError(looksTerminated, true)).toBe('crash');
    expect(classifyWorkError(opaque, true)).toBe('crash');
    expect(classifyWorkError(cloneData, true)).toBe('clone');
    expect(classifyWorkError(cloneError(), true)).toBe('clone');
    // the same objects, not from a thread
    expect(classifyWorkError(thrown, false)).toBe('handler');
    expect(classifyWorkError(opaque, false)).toBe('handler');
    // a primitive never came from a thread's 'error' event
    expect(classifyWorkError('worker exited with code: 1', true)).toBe('handler');
  });
});

const CONTEXT = { runnerId: 'r1', taskId: 'r1#7', handler: 'gen', operation: 'run' };

function facts(over: Partial<WorkErrorFacts> = {}): WorkErrorFacts {
  return {
    runnerId: 'r1',
    taskId: 'r1#7',
    handler: 'gen',
    fromThread: false,
    note: null,
    teardown: null,
    failure: null,
    ...over,
  };
}

function expectError(
  error: TroupeError,
  ctor: abstract new (...args: never[]) => TroupeError,
  message: string,
  context: Record<string, unknown> = CONTEXT,
): void {
  expect(error).toBeInstanceOf(ctor);
  expect(error.message).toBe(message);
  expect(error.context).toEqual(context);
}

describe('mapWorkError', () => {
  const exit7 = new Error('worker exited with code: 7');

  it("a crash note (the thread's own account) wins: ERR_WORKER_CRASHED caused by it", () => {
    const note = toErrorData(new RangeError('stack blew'));
    const error = mapWorkError({}, facts({ fromThread: true, note }));
    expectError(error, WorkerCrashedError, 'the thread running task r1#7 crashed: stack blew');
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as Error).name).toBe('RangeError');
  });

  it('a crash note that is a DataCloneError: the result could not be cloned, ERR_DATA_CLONE', () => {
    const note: ErrorData = {
      _tag: 'Error',
      name: 'DataCloneError',
      message: '() => 1 could not be cloned.',
    };
    const error = mapWorkError(exit7, facts({ note, teardown: 'restart' }));
    expectError(
      error,
      DataCloneError,
      'task r1#7: its result could not be cloned (() => 1 could not be cloned.); the thread was replaced',
    );
    expect((error.cause as Error).name).toBe('DataCloneError');
  });

  it('at the drain deadline a note does not count: the task was aborted, ERR_TASK_ABORTED', () => {
    const note = toErrorData(new Error('killed'));
    const error = mapWorkError(
      new Error('worker exited with code: 1'),
      facts({ note, teardown: 'drainDeadline' }),
    );
    expectError(
      error,
      TaskAbortedError,
      'task r1#7 was aborted: its thread was terminated at the shutdown deadline',
    );
  });

  it.each<[string, unknown, boolean]>([
    ['a crash', exit7, false],
    ['a termination', PiscinaErrors.ThreadTermination(), false],
    ["the pool's abort", new PiscinaAbortError('deadline'), false],
    ["a thread's error event", new Error('boom'), true],
  ])('at the drain deadline %s is ERR_TASK_ABORTED', (_label, thrown, fromThread) => {
    const error = mapWorkError(thrown, facts({ fromThread, teardown: 'drainDeadline' }));
    expectError(
      error,
      TaskAbortedError,
      'task r1#7 was aborted: its thread was terminated at the shutdown deadline',
    );
    expect(error.cause).toBe(thrown);
  });

  it('at the drain deadline a clone error and a handler error keep their own meaning', () => {
    const clone = mapWorkError(cloneError(), facts({ teardown: 'drainDeadline' }));
    expect(clone).toBeInstanceOf(DataCloneError);
    const handler = mapWorkError(new TypeError('bad input'), facts({ teardown: 'drainDeadline' }));
    expect(handler).toBeInstanceOf(TaskFailedError);
  });

  it('a crash: ERR_WORKER_CRASHED with the exit as cause', () => {
    const error = mapWorkError(exit7, facts());
    expectError(
      error,
      WorkerCrashedError,
      'the thread running task r1#7 crashed: worker exited with code: 7',
    );
    expect(error.cause).toBe(exit7);
    const oom = Object.assign(new Error('Worker terminated due to reaching memory limit'), {
      code: 'ERR_WORKER_OUT_OF_MEMORY',
    });
    expect(mapWorkError(oom, facts()).message).toBe(
      'the thread running task r1#7 crashed: Worker terminated due to reaching memory limit',
    );
    // an opaque {} from a thread, without a note
    expect(mapWorkError({}, facts({ fromThread: true })).message).toBe(
      'the thread running task r1#7 crashed: {}',
    );
  });

  it('terminated by a restart: lost, ERR_WORKER_CRASHED with restart: true', () => {
    const terminated = PiscinaErrors.ThreadTermination();
    const error = mapWorkError(terminated, facts({ teardown: 'restart' }));
    expectError(
      error,
      WorkerCrashedError,
      'task r1#7 was lost: runner "r1" restarted its pool while it ran',
      { ...CONTEXT, restart: true },
    );
    expect(error.cause).toBe(terminated);
  });

  it('terminated by a close: ERR_TASK_ABORTED', () => {
    for (const teardown of ['close', null] as TeardownCause[]) {
      const error = mapWorkError(PiscinaErrors.ThreadTermination(), facts({ teardown }));
      expectError(error, TaskAbortedError, 'task r1#7 was aborted: runner "r1" closed its threads');
    }
  });

  it("terminated because the runner failed: the runner's failure (ERR_RESTART_LIMIT)", () => {
    const failure = troupeErrorData(
      'ERR_RESTART_LIMIT',
      'runner "r1" exceeded 3 restarts within 10000 ms',
      {
        context: { runnerId: 'r1' },
      },
    );
    const error = mapWorkError(
      PiscinaErrors.ThreadTermination(),
      facts({ failure, teardown: 'close' }),
    );
    expect(error).toBeInstanceOf(RestartLimitError);
    expect(error.message).toBe('runner "r1" exceeded 3 restarts within 10000 ms');
    // a failure that is not a TroupeError is wrapped as ERR_RESTART_LIMIT
    const plain = mapWorkError(
      PiscinaErrors.ThreadTermination(),
      facts({ failure: { _tag: 'Error', name: 'Error', message: 'gone' } }),
    );
    expect(plain).toBeInstanceOf(RestartLimitError);
    expect(plain.context).toEqual(CONTEXT);
  });

  it("piscina's abort (our hook fired): ERR_TASK_ABORTED", () => {
    const abort = new PiscinaAbortError('timeout');
    const error = mapWorkError(abort, facts());
    expectError(error, TaskAbortedError, 'task r1#7 was aborted');
    expect(error.cause).toBe(abort);
  });

  it('a clone error: ERR_DATA_CLONE', () => {
    const clone = cloneError();
    const error = mapWorkError(clone, facts());
    expect(error).toBeInstanceOf(DataCloneError);
    expect(error.message).toMatch(/^task r1#7: payload or result could not be cloned: /);
    expect(error.context).toEqual(CONTEXT);
    expect(error.cause).toBe(clone);
    expect(mapWorkError(missingTransferError(), facts())).toBeInstanceOf(DataCloneError);
  });

  it('a handler error: ERR_TASK_FAILED naming the handler; a TroupeError passes through', () => {
    const thrown = new TypeError('x is not a function');
    const error = mapWorkError(thrown, facts());
    expectError(error, TaskFailedError, 'task r1#7 failed in "gen": x is not a function');
    expect(error.cause).toBe(thrown);
    expect(mapWorkError('a string', facts()).message).toBe('task r1#7 failed in "gen": a string');
    const own = new QueueFullError('downstream full');
    expect(mapWorkError(own, facts())).toBe(own);
  });
});

describe('mapHandlerFailure', () => {
  const base = { runnerId: 'r1', taskId: 'r1#7', handler: 'gen', teardown: null };

  it('a handler that threw: ERR_TASK_FAILED with the rebuilt error as cause', () => {
    const error = mapHandlerFailure(toErrorData(new RangeError('too big')), base);
    expectError(error, TaskFailedError, 'task r1#7 failed in "gen": too big');
    expect((error.cause as Error).name).toBe('RangeError');
  });

  it.each<[string, TroupeError]>([
    ['ERR_TASK_ABORTED', new TaskAbortedError('aborted by ctx.signal')],
    ['ERR_TASK_TIMEOUT', new TaskTimeoutError('timed out inside')],
    ['ERR_UNKNOWN_HANDLER', new UnknownHandlerError('handler "x" is not defined')],
    ['ERR_DATA_CLONE', new DataCloneError('event #0 could not be cloned')],
  ])('%s passes through with its class, even at the drain deadline', (code, thrown) => {
    for (const teardown of [null, 'drainDeadline'] as const) {
      const error = mapHandlerFailure(toErrorData(thrown), { ...base, teardown });
      expect(error.code).toBe(code);
      expect(error).toBeInstanceOf(thrown.constructor);
      expect(error.message).toBe(thrown.message);
    }
  });

  it('another TroupeError thrown by the handler is ERR_TASK_FAILED caused by it', () => {
    const error = mapHandlerFailure(toErrorData(new QueueFullError('downstream full')), base);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error.cause).toBeInstanceOf(QueueFullError);
  });

  it('at the drain deadline: ERR_TASK_ABORTED caused by what the handler threw', () => {
    const error = mapHandlerFailure(toErrorData(new Error('cut short')), {
      ...base,
      teardown: 'drainDeadline',
    });
    expectError(error, TaskAbortedError, 'task r1#7 was aborted at the drain deadline');
    expect((error.cause as Error).message).toBe('cut short');
  });
});
