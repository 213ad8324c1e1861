// ThreadChannels (the ChannelManager) over real MessageChannels, each
// "thread" a Comlink peer exposing the control API the worker entry
// exposes: hello, probes (at most one ping in flight per thread, the port
// never ref'd: bug 8), aborts to one thread, shutdown notices, teardown
// outcomes, and gone() rejecting what is pending.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import {
  ChannelClosedError,
  TaskAbortedError,
  isTroupeError,
  toErrorData,
  type ErrorData,
} from '@troupe/core';
import * as Comlink from 'comlink';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toWireApi } from '../src/channel/toWireApi.js';
import { ThreadChannels, type ThreadChannelsOptions } from '../src/channel/ThreadChannels.js';
import { kHelloKey, type ControlApi, type EventsApi, type HelloMessage } from '../src/protocol.js';
import { deferred, hasRef, rejectionOf, settleState, type Deferred } from './support.js';

/** One fake thread: the control API on its end of the control port, a caller on its events port. */
interface FakeThread {
  readonly threadId: number;
  readonly hello: HelloMessage;
  readonly calls: { method: keyof ControlApi; args: unknown[] }[];
  /** The answer of the next pings (a deferred the test settles), or immediate when null. */
  ping: Deferred<void> | null;
  teardown: () => Promise<void>;
  readonly events: Comlink.Remote<EventsApi>;
  /** The main thread's end of the control port (the one the channel calls on). */
  readonly mainControl: MessagePort;
  close(): void;
}

const open: MessagePort[] = [];
afterEach(() => {
  for (const port of open.splice(0)) port.close();
});

function fakeThread(
  threadId: number,
  over: Partial<HelloMessage[typeof kHelloKey]> = {},
): FakeThread {
  const control = new MessageChannel();
  const events = new MessageChannel();
  open.push(control.port1, control.port2, events.port1, events.port2);
  const thread: FakeThread = {
    threadId,
    calls: [],
    ping: null,
    teardown: () => Promise.resolve(),
    events: Comlink.wrap<EventsApi>(events.port1),
    mainControl: control.port2,
    hello: {
      [kHelloKey]: { threadId, ok: true, error: null, kind: 'defined', handlers: ['gen'], ...over },
      control: control.port2,
      events: events.port2,
    },
    close: () => {
      control.port1.close();
      events.port1.close();
    },
  };
  const api: ControlApi = {
    ping: () => {
      thread.calls.push({ method: 'ping', args: [] });
      const answer = { threadId, active: 2, heapUsed: 1 };
      // Comlink awaits a returned promise: a pending ping stays pending on the wire.
      return (thread.ping === null
        ? answer
        : thread.ping.promise.then(() => answer)) as unknown as ReturnType<ControlApi['ping']>;
    },
    shutdownNotice: (reason) => {
      thread.calls.push({ method: 'shutdownNotice', args: [reason] });
      return true;
    },
    abortTask: (seq, reason) => {
      thread.calls.push({ method: 'abortTask', args: [seq, reason] });
      return true;
    },
    abortAll: (reason) => {
      thread.calls.push({ method: 'abortAll', args: [reason] });
      return 0;
    },
    teardown: () => {
      thread.calls.push({ method: 'teardown', args: [] });
      return thread.teardown();
    },
  };
  Comlink.expose(toWireApi(api), control.port1);
  return thread;
}

function manager(over: Partial<ThreadChannelsOptions> = {}): {
  channels: ThreadChannels;
  events: [number, number, unknown][];
  errors: [unknown, number][];
} {
  const events: [number, number, unknown][] = [];
  const errors: [unknown, number][] = [];
  const channels = new ThreadChannels({
    runnerId: 'r1',
    closeTimeoutMs: 200,
    onEvent: (threadId, seq, event) => events.push([threadId, seq, event]),
    onError: (error, threadId) => errors.push([error, threadId]),
    ...over,
  });
  return { channels, events, errors };
}

const gone: ErrorData = { _tag: 'Error', name: 'Error', message: 'thread exited with code 1' };

function callsOf(thread: FakeThread, method: keyof ControlApi): unknown[][] {
  return thread.calls.filter((c) => c.method === method).map((c) => c.args);
}

describe('ThreadChannels hello', () => {
  it('accept() opens a channel per thread and returns what the thread said', async () => {
    const { channels } = manager();
    const a = fakeThread(11);
    const b = fakeThread(12, {
      ok: false,
      error: toErrorData(new Error('no module')),
      kind: 'plain',
      handlers: [],
    });
    expect(channels.accept(a.hello)).toEqual({
      threadId: 11,
      ok: true,
      error: null,
      kind: 'defined',
      handlers: ['gen'],
    });
    expect(channels.accept(b.hello)).toMatchObject({ threadId: 12, ok: false, kind: 'plain' });
    expect(channels.size).toBe(2);
    expect(channels.has(11)).toBe(true);
    expect(channels.has(13)).toBe(false);
    expect(channels.channel(11)?.id).toBe('r1/11');
    expect(channels.channel(11)?.actor.id).toBe('channel:r1/11');
    await channels.goneAll(gone);
  });

  it("events a thread emits arrive with its thread id and the task's sequence number", async () => {
    const { channels, events } = manager();
    const a = fakeThread(21);
    channels.accept(a.hello);
    await a.events.emit(5, { type: 'chunk', text: 'hi' });
    expect(events).toEqual([[21, 5, { type: 'chunk', text: 'hi' }]]);
    await channels.goneAll(gone);
  });
});

describe('ThreadChannels probes', () => {
  it('pings every thread and reports its answer', async () => {
    const { channels } = manager();
    const a = fakeThread(1);
    const b = fakeThread(2);
    channels.accept(a.hello);
    channels.accept(b.hello);
    expect(await channels.probe(1_000)).toEqual([
      { threadId: 1, ok: true, active: 2 },
      { threadId: 2, ok: true, active: 2 },
    ]);
    await channels.goneAll(gone);
  });

  it('a thread that does not answer in time is reported not ok, and is not pinged again while it owes the answer', async () => {
    const { channels } = manager();
    const hung = fakeThread(1);
    const fine = fakeThread(2);
    hung.ping = deferred();
    channels.accept(hung.hello);
    channels.accept(fine.hello);
    const first = await channels.probe(30);
    expect(first).toEqual([
      { threadId: 1, ok: false, active: 0 },
      { threadId: 2, ok: true, active: 2 },
    ]);
    const second = await channels.probe(30);
    expect(second[0]).toEqual({ threadId: 1, ok: false, active: 0 });
    expect(callsOf(hung, 'ping')).toHaveLength(1);
    expect(callsOf(fine, 'ping')).toHaveLength(2);
    // the late answer of the pending ping counts for the probe that awaits it
    const third = channels.probe(5_000);
    hung.ping.resolve();
    expect((await third)[0]).toEqual({ threadId: 1, ok: true, active: 2 });
    expect(callsOf(hung, 'ping')).toHaveLength(1);
    // answered: the next probe pings again
    hung.ping = null;
    await channels.probe(1_000);
    expect(callsOf(hung, 'ping')).toHaveLength(2);
    await channels.goneAll(gone);
  });

  it('a pending probe never refs the port: it cannot hold the process open (bug 8)', async () => {
    const { channels } = manager();
    const hung = fakeThread(1);
    hung.ping = deferred();
    channels.accept(hung.hello);
    const port = hung.mainControl;
    const ref = vi.spyOn(port, 'ref');
    expect(hasRef(port)).toBe(false);
    const probing = channels.probe(5_000);
    // the ping reached the thread and is pending there
    await vi.waitFor(() => {
      expect(callsOf(hung, 'ping')).toHaveLength(1);
    });
    expect(hasRef(port)).toBe(false);
    expect(ref).not.toHaveBeenCalled();
    // a call that must be answered does hold it, by contrast
    const teardown = deferred();
    hung.teardown = () => teardown.promise;
    const tearingDown = channels.teardown([1]);
    expect(hasRef(port)).toBe(true);
    teardown.resolve();
    await tearingDown;
    expect(hasRef(port)).toBe(false);
    hung.ping.resolve();
    await probing;
    expect(ref).toHaveBeenCalledTimes(1);
    await channels.goneAll(gone);
  });

  it("a probe's timeout does not hold the process either (its timer is unref'd)", async () => {
    const { channels } = manager();
    const hung = fakeThread(1);
    hung.ping = deferred();
    channels.accept(hung.hello);
    const setTimer = vi.spyOn(globalThis, 'setTimeout');
    const probing = channels.probe(12_345);
    const at = setTimer.mock.calls.findIndex(([, ms]) => ms === 12_345);
    const timer = setTimer.mock.results[at]?.value as NodeJS.Timeout;
    setTimer.mockRestore();
    expect(timer.hasRef()).toBe(false);
    hung.ping.resolve();
    await probing;
    await channels.goneAll(gone);
  });

  it('a probe of a thread that is gone meanwhile reports it not ok', async () => {
    const { channels } = manager();
    const a = fakeThread(1);
    a.ping = deferred();
    channels.accept(a.hello);
    const probing = channels.probe(5_000);
    await vi.waitFor(() => {
      expect(callsOf(a, 'ping')).toHaveLength(1);
    });
    await channels.gone(1, gone);
    expect(await probing).toEqual([{ threadId: 1, ok: false, active: 0 }]);
    expect(await channels.probe(10)).toEqual([]);
  });
});

describe('ThreadChannels notices and aborts', () => {
  it('abort() goes to the thread running the task, and to no other', async () => {
    const { channels } = manager();
    const a = fakeThread(1);
    const b = fakeThread(2);
    channels.accept(a.hello);
    channels.accept(b.hello);
    const reason = toErrorData(new TaskAbortedError('cancelled', { context: { taskId: 'r1#3' } }));
    channels.abort(2, 3, reason);
    await vi.waitFor(() => {
      expect(callsOf(b, 'abortTask')).toEqual([[3, reason]]);
    });
    // an abort for a thread without a channel is dropped, not thrown
    expect(() => {
      channels.abort(99, 4, reason);
    }).not.toThrow();
    // round trip to a: anything sent to it before would have arrived by now
    await channels.probe(1_000);
    expect(callsOf(a, 'abortTask')).toEqual([]);
    await channels.goneAll(gone);
  });

  it('abortAll() and notifyShutdown() reach every thread; noticeDelivered waits for the answers', async () => {
    const { channels } = manager();
    const a = fakeThread(1);
    const b = fakeThread(2);
    channels.accept(a.hello);
    channels.accept(b.hello);
    expect(await settleState(channels.noticeDelivered)).toBe('resolved');
    const reason = toErrorData(new TaskAbortedError('deadline'));
    channels.abortAll(reason);
    const notice = channels.notifyShutdown('shutdown: deploy');
    expect(channels.noticeDelivered).toBe(notice);
    await notice;
    for (const thread of [a, b]) {
      expect(callsOf(thread, 'shutdownNotice')).toEqual([['shutdown: deploy']]);
    }
    await vi.waitFor(() => {
      for (const thread of [a, b]) expect(callsOf(thread, 'abortAll')).toEqual([[reason]]);
    });
    await channels.goneAll(gone);
  });

  it('the shutdown notice resolves even when a thread is gone before it answers', async () => {
    const { channels } = manager();
    const a = fakeThread(1);
    channels.accept(a.hello);
    a.close();
    const notice = channels.notifyShutdown('bye');
    await channels.gone(1, gone);
    expect(await settleState(notice, 1_000)).toBe('resolved');
  });
});

describe('ThreadChannels teardown', () => {
  it('records how each teardown went: ran, threw (kept with its class), or thread gone', async () => {
    const { channels } = manager();
    const fine = fakeThread(1);
    const throws = fakeThread(2);
    const dies = fakeThread(3);
    throws.teardown = () =>
      Promise.reject(new TaskAbortedError('teardown refused', { context: { x: 1 } }));
    const dying = deferred();
    dies.teardown = () => dying.promise;
    for (const t of [fine, throws, dies]) channels.accept(t.hello);
    const teardown = channels.teardown([1, 2, 3, 42]);
    await vi.waitFor(() => {
      expect(callsOf(dies, 'teardown')).toHaveLength(1);
    });
    // thread 3 exits during its teardown: its exit tells, not the teardown
    await channels.gone(3, gone);
    await teardown;
    expect(channels.teardownOf(1)).toEqual({ ok: true });
    const failed = channels.teardownOf(2);
    expect(failed?.ok).toBe(false);
    const error = ThreadChannels.teardownError(failed);
    expect(error).toBeInstanceOf(TaskAbortedError);
    expect(error?.message).toBe('teardown refused');
    expect(channels.teardownOf(3)).toBeNull();
    expect(channels.teardownOf(42)).toBeNull();
    expect(ThreadChannels.teardownError(channels.teardownOf(1))).toBeNull();
    expect(ThreadChannels.teardownError(null)).toBeNull();
    await channels.goneAll(gone);
  });

  it("runs each thread's teardown once, and none on a channel that is closing", async () => {
    const { channels } = manager();
    const a = fakeThread(1);
    const b = fakeThread(2);
    channels.accept(a.hello);
    channels.accept(b.hello);
    await channels.teardown([1]);
    await channels.teardown([1]);
    expect(callsOf(a, 'teardown')).toHaveLength(1);
    void channels.channel(2)?.close();
    await channels.teardown([2]);
    expect(callsOf(b, 'teardown')).toHaveLength(0);
    await channels.goneAll(gone);
  });

  it('a teardown that threw a non-Error is rebuilt as an Error with its text', () => {
    const error = ThreadChannels.teardownError({ ok: false, error: 'just a string' });
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toBe('just a string');
  });
});

describe('ThreadChannels gone', () => {
  it('gone() rejects the pending calls with ERR_CHANNEL_CLOSED caused by the exit, and forgets the thread', async () => {
    const { channels } = manager();
    const a = fakeThread(1);
    const b = fakeThread(2);
    a.teardown = () => new Promise<void>(() => {});
    channels.accept(a.hello);
    channels.accept(b.hello);
    const channel = channels.channel(1)!;
    const pending = rejectionOf(channel.call('teardown'));
    await vi.waitFor(() => {
      expect(callsOf(a, 'teardown')).toHaveLength(1);
    });
    const closed = channels.gone(1, gone);
    const error = await pending;
    expect(error).toBeInstanceOf(ChannelClosedError);
    expect(isTroupeError(error, 'ERR_CHANNEL_CLOSED')).toBe(true);
    expect(((error as Error).cause as Error).message).toBe('thread exited with code 1');
    await closed;
    expect(channel.state).toBe('closed');
    expect(channels.has(1)).toBe(false);
    expect(channels.size).toBe(1);
    // gone twice, or for an unknown thread: resolves, does nothing
    expect(await settleState(channels.gone(1, gone))).toBe('resolved');
    await channels.goneAll(gone);
    expect(channels.size).toBe(0);
    expect(channels.channel(2)).toBeUndefined();
  });
});
