// The `inspect` option reaches every statechart Troupe runs, so the
// Stately inspector can draw them all.
import type { InspectionEvent } from 'xstate';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { whenSnapshot } from '../helpers/events.js';
import { makeTroupe } from '../helpers/troupe.js';

describe('inspection', () => {
  it('sees the runner, resource, channel and shutdown actors and their transitions', async () => {
    const events: InspectionEvent[] = [];
    const troupe = makeTroupe({ inspect: (event) => events.push(event) });
    troupe.resources.register({ id: 'db', close: () => {} });
    const runner = await troupe.spawnRunner({ id: 'llm-0', worker: fixtures.echo, threads: 1 });
    await runner.run(1);
    await troupe.shutdown();
    const idOf = (e: InspectionEvent): string => (e.actorRef as unknown as { id: string }).id;
    const actorIds = new Set(events.filter((e) => e.type === '@xstate.actor').map(idOf));
    expect(actorIds).toContain('runner:llm-0');
    expect(actorIds).toContain('shutdown');
    expect(actorIds).toContain('supervisor');
    expect(actorIds).toContain('resource:db');
    expect([...actorIds].some((id) => id.startsWith('channel:llm-0/'))).toBe(true);
    const machineIds = new Set(
      events
        .filter((e) => e.type === '@xstate.actor')
        .map((e) => (e.actorRef.getSnapshot() as { machine?: { id: string } }).machine?.id)
        .filter((id) => id !== undefined),
    );
    expect([...machineIds].sort()).toEqual([
      'channel',
      'resource',
      'runner',
      'shutdown',
      'supervisor',
    ]);
    const runnerEvents = events
      .filter((e) => e.type === '@xstate.event' && idOf(e) === 'runner:llm-0')
      .map((e) => (e as { event: { type: string } }).event.type);
    expect(runnerEvents).toContain('troupe.runner.stop');
    expect(runnerEvents).toContain('troupe.runner.close');
  });
});

/** The events `troupe.inspect` delivers, with a way to wait for them. */
function collector(): {
  events: InspectionEvent[];
  observer: (event: InspectionEvent) => void;
  next: () => Promise<void>;
} {
  const events: InspectionEvent[] = [];
  let wake: (() => void) | null = null;
  return {
    events,
    observer: (event) => {
      events.push(event);
      wake?.();
      wake = null;
    },
    next: () =>
      new Promise<void>((resolve) => {
        wake = resolve;
      }),
  };
}

const idOf = (e: InspectionEvent): string => (e.actorRef as unknown as { id: string }).id;

describe('troupe.inspect(observer): a late observer loses nothing', () => {
  it('first gets every live actor with its definition and current state, then the stream', async () => {
    const troupe = makeTroupe();
    troupe.resources.register({ id: 'db', close: () => {} });
    troupe.resources.register({ id: 'cache', close: () => {}, dependsOn: ['db'] });
    const runner = await troupe.spawnRunner({
      id: 'llm-0',
      worker: fixtures.echo,
      threads: 2,
      dependsOn: ['cache'],
    });
    // 150 events' worth of history before anyone watches.
    for (let i = 0; i < 50; i++) await runner.run(i);
    const seen = collector();
    const arrived = seen.next();
    // The replay is the state at this instant (the stream carries what follows).
    await whenSnapshot(runner.actor, (snapshot) =>
      snapshot.matches({ running: { load: 'ready' } }),
    );
    const runnerAtSubscribe = runner.actor.getSnapshot().value;
    const unsubscribe = troupe.inspect(seen.observer);
    expect(seen.events).toHaveLength(0); // never inside the caller's (or an actor's) turn
    await arrived;
    const actors = seen.events.filter((e) => e.type === '@xstate.actor');
    const ids = actors.map(idOf);
    expect(ids).toEqual(
      expect.arrayContaining([
        'runner:llm-0',
        'resource:db',
        'resource:cache',
        'shutdown',
        'supervisor',
      ]),
    );
    expect(ids.filter((id) => id.startsWith('channel:llm-0/'))).toHaveLength(2);
    // each with its machine's definition, then its current snapshot
    for (const actor of actors) {
      const ref = actor.actorRef as unknown as {
        logic: { config?: { id?: string } };
        getSnapshot(): { value?: unknown; status: string };
      };
      const i = seen.events.indexOf(actor);
      const snapshot = seen.events[i + 1];
      expect(snapshot?.type).toBe('@xstate.snapshot');
      expect(snapshot?.actorRef).toBe(actor.actorRef);
      if (ref.logic.config !== undefined && idOf(actor).includes(':')) {
        expect(typeof ref.logic.config.id).toBe('string');
        expect((snapshot as { snapshot: { value?: unknown } }).snapshot.value).toBeDefined();
      }
    }
    const runnerSnapshot = seen.events.find(
      (e) => e.type === '@xstate.snapshot' && idOf(e) === 'runner:llm-0',
    ) as { snapshot: { value: unknown } } | undefined;
    expect(runnerSnapshot?.snapshot.value).toEqual(runnerAtSubscribe);
    expect(runnerAtSubscribe).toEqual({ running: { load: 'ready', threads: 'full' } });
    // then the live stream: the shutdown, as it happens
    const before = seen.events.length;
    await troupe.shutdown();
    await new Promise((resolve) => setImmediate(resolve));
    const live = seen.events.slice(before);
    const runnerStates = live
      .filter((e) => e.type === '@xstate.snapshot' && idOf(e) === 'runner:llm-0')
      .map((e) => (e as unknown as { snapshot: { value: unknown } }).snapshot.value);
    expect(runnerStates.at(-1)).toBe('stopped');
    expect(live.some((e) => e.type === '@xstate.snapshot' && idOf(e) === 'shutdown')).toBe(true);
    unsubscribe();
  });

  it('an observer that throws is reported once and breaks nothing; unsubscribe stops the stream', async () => {
    const troupe = makeTroupe();
    const errors: string[] = [];
    troupe.on('error', (record) => errors.push(record.code));
    const seen = collector();
    const stopGood = troupe.inspect(seen.observer);
    const stopBad = troupe.inspect(() => {
      throw new Error('inspector broke');
    });
    const runner = await troupe.spawnRunner({ id: 'r', worker: fixtures.echo, threads: 1 });
    expect(await runner.run(7)).toBe(7);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.filter((c) => c === 'ERR_LISTENER_FAILED')).toHaveLength(1);
    expect(seen.events.some((e) => e.type === '@xstate.actor' && idOf(e) === 'runner:r')).toBe(
      true,
    );
    stopGood();
    stopBad();
    const count = seen.events.length;
    troupe.resources.register({ id: 'later', close: () => {} });
    await troupe.shutdown();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.events).toHaveLength(count);
  });

  it('a slow observer does not slow the troupe: events reach it after the actors moved on', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ id: 's', worker: fixtures.echo, threads: 1 });
    let calls = 0;
    troupe.inspect(() => {
      calls += 1;
      const end = performance.now() + 20;
      while (performance.now() < end) {
        // slow
      }
    });
    // Registering a resource steps its actor synchronously; the observer is not in that step.
    troupe.resources.register({ id: 'x', close: () => {} });
    expect(calls).toBe(0);
    expect(await runner.run(1)).toBe(1);
  });
});
