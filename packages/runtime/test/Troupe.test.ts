// Troupe-level wiring that needs no threads: the shutdown gate stepping a
// troupe with no runners through its phases, what is refused once it shut
// down, escalations becoming alerts (and a shutdown), and listeners that
// throw.
import {
  InvalidConfigError,
  ShutdownInProgressError,
  isTroupeError,
  type ShutdownPhase,
  type TimedShutdownPhase,
} from '@troupe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, createMachine, type InspectionEvent } from 'xstate';
import { createTroupe } from '../src/createTroupe.js';
import type { ShutdownPhaseEvent, TroupeEvents } from '../src/events/TroupeEvents.js';
import type { Troupe } from '../src/Troupe.js';
import type { ErrorRecord } from '../src/errors/ErrorHandler.js';
import { deferred, rejectionOf, settleState, thrownBy, type Deferred } from './support.js';

const WORKER = new URL('../src/index.ts', import.meta.url);

const troupes: Troupe[] = [];
afterEach(async () => {
  await Promise.all(troupes.splice(0).map((t) => t.shutdown()));
});

function troupe(options: Parameters<typeof createTroupe>[0] = {}): Troupe {
  const t = createTroupe({ nodeId: 'n1', health: { enabled: false }, ...options });
  troupes.push(t);
  return t;
}

/** Records every event of a kind. */
function record<E extends 'shutdown:phase' | 'alert' | 'error'>(
  t: Troupe,
  event: E,
): TroupeEvents[E][0][] {
  const seen: TroupeEvents[E][0][] = [];
  t.on(event, (...args: TroupeEvents[E]) => {
    seen.push(args[0]);
  });
  return seen;
}

describe('troupe.shutdown({ gate }) with no runners', () => {
  it('calls the gate for signaling, draining and closing in order, holding each phase until it resolves', async () => {
    const t = troupe();
    const phases = record(t, 'shutdown:phase');
    const calls: { phase: TimedShutdownPhase; during: ShutdownPhase; hold: Deferred<void> }[] = [];
    const arrived: (() => void)[] = [];
    const nextCall = async (n: number) => {
      while (calls.length <= n) await new Promise<void>((resolve) => arrived.push(resolve));
      return calls[n]!;
    };
    const report = t.shutdown({
      reason: 'cluster',
      gate: (phase) => {
        const hold = deferred();
        calls.push({ phase, during: t.phase, hold });
        for (const resolve of arrived.splice(0)) resolve();
        return hold.promise;
      },
    });

    for (const [i, phase] of (['signaling', 'draining', 'closing'] as const).entries()) {
      const call = await nextCall(i);
      expect(call).toMatchObject({ phase, during: phase });
      expect(t.phase).toBe(phase);
      expect(t.ready).toBe(false);
      expect(calls).toHaveLength(i + 1);
      expect(await settleState(report)).toBe('pending');
      call.hold.resolve();
    }
    const done = await report;
    expect(t.phase).toBe('stopped');
    expect(done).toMatchObject({
      nodeId: 'n1',
      reason: 'cluster',
      forced: false,
      errors: [],
      threads: { started: 0, exited: 0, leaked: 0 },
    });
    expect(phases.map((p) => [p.phase, p.previous, p.reason])).toEqual([
      ['signaling', 'running', 'cluster'],
      ['draining', 'signaling', 'cluster'],
      ['closing', 'draining', 'cluster'],
      ['stopped', 'closing', 'cluster'],
    ]);
  });

  it('every call gets the same promise; only the first reason and gate count', async () => {
    const t = troupe();
    const gated: TimedShutdownPhase[] = [];
    const other: TimedShutdownPhase[] = [];
    const first = t.shutdown({ reason: 'first', gate: (phase) => void gated.push(phase) });
    const second = t.shutdown({ reason: 'second', gate: (phase) => void other.push(phase) });
    expect(second).toBe(first);
    const report = await first;
    expect(report.reason).toBe('first');
    expect(gated).toEqual(['signaling', 'draining', 'closing']);
    expect(other).toEqual([]);
    expect(t.shutdown()).toBe(first);
  });

  it('a gate that rejects is recorded in the report and the shutdown still finishes', async () => {
    const t = troupe();
    const report = await t.shutdown({
      gate: (phase) => (phase === 'draining' ? Promise.reject(new Error('peer lost')) : undefined),
    });
    expect(t.phase).toBe('stopped');
    expect(report.errors.map((e) => e.message)).toEqual(['peer lost']);
  });

  it('the resources close within the closing phase, before its gate is called', async () => {
    const t = troupe();
    const order: string[] = [];
    t.resources.register({ id: 'db', close: () => void order.push('close db') });
    await t.shutdown({ gate: (phase) => void order.push(`gate ${phase}`) });
    expect(order).toEqual(['gate signaling', 'gate draining', 'close db', 'gate closing']);
  });
});

describe('a troupe that has shut down', () => {
  it('refuses new runners naming that it has shut down, and new resources', async () => {
    const t = troupe();
    await t.shutdown({ reason: 'deploy' });
    const error = await rejectionOf(t.spawnRunner({ worker: WORKER }));
    expect(error).toBeInstanceOf(ShutdownInProgressError);
    expect((error as Error).message).toBe(
      'troupe n1 has shut down (deploy): no new work is accepted',
    );
    expect(
      thrownBy(() => {
        t.resources.register({ id: 'late', close: () => {} });
      }),
    ).toBeInstanceOf(ShutdownInProgressError);
    expect(t.health()).toMatchObject({ status: 'stopped', ready: false, phase: 'stopped' });
  });

  it('while shutting down, refuses new runners as shutting down', async () => {
    const t = troupe();
    const hold = deferred();
    const report = t.shutdown({ reason: 'deploy', gate: () => hold.promise });
    const error = await rejectionOf(t.spawnRunner({ worker: WORKER }));
    expect((error as Error).message).toBe(
      'troupe n1 is shutting down (deploy): no new work is accepted',
    );
    hold.resolve();
    await report;
  });
});

describe('a runner whose worker module does not exist (no thread is started)', () => {
  it('spawnRunner rejects with ERR_RUNNER_STARTUP naming the path; reported once; the id is free again', async () => {
    const t = troupe();
    const errors = record(t, 'error');
    const alerts = record(t, 'alert');
    const states = [] as [string, string | null][];
    t.on('runner:state', (e) => states.push([e.state, e.previous]));
    const missing = '/nonexistent/troupe-worker.js';
    const error = await rejectionOf(t.spawnRunner({ id: 'ghost', worker: missing, threads: 1 }));
    expect(isTroupeError(error, 'ERR_RUNNER_STARTUP')).toBe(true);
    expect((error as Error).message).toBe(`worker module not found: ${missing}`);
    expect((error as { context: object }).context).toMatchObject({
      runnerId: 'ghost',
      workerPath: missing,
    });
    expect(states).toEqual([
      ['starting', null],
      ['closing', 'starting'],
      ['failed', 'closing'],
    ]);
    const startup = errors.filter((e) => e.code === 'ERR_RUNNER_STARTUP');
    expect(startup).toHaveLength(1);
    expect(startup[0]?.context).toMatchObject({ runnerId: 'ghost', operation: 'start' });
    expect(alerts.map((a) => [a.kind, a.code, a.decision])).toEqual([
      ['escalation', 'ERR_RUNNER_STARTUP', 'none'],
    ]);
    expect(t.runner('ghost')).toBeUndefined();
    expect(t.resources.state('ghost')).toBeUndefined();
    // health keeps reporting it as failed until the id is spawned again
    expect(t.health().runners).toMatchObject([{ id: 'ghost', state: 'failed', status: 'stopped' }]);
    const again = await rejectionOf(t.spawnRunner({ id: 'ghost', worker: missing, threads: 1 }));
    expect(isTroupeError(again, 'ERR_RUNNER_STARTUP')).toBe(true);
    const report = await t.shutdown();
    expect(report.runners).toEqual([{ id: 'ghost', state: 'failed', restarts: 0, forced: false }]);
    expect(report.threads).toEqual({ started: 0, exited: 0, leaked: 0 });
  });

  it('spawnRunner refuses an id a resource already has', async () => {
    const t = troupe();
    t.resources.register({ id: 'db', close: () => {} });
    const error = await rejectionOf(t.spawnRunner({ id: 'db', worker: WORKER }));
    expect(isTroupeError(error, 'ERR_INVALID_CONFIG')).toBe(true);
    expect((error as Error).message).toBe(
      'invalid "spec.id": a runner or resource "db" already exists (stop it first)',
    );
  });
});

describe('troupe escalations and listeners', () => {
  it('an error that escalates becomes an alert; CRITICAL under escalation: shutdown shuts the troupe down', async () => {
    const t = troupe({ errors: { escalation: 'shutdown' } });
    const alerts = record(t, 'alert');
    const errors = record(t, 'error');
    const stopped = new Promise<void>((resolve) => {
      t.on('shutdown:phase', (event) => {
        if (event.phase === 'stopped') resolve();
      });
    });
    t.resources.register({
      id: 'db',
      close: () => {},
      open: () => Promise.reject(new InvalidConfigError('bad DSN')),
    });
    await stopped;
    expect(errors[0]).toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      severity: 'CRITICAL',
      action: 'ESCALATE',
      context: { component: 'resources', operation: 'open' },
    });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      kind: 'escalation',
      code: 'ERR_INVALID_CONFIG',
      decision: 'shutdown',
    });
    const report = await t.shutdown();
    expect(report.reason).toBe('escalation: ERR_INVALID_CONFIG');
  });

  it('a shutdown:phase listener that throws is reported as ERR_LISTENER_FAILED and the shutdown goes on', async () => {
    const t = troupe();
    const errors = record(t, 'error');
    t.on('shutdown:phase', (event) => {
      if (event.phase === 'draining') throw new Error('listener bug');
    });
    const report = await t.shutdown();
    expect(t.phase).toBe('stopped');
    expect(report.errors).toEqual([]);
    const failed = errors.filter((e) => e.code === 'ERR_LISTENER_FAILED');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      severity: 'LOW',
      action: 'SKIP',
      context: { listener: "troupe.on('shutdown:phase')", component: 'events' },
    });
  });

  it('the same listener once on two events is called once for each (issue 9, bug 4)', async () => {
    const t = troupe();
    const seen: string[] = [];
    const listener = (event: ShutdownPhaseEvent | ErrorRecord): void => {
      seen.push('phase' in event ? `phase:${event.phase}` : `error:${event.code}`);
    };
    t.once('shutdown:phase', listener);
    t.once('error', listener);
    t.resources.register({
      id: 'db',
      close: () => {},
      open: () => Promise.reject(new Error('refused')),
    });
    await new Promise<void>((resolve) => t.once('error', () => resolve()));
    await t.shutdown();
    expect(seen).toEqual(['error:ERR_UNKNOWN', 'phase:signaling']);
  });

  it('health() with no runners: healthy and ready until the shutdown', () => {
    const t = troupe();
    expect(t.health()).toMatchObject({
      score: 1,
      status: 'healthy',
      ready: true,
      phase: 'running',
      runners: [],
    });
  });
});

describe('troupe.track(actor): an actor made outside the troupe', () => {
  it('is in troupe.inspect() while it is live (replayed to a late observer, then live), and dropped once stopped', async () => {
    const t = troupe();
    const lamp = createMachine({
      id: 'lamp',
      initial: 'off',
      states: { off: { on: { toggle: 'on' } }, on: { on: { toggle: 'off' } } },
    });
    const actor = createActor(lamp, { id: 'lamp:hall' });
    t.track(actor);
    actor.start();
    actor.send({ type: 'toggle' });
    // A late observer gets it in the replay, with its current state.
    const seen: InspectionEvent[] = [];
    const replayed = new Promise<void>((resolve) => {
      const stop = t.inspect((event) => {
        seen.push(event);
        if (
          event.type === '@xstate.snapshot' &&
          event.actorRef === actor &&
          (event.snapshot as { value?: unknown }).value === 'off'
        ) {
          stop();
          resolve();
        }
      });
    });
    const first = seen.length;
    expect(first).toBe(0); // delivered on the next turn, never inside the call
    actor.send({ type: 'toggle' }); // → off, live
    await replayed;
    const mine = seen.filter((e) => 'actorRef' in e && e.actorRef === actor);
    expect(mine[0]?.type).toBe('@xstate.actor');
    expect(
      mine
        .filter((e) => e.type === '@xstate.snapshot')
        .map((e) => (e as unknown as { snapshot: { value: unknown } }).snapshot.value),
    ).toEqual(['on', 'off']);
    // Stopped by its owner: a new observer's replay no longer has it.
    actor.stop();
    const after: InspectionEvent[] = [];
    await new Promise<void>((resolve) => {
      const stop = t.inspect((event) => {
        after.push(event);
      });
      setImmediate(() => {
        stop();
        resolve();
      });
    });
    expect(after.some((e) => 'actorRef' in e && e.actorRef === actor)).toBe(false);
    expect(
      after.some(
        (e) => 'actorRef' in e && (e.actorRef as unknown as { id: string }).id === 'shutdown',
      ),
    ).toBe(true);
  });
});
