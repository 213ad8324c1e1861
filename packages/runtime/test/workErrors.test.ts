// classifyWorkError / isOpaqueCrash against the errors piscina 5.3.2
// really rejects with (see FIELD-NOTES.md), built from piscina's own
// classes where it has them.
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { classifyWorkError, isOpaqueCrash, type WorkErrorKind } from '../src/runner/workErrors.js';
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

const none = new WeakSet<object>();

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
    expect(classifyWorkError(error, none)).toBe(kind);
  });

  it("an object in crashErrors is a crash whatever it says, or clone if it's a DataCloneError", () => {
    const crashErrors = new WeakSet<object>();
    const thrown = new Error('boom');
    const looksAborted = new PiscinaAbortError('x');
    const opaque = {};
    const cloneData = { name: 'DataCloneError', message: 'could not be cloned' };
    for (const e of [thrown, looksAborted, opaque, cloneData]) crashErrors.add(e);
    expect(classifyWorkError(thrown, crashErrors)).toBe('crash');
    expect(classifyWorkError(looksAborted, crashErrors)).toBe('crash');
    expect(classifyWorkError(opaque, crashErrors)).toBe('crash');
    expect(classifyWorkError(cloneData, crashErrors)).toBe('clone');
    // membership is by identity: an equal-looking object is not a crash
    expect(classifyWorkError(new Error('boom'), crashErrors)).toBe('handler');
    expect(classifyWorkError({}, crashErrors)).toBe('handler');
  });
});

describe('isOpaqueCrash', () => {
  it('is true only for a non-Error object registered as a crash', () => {
    const crashErrors = new WeakSet<object>();
    const opaque = {};
    const real = new Error('worker threw');
    const domException = cloneError() as object;
    crashErrors.add(opaque);
    crashErrors.add(real);
    crashErrors.add(domException);
    expect(isOpaqueCrash(opaque, crashErrors)).toBe(true);
    expect(isOpaqueCrash(real, crashErrors)).toBe(false);
    expect(isOpaqueCrash(domException, crashErrors)).toBe(false);
    expect(isOpaqueCrash({}, crashErrors)).toBe(false);
    expect(isOpaqueCrash(opaque, new WeakSet())).toBe(false);
    expect(isOpaqueCrash(null, crashErrors)).toBe(false);
    expect(isOpaqueCrash('worker exited with code: 1', crashErrors)).toBe(false);
  });
});
