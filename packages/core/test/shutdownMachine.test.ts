/*
 * shutdownMachine: 9 states, 16 transitions. Every deadline runs on a
 * SimulatedClock; each phase actor is a promise the test settles.
 *
 * | state             | reached in         |
 * | ----------------- | ------------------ |
 * | running           | D01 (initial)      |
 * | signaling         | D01                |
 * | draining, waiting | D01                |
 * | draining.forcing  | D02, D03, D04, D07 |
 * | closing, waiting  | D01                |
 * | closing.forcing   | D02, D03, D04, D07 |
 * | stopped           | D01                |
 *
 * | source           | transition                                            | test(s)  |
 * | ---------------- | ----------------------------------------------------- | -------- |
 * | running          | begin -> signaling (recordReason)                     | D01      |
 * | signaling        | onDone -> draining                                    | D01      |
 * | signaling        | onError -> draining (recordPhaseError)                | D03      |
 * | signaling        | after signalingDeadline -> draining, timedOut         | D02      |
 * | draining.waiting | onDone -> closing                                     | D01      |
 * | draining.waiting | onError -> forcing (recordPhaseError)                 | D03      |
 * | draining.waiting | after drainingDeadline -> forcing (timedOut)          | D02, D04 |
 * | draining.forcing | onDone -> closing                                     | D04, D07 |
 * | draining.forcing | onError -> closing (recordPhaseError)                 | D03      |
 * | draining.forcing | after forceDeadline -> closing (forceDeadlineExpired) | D02, D07 |
 * | closing.waiting  | onDone -> stopped                                     | D01      |
 * | closing.waiting  | onError -> forcing (recordPhaseError)                 | D03      |
 * | closing.waiting  | after closingDeadline -> forcing (timedOut)           | D02, D04 |
 * | closing.forcing  | onDone -> stopped                                     | D04, D07 |
 * | closing.forcing  | onError -> stopped (recordPhaseError)                 | D03      |
 * | closing.forcing  | after forceDeadline -> stopped (forceDeadlineExpired) | D02, D07 |
 *
 * forceDeadlineExpired appends "a forced shutdown path did not finish within
 * forceMs (<n> ms)" to the errors; a forced path that settles in time does not.
 *
 * D99 checks this table mechanically through the inspection API (it relies
 * on the tests before it: run the whole file).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import {
  ShutdownEventTypes,
  shutdownMachine,
  shutdownPhaseOf,
  type ErrorData,
  type ShutdownDeadlines,
  type ShutdownPhase,
  type ShutdownPhaseInput,
} from '../src/index.js';
import { controlled, Coverage, flush, releaseRoots, track, type Controlled } from './support.js';

const coverage = new Coverage(shutdownMachine);

const deadlines: ShutdownDeadlines = {
  signalingMs: 1_000,
  drainingMs: 10_000,
  closingMs: 5_000,
  forceMs: 2_000,
};

/** What a forced path that hit its `forceMs` backstop adds to the errors. */
const forceDeadlineError: ErrorData = {
  _tag: 'Error',
  name: 'Error',
  message: 'a forced shutdown path did not finish within forceMs (2000 ms)',
};

function startShutdown() {
  const clock = new SimulatedClock();
  const actors = {
    signal: controlled<ShutdownPhaseInput>(),
    drain: controlled<ShutdownPhaseInput>(),
    forceDrain: controlled<ShutdownPhaseInput>(),
    close: controlled<ShutdownPhaseInput>(),
    forceClose: controlled<ShutdownPhaseInput>(),
  };
  const actor = createActor(
    shutdownMachine.provide({
      actors: {
        signal: actors.signal.logic,
        drain: actors.drain.logic,
        forceDrain: actors.forceDrain.logic,
        close: actors.close.logic,
        forceClose: actors.forceClose.logic,
      },
    }),
    { input: deadlines, clock, inspect: coverage.inspect },
  );
  const phases: ShutdownPhase[] = [];
  actor.subscribe((snapshot) => {
    const phase = shutdownPhaseOf(snapshot.value);
    if (phases.at(-1) !== phase) phases.push(phase);
  });
  track(actor);
  actor.start();
  return {
    actor,
    ...actors,
    phases,
    begin(reason: string): void {
      actor.send({ type: ShutdownEventTypes.begin, reason });
    },
    advance(ms: number): void {
      clock.increment(ms);
    },
    snapshot: () => actor.getSnapshot(),
    value: () => actor.getSnapshot().value,
  };
}

async function resolveLast(actor: Controlled<ShutdownPhaseInput>): Promise<void> {
  actor.last().resolve();
  await flush();
}

async function rejectLast(actor: Controlled<ShutdownPhaseInput>, reason: unknown): Promise<void> {
  actor.last().reject(reason);
  await flush();
}

afterEach(() => {
  expect(releaseRoots()).toEqual([]);
});

describe('shutdownMachine', () => {
  it('D01 runs the three phases in order when each finishes in time', async () => {
    const s = startShutdown();
    expect(s.value()).toBe('running');
    expect(s.signal.calls).toHaveLength(0);
    s.begin('deploy');
    expect(s.value()).toBe('signaling');
    expect(s.snapshot().context.reason).toBe('deploy');
    expect(s.signal.last().input).toEqual({ reason: 'deploy' });
    await resolveLast(s.signal);
    expect(s.value()).toEqual({ draining: 'waiting' });
    expect(s.drain.last().input).toEqual({ reason: 'deploy' });
    await resolveLast(s.drain);
    expect(s.value()).toEqual({ closing: 'waiting' });
    expect(s.close.last().input).toEqual({ reason: 'deploy' });
    await resolveLast(s.close);
    expect(s.value()).toBe('stopped');
    expect(s.snapshot().status).toBe('done');
    expect(s.phases).toEqual(['running', 'signaling', 'draining', 'closing', 'stopped']);
    expect(s.forceDrain.calls).toHaveLength(0);
    expect(s.forceClose.calls).toHaveLength(0);
    expect(s.snapshot().output).toEqual({
      reason: 'deploy',
      timedOut: { signaling: false, draining: false, closing: false },
      errors: [],
    });
  });

  it('D02 every deadline leads on to the next step, nothing hangs, and a forced path cut off by forceMs is reported', () => {
    const s = startShutdown();
    s.begin('SIGTERM');
    s.advance(deadlines.signalingMs - 1);
    expect(s.value()).toBe('signaling');
    s.advance(1);
    expect(s.value()).toEqual({ draining: 'waiting' });
    expect(s.signal.last().signal.aborted).toBe(true);
    expect(s.snapshot().context.timedOut).toEqual({
      signaling: true,
      draining: false,
      closing: false,
    });

    s.advance(deadlines.drainingMs - 1);
    expect(s.value()).toEqual({ draining: 'waiting' });
    s.advance(1);
    expect(s.value()).toEqual({ draining: 'forcing' });
    expect(s.snapshot().context.timedOut.draining).toBe(true);
    expect(s.forceDrain.last().input).toEqual({ reason: 'SIGTERM' });

    s.advance(deadlines.forceMs - 1);
    expect(s.value()).toEqual({ draining: 'forcing' });
    expect(s.snapshot().context.errors).toEqual([]);
    s.advance(1);
    expect(s.value()).toEqual({ closing: 'waiting' });
    expect(s.forceDrain.last().signal.aborted).toBe(true);
    // The drain's forced path hit its backstop: that is reported.
    expect(s.snapshot().context.errors).toEqual([forceDeadlineError]);

    s.advance(deadlines.closingMs - 1);
    expect(s.value()).toEqual({ closing: 'waiting' });
    s.advance(1);
    expect(s.value()).toEqual({ closing: 'forcing' });
    expect(s.forceClose.last().input).toEqual({ reason: 'SIGTERM' });

    s.advance(deadlines.forceMs - 1);
    expect(s.value()).toEqual({ closing: 'forcing' });
    expect(s.snapshot().context.errors).toEqual([forceDeadlineError]);
    s.advance(1);
    expect(s.value()).toBe('stopped');
    expect(s.forceClose.last().signal.aborted).toBe(true);
    // Both forced paths hit their backstop: one error each.
    expect(s.snapshot().output).toEqual({
      reason: 'SIGTERM',
      timedOut: { signaling: true, draining: true, closing: true },
      errors: [forceDeadlineError, forceDeadlineError],
    });
  });

  it('D03 a failing phase records its error and the protocol goes on', async () => {
    const s = startShutdown();
    s.begin('deploy');
    await rejectLast(s.signal, new Error('signal failed'));
    expect(s.value()).toEqual({ draining: 'waiting' });
    await rejectLast(s.drain, new Error('drain failed'));
    expect(s.value()).toEqual({ draining: 'forcing' });
    await rejectLast(s.forceDrain, 'terminate refused');
    expect(s.value()).toEqual({ closing: 'waiting' });
    await rejectLast(s.close, Object.assign(new Error('db end failed'), { code: 'ECONNRESET' }));
    expect(s.value()).toEqual({ closing: 'forcing' });
    await rejectLast(s.forceClose, new Error('force close failed'));
    expect(s.value()).toBe('stopped');
    const output = s.snapshot().output;
    expect(output?.timedOut).toEqual({ signaling: false, draining: false, closing: false });
    expect(output?.errors.map((e) => e.message)).toEqual([
      'signal failed',
      'drain failed',
      'terminate refused',
      'db end failed',
      'force close failed',
    ]);
    expect(output?.errors[2]).toEqual({
      _tag: 'Thrown',
      name: 'string',
      message: 'terminate refused',
    });
    expect(output?.errors[3]).toMatchObject({ _tag: 'Error', code: 'ECONNRESET' });
    // The report is plain data.
    expect(structuredClone(output)).toEqual(output);
  });

  it('D04 a forced path that succeeds in time moves on without waiting for its deadline', async () => {
    const s = startShutdown();
    s.begin('deploy');
    await resolveLast(s.signal);
    s.advance(deadlines.drainingMs);
    expect(s.value()).toEqual({ draining: 'forcing' });
    await resolveLast(s.forceDrain);
    expect(s.value()).toEqual({ closing: 'waiting' });
    s.advance(deadlines.closingMs);
    expect(s.value()).toEqual({ closing: 'forcing' });
    await resolveLast(s.forceClose);
    expect(s.value()).toBe('stopped');
    // Both forced paths finished within forceMs: no backstop error.
    expect(s.snapshot().output).toEqual({
      reason: 'deploy',
      timedOut: { signaling: false, draining: true, closing: true },
      errors: [],
    });
    // Their deadlines were cancelled: nothing is added later.
    s.advance(deadlines.forceMs * 2);
    expect(s.snapshot().output?.errors).toEqual([]);
  });

  it('D05 nothing happens before begin, and a second begin is ignored', async () => {
    const s = startShutdown();
    s.advance(deadlines.signalingMs + deadlines.drainingMs + deadlines.closingMs);
    expect(s.value()).toBe('running');
    s.begin('first');
    s.begin('second');
    expect(s.signal.calls).toHaveLength(1);
    await resolveLast(s.signal);
    s.begin('third');
    expect(s.value()).toEqual({ draining: 'waiting' });
    expect(s.drain.calls).toHaveLength(1);
    expect(s.snapshot().context.reason).toBe('first');
  });

  it('D06 shutdownPhaseOf maps every state value to its phase', () => {
    const cases: [unknown, ShutdownPhase][] = [
      ['running', 'running'],
      ['signaling', 'signaling'],
      [{ draining: 'waiting' }, 'draining'],
      [{ draining: 'forcing' }, 'draining'],
      [{ closing: 'waiting' }, 'closing'],
      [{ closing: 'forcing' }, 'closing'],
      ['stopped', 'stopped'],
    ];
    for (const [value, phase] of cases) expect(shutdownPhaseOf(value)).toBe(phase);
    expect(() => shutdownPhaseOf(null)).toThrow(TypeError);
    expect(() => shutdownPhaseOf(7)).toThrow(/not a shutdown state value: 7/);
  });

  it('D07 only a forced path that hits its forceMs backstop reports it; one that finishes does not', async () => {
    // The drain is forced and finishes just in time; the close is forced and hangs.
    const s = startShutdown();
    s.begin('SIGINT');
    await resolveLast(s.signal);
    s.advance(deadlines.drainingMs);
    expect(s.value()).toEqual({ draining: 'forcing' });
    s.advance(deadlines.forceMs - 1);
    await resolveLast(s.forceDrain);
    expect(s.value()).toEqual({ closing: 'waiting' });
    expect(s.forceDrain.last().signal.aborted).toBe(false);
    expect(s.snapshot().context.errors).toEqual([]);
    s.advance(deadlines.closingMs);
    expect(s.value()).toEqual({ closing: 'forcing' });
    s.advance(deadlines.forceMs);
    expect(s.value()).toBe('stopped');
    expect(s.forceClose.last().signal.aborted).toBe(true);
    expect(s.snapshot().output).toEqual({
      reason: 'SIGINT',
      timedOut: { signaling: false, draining: true, closing: true },
      errors: [forceDeadlineError],
    });

    // The other way round: the drain's forced path hangs, the close's finishes.
    const t = startShutdown();
    t.begin('SIGINT');
    await resolveLast(t.signal);
    t.advance(deadlines.drainingMs);
    t.advance(deadlines.forceMs);
    expect(t.value()).toEqual({ closing: 'waiting' });
    expect(t.snapshot().context.errors).toEqual([forceDeadlineError]);
    t.advance(deadlines.closingMs);
    expect(t.value()).toEqual({ closing: 'forcing' });
    await resolveLast(t.forceClose);
    expect(t.value()).toBe('stopped');
    // A late settlement of the abandoned forceDrain changes nothing.
    await resolveLast(t.forceDrain);
    expect(t.snapshot().output).toEqual({
      reason: 'SIGINT',
      timedOut: { signaling: false, draining: true, closing: true },
      errors: [forceDeadlineError],
    });
    // The report is plain data.
    expect(structuredClone(t.snapshot().output)).toEqual(t.snapshot().output);
  });

  it('D99 the tests above entered every state and took every transition', () => {
    expect(coverage.allStates).toHaveLength(9);
    expect(coverage.allTransitions).toHaveLength(16);
    expect(coverage.missingStates()).toEqual([]);
    expect(coverage.missingTransitions()).toEqual([]);
  });
});
