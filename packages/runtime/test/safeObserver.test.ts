// safeObserver: an inspection observer can never break the actor it
// observes. A throwing observer is reported once, then again only after it
// worked in between; a throwing report is swallowed too.
import type { InspectionEvent } from 'xstate';
import { createActor, createMachine } from 'xstate';
import { describe, expect, it, vi } from 'vitest';
import { safeObserver } from '../src/inspection/safeObserver.js';

const event = (n: number): InspectionEvent =>
  ({ type: `@test.${n}` }) as unknown as InspectionEvent;

describe('safeObserver', () => {
  it('passes every event to a function observer and to an { next } observer', () => {
    const fn = vi.fn();
    const wrapped = safeObserver(fn, () => {});
    wrapped.next?.(event(1));
    expect(fn).toHaveBeenCalledWith(event(1));

    const calls: InspectionEvent[] = [];
    const observer = {
      seen: calls,
      next(this: { seen: InspectionEvent[] }, e: InspectionEvent) {
        this.seen.push(e);
      },
    };
    safeObserver(observer, () => {}).next?.(event(2));
    expect(calls).toEqual([event(2)]);
  });

  it('an observer without next is a no-op', () => {
    const onError = vi.fn();
    const wrapped = safeObserver({}, onError);
    expect(() => wrapped.next?.(event(1))).not.toThrow();
    expect(onError).not.toHaveBeenCalled();
  });

  it('a throwing observer is reported once until it works again, and never throws', () => {
    const onError = vi.fn();
    let fail = true;
    const errors = [new Error('one'), new Error('two'), new Error('three')];
    let n = 0;
    const wrapped = safeObserver(() => {
      if (fail) throw errors[n++ % errors.length]!;
    }, onError);
    for (let i = 0; i < 3; i++) expect(() => wrapped.next?.(event(i))).not.toThrow();
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(errors[0]);
    fail = false;
    wrapped.next?.(event(10));
    fail = true;
    wrapped.next?.(event(11));
    wrapped.next?.(event(12));
    expect(onError).toHaveBeenCalledTimes(2);
    expect(onError).toHaveBeenLastCalledWith(errors[0]);
  });

  it('a throwing onError is swallowed', () => {
    const wrapped = safeObserver(
      () => {
        throw new Error('observer');
      },
      () => {
        throw new Error('report');
      },
    );
    expect(() => wrapped.next?.(event(1))).not.toThrow();
  });

  it('keeps an actor alive under a throwing observer (what it is for)', () => {
    const onError = vi.fn();
    const machine = createMachine({
      initial: 'a',
      states: { a: { on: { go: 'b' } }, b: {} },
    });
    const actor = createActor(machine, {
      inspect: safeObserver(() => {
        throw new Error('inspector broke');
      }, onError),
    });
    const actorError = vi.fn();
    actor.subscribe({ error: actorError });
    actor.start();
    actor.send({ type: 'go' });
    expect(actor.getSnapshot().value).toBe('b');
    expect(actor.getSnapshot().status).toBe('active');
    expect(actorError).not.toHaveBeenCalled();
    expect(onError).toHaveBeenCalledTimes(1);
    actor.stop();
  });
});
