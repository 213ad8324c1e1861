// untilSnapshot: resolves once the predicate holds, or the actor is done,
// errored or stopped from outside: whatever happens, it settles (a bare
// subscription without `complete` would hang on a stop; xstate's waitFor
// rejects instead).
import { assign, createActor, createMachine, fromPromise, type AnyActorRef } from 'xstate';
import { describe, expect, it, vi } from 'vitest';
import { untilSnapshot } from '../src/inspection/untilSnapshot.js';
import { settleState } from './support.js';

const machine = createMachine({
  initial: 'idle',
  context: { n: 0 },
  states: {
    idle: {
      on: {
        bump: { actions: assign({ n: ({ context }) => context.n + 1 }) },
        finish: 'done',
        fail: 'failing',
      },
    },
    failing: {
      invoke: {
        src: fromPromise(() => Promise.reject(new Error('actor failed'))),
      },
    },
    done: { type: 'final' },
  },
});

function started(): ReturnType<typeof createActor<typeof machine>> {
  const actor = createActor(machine);
  actor.subscribe({ error: () => {} });
  actor.start();
  return actor;
}

/** Counts the subscriptions an actor holds (subscribe/unsubscribe pairs). */
function counted(actor: AnyActorRef): { readonly live: number } {
  let live = 0;
  const subscribe = actor.subscribe.bind(actor);
  vi.spyOn(actor, 'subscribe').mockImplementation(((observer: never) => {
    const sub = subscribe(observer);
    live += 1;
    return {
      unsubscribe: () => {
        live -= 1;
        sub.unsubscribe();
      },
    };
  }) as never);
  return {
    get live() {
      return live;
    },
  };
}

describe('untilSnapshot', () => {
  it('resolves at once when the predicate already holds', async () => {
    const actor = started();
    const subs = counted(actor);
    await untilSnapshot(actor, (s) => s.value === 'idle');
    expect(subs.live).toBe(0);
    actor.stop();
  });

  it('resolves when a later snapshot satisfies the predicate, and unsubscribes', async () => {
    const actor = started();
    const subs = counted(actor);
    const until = untilSnapshot(actor, (s) => s.context.n >= 2);
    actor.send({ type: 'bump' });
    expect(await settleState(until)).toBe('pending');
    actor.send({ type: 'bump' });
    await until;
    expect(subs.live).toBe(0);
    actor.stop();
  });

  it('resolves when the actor is done, the predicate never holding', async () => {
    const actor = started();
    const until = untilSnapshot(actor, () => false);
    actor.send({ type: 'finish' });
    await until;
    expect(actor.getSnapshot().status).toBe('done');
  });

  it('resolves when the actor errors', async () => {
    const actor = started();
    const until = untilSnapshot(actor, () => false);
    actor.send({ type: 'fail' });
    await until;
    expect(actor.getSnapshot().status).toBe('error');
  });

  it('resolves when the actor is stopped from outside', async () => {
    const actor = started();
    const subs = counted(actor);
    const until = untilSnapshot(actor, () => false);
    expect(await settleState(until)).toBe('pending');
    actor.stop();
    await until;
    expect(subs.live).toBe(0);
  });

  it('resolves at once for an actor that is not active any more', async () => {
    const actor = started();
    actor.send({ type: 'finish' });
    await untilSnapshot(actor, () => false);
    const stopped = started();
    stopped.stop();
    expect(await settleState(untilSnapshot(stopped, () => false))).toBe('resolved');
  });
});
