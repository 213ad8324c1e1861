// InspectionHub: live actors tracked and pruned (memory bounded by live
// actors, not by time), replay of the current state to a late subscriber,
// delivery on the next turn, resync of an observer that falls behind, and
// no inspection observer on any actor while no one watches.
import { createActor, createMachine, type InspectionEvent } from 'xstate';
import { describe, expect, it } from 'vitest';
import { InspectionHub } from '../src/inspection/InspectionHub.js';

const toggle = createMachine({
  id: 'toggle',
  initial: 'off',
  states: {
    off: { on: { flip: 'on', end: 'done' } },
    on: { on: { flip: 'off', end: 'done' } },
    done: { type: 'final' },
  },
});

/** The state value a snapshot event carries. */
const valueOf = (event: InspectionEvent | undefined): unknown =>
  (event as unknown as { snapshot: { value: unknown } }).snapshot.value;
const eventTypeOf = (event: InspectionEvent | undefined): string =>
  (event as unknown as { event: { type: string } }).event.type;
const idOf = (event: InspectionEvent): string => (event.actorRef as unknown as { id: string }).id;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('InspectionHub', () => {
  it('keeps only live roots: 1,000 actors that ended leave no trace', () => {
    const hub = new InspectionHub({ onError: () => {} });
    const live = createActor(toggle);
    hub.track(live);
    live.start();
    for (let i = 0; i < 1_000; i++) {
      const actor = createActor(toggle);
      hub.track(actor);
      actor.start();
      actor.send({ type: 'end' });
    }
    expect(hub.size).toBeLessThan(64);
    expect(hub.watched).toBe(false);
  });

  it('while no one watches, no actor has an inspection observer', () => {
    const hub = new InspectionHub({ onError: () => {} });
    const actor = createActor(toggle);
    hub.track(actor);
    const seen: InspectionEvent[] = [];
    // A direct system observer proves the system would deliver: the hub added none.
    const probe = actor.system.inspect((e) => seen.push(e));
    actor.start();
    probe.unsubscribe();
    expect(seen.length).toBeGreaterThan(0);
    const unsubscribe = hub.subscribe(() => {});
    unsubscribe();
    expect(hub.watched).toBe(false);
  });

  it('a late subscriber gets each live actor and its current snapshot, then the stream, on the next turn', async () => {
    const hub = new InspectionHub({ onError: () => {} });
    const actor = createActor(toggle, { id: 'toggle-1' });
    hub.track(actor);
    actor.start();
    actor.send({ type: 'flip' });
    const seen: InspectionEvent[] = [];
    hub.subscribe((e) => seen.push(e));
    expect(seen).toHaveLength(0);
    await turn();
    expect(seen.map((e) => e.type)).toEqual(['@xstate.actor', '@xstate.snapshot']);
    expect(valueOf(seen[1])).toBe('on');
    expect(eventTypeOf(seen[1])).toBe('troupe.inspect.replay');
    actor.send({ type: 'flip' });
    await turn();
    const live = seen.slice(2).filter((e) => e.type === '@xstate.snapshot');
    expect(valueOf(live.at(-1))).toBe('off');
    // a root created later: announced, then followed from its start
    const later = createActor(toggle, { id: 'toggle-2' });
    hub.track(later);
    later.start();
    await turn();
    const ids = seen.filter((e) => e.type === '@xstate.actor').map((e) => idOf(e));
    expect(ids).toEqual(['toggle-1', 'toggle-2']);
  });

  it('a subscriber 50,000 events behind gets the current state again instead of the backlog', async () => {
    const hub = new InspectionHub({ onError: () => {} });
    const actor = createActor(toggle);
    hub.track(actor);
    actor.start();
    const seen: InspectionEvent[] = [];
    hub.subscribe((e) => seen.push(e));
    for (let i = 0; i < 30_000; i++) actor.send({ type: 'flip' });
    await turn();
    expect(seen.length).toBeLessThan(100);
    expect(seen.map((e) => e.type)).toEqual(['@xstate.actor', '@xstate.snapshot']);
    expect(valueOf(seen[1])).toBe('off');
  });

  it('the observer from the start is called in the step, with the root announced first', () => {
    const seen: string[] = [];
    const hub = new InspectionHub({ initial: (e) => seen.push(e.type), onError: () => {} });
    const actor = createActor(toggle);
    hub.track(actor);
    expect(seen).toEqual(['@xstate.actor']);
    actor.start();
    expect(seen).toContain('@xstate.snapshot');
  });

  it('a throwing observer is reported, not rethrown', async () => {
    const errors: unknown[] = [];
    const hub = new InspectionHub({ onError: (e) => errors.push(e) });
    const actor = createActor(toggle);
    hub.track(actor);
    actor.start();
    hub.subscribe(() => {
      throw new Error('broken');
    });
    await turn();
    actor.send({ type: 'flip' });
    await turn();
    expect(errors).toHaveLength(1);
  });
});
