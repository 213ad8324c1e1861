/*
 * resourceMachine: 6 states, 7 transitions. The close deadline (the default
 * `armCloseDeadline`, a delayed raise) runs on a SimulatedClock; S12 replaces
 * it as the runtime does. Entering `closing` runs the `startClose` action: either
 * the machine's default (it reports `troupe.resource.closed` at once) or,
 * with `controlledClose`, one that records the call and reports `closed` or
 * `closeFailed` when the test settles its deferred. Test ids refer to the
 * `it` titles below.
 *
 * | state      | reached in                                   |
 * | ---------- | -------------------------------------------- |
 * | registered | S01 (initial; every test)                    |
 * | open       | S01, S02, S07 (initial with openAtOnce)      |
 * | closing    | S01-S08, S10, S11                            |
 * | closed     | S01, S02, S06, S07, S08, S10, S11            |
 * | failed     | S03, S04, S10, S11                           |
 * | forced     | S05, S08, S10, S11                           |
 *
 * | source     | transition                                   | test(s)                    |
 * | ---------- | -------------------------------------------- | -------------------------- |
 * | registered | always [openAtOnce] -> open                  | S07                        |
 * | registered | open -> open                                 | S01-S03, S05, S08-S11      |
 * | registered | close -> closing                             | S04, S06, S08              |
 * | open       | close -> closing                             | S01-S03, S05, S07, S08,    |
 * |            |                                              |   S10, S11                 |
 * | closing    | (entry armCloseDeadline, exit disarm: default)| S01-S11                    |
 * | closing    | (entry/exit deadline actions: provided)      | S12                        |
 * | closing    | (entry startClose: default, closes at once)  | S01, S06, S07              |
 * | closing    | (entry startClose: provided, calls counted)  | S02-S06, S08, S10, S11     |
 * | closing    | closed -> closed (outcome closed)            | S01, S02, S06-S08, S10,    |
 * |            |                                              |   S11                      |
 * | closing    | closeFailed -> failed (recordError)          | S03, S04, S10, S11         |
 * | closing    | closeTimeout -> forced (recordTimeout)       | S05, S08, S10-S12          |
 *
 * Ignored events: open, close, closed, closeFailed and closeTimeout where no
 * transition takes them (S08 closing, S09 registered and open, S10 every
 * final state).
 * Output per final state: S11.
 *
 * S99 checks this table mechanically through the inspection API: it fails
 * unless the tests before it entered every state and took every transition
 * (so run the whole file; a `-t` filter makes it fail).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, SimulatedClock, type InspectionEvent } from 'xstate';
import {
  fromErrorData,
  toErrorData,
  ErrorCodes,
  ResourceCloseFailedError,
  ResourceCloseTimeoutError,
  ResourceEventTypes,
  resourceMachine,
  type ErrorData,
  type ResourceEvent,
  type ResourceOutcome,
  type ResourceOutput,
} from '../src/index.js';
import { Coverage, deferred, flush, releaseRoots, track } from './support.js';

const coverage = new Coverage(resourceMachine);

/** One run of the provided `startClose`, settled by the test. */
interface CloseCall {
  /** The resource id in the context when `closing` was entered. */
  readonly id: string;
  /** The close resolved: reports `troupe.resource.closed`. */
  resolve(): void;
  /** The close threw or rejected: reports `troupe.resource.closeFailed`. */
  reject(error: unknown): void;
}

interface ResourceOptions {
  readonly id?: string;
  readonly closeTimeoutMs?: number;
  readonly openAtOnce?: boolean;
  /** Provide a `startClose` the test settles; otherwise the default closes at once. */
  readonly controlledClose?: boolean;
}

function startResource(options: ResourceOptions = {}) {
  const clock = new SimulatedClock();
  const closes: CloseCall[] = [];
  const machine =
    options.controlledClose === true
      ? resourceMachine.provide({
          actions: {
            // What the runtime does: start the close, report its settlement.
            startClose: ({ context, self }) => {
              const close = deferred<undefined>();
              void close.promise.then(
                () => {
                  self.send({ type: ResourceEventTypes.closed });
                },
                (error: unknown) => {
                  self.send({ type: ResourceEventTypes.closeFailed, error });
                },
              );
              closes.push({
                id: context.id,
                resolve: () => {
                  close.resolve(undefined);
                },
                reject: close.reject,
              });
            },
          },
        })
      : resourceMachine;
  // State values after each transition the root took (the initial entry is none;
  // an event no transition takes is a microstep without transitions).
  const steps: unknown[] = [];
  const inspect = (event: InspectionEvent): void => {
    coverage.inspect(event);
    if (
      event.type === '@xstate.microstep' &&
      event.actorRef.sessionId === event.rootId &&
      event._transitions.length > 0
    ) {
      steps.push((event.snapshot as { value?: unknown }).value);
    }
  };
  const actor = createActor(machine, {
    input: {
      id: options.id ?? 'db',
      closeTimeoutMs: options.closeTimeoutMs ?? 2_000,
      ...(options.openAtOnce === undefined ? {} : { openAtOnce: options.openAtOnce }),
    },
    clock,
    inspect,
  });
  track(actor);
  actor.start();
  return {
    closes,
    steps,
    send(event: ResourceEvent): void {
      actor.send(event);
    },
    advance(ms: number): void {
      clock.increment(ms);
    },
    snapshot: () => actor.getSnapshot(),
    value: () => actor.getSnapshot().value,
    context: () => actor.getSnapshot().context,
    output: () => actor.getSnapshot().output,
  };
}

type Resource = ReturnType<typeof startResource>;

/** The last call of the provided `startClose`; throws when there was none. */
function lastClose(r: Resource): CloseCall {
  const call = r.closes.at(-1);
  if (call === undefined) throw new Error('startClose never ran');
  return call;
}

const open: ResourceEvent = { type: ResourceEventTypes.open };
const close: ResourceEvent = { type: ResourceEventTypes.close };
const closed: ResourceEvent = { type: ResourceEventTypes.closed };
const closeTimeout: ResourceEvent = { type: ResourceEventTypes.closeTimeout };
const closeFailed = (error: unknown): ResourceEvent => ({
  type: ResourceEventTypes.closeFailed,
  error,
});

function closeError(id: string, cause: ErrorData): ErrorData {
  return {
    _tag: 'TroupeError',
    name: 'ResourceCloseFailedError',
    code: ErrorCodes.RESOURCE_CLOSE_FAILED,
    message: `resource "${id}" failed to close: ${cause.message}`,
    context: { resourceId: id },
    cause,
  };
}

function timeoutError(id: string, closeTimeoutMs: number): ErrorData {
  return {
    _tag: 'TroupeError',
    name: 'ResourceCloseTimeoutError',
    code: ErrorCodes.RESOURCE_CLOSE_TIMEOUT,
    message: `resource "${id}" did not close within ${closeTimeoutMs} ms`,
    context: { resourceId: id, closeTimeoutMs },
  };
}

/** A sending to a stopped (final) actor warns in xstate's development build: silence it. */
function silenceStoppedActorWarnings(): void {
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
}

/** The error the close of {@link endIn} fails with. */
const connectionReset = new Error('connection reset');

/** An opened resource driven into the given final state. */
async function endIn(outcome: ResourceOutcome): Promise<Resource> {
  const r = startResource({ controlledClose: true, closeTimeoutMs: 500 });
  r.send(open);
  r.send(close);
  switch (outcome) {
    case 'closed':
      lastClose(r).resolve();
      await flush();
      break;
    case 'failed':
      lastClose(r).reject(connectionReset);
      await flush();
      break;
    case 'forced':
      r.advance(500);
      break;
  }
  expect(r.value()).toBe(outcome);
  return r;
}

afterEach(() => {
  const errors = releaseRoots();
  vi.restoreAllMocks();
  expect(errors).toEqual([]);
});

describe('resourceMachine', () => {
  it('S01 registered -> open -> closing -> closed: the default startClose closes at once', () => {
    const r = startResource();
    expect(r.value()).toBe('registered');
    expect(r.context()).toEqual({
      id: 'db',
      closeTimeoutMs: 2_000,
      openAtOnce: false,
      error: null,
      outcome: null,
    });
    r.send(open);
    expect(r.value()).toBe('open');
    // The deadline only runs while closing.
    r.advance(10_000);
    expect(r.value()).toBe('open');
    r.send(close);
    // closing was entered, and its default startClose reported closed.
    expect(r.steps).toEqual(['open', 'closing', 'closed']);
    expect(r.value()).toBe('closed');
    expect(r.snapshot().status).toBe('done');
    expect(r.context().outcome).toBe('closed');
    expect(r.output()).toEqual({ id: 'db', outcome: 'closed', error: null });
  });

  it('S02 a provided startClose that resolves later ends in closed', async () => {
    const r = startResource({ controlledClose: true });
    r.send(open);
    expect(r.closes).toHaveLength(0);
    r.send(close);
    expect(r.value()).toBe('closing');
    expect(r.closes).toHaveLength(1);
    expect(lastClose(r).id).toBe('db');
    r.advance(1_999);
    await flush();
    expect(r.value()).toBe('closing');
    expect(r.context().outcome).toBeNull();
    lastClose(r).resolve();
    await flush();
    expect(r.value()).toBe('closed');
    expect(r.snapshot().status).toBe('done');
    expect(r.output()).toEqual({ id: 'db', outcome: 'closed', error: null });
    // The deadline died with the closing state.
    r.advance(10_000);
    expect(r.output()).toEqual({ id: 'db', outcome: 'closed', error: null });
  });

  it('S03 a close that fails with an Error ends in failed with a ResourceCloseFailedError, as data', async () => {
    const r = startResource({ controlledClose: true });
    r.send(open);
    r.send(close);
    const error = Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
    lastClose(r).reject(error);
    await flush();
    expect(r.value()).toBe('failed');
    expect(r.snapshot().status).toBe('done');
    expect(r.context().outcome).toBe('failed');
    const output = r.output();
    expect(output).toEqual({
      id: 'db',
      outcome: 'failed',
      error: {
        _tag: 'TroupeError',
        name: 'ResourceCloseFailedError',
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
    expect(r.context().error).toEqual(output?.error);
    // Built through its class, kept without a stack: one taken in an action points into XState.
    expect(output?.error).not.toHaveProperty('stack');
    // The output is plain data: it survives a thread boundary.
    expect(structuredClone(output)).toEqual(output);
    // The recorded error rebuilds into its class, with the original error as cause.
    const rebuilt = fromErrorData(output!.error!);
    expect(rebuilt).toBeInstanceOf(ResourceCloseFailedError);
    expect(rebuilt).toMatchObject({
      code: ErrorCodes.RESOURCE_CLOSE_FAILED,
      message: 'resource "db" failed to close: connection reset',
      context: { resourceId: 'db' },
    });
    expect(rebuilt.cause).toBeInstanceOf(Error);
    expect(rebuilt.cause).toMatchObject({ message: 'connection reset', code: 'ECONNRESET' });
  });

  it('S04 a close that fails with a non-Error reports it as the cause, described by toErrorData', async () => {
    const cases: [unknown, ErrorData][] = [
      ['pool already ended', { _tag: 'Thrown', name: 'string', message: 'pool already ended' }],
      [{ errno: 5 }, { _tag: 'Thrown', name: 'object', message: '{"errno":5}' }],
      [undefined, { _tag: 'Thrown', name: 'undefined', message: 'undefined' }],
    ];
    for (const [thrown, cause] of cases) {
      expect(toErrorData(thrown)).toEqual(cause);
      const r = startResource({ id: 'cache', controlledClose: true });
      // Never opened: close straight from registered.
      r.send(close);
      lastClose(r).reject(thrown);
      await flush();
      expect(r.value()).toBe('failed');
      expect(r.output()).toEqual({
        id: 'cache',
        outcome: 'failed',
        error: closeError('cache', cause),
      });
      expect(r.output()?.error?.message).toBe(`resource "cache" failed to close: ${cause.message}`);
      expect(fromErrorData(r.output()!.error!)).toBeInstanceOf(ResourceCloseFailedError);
    }
  });

  it('S05 a close that never reports is abandoned as forced at closeTimeoutMs; a late report changes nothing', async () => {
    const r = startResource({ controlledClose: true, closeTimeoutMs: 500 });
    r.send(open);
    r.send(close);
    r.advance(499);
    expect(r.value()).toBe('closing');
    r.advance(1);
    expect(r.value()).toBe('forced');
    expect(r.snapshot().status).toBe('done');
    expect(r.context().outcome).toBe('forced');
    const output = r.output();
    expect(output).toEqual({ id: 'db', outcome: 'forced', error: timeoutError('db', 500) });
    expect(r.context().error).toEqual(output?.error);
    expect(output?.error).not.toHaveProperty('stack');
    expect(structuredClone(output)).toEqual(output);
    // The recorded error rebuilds into its class.
    const rebuilt = fromErrorData(output!.error!);
    expect(rebuilt).toBeInstanceOf(ResourceCloseTimeoutError);
    expect(rebuilt).toMatchObject({
      code: ErrorCodes.RESOURCE_CLOSE_TIMEOUT,
      context: { resourceId: 'db', closeTimeoutMs: 500 },
    });
    // The close that finishes late reports closed to a finished actor: nothing changes.
    silenceStoppedActorWarnings();
    lastClose(r).resolve();
    await flush();
    r.send(closed);
    r.send(closeFailed(new Error('too late')));
    expect(r.value()).toBe('forced');
    expect(r.output()).toEqual(output);
    expect(r.closes).toHaveLength(1);
  });

  it('S06 a resource that was never opened closes straight from registered', async () => {
    // Default startClose.
    const a = startResource();
    a.send(close);
    expect(a.steps).toEqual(['closing', 'closed']);
    expect(a.output()).toEqual({ id: 'db', outcome: 'closed', error: null });
    // Provided startClose.
    const b = startResource({ controlledClose: true });
    b.send(close);
    expect(b.value()).toBe('closing');
    expect(b.closes).toHaveLength(1);
    lastClose(b).resolve();
    await flush();
    expect(b.value()).toBe('closed');
    expect(b.output()).toEqual({ id: 'db', outcome: 'closed', error: null });
  });

  it('S07 openAtOnce: true starts the actor open; false or absent starts it registered', () => {
    const r = startResource({ openAtOnce: true });
    expect(r.value()).toBe('open');
    expect(r.context()).toEqual({
      id: 'db',
      closeTimeoutMs: 2_000,
      openAtOnce: true,
      error: null,
      outcome: null,
    });
    // open while open is not a transition.
    r.send(open);
    expect(r.value()).toBe('open');
    expect(r.steps).toEqual(['open']);
    r.send(close);
    expect(r.value()).toBe('closed');
    expect(r.output()).toEqual({ id: 'db', outcome: 'closed', error: null });

    const off = startResource({ openAtOnce: false });
    expect(off.value()).toBe('registered');
    expect(off.context().openAtOnce).toBe(false);
    expect(startResource().context().openAtOnce).toBe(false);
  });

  it('S08 a second close while closing does not run startClose again nor restart the deadline', async () => {
    const r = startResource({ controlledClose: true, closeTimeoutMs: 500 });
    r.send(open);
    r.send(close);
    r.advance(300);
    r.send(close);
    r.send(open);
    expect(r.value()).toBe('closing');
    expect(r.closes).toHaveLength(1);
    // The deadline still counts from the first close.
    r.advance(200);
    expect(r.value()).toBe('forced');
    expect(r.closes).toHaveLength(1);

    const s = startResource({ controlledClose: true });
    s.send(close);
    s.send(close);
    s.send(close);
    expect(s.value()).toBe('closing');
    expect(s.closes).toHaveLength(1);
    lastClose(s).resolve();
    await flush();
    expect(s.value()).toBe('closed');
    expect(s.closes).toHaveLength(1);
  });

  it('S09 close reports outside closing are ignored', () => {
    const r = startResource({ controlledClose: true });
    r.send(closed);
    r.send(closeFailed(new Error('stray')));
    r.send(closeTimeout);
    expect(r.value()).toBe('registered');
    r.send(open);
    r.send(closed);
    r.send(closeFailed(new Error('stray')));
    r.send(closeTimeout);
    expect(r.value()).toBe('open');
    expect(r.context()).toMatchObject({ error: null, outcome: null });
    expect(r.closes).toHaveLength(0);
    expect(r.steps).toEqual(['open']);
  });

  it('S10 events after a final state are ignored', async () => {
    for (const outcome of ['closed', 'failed', 'forced'] as const) {
      vi.restoreAllMocks();
      const r = await endIn(outcome);
      const output = r.output();
      const steps = r.steps.length;
      silenceStoppedActorWarnings();
      r.send(open);
      r.send(close);
      r.send(closed);
      r.send(closeFailed(new Error('after the end')));
      r.send(closeTimeout);
      r.advance(10_000);
      await flush();
      expect(r.value()).toBe(outcome);
      expect(r.snapshot().status).toBe('done');
      expect(r.output()).toEqual(output);
      expect(r.context().outcome).toBe(outcome);
      expect(r.closes).toHaveLength(1);
      expect(r.steps).toHaveLength(steps);
    }
  });

  it('S11 the output of every final state is { id, outcome, error }, as plain data', async () => {
    const expected: Record<ResourceOutcome, ResourceOutput> = {
      closed: { id: 'db', outcome: 'closed', error: null },
      failed: {
        id: 'db',
        outcome: 'failed',
        error: closeError('db', toErrorData(connectionReset)),
      },
      forced: { id: 'db', outcome: 'forced', error: timeoutError('db', 500) },
    };
    for (const outcome of ['closed', 'failed', 'forced'] as const) {
      const r = await endIn(outcome);
      const output = r.output();
      expect(output).toEqual(expected[outcome]);
      expect(r.context().outcome).toBe(outcome);
      expect(r.context().error).toEqual(output?.error);
      expect(structuredClone(output)).toEqual(output);
    }
  });
});

describe('resourceMachine: a provided close deadline', () => {
  it('S12 armCloseDeadline and disarmCloseDeadline are replaceable; closeTimeout forces the close', () => {
    const calls: string[] = [];
    const machine = resourceMachine.provide({
      actions: {
        // Neither closes: the test reports for the close, and for the deadline.
        startClose: ({ context }) => calls.push(`start ${context.id}`),
        armCloseDeadline: ({ context }) => calls.push(`arm ${context.closeTimeoutMs}`),
        disarmCloseDeadline: () => calls.push('disarm'),
      },
    });
    const clock = new SimulatedClock();
    const make = () => {
      const actor = createActor(machine, {
        input: { id: 'db', closeTimeoutMs: 750, openAtOnce: true },
        clock,
        inspect: (event) => {
          coverage.inspect(event);
        },
      });
      track(actor);
      return actor.start();
    };
    // The deadline fires: forced, and leaving closing disarms it.
    const a = make();
    a.send(close);
    expect(calls).toEqual(['arm 750', 'start db']);
    // No delayed event of XState's own: the clock moving changes nothing.
    clock.increment(10_000);
    expect(a.getSnapshot().value).toBe('closing');
    a.send(closeTimeout);
    expect(a.getSnapshot().value).toBe('forced');
    expect(a.getSnapshot().output).toEqual({
      id: 'db',
      outcome: 'forced',
      error: timeoutError('db', 750),
    });
    expect(calls).toEqual(['arm 750', 'start db', 'disarm']);
    // The close reports first: closed, disarmed once.
    calls.length = 0;
    const b = make();
    b.send(close);
    b.send(closed);
    expect(b.getSnapshot().value).toBe('closed');
    expect(calls).toEqual(['arm 750', 'start db', 'disarm']);
  });
});

describe('resourceMachine: coverage', () => {
  it('S99 the tests above entered every state and took every transition', () => {
    expect(coverage.allStates).toHaveLength(6);
    expect(coverage.allTransitions).toHaveLength(7);
    // Both branches of the close outcome and the always transition are among them.
    expect(coverage.allTransitions).toEqual(
      expect.arrayContaining([
        'resource.registered always#0 [openAtOnce] -> resource.open',
        'resource.closing troupe.resource.closed#0 -> resource.closed',
        'resource.closing troupe.resource.closeFailed#0 -> resource.failed',
        'resource.closing troupe.resource.closeTimeout#0 -> resource.forced',
      ]),
    );
    expect(coverage.missingStates()).toEqual([]);
    expect(coverage.missingTransitions()).toEqual([]);
  });
});
