// checkRunOptions: every option of run() checked before the task is
// accepted, each mistake named by its field; an unknown key (a typo) is a
// mistake too (bug 18: `{ timeout: 5 }` was silently ignored); a transfer
// list that cannot work is ERR_DATA_CLONE at once (bug 26: a
// SharedArrayBuffer or a detached ArrayBuffer reached piscina).
import { MessageChannel } from 'node:worker_threads';
import { DataCloneError, InvalidConfigError, type TroupeError } from '@troupe/core';
import { describe, expect, it } from 'vitest';
import { checkRunOptions } from '../src/task/checkRunOptions.js';

function refusal(options: unknown): TroupeError {
  const error = checkRunOptions('r1', options);
  if (error === null) throw new Error(`expected ${String(options)} to be refused`);
  return error;
}

function detached(): ArrayBuffer {
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
  return buffer;
}

describe('checkRunOptions accepts', () => {
  it('no options at all, and every option with a good value', () => {
    const { port1, port2 } = new MessageChannel();
    try {
      expect(checkRunOptions('r1', {})).toBeNull();
      expect(
        checkRunOptions('r1', {
          handler: 'generate',
          signal: new AbortController().signal,
          transfer: [new ArrayBuffer(4), port1, new ArrayBuffer(0)],
          timeoutMs: 1.5,
          onEvent: () => {},
          retries: 0,
          idempotent: true,
          retryBackoff: { baseMs: 10, capMs: 10 },
        }),
      ).toBeNull();
      expect(checkRunOptions('r1', { retries: 3, idempotent: true })).toBeNull();
      expect(checkRunOptions('r1', { idempotent: false })).toBeNull();
      // undefined values are as good as absent
      expect(checkRunOptions('r1', { handler: undefined, timeoutMs: undefined })).toBeNull();
    } finally {
      port1.close();
      port2.close();
    }
  });
});

describe('checkRunOptions refuses', () => {
  it.each<[string, unknown]>([
    ['null', null],
    ['a number', 5],
    ['a string', 'fast'],
    ['an array', []],
  ])('options that are not an object: %s', (_label, options) => {
    const error = refusal(options);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toMatch(/^invalid "run options": expected an object; got /);
    expect(error.context).toEqual({ runnerId: 'r1', field: 'options', operation: 'admit' });
  });

  it('an unknown key, by name, listing the options there are (bug 18)', () => {
    const error = refusal({ timeout: 5_000 });
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toBe(
      'invalid "run options": unknown option "timeout" (options are: handler, signal, transfer, timeoutMs, onEvent, retries, idempotent, retryBackoff)',
    );
    expect(error.context).toEqual({ runnerId: 'r1', field: 'timeout', operation: 'admit' });
    // among good ones too
    expect(refusal({ handler: 'x', transferList: [] }).context.field).toBe('transferList');
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['handler: empty', { handler: '' }, 'handler', /expected a non-empty string; got ""$/],
    ['handler: a number', { handler: 3 }, 'handler', /expected a non-empty string; got 3$/],
    ['timeoutMs: 0', { timeoutMs: 0 }, 'timeoutMs', /expected a positive number of ms; got 0$/],
    ['timeoutMs: negative', { timeoutMs: -1 }, 'timeoutMs', /got -1$/],
    ['timeoutMs: Infinity', { timeoutMs: Infinity }, 'timeoutMs', /got Infinity$/],
    ['timeoutMs: NaN', { timeoutMs: Number.NaN }, 'timeoutMs', /got NaN$/],
    ['timeoutMs: a string', { timeoutMs: '100' }, 'timeoutMs', /got "100"$/],
    ['signal: not an AbortSignal', { signal: { aborted: false } }, 'signal', /an AbortSignal/],
    ['onEvent: not a function', { onEvent: 'log' }, 'onEvent', /expected a function; got "log"$/],
    ['transfer: not an array', { transfer: new ArrayBuffer(1) }, 'transfer', /an array/],
    ['retries: negative', { retries: -1, idempotent: true }, 'retries', /a whole number >= 0/],
    ['retries: fractional', { retries: 1.5, idempotent: true }, 'retries', /got 1.5$/],
    ['retries: a string', { retries: '2', idempotent: true }, 'retries', /got "2"$/],
    ['idempotent: not a boolean', { idempotent: 'yes' }, 'idempotent', /expected a boolean/],
    ['retryBackoff: null', { retryBackoff: null }, 'retryBackoff', /got null$/],
    [
      'retryBackoff: baseMs 0',
      { retryBackoff: { baseMs: 0, capMs: 5 } },
      'retryBackoff',
      /0 < baseMs/,
    ],
    [
      'retryBackoff: baseMs > capMs',
      { retryBackoff: { baseMs: 50, capMs: 5 } },
      'retryBackoff',
      /got \{"baseMs":50,"capMs":5\}$/,
    ],
    ['retryBackoff: no capMs', { retryBackoff: { baseMs: 5 } }, 'retryBackoff', /capMs/],
  ])('%s', (_label, options, field, message) => {
    const error = refusal(options);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message.startsWith(`invalid "run options.${field}": expected `)).toBe(true);
    expect(error.message).toMatch(message);
    expect(error.context).toEqual({ runnerId: 'r1', field, operation: 'admit' });
  });

  it('retries without idempotent: true, naming idempotent', () => {
    for (const options of [{ retries: 2 }, { retries: 2, idempotent: false }, { retries: 0 }]) {
      const error = refusal(options);
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect(error.message).toBe(
        'invalid "run options.retries": retries need `idempotent: true` (a retried task may run more than once)',
      );
      expect(error.context).toEqual({ runnerId: 'r1', field: 'idempotent', operation: 'admit' });
    }
  });

  it('a SharedArrayBuffer in transfer: ERR_DATA_CLONE naming its index (bug 26)', () => {
    const error = refusal({ transfer: [new ArrayBuffer(1), new SharedArrayBuffer(8)] });
    expect(error).toBeInstanceOf(DataCloneError);
    expect(error.code).toBe('ERR_DATA_CLONE');
    expect(error.message).toBe(
      'run options.transfer[1] is a SharedArrayBuffer: it is shared, not transferred (pass it in the payload)',
    );
    expect(error.context).toEqual({ runnerId: 'r1', field: 'transfer[1]', operation: 'admit' });
  });

  it('a detached ArrayBuffer in transfer: ERR_DATA_CLONE naming its index (bug 26)', () => {
    const buffer = detached();
    expect(buffer.byteLength).toBe(0);
    const error = refusal({ transfer: [buffer] });
    expect(error).toBeInstanceOf(DataCloneError);
    expect(error.message).toBe(
      'run options.transfer[0] is an ArrayBuffer that was already transferred (detached)',
    );
    expect(error.context).toEqual({ runnerId: 'r1', field: 'transfer[0]', operation: 'admit' });
  });

  it('why at admission: on the wire one throws a TypeError and the other silently loses the data', async () => {
    const { port1, port2 } = new MessageChannel();
    try {
      const shared = new SharedArrayBuffer(8);
      expect(() => {
        port1.postMessage(shared, [shared as unknown as ArrayBuffer]);
      }).toThrow(expect.objectContaining({ name: 'TypeError' }) as Error);
      // Node 20 posts a detached buffer without complaint: the task would get 0 bytes.
      const received = new Promise<unknown>((resolve) => port2.once('message', resolve));
      const gone = detached();
      port1.postMessage({ gone }, [gone]);
      expect(await received).toEqual({ gone: new ArrayBuffer(0) });
    } finally {
      port1.close();
      port2.close();
    }
  });

  it('the first mistake is the one named, in the order of the checks', () => {
    expect(refusal({ typo: 1, handler: '' }).context.field).toBe('typo');
    expect(refusal({ handler: '', timeoutMs: 0 }).context.field).toBe('handler');
    expect(refusal({ timeoutMs: 0, transfer: [new SharedArrayBuffer(1)] }).context.field).toBe(
      'timeoutMs',
    );
  });
});
