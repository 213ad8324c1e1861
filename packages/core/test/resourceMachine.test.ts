/*
 * resourceMachine: 6 states, 6 transitions. The close deadline runs on a
 * SimulatedClock; `closeResource` is a promise the test settles.
 *
 * | state      | reached in      |
 * | ---------- | --------------- |
 * | registered | S01 (initial)   |
 * | open       | S01             |
 * | closing    | S01, S02        |
 * | closed     | S01, S02        |
 * | failed     | S03, S04        |
 * | forced     | S05             |
 *
 * | source     | transition                             | test(s)  |
 * | ---------- | -------------------------------------- | -------- |
 * | registered | open -> open                           | S01      |
 * | registered | close -> closing                       | S02      |
 * | open       | close -> closing                       | S01, S06 |
 * | closing    | onDone -> closed (outcome closed)      | S01, S02 |
 * | closing    | onError -> failed (recordError)        | S03, S04 |
 * | closing    | after closeTimeout -> forced (timeout) | S05      |
 *
 * S99 checks this table mechanically through the inspection API (it relies
 * on the tests before it: run the whole file).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import {
  fromErrorData,
  ErrorCodes,
  ResourceCloseError,
  ResourceCloseTimeoutError,
  ResourceEventTypes,
  resourceMachine,
  type ResourceEvent,
} from '../src/index.js';
import { controlled, Coverage, flush, releaseRoots, track } from './support.js';

const coverage = new Coverage(resourceMachine);

function startResource(closeTimeoutMs = 2_000) {
  const clock = new SimulatedClock();
  const closeResource = controlled<{ id: string }>();
  const actor = createActor(
    resourceMachine.provide({ actors: { closeResource: closeResource.logic } }),
    { input: { id: 'db', closeTimeoutMs }, clock, inspect: coverage.inspect },
  );
  track(actor);
  actor.start();
  return {
    closeResource,
    send(event: ResourceEvent): void {
      actor.send(event);
    },
    advance(ms: number): void {
      clock.increment(ms);
    },
    snapshot: () => actor.getSnapshot(),
  };
}

const open: ResourceEvent = { type: ResourceEventTypes.open };
const close: ResourceEvent = { type: ResourceEventTypes.close };

afterEach(() => {
  const errors = releaseRoots();
  vi.restoreAllMocks();
  expect(errors).toEqual([]);
});

describe('resourceMachine', () => {
  it('S01 registered -> open -> closing -> closed', async () => {
    const r = startResource();
    expect(r.snapshot().value).toBe('registered');
    expect(r.snapshot().context).toEqual({
      id: 'db',
      closeTimeoutMs: 2_000,
      error: null,
      outcome: null,
    });
    r.send(open);
    expect(r.snapshot().value).toBe('open');
    expect(r.closeResource.calls).toHaveLength(0);
    r.send(close);
    expect(r.snapshot().value).toBe('closing');
    expect(r.closeResource.last().input).toEqual({ id: 'db' });
    r.closeResource.last().resolve();
    await flush();
    expect(r.snapshot().value).toBe('closed');
    expect(r.snapshot().status).toBe('done');
    expect(r.snapshot().context.outcome).toBe('closed');
    expect(r.snapshot().output).toEqual({ id: 'db', outcome: 'closed', error: null });
  });

  it('S02 a resource that was never opened closes straight from registered', async () => {
    const r = startResource();
    r.send(close);
    expect(r.snapshot().value).toBe('closing');
    expect(r.closeResource.calls).toHaveLength(1);
    r.closeResource.last().resolve();
    await flush();
    expect(r.snapshot().output).toEqual({ id: 'db', outcome: 'closed', error: null });
  });

  it('S03 a close that rejects ends in failed with a ResourceCloseError caused by the error, as data', async () => {
    const r = startResource();
    r.send(open);
    r.send(close);
    const error = Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
    r.closeResource.last().reject(error);
    await flush();
    expect(r.snapshot().value).toBe('failed');
    expect(r.snapshot().status).toBe('done');
    const output = r.snapshot().output;
    expect(output).toEqual({
      id: 'db',
      outcome: 'failed',
      error: {
        _tag: 'TroupeError',
        name: 'ResourceCloseError',
        code: ErrorCodes.RESOURCE_CLOSE_FAILED,
        message: 'resource "db" failed to close: connection reset',
        context: { resourceId: 'db' },
        cause: {
          _tag: 'Error',
          name: 'Error',
          message: 'connection reset',
          code: 'ECONNRESET',
          stack: error.stack,
        },
      },
    });
    expect(r.snapshot().context.error).toEqual(output?.error);
    // The output is plain data: it survives a thread boundary.
    expect(structuredClone(output)).toEqual(output);
    // The recorded error rebuilds into its class, with the original error as cause.
    const rebuilt = fromErrorData(output!.error!);
    expect(rebuilt).toBeInstanceOf(ResourceCloseError);
    expect(rebuilt).toMatchObject({
      code: ErrorCodes.RESOURCE_CLOSE_FAILED,
      message: 'resource "db" failed to close: connection reset',
      context: { resourceId: 'db' },
    });
    expect(rebuilt.cause).toBeInstanceOf(Error);
    expect(rebuilt.cause).toMatchObject({ message: 'connection reset', code: 'ECONNRESET' });
  });

  it('S04 a close that throws a non-Error still reports it as the cause', async () => {
    const r = startResource();
    r.send(close);
    r.closeResource.last().reject('pool already ended');
    await flush();
    expect(r.snapshot().value).toBe('failed');
    expect(r.snapshot().output).toEqual({
      id: 'db',
      outcome: 'failed',
      error: {
        _tag: 'TroupeError',
        name: 'ResourceCloseError',
        code: ErrorCodes.RESOURCE_CLOSE_FAILED,
        message: 'resource "db" failed to close: pool already ended',
        context: { resourceId: 'db' },
        cause: { _tag: 'Thrown', name: 'string', message: 'pool already ended' },
      },
    });
  });

  it('S05 a close that misses closeTimeoutMs is abandoned as forced', async () => {
    const r = startResource(500);
    r.send(open);
    r.send(close);
    r.advance(499);
    expect(r.snapshot().value).toBe('closing');
    r.advance(1);
    expect(r.snapshot().value).toBe('forced');
    expect(r.closeResource.last().signal.aborted).toBe(true);
    const output = r.snapshot().output;
    expect(output).toEqual({
      id: 'db',
      outcome: 'forced',
      error: {
        _tag: 'TroupeError',
        name: 'ResourceCloseTimeoutError',
        code: ErrorCodes.RESOURCE_CLOSE_TIMEOUT,
        message: 'resource "db" did not close within 500 ms',
        context: { resourceId: 'db', closeTimeoutMs: 500 },
      },
    });
    // The recorded error rebuilds into its class.
    expect(fromErrorData(output!.error!)).toBeInstanceOf(ResourceCloseTimeoutError);
    // A close that finishes late changes nothing.
    r.closeResource.last().resolve();
    await flush();
    expect(r.snapshot().output?.outcome).toBe('forced');
  });

  it('S06 close is idempotent: a second close while closing does not close again', async () => {
    const r = startResource();
    r.send(open);
    r.send(close);
    r.send(close);
    r.send(open);
    expect(r.snapshot().value).toBe('closing');
    expect(r.closeResource.calls).toHaveLength(1);
    r.closeResource.last().resolve();
    await flush();
    // A close after the end is dropped (silence the development build's warning).
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    r.send(close);
    expect(r.snapshot().value).toBe('closed');
    expect(r.closeResource.calls).toHaveLength(1);
  });

  it('S99 the tests above entered every state and took every transition', () => {
    expect(coverage.allStates).toHaveLength(6);
    expect(coverage.allTransitions).toHaveLength(6);
    expect(coverage.missingStates()).toEqual([]);
    expect(coverage.missingTransitions()).toEqual([]);
  });
});
