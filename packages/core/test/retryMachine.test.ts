/*
 * retryMachine: 6 states, 7 transitions. Every `after` runs on a
 * SimulatedClock and every actor gets a fixed `seed` (except T14, which
 * checks the default). Test ids refer to the `it` titles below.
 *
 * | state      | reached in    |
 * | ---------- | ------------- |
 * | attempting | T01 (and all) |
 * | waiting    | T02           |
 * | succeeded  | T01, T02      |
 * | exhausted  | T03, T07      |
 * | rejected   | T04, T05      |
 * | cancelled  | T08, T09      |
 *
 * | source     | transition                                          | test(s)       |
 * | ---------- | --------------------------------------------------- | ------------- |
 * | attempting | onDone -> succeeded (recordValue)                   | T01, T02      |
 * | attempting | onError [attemptsLeft & retryable] -> waiting       | T02, T03, T05 |
 * | attempting | onError [retryable] -> exhausted (recordError)      | T03, T07      |
 * | attempting | onError [else] -> rejected (recordError)            | T04, T05, T06 |
 * | attempting | cancel -> cancelled (recordCancel)                  | T08           |
 * | waiting    | after retryDelay -> attempting (startAttempt)       | T02, T03, T10 |
 * | waiting    | cancel -> cancelled (recordCancel)                  | T09           |
 *
 * The last test (T99) checks this table mechanically: it fails if any state
 * or transition of the machine was not taken by the tests above it (so run
 * the whole file; a `-t` filter makes it fail).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromPromise, SimulatedClock, type StateValue } from 'xstate';
import {
  backoffCeiling,
  classifyError,
  QueueFullError,
  randomSeed,
  RetryEventTypes,
  retryDelay,
  retryMachine,
  TaskFailedError,
  toErrorData,
  type BackoffOptions,
  type RetryMachineInput,
} from '../src/index.js';
import { Coverage, deferred, flush, releaseRoots, track } from './support.js';

const coverage = new Coverage(retryMachine);

const backoff: BackoffOptions = { baseMs: 100, capMs: 1_000 };
/** Delays of this seed for attempts 1..6: 70, 70, 216, 337, 737, 863 (all > 1). */
const SEED = 1;

const inputDefaults: RetryMachineInput = { id: 't1', maxAttempts: 4, backoff, seed: SEED };

interface AttemptInput {
  readonly id: string;
  readonly attempt: number;
}

/** One invocation of the `attempt` actor, settled by the test. */
interface AttemptCall {
  readonly input: AttemptInput;
  readonly signal: AbortSignal;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

interface RetryOptions {
  readonly input?: Partial<RetryMachineInput>;
  /** Replaces the `retryable` guard. */
  readonly retryable?: (error: unknown) => boolean;
}

function startRetry(options: RetryOptions = {}) {
  const clock = new SimulatedClock();
  const calls: AttemptCall[] = [];
  const attempt = fromPromise<unknown, AttemptInput>(({ input, signal }) => {
    const d = deferred<unknown>();
    calls.push({ input, signal, resolve: d.resolve, reject: d.reject });
    return d.promise;
  });
  const retryable = options.retryable;
  const machine = retryMachine.provide({
    actors: { attempt },
    ...(retryable === undefined
      ? {}
      : {
          guards: {
            retryable: ({ event }) => retryable((event as { error?: unknown }).error),
          },
        }),
  });
  const input: RetryMachineInput = { ...inputDefaults, ...options.input };
  const actor = createActor(machine, { input, clock, inspect: coverage.inspect });
  track(actor);
  /** Every state value the actor settled in, in order (consecutive repeats folded). */
  const history: StateValue[] = [];
  actor.subscribe((snapshot) => {
    if (history.at(-1) !== snapshot.value) history.push(snapshot.value);
  });
  actor.start();
  const last = (): AttemptCall => {
    const call = calls.at(-1);
    if (call === undefined) throw new Error('the attempt actor was never invoked');
    return call;
  };
  return {
    actor,
    calls,
    history,
    last,
    async resolve(value: unknown): Promise<void> {
      last().resolve(value);
      await flush();
    },
    async reject(reason: unknown): Promise<void> {
      last().reject(reason);
      await flush();
    },
    cancel(reason?: unknown): void {
      actor.send(
        reason === undefined
          ? { type: RetryEventTypes.cancel }
          : { type: RetryEventTypes.cancel, reason },
      );
    },
    advance(ms: number): void {
      clock.increment(ms);
    },
    snapshot: () => actor.getSnapshot(),
    value: () => actor.getSnapshot().value,
    context: () => actor.getSnapshot().context,
  };
}

type Retry = ReturnType<typeof startRetry>;

/**
 * In `waiting`: checks the wait is exactly `retryDelay(context)` (still
 * waiting 1 ms before it, attempting at it) and returns the delay.
 */
function throughWait(r: Retry): number {
  expect(r.value()).toBe('waiting');
  const delay = retryDelay(r.context());
  const before = r.calls.length;
  if (delay > 0) {
    r.advance(delay - 1);
    expect(r.value()).toBe('waiting');
    expect(r.calls).toHaveLength(before);
    r.advance(1);
  } else {
    r.advance(0);
  }
  expect(r.value()).toBe('attempting');
  expect(r.calls).toHaveLength(before + 1);
  return delay;
}

/** Measures a wait of the machine itself, 1 ms at a time (no use of retryDelay). */
function measureWait(r: Retry): number {
  expect(r.value()).toBe('waiting');
  r.advance(0);
  let waited = 0;
  while (r.value() === 'waiting') {
    if (waited > backoff.capMs) throw new Error('waited longer than capMs');
    r.advance(1);
    waited += 1;
  }
  return waited;
}

afterEach(() => {
  const errors = releaseRoots();
  vi.restoreAllMocks();
  expect(errors).toEqual([]);
});

describe('retryMachine: outcomes', () => {
  it('T01 success on the first attempt: no wait, value in the output', async () => {
    const r = startRetry();
    expect(r.value()).toBe('attempting');
    expect(r.context().attempt).toBe(1);
    expect(r.calls).toHaveLength(1);
    expect(r.last().input).toEqual({ id: 't1', attempt: 1 });
    const value = { rows: 3 };
    await r.resolve(value);
    expect(r.value()).toBe('succeeded');
    expect(r.snapshot().status).toBe('done');
    expect(r.history).toEqual(['attempting', 'succeeded']);
    expect(r.snapshot().output).toEqual({
      outcome: 'succeeded',
      attempts: 1,
      value,
      lastError: undefined,
      errors: [],
    });
    expect(r.snapshot().output?.value).toBe(value);
    // Nothing is left scheduled.
    r.advance(backoff.capMs * 10);
    expect(r.calls).toHaveLength(1);
  });

  it('T02 failure then success: one wait of exactly retryDelay(context)', async () => {
    const r = startRetry();
    const error = new Error('ECONNRESET');
    await r.reject(error);
    expect(r.value()).toBe('waiting');
    expect(r.context()).toMatchObject({ attempt: 1, lastError: error, outcome: null });
    expect(r.context().errors).toEqual([toErrorData(error)]);
    const delay = retryDelay(r.context());
    expect(delay).toBe(retryDelay({ attempt: 1, backoff, seed: SEED }));
    // The first wait is bounded by baseMs; this seed gives a delay above 1.
    expect(delay).toBeGreaterThan(1);
    expect(delay).toBeLessThanOrEqual(backoff.baseMs);
    r.advance(delay - 1);
    expect(r.value()).toBe('waiting');
    expect(r.calls).toHaveLength(1);
    r.advance(1);
    expect(r.value()).toBe('attempting');
    expect(r.calls).toHaveLength(2);
    expect(r.last().input).toEqual({ id: 't1', attempt: 2 });
    await r.resolve('ok');
    expect(r.history).toEqual(['attempting', 'waiting', 'attempting', 'succeeded']);
    // The earlier failure stays on record after a success.
    expect(r.snapshot().output).toEqual({
      outcome: 'succeeded',
      attempts: 2,
      value: 'ok',
      lastError: error,
      errors: [toErrorData(error)],
    });
  });

  it('T03 attemptsLeft exhausted: every error recorded, lastError is the last object', async () => {
    const r = startRetry({ input: { maxAttempts: 3 } });
    const first = new Error('first');
    const second = new QueueFullError('full', { context: { runnerId: 'r1' } });
    const third = 'third, thrown as a string';
    await r.reject(first);
    expect(throughWait(r)).toBe(retryDelay({ attempt: 1, backoff, seed: SEED }));
    await r.reject(second);
    expect(r.context().attempt).toBe(2);
    const secondDelay = throughWait(r);
    expect(secondDelay).toBe(retryDelay({ attempt: 2, backoff, seed: SEED }));
    expect(secondDelay).toBeLessThanOrEqual(backoffCeiling(1, backoff));
    expect(r.last().input).toEqual({ id: 't1', attempt: 3 });
    await r.reject(third);
    expect(r.value()).toBe('exhausted');
    expect(r.snapshot().status).toBe('done');
    const errors = r.context().errors;
    expect(errors).toEqual([
      {
        _tag: 'Error',
        name: 'Error',
        message: 'first',
        stack: expect.any(String) as unknown,
      },
      {
        _tag: 'TroupeError',
        name: 'QueueFullError',
        code: 'ERR_QUEUE_FULL',
        message: 'full',
        stack: expect.any(String) as unknown,
        context: { runnerId: 'r1' },
      },
      { _tag: 'Thrown', name: 'string', message: 'third, thrown as a string' },
    ]);
    expect(r.snapshot().output).toEqual({
      outcome: 'exhausted',
      attempts: 3,
      value: undefined,
      lastError: third,
      errors,
    });
    expect(r.history).toEqual([
      'attempting',
      'waiting',
      'attempting',
      'waiting',
      'attempting',
      'exhausted',
    ]);
    // No attempt beyond maxAttempts, however long we wait.
    r.advance(backoff.capMs * 10);
    expect(r.calls).toHaveLength(3);
  });

  it('T04 retryable false: rejected after the first failure, attempts left unused', async () => {
    const r = startRetry({ input: { maxAttempts: 5 }, retryable: () => false });
    const error = new TaskFailedError('handler threw');
    await r.reject(error);
    expect(r.value()).toBe('rejected');
    expect(r.history).toEqual(['attempting', 'rejected']);
    expect(r.snapshot().output).toEqual({
      outcome: 'rejected',
      attempts: 1,
      value: undefined,
      lastError: error,
      errors: [toErrorData(error)],
    });
    r.advance(backoff.capMs * 10);
    expect(r.calls).toHaveLength(1);
  });

  it('T05 the retryable guard sees each error (here: retry what classifies as RETRY)', async () => {
    const seen: unknown[] = [];
    const r = startRetry({
      retryable: (error) => {
        seen.push(error);
        return classifyError(error, { component: 'task', phase: 'running' }).action === 'RETRY';
      },
    });
    const full = new QueueFullError('full');
    await r.reject(full);
    expect(r.value()).toBe('waiting');
    throughWait(r);
    const failed = new TaskFailedError('handler threw');
    await r.reject(failed);
    expect(r.value()).toBe('rejected');
    expect(seen).toContain(full);
    expect(seen).toContain(failed);
    expect(r.snapshot().output).toMatchObject({
      outcome: 'rejected',
      attempts: 2,
      lastError: failed,
      errors: [toErrorData(full), toErrorData(failed)],
    });
  });

  it('T06 not retryable wins over no attempts left: rejected, not exhausted', async () => {
    const r = startRetry({ input: { maxAttempts: 1 }, retryable: () => false });
    await r.reject(new Error('x'));
    expect(r.value()).toBe('rejected');
    expect(r.snapshot().output?.outcome).toBe('rejected');
  });

  it('T07 maxAttempts 1 never waits: the first failure is final', async () => {
    const r = startRetry({ input: { maxAttempts: 1 } });
    const error = new Error('once');
    await r.reject(error);
    expect(r.value()).toBe('exhausted');
    expect(r.history).toEqual(['attempting', 'exhausted']);
    expect(r.snapshot().output).toEqual({
      outcome: 'exhausted',
      attempts: 1,
      value: undefined,
      lastError: error,
      errors: [toErrorData(error)],
    });
    r.advance(backoff.capMs * 10);
    expect(r.calls).toHaveLength(1);
  });
});

describe('retryMachine: cancel', () => {
  it('T08 cancel while attempting aborts the attempt; its late result changes nothing', async () => {
    const r = startRetry();
    const call = r.last();
    const reason = { why: 'shutdown' };
    r.cancel(reason);
    expect(r.value()).toBe('cancelled');
    expect(r.snapshot().status).toBe('done');
    expect(call.signal.aborted).toBe(true);
    expect(r.context().cancelReason).toBe(reason);
    expect(r.snapshot().output).toEqual({
      outcome: 'cancelled',
      cancelReason: reason,
      attempts: 1,
      value: undefined,
      lastError: undefined,
      errors: [],
    });
    call.resolve('too late');
    await flush();
    expect(r.value()).toBe('cancelled');
    expect(r.snapshot().output?.value).toBeUndefined();
  });

  it('T09 cancel while waiting drops the pending retry', async () => {
    const r = startRetry();
    const error = new Error('boom');
    await r.reject(error);
    expect(r.value()).toBe('waiting');
    const reason = new Error('caller gave up');
    r.cancel(reason);
    expect(r.value()).toBe('cancelled');
    expect(r.context().cancelReason).toBe(reason);
    expect(r.history).toEqual(['attempting', 'waiting', 'cancelled']);
    r.advance(backoff.capMs * 10);
    expect(r.calls).toHaveLength(1);
    expect(r.snapshot().output).toEqual({
      outcome: 'cancelled',
      cancelReason: reason,
      attempts: 1,
      value: undefined,
      lastError: error,
      errors: [toErrorData(error)],
    });
  });

  it('T09b cancel without a reason leaves cancelReason undefined', () => {
    const r = startRetry();
    r.cancel();
    expect(r.value()).toBe('cancelled');
    expect(r.context().cancelReason).toBeUndefined();
    expect(r.snapshot().output?.outcome).toBe('cancelled');
  });
});

describe('retryMachine: delays', () => {
  it('T10 a zero delay still passes through waiting and needs no clock time', async () => {
    let seed = 0;
    while (retryDelay({ attempt: 1, backoff, seed }) !== 0) seed += 1;
    const r = startRetry({ input: { seed } });
    await r.reject(new Error('x'));
    expect(r.value()).toBe('waiting');
    expect(retryDelay(r.context())).toBe(0);
    r.advance(0);
    expect(r.value()).toBe('attempting');
    expect(r.last().input.attempt).toBe(2);
  });

  it('T11 the machine waits the seeded delays: same seed, same waits; other seed, other waits', async () => {
    async function waitsOf(seed: number): Promise<number[]> {
      const r = startRetry({ input: { maxAttempts: 6, seed } });
      const waits: number[] = [];
      for (let attempt = 1; attempt < 6; attempt += 1) {
        await r.reject(new Error(`fail ${attempt}`));
        waits.push(measureWait(r));
      }
      await r.reject(new Error('fail 6'));
      expect(r.value()).toBe('exhausted');
      expect(r.snapshot().output?.errors).toHaveLength(6);
      return waits;
    }
    const first = await waitsOf(SEED);
    const expected = [1, 2, 3, 4, 5].map((attempt) => retryDelay({ attempt, backoff, seed: SEED }));
    expect(first).toEqual(expected);
    expect(first).toEqual([70, 70, 216, 337, 737]);
    expect(await waitsOf(SEED)).toEqual(first);
    expect(await waitsOf(SEED + 1)).not.toEqual(first);
  });

  it('T12 retryDelay stays in [0, min(cap, base*2^(attempt-1))], reaches both ends, mean near the middle', () => {
    const seeds = Array.from({ length: 5_000 }, (_, seed) => seed);
    const ceilings = [100, 200, 400, 800, 1_000, 1_000];
    for (const [index, ceiling] of ceilings.entries()) {
      const attempt = index + 1;
      expect(ceiling).toBe(Math.min(backoff.capMs, backoff.baseMs * 2 ** (attempt - 1)));
      const draws = seeds.map((seed) => retryDelay({ attempt, backoff, seed }));
      const outside = draws.filter((d) => !Number.isInteger(d) || d < 0 || d > ceiling);
      expect(outside, `attempt ${attempt}`).toEqual([]);
      expect(Math.min(...draws), `attempt ${attempt}`).toBe(0);
      expect(Math.max(...draws), `attempt ${attempt}`).toBe(ceiling);
      const mean = draws.reduce((sum, d) => sum + d, 0) / draws.length;
      expect(Math.abs(mean - ceiling / 2), `attempt ${attempt}`).toBeLessThan(0.05 * (ceiling / 2));
    }
  });

  it('T13 retryDelay is reproducible per seed; different seeds give different sequences', () => {
    const sequence = (seed: number): number[] =>
      [1, 2, 3, 4, 5, 6].map((attempt) => retryDelay({ attempt, backoff, seed }));
    expect(sequence(42)).toEqual(sequence(42));
    expect(sequence(0xdeadbeef)).toEqual(sequence(0xdeadbeef));
    const distinct = new Set(Array.from({ length: 1_000 }, (_, seed) => sequence(seed).join()));
    expect(distinct.size).toBe(1_000);
    // Attempt 0 (before any attempt) uses the first ceiling too.
    expect(retryDelay({ attempt: 0, backoff, seed: 42 })).toBeLessThanOrEqual(backoff.baseMs);
  });

  it('T14 without a seed the context gets one from randomSeed(); seed 0 is kept', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    expect(randomSeed()).toBe(2 ** 30);
    const { seed: _omit, ...withoutSeed } = inputDefaults;
    const machine = retryMachine.provide({
      actors: { attempt: fromPromise<unknown, AttemptInput>(() => new Promise(() => undefined)) },
    });
    const unseeded = createActor(machine, { input: withoutSeed, clock: new SimulatedClock() });
    track(unseeded);
    unseeded.start();
    expect(unseeded.getSnapshot().context.seed).toBe(2 ** 30);
    const zero = createActor(machine, {
      input: { ...withoutSeed, seed: 0 },
      clock: new SimulatedClock(),
    });
    track(zero);
    zero.start();
    expect(zero.getSnapshot().context.seed).toBe(0);
  });
});

describe('retryMachine: coverage', () => {
  it('T99 the tests above entered every state and took every transition', () => {
    expect(coverage.allStates).toHaveLength(6);
    expect(coverage.allTransitions).toHaveLength(7);
    expect(coverage.missingStates()).toEqual([]);
    expect(coverage.missingTransitions()).toEqual([]);
  });
});
