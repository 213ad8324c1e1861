// ShutdownCoordinator with scripted phase work (real timers, small
// deadlines: timing is the subject): phase order, idempotent begin() and
// the one `outcome` promise, failing phases, deadlines and the forced paths,
// the gate that holds each phase, the read-only view, and the timings.
import type { ShutdownDeadlines, ShutdownPhase, TimedShutdownPhase } from '@troupe/core';
import { describe, expect, it, vi } from 'vitest';
import {
  ShutdownCoordinator,
  type ShutdownGate,
  type ShutdownOutcome,
  type ShutdownWork,
} from '../src/shutdown/ShutdownCoordinator.js';
import { deferred, settleState, sleep, type Deferred } from './support.js';

type Step = keyof ShutdownWork;

/** How one step behaves: resolve after ms, reject after ms, throw at once, or never settle. */
type Behaviour =
  | { readonly resolveAfter: number }
  | { readonly rejectAfter: number; readonly message: string }
  | { readonly throwSync: string }
  | 'hang';

interface StepCall {
  readonly step: Step;
  readonly reason: string;
  readonly at: number;
  /** `coordinator.phase` when the work was called. */
  readonly phase: ShutdownPhase;
  /** `coordinator.phase` when the work settled (resolveAfter/rejectAfter only). */
  settledIn?: ShutdownPhase | undefined;
}

function setup(
  script: Partial<Record<Step, Behaviour>>,
  deadlines: Partial<ShutdownDeadlines> = {},
): {
  coordinator: ShutdownCoordinator;
  calls: StepCall[];
  phases: [ShutdownPhase, ShutdownPhase, number][];
  onError: ReturnType<typeof vi.fn>;
} {
  const calls: StepCall[] = [];
  const phases: [ShutdownPhase, ShutdownPhase, number][] = [];
  const onError = vi.fn();
  const run =
    (step: Step) =>
    (reason: string): Promise<void> => {
      const call: StepCall = {
        step,
        reason,
        at: performance.now(),
        phase: coordinator.phase,
      };
      calls.push(call);
      const behaviour = script[step] ?? { resolveAfter: 0 };
      if (behaviour === 'hang') return new Promise<void>(() => {});
      if ('throwSync' in behaviour) throw new Error(behaviour.throwSync);
      if ('rejectAfter' in behaviour) {
        return sleep(behaviour.rejectAfter).then(() => {
          call.settledIn = coordinator.phase;
          throw new Error(behaviour.message);
        });
      }
      return sleep(behaviour.resolveAfter).then(() => {
        call.settledIn = coordinator.phase;
      });
    };
  const coordinator = new ShutdownCoordinator({
    deadlines: {
      signalingMs: 1_000,
      drainingMs: 1_000,
      closingMs: 1_000,
      forceMs: 1_000,
      ...deadlines,
    },
    work: {
      signal: run('signal'),
      drain: run('drain'),
      forceDrain: run('forceDrain'),
      close: run('close'),
      forceClose: run('forceClose'),
    },
    onPhase: (phase, previous) => {
      phases.push([phase, previous, performance.now()]);
    },
    onError,
  });
  return { coordinator, calls, phases, onError };
}

/** Begins and returns the outcome (begin() itself returns nothing). */
function run(coordinator: ShutdownCoordinator, reason: string, gate?: ShutdownGate) {
  coordinator.begin(reason, gate);
  return coordinator.outcome;
}

function expectSaneTimings(outcome: ShutdownOutcome): void {
  const { signaling, draining, closing } = outcome.phases;
  for (const timing of [signaling, draining, closing]) {
    expect(timing.durationMs).toBeGreaterThanOrEqual(0);
  }
  expect(signaling.durationMs + draining.durationMs + closing.durationMs).toBeLessThanOrEqual(
    outcome.durationMs + 1,
  );
}

describe('ShutdownCoordinator', () => {
  it('runs signaling → draining → closing → stopped, each with its work, and times them', async () => {
    const { coordinator, calls, phases, onError } = setup({
      signal: { resolveAfter: 20 },
      drain: { resolveAfter: 40 },
      close: { resolveAfter: 30 },
    });
    expect(coordinator.phase).toBe('running');
    const before = Date.now();
    const outcome = await run(coordinator, 'deploy');
    const after = Date.now();

    expect(phases.map(([phase, previous]) => [phase, previous])).toEqual([
      ['signaling', 'running'],
      ['draining', 'signaling'],
      ['closing', 'draining'],
      ['stopped', 'closing'],
    ]);
    expect(coordinator.phase).toBe('stopped');
    expect(calls.map((c) => [c.step, c.reason, c.settledIn])).toEqual([
      ['signal', 'deploy', 'signaling'],
      ['drain', 'deploy', 'draining'],
      ['close', 'deploy', 'closing'],
    ]);
    expect(outcome).toMatchObject({
      reason: 'deploy',
      timedOut: { signaling: false, draining: false, closing: false },
      errors: [],
    });
    expect(outcome.startedAt).toBeGreaterThanOrEqual(before);
    expect(outcome.startedAt).toBeLessThanOrEqual(after);
    const { signaling, draining, closing } = outcome.phases;
    expect(signaling).toMatchObject({ timedOut: false });
    expect(signaling.durationMs).toBeGreaterThanOrEqual(18);
    expect(signaling.durationMs).toBeLessThan(20 + 400);
    expect(draining.durationMs).toBeGreaterThanOrEqual(38);
    expect(draining.durationMs).toBeLessThan(40 + 400);
    expect(closing.durationMs).toBeGreaterThanOrEqual(28);
    expect(closing.durationMs).toBeLessThan(30 + 400);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(85);
    expectSaneTimings(outcome);
    expect(onError).not.toHaveBeenCalled();
  });

  it('begin() is idempotent: one outcome promise, the first reason, each work once', async () => {
    const { coordinator, calls } = setup({ signal: { resolveAfter: 10 } });
    const outcome = coordinator.outcome;
    expect(await settleState(outcome)).toBe('pending'); // settles only after a begin
    coordinator.begin('SIGTERM');
    coordinator.begin('SIGINT');
    expect(coordinator.outcome).toBe(outcome);
    expect((await outcome).reason).toBe('SIGTERM');
    coordinator.begin('again');
    expect(coordinator.view.getSnapshot().status).toBe('done');
    expect(coordinator.outcome).toBe(outcome);
    expect(calls.map((c) => c.step)).toEqual(['signal', 'drain', 'close']);
    expect(new Set(calls.map((c) => c.reason))).toEqual(new Set(['SIGTERM']));
  });

  it('a phase whose work rejects is recorded and the protocol goes on (through the forced paths)', async () => {
    const { coordinator, calls, phases } = setup({
      signal: { rejectAfter: 5, message: 'signal failed' },
      drain: { rejectAfter: 5, message: 'drain failed' },
      forceDrain: { rejectAfter: 5, message: 'forceDrain failed' },
      close: { rejectAfter: 5, message: 'close failed' },
      forceClose: { rejectAfter: 5, message: 'forceClose failed' },
    });
    const outcome = await run(coordinator, 'test');
    expect(calls.map((c) => c.step)).toEqual([
      'signal',
      'drain',
      'forceDrain',
      'close',
      'forceClose',
    ]);
    expect(outcome.errors.map((e) => e.message)).toEqual([
      'signal failed',
      'drain failed',
      'forceDrain failed',
      'close failed',
      'forceClose failed',
    ]);
    expect(outcome.errors[0]).toMatchObject({ _tag: 'Error', name: 'Error' });
    expect(outcome.timedOut).toEqual({ signaling: false, draining: false, closing: false });
    expect(phases.map(([phase]) => phase)).toEqual(['signaling', 'draining', 'closing', 'stopped']);
    expectSaneTimings(outcome);
  });

  it('a work function that throws synchronously counts as a failed phase too', async () => {
    const { coordinator, calls, onError } = setup({
      signal: { throwSync: 'sync signal' },
      close: { throwSync: 'sync close' },
    });
    const outcome = await run(coordinator, 'test');
    expect(calls.map((c) => c.step)).toEqual(['signal', 'drain', 'close', 'forceClose']);
    expect(outcome.errors.map((e) => e.message)).toEqual(['sync signal', 'sync close']);
    expect(coordinator.phase).toBe('stopped');
    expect(onError).not.toHaveBeenCalled();
  });

  it('phase deadlines mark timedOut and take the forced paths', async () => {
    const { coordinator, calls } = setup(
      { signal: 'hang', drain: 'hang', forceDrain: { resolveAfter: 10 }, close: 'hang' },
      { signalingMs: 30, drainingMs: 40, closingMs: 30 },
    );
    const t0 = performance.now();
    const outcome = await run(coordinator, 'deadline');
    const elapsed = performance.now() - t0;
    expect(outcome.timedOut).toEqual({ signaling: true, draining: true, closing: true });
    expect(outcome.errors).toEqual([]);
    expect(calls.map((c) => c.step)).toEqual([
      'signal',
      'drain',
      'forceDrain',
      'close',
      'forceClose',
    ]);
    // forceDrain ran while still draining, after the draining deadline
    const drain = calls.find((c) => c.step === 'drain')!;
    const forceDrain = calls.find((c) => c.step === 'forceDrain')!;
    expect(forceDrain.settledIn).toBe('draining');
    expect(forceDrain.at - drain.at).toBeGreaterThanOrEqual(38);
    const { signaling, draining, closing } = outcome.phases;
    expect(signaling.durationMs).toBeGreaterThanOrEqual(28);
    expect(signaling.durationMs).toBeLessThan(30 + 400);
    expect(draining.durationMs).toBeGreaterThanOrEqual(40 + 10 - 2);
    expect(draining.durationMs).toBeLessThan(50 + 400);
    expect(closing.durationMs).toBeGreaterThanOrEqual(28);
    expect(elapsed).toBeGreaterThanOrEqual(105);
    expect(elapsed).toBeLessThan(1_000);
    expectSaneTimings(outcome);
  });

  it('a forced path that hangs is cut at forceMs and noted in the errors', async () => {
    const { coordinator, phases } = setup(
      { drain: 'hang', forceDrain: 'hang', close: 'hang', forceClose: 'hang' },
      { drainingMs: 20, closingMs: 20, forceMs: 30 },
    );
    const outcome = await run(coordinator, 'stuck');
    expect(outcome.timedOut).toEqual({ signaling: false, draining: true, closing: true });
    expect(outcome.errors.map((e) => e.message)).toEqual([
      'the forced path of draining did not finish within forceMs (30 ms)',
      'the forced path of closing did not finish within forceMs (30 ms)',
    ]);
    expect(outcome.errors.map((e) => [e.code, e.context])).toEqual([
      ['ERR_SHUTDOWN_TIMEOUT', { phase: 'draining', forceMs: 30 }],
      ['ERR_SHUTDOWN_TIMEOUT', { phase: 'closing', forceMs: 30 }],
    ]);
    expect(outcome.phases.draining.durationMs).toBeGreaterThanOrEqual(48);
    expect(outcome.phases.closing.durationMs).toBeGreaterThanOrEqual(48);
    expect(outcome.durationMs).toBeLessThan(1_000);
    expect(phases.at(-1)?.[0]).toBe('stopped');
    expectSaneTimings(outcome);
  });

  it('reports each phase change when it happens', async () => {
    const { coordinator, calls, phases } = setup({
      signal: { resolveAfter: 15 },
      drain: { resolveAfter: 15 },
      close: { resolveAfter: 15 },
    });
    await run(coordinator, 'timing');
    const enteredAt = Object.fromEntries(phases.map(([phase, , at]) => [phase, at]));
    const startedAt = Object.fromEntries(calls.map((c) => [c.step, c.at]));
    // each phase's work starts as the phase is entered, the next phase after it finished
    expect(startedAt.drain! - enteredAt.draining!).toBeLessThan(10);
    expect(enteredAt.draining! - startedAt.signal!).toBeGreaterThanOrEqual(13);
    expect(enteredAt.closing! - startedAt.drain!).toBeGreaterThanOrEqual(13);
    expect(enteredAt.stopped! - startedAt.close!).toBeGreaterThanOrEqual(13);
  });

  it('phase already reports the new phase, announced by onPhase, when its work is called', async () => {
    const { coordinator, calls, phases } = setup({});
    await run(coordinator, 'order');
    expect(calls.map((c) => [c.step, c.phase])).toEqual([
      ['signal', 'signaling'],
      ['drain', 'draining'],
      ['close', 'closing'],
    ]);
    const announced = Object.fromEntries(phases.map(([phase, , at]) => [phase, at]));
    for (const call of calls) {
      expect(announced[call.phase], call.step).toBeLessThanOrEqual(call.at);
    }
  });

  // Regression (fixed) (src/shutdown/ShutdownCoordinator.ts, the `phaseEntered` entry:
  it('a throwing onPhase listener does not stop the protocol', async () => {
    const calls: string[] = [];
    const step = (name: string) => (): Promise<void> => {
      calls.push(name);
      return Promise.resolve();
    };
    const coordinator = new ShutdownCoordinator({
      deadlines: { signalingMs: 200, drainingMs: 200, closingMs: 200, forceMs: 200 },
      work: {
        signal: step('signal'),
        drain: step('drain'),
        forceDrain: step('forceDrain'),
        close: step('close'),
        forceClose: step('forceClose'),
      },
      onPhase: (phase) => {
        if (phase === 'draining') throw new Error('listener threw');
      },
      onError: () => {},
    });
    const outcome = await run(coordinator, 'listener');
    expect(outcome.reason).toBe('listener');
    expect(calls).toEqual(['signal', 'drain', 'close']);
  });

  it('the view is read-only: id, snapshot and subscription, nothing to send or stop', async () => {
    const { coordinator } = setup({});
    const view = coordinator.view;
    expect(view.id).toBe('shutdown');
    for (const method of ['send', 'stop', 'start', 'system']) {
      expect((view as unknown as Record<string, unknown>)[method], method).toBeUndefined();
    }
    expect(view.getSnapshot().hasTag('ready')).toBe(true);
    const values: unknown[] = [];
    const sub = view.subscribe((snapshot) => values.push(snapshot.value));
    const done = new Promise<void>((resolve) => view.subscribe({ complete: resolve }));
    await run(coordinator, 'view');
    await done;
    sub.unsubscribe();
    expect(values[0]).toEqual({ signaling: 'working' });
    expect(values.at(-1)).toBe('stopped');
  });
});

describe('ShutdownCoordinator gate', () => {
  interface GateCall {
    readonly phase: TimedShutdownPhase;
    /** `coordinator.phase` when the gate was called. */
    readonly during: ShutdownPhase;
    /** Steps called before the gate. */
    readonly stepsBefore: number;
    readonly hold: Deferred<void>;
  }

  function gated(
    script: Partial<Record<Step, Behaviour>> = {},
    deadlines: Partial<ShutdownDeadlines> = {},
  ) {
    const s = setup(script, deadlines);
    const gateCalls: GateCall[] = [];
    const arrived: ((call: GateCall) => void)[] = [];
    const gate: ShutdownGate = (phase) => {
      const call = {
        phase,
        during: s.coordinator.phase,
        stepsBefore: s.calls.length,
        hold: deferred(),
      };
      gateCalls.push(call);
      arrived.shift()?.(call);
      return call.hold.promise;
    };
    /** Resolves with the next gate call (or the one already made). */
    const nextGate = (index: number): Promise<GateCall> => {
      const made = gateCalls[index];
      if (made !== undefined) return Promise.resolve(made);
      return new Promise((resolve) => arrived.push(resolve));
    };
    return { ...s, gate, gateCalls, nextGate };
  }

  it("is called for signaling, draining and closing in order, after each phase's work, and holds the phase", async () => {
    const { coordinator, calls, phases, gate, nextGate } = gated();
    const outcome = run(coordinator, 'cluster', gate);

    const signaling = await nextGate(0);
    expect(signaling).toMatchObject({ phase: 'signaling', during: 'signaling', stepsBefore: 1 });
    expect(calls.map((c) => c.settledIn)).toEqual(['signaling']);
    expect(await settleState(outcome)).toBe('pending');
    expect(coordinator.phase).toBe('signaling');
    expect(coordinator.view.getSnapshot().value).toEqual({ signaling: 'gating' });
    signaling.hold.resolve();

    const draining = await nextGate(1);
    expect(draining).toMatchObject({ phase: 'draining', during: 'draining', stepsBefore: 2 });
    expect(coordinator.phase).toBe('draining');
    draining.hold.resolve();

    const closing = await nextGate(2);
    expect(closing).toMatchObject({ phase: 'closing', during: 'closing', stepsBefore: 3 });
    expect(await settleState(outcome)).toBe('pending');
    expect(coordinator.phase).toBe('closing');
    closing.hold.resolve();

    const result = await outcome;
    expect(result.errors).toEqual([]);
    expect(result.timedOut).toEqual({ signaling: false, draining: false, closing: false });
    expect(phases.map(([phase]) => phase)).toEqual(['signaling', 'draining', 'closing', 'stopped']);
  });

  it("only the first begin's gate is used", async () => {
    const { coordinator, gate, gateCalls, nextGate } = gated();
    const other = vi.fn();
    coordinator.begin('first', gate);
    coordinator.begin('second', other);
    for (let i = 0; i < 3; i++) (await nextGate(i)).hold.resolve();
    await coordinator.outcome;
    expect(gateCalls.map((c) => c.phase)).toEqual(['signaling', 'draining', 'closing']);
    expect(other).not.toHaveBeenCalled();
  });

  it('a gate that throws or rejects is recorded and the protocol goes on', async () => {
    const { coordinator } = setup({});
    const outcome = await run(coordinator, 'gate', (phase) => {
      if (phase === 'signaling') throw new Error('gate threw');
      if (phase === 'closing') return Promise.reject(new Error('gate rejected'));
      return undefined;
    });
    expect(outcome.errors.map((e) => e.message)).toEqual(['gate threw', 'gate rejected']);
    expect(outcome.timedOut).toEqual({ signaling: false, draining: false, closing: false });
  });

  it("a gate that never opens is cut by the phase's deadline, which marks the phase timed out", async () => {
    const { coordinator, calls } = setup({}, { signalingMs: 40, drainingMs: 40, closingMs: 40 });
    const t0 = performance.now();
    const outcome = await run(coordinator, 'stuck gate', () => new Promise<void>(() => {}));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    expect(outcome.timedOut).toEqual({ signaling: true, draining: true, closing: true });
    // the work itself had finished: no forced path ran
    expect(calls.map((c) => c.step)).toEqual(['signal', 'drain', 'close']);
    expect(outcome.phases.draining.durationMs).toBeGreaterThanOrEqual(38);
    expect(outcome.phases.draining.durationMs).toBeLessThan(40 + 400);
  });

  it('after a phase whose deadline passed, its gate is bounded by forceMs (ERR_SHUTDOWN_TIMEOUT)', async () => {
    const { coordinator, calls } = setup(
      { drain: 'hang', forceDrain: { resolveAfter: 0 } },
      { drainingMs: 30, forceMs: 40 },
    );
    const outcome = await run(coordinator, 'late gate', (phase) =>
      phase === 'draining' ? new Promise<void>(() => {}) : undefined,
    );
    expect(calls.map((c) => c.step)).toEqual(['signal', 'drain', 'forceDrain', 'close']);
    expect(outcome.timedOut.draining).toBe(true);
    expect(outcome.errors).toEqual([
      expect.objectContaining({
        code: 'ERR_SHUTDOWN_TIMEOUT',
        message: 'the gate of draining did not finish within forceMs (40 ms)',
        context: { phase: 'draining', forceMs: 40 },
      }),
    ]);
    expect(outcome.phases.draining.durationMs).toBeGreaterThanOrEqual(30 + 40 - 2);
    expect(outcome.phases.draining.durationMs).toBeLessThan(70 + 400);
  });
});
