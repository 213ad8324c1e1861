// TroupeEmitter: typed events where every listener runs on its own (one
// that throws is reported and the rest still run), `once` per event name
// (issue 9, bug 4: the same function `once` on two events fired once in
// all), and onChange whenever the set of listeners changes.
import { describe, expect, it, vi } from 'vitest';
import { TroupeEmitter } from '../src/events/TroupeEmitter.js';

interface Events {
  a: [n: number];
  b: [s: string, n: number];
  c: [];
}

function emitter(): {
  events: TroupeEmitter<Events>;
  failures: [unknown, keyof Events][];
  onChange: ReturnType<typeof vi.fn>;
} {
  const failures: [unknown, keyof Events][] = [];
  const onChange = vi.fn();
  const events = new TroupeEmitter<Events>({
    onListenerError: (error, event) => {
      failures.push([error, event]);
    },
    onChange,
  });
  return { events, failures, onChange };
}

describe('TroupeEmitter', () => {
  it('calls listeners in registration order with the arguments', () => {
    const { events } = emitter();
    const calls: string[] = [];
    events.on('b', (s, n) => calls.push(`1:${s}${n}`));
    events.on('b', (s, n) => calls.push(`2:${s}${n}`));
    events.emit('b', 'x', 1);
    expect(calls).toEqual(['1:x1', '2:x1']);
    expect(events.listenerCount('b')).toBe(2);
    expect(events.listenerCount('a')).toBe(0);
    // an event nobody listens to is a no-op
    expect(() => {
      events.emit('c');
    }).not.toThrow();
  });

  it('once on two events with the same listener fires once per event (issue 9, bug 4)', () => {
    const { events } = emitter();
    const seen: string[] = [];
    const listener = (...args: unknown[]): void => {
      seen.push(args.join(','));
    };
    events.once('a', listener);
    events.once('b', listener);
    events.emit('a', 1);
    expect(events.listenerCount('a')).toBe(0);
    expect(events.listenerCount('b')).toBe(1);
    events.emit('b', 'x', 2);
    events.emit('a', 3);
    events.emit('b', 'y', 4);
    expect(seen).toEqual(['1', 'x,2']);
  });

  it('the same function on() and once() on one event: once goes, on stays', () => {
    const { events } = emitter();
    const listener = vi.fn();
    events.on('a', listener);
    events.once('a', listener);
    events.emit('a', 1);
    expect(listener).toHaveBeenCalledTimes(2);
    events.emit('a', 2);
    expect(listener).toHaveBeenCalledTimes(3);
    expect(events.listenerCount('a')).toBe(1);
  });

  it('a once listener is removed before it runs: emitting again from inside does not call it twice', () => {
    const { events } = emitter();
    const listener = vi.fn((n: number) => {
      if (n === 1) events.emit('a', 2);
    });
    events.once('a', listener);
    events.emit('a', 1);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener).toHaveBeenCalledWith(1);
  });

  it('a throwing listener is reported with its event and the others still run', () => {
    const { events, failures } = emitter();
    const boom = new Error('listener bug');
    const after = vi.fn();
    const onceAfter = vi.fn();
    events.on('a', () => {
      throw boom;
    });
    events.on('a', after);
    events.once('a', onceAfter);
    expect(() => {
      events.emit('a', 7);
    }).not.toThrow();
    expect(after).toHaveBeenCalledWith(7);
    expect(onceAfter).toHaveBeenCalledWith(7);
    expect(failures).toEqual([[boom, 'a']]);
    // a throwing once listener is removed all the same
    events.once('c', () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw 'once bug';
    });
    events.emit('c');
    events.emit('c');
    expect(failures).toEqual([
      [boom, 'a'],
      ['once bug', 'c'],
    ]);
  });

  it('off() removes one registration (the latest) from that event only', () => {
    const { events } = emitter();
    const listener = vi.fn();
    events.on('a', listener);
    events.on('a', listener);
    events.on('c', listener);
    events.off('a', listener);
    expect(events.listenerCount('a')).toBe(1);
    events.emit('a', 1);
    events.emit('c');
    expect(listener).toHaveBeenCalledTimes(2);
    events.off('a', listener);
    events.off('a', listener);
    expect(events.listenerCount('a')).toBe(0);
    expect(events.listenerCount('c')).toBe(1);
    // off() also removes a listener added with once
    const once = vi.fn();
    events.once('a', once);
    events.off('a', once);
    events.emit('a', 2);
    expect(once).not.toHaveBeenCalled();
  });

  it('onChange fires whenever the listeners change: on, once, off, and a once that ran', () => {
    const { events, onChange } = emitter();
    const listener = (): void => {};
    events.on('a', listener);
    expect(onChange).toHaveBeenCalledTimes(1);
    events.once('c', listener);
    expect(onChange).toHaveBeenCalledTimes(2);
    events.emit('a', 1);
    expect(onChange).toHaveBeenCalledTimes(2); // nothing changed
    events.emit('c');
    expect(onChange).toHaveBeenCalledTimes(3); // the once listener went
    expect(events.listenerCount('c')).toBe(0);
    events.off('a', listener);
    expect(onChange).toHaveBeenCalledTimes(4);
    expect(events.listenerCount('a')).toBe(0);
  });

  it('onChange sees the counts after the change (what the troupe reads to switch task events on)', () => {
    const counts: number[] = [];
    const events: TroupeEmitter<Events> = new TroupeEmitter<Events>({
      onListenerError: () => {},
      onChange: () => counts.push(events.listenerCount('a')),
    });
    const listener = (): void => {};
    events.on('a', listener);
    events.once('a', listener);
    events.emit('a', 1);
    events.off('a', listener);
    expect(counts).toEqual([1, 2, 1, 0]);
  });

  it('a listener added during an emit runs from the next emit on', () => {
    const { events } = emitter();
    const late = vi.fn();
    events.on('a', () => {
      events.on('a', late);
    });
    events.emit('a', 1);
    expect(late).not.toHaveBeenCalled();
    events.emit('a', 2);
    expect(late).toHaveBeenCalledWith(2);
  });
});
