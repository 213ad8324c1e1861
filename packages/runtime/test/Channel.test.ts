// Channel over an in-process MessageChannel (no threads): calls, errors
// across the wire (raw Comlink and through toWireApi), the peer going away,
// close/flush/deadline, and that the ports are released exactly once.
import { MessageChannel, type MessagePort, type Transferable } from 'node:worker_threads';
import {
  ChannelClosedError,
  QueueFullError,
  TroupeError,
  isTroupeError,
  type ErrorData,
} from '@troupe/core';
import * as Comlink from 'comlink';
import type { InspectionEvent } from 'xstate';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Channel, type ChannelEndpoint, type ChannelOptions } from '../src/channel/Channel.js';
import { toWireApi } from '../src/channel/toWireApi.js';
import { hasRef, rejectionOf, settleState, sleep } from './support.js';

interface PeerApi {
  ping(): string;
  add(a: number, b: number): number;
  slow(ms: number): Promise<number>;
  never(): Promise<never>;
  fail(): never;
  throwString(): never;
  full(): never;
  fullAsync(): Promise<never>;
  withCode(): never;
}

function makeApi(): PeerApi {
  return {
    ping: () => 'pong',
    add: (a, b) => a + b,
    slow: (ms) => sleep(ms).then(() => ms),
    never: () => new Promise<never>(() => {}),
    fail: () => {
      throw new RangeError('peer failed');
    },
    throwString: () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw 'nope';
    },
    full: () => {
      throw new QueueFullError('x', { context: { runnerId: 'r' } });
    },
    fullAsync: () =>
      Promise.reject(
        new QueueFullError('queue of "r" is full', {
          cause: new Error('3 of 3 slots taken'),
          context: { runnerId: 'r', attempt: 2 },
        }),
      ),
    withCode: () => {
      throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    },
  };
}

const opened: MessagePort[] = [];
const channels: Channel[] = [];
afterEach(async () => {
  await Promise.all(channels.splice(0).map((c) => c.close()));
  for (const port of opened.splice(0)) port.close();
});

function ports(): { port1: MessagePort; port2: MessagePort } {
  const { port1, port2 } = new MessageChannel();
  opened.push(port1, port2);
  return { port1, port2 };
}

/** A channel calling a raw Comlink peer exposed on the other port. */
function rawPeer(options: Partial<ChannelOptions<object>> = {}): {
  channel: Channel<PeerApi>;
  port1: MessagePort;
  port2: MessagePort;
} {
  const { port1, port2 } = ports();
  Comlink.expose(makeApi(), port2);
  const channel = new Channel<PeerApi>('c1', {
    callEndpoint: port1,
    closeTimeoutMs: 500,
    ...options,
  });
  channels.push(channel);
  return { channel, port1, port2 };
}

/** A host channel calling a peer channel that exposes the API (through toWireApi). */
function channelPair(): { host: Channel<PeerApi>; peer: Channel; port2: MessagePort } {
  const { port1, port2 } = ports();
  const peer = new Channel<object, PeerApi>('peer', {
    exposeEndpoint: port2,
    localApi: makeApi(),
    closeTimeoutMs: 500,
  });
  const host = new Channel<PeerApi>('host', { callEndpoint: port1, closeTimeoutMs: 500 });
  channels.push(peer, host);
  return { host, peer, port2 };
}

const reason = (message: string): ErrorData => ({ _tag: 'Error', name: 'Error', message });

describe('Channel calls', () => {
  it('calls the peer and returns its values; pending counts the calls in flight', async () => {
    const { channel } = rawPeer();
    expect(channel.state).toBe('open');
    expect(await channel.call('ping')).toBe('pong');
    expect(await channel.call('add', 2, 40)).toBe(42);
    const a = channel.call('slow', 20);
    const b = channel.call('slow', 10);
    expect(channel.pending).toBe(2);
    expect(await Promise.all([a, b])).toEqual([20, 10]);
    expect(channel.pending).toBe(0);
  });

  it("passes the peer's errors back; the channel stays open", async () => {
    const { channel } = rawPeer();
    const error = await rejectionOf(channel.call('fail'));
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'RangeError', message: 'peer failed' });
    // a thrown non-Error becomes an Error with its text
    const thrown = await rejectionOf(channel.call('throwString'));
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toBe('nope');
    expect(channel.state).toBe('open');
    expect(channel.pending).toBe(0);
    expect(await channel.call('ping')).toBe('pong');
  });

  it('a TroupeError thrown by a peer exposed through toWireApi arrives as the same class with code and context', async () => {
    const { host } = channelPair();
    const error = await rejectionOf(host.call('full'));
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toMatchObject({
      name: 'QueueFullError',
      code: 'ERR_QUEUE_FULL',
      message: 'x',
      context: { runnerId: 'r' },
    });

    const rejected = await rejectionOf(host.call('fullAsync'));
    expect(rejected).toBeInstanceOf(QueueFullError);
    expect((rejected as QueueFullError).context).toEqual({ runnerId: 'r', attempt: 2 });
    expect((rejected as Error).cause).toBeInstanceOf(Error);
    expect(((rejected as Error).cause as Error).message).toBe('3 of 3 slots taken');

    // a plain Error keeps its name and code
    const plain = await rejectionOf(host.call('withCode'));
    expect(isTroupeError(plain)).toBe(false);
    expect(plain).toMatchObject({ name: 'Error', message: 'no such file', code: 'ENOENT' });
    expect(await host.call('add', 1, 2)).toBe(3);
  });

  it('without toWireApi the code and class are lost (why the peer side uses it)', async () => {
    const { channel } = rawPeer();
    const error = await rejectionOf(channel.call('full'));
    expect(error).not.toBeInstanceOf(TroupeError);
    expect((error as { code?: unknown }).code).toBeUndefined();
    expect((error as Error).message).toBe('x');
  });

  it('a channel with nothing to call rejects calls with ERR_CHANNEL_CLOSED', async () => {
    const { port2 } = ports();
    const channel = new Channel<PeerApi>('expose-only', {
      exposeEndpoint: port2,
      localApi: makeApi(),
      closeTimeoutMs: 100,
    });
    channels.push(channel);
    const error = await rejectionOf(channel.call('ping'));
    expect(error).toBeInstanceOf(ChannelClosedError);
    expect((error as ChannelClosedError).context).toEqual({
      channelId: 'expose-only',
      operation: 'channel',
      method: 'ping',
    });
  });
});

describe('Channel when the peer goes away', () => {
  it('peerGone(reason) rejects every pending call with ERR_CHANNEL_CLOSED caused by the reason', async () => {
    const { channel, port2 } = rawPeer();
    const portClosed = new Promise<void>((resolve) => port2.once('close', resolve));
    const calls = [channel.call('never'), channel.call('slow', 10_000)];
    const errors = calls.map((call) => rejectionOf(call));
    expect(channel.pending).toBe(2);

    channel.peerGone(reason('thread 3 exited'));
    for (const error of await Promise.all(errors)) {
      expect(error).toBeInstanceOf(ChannelClosedError);
      expect(error).toMatchObject({
        code: 'ERR_CHANNEL_CLOSED',
        context: { channelId: 'c1' },
      });
      expect((error as Error).message).toContain('the peer is gone: thread 3 exited');
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect(((error as Error).cause as Error).message).toBe('thread 3 exited');
    }
    expect(channel.state).toBe('closed');
    expect(channel.pending).toBe(0);
    expect(await settleState(channel.closed)).toBe('resolved');
    // the channel released its port: the peer's end closed too
    expect(await settleState(portClosed, 500)).toBe('resolved');
  });

  it("the other port closing rejects pending calls the same way (the port's 'close' event)", async () => {
    const { channel, port2 } = rawPeer();
    const pending = rejectionOf(channel.call('never'));
    port2.close();
    const error = await pending;
    expect(isTroupeError(error, 'ERR_CHANNEL_CLOSED')).toBe(true);
    expect(((error as Error).cause as Error).message).toBe('the peer closed its port');
    expect(channel.state).toBe('closed');
    await expect(channel.call('ping')).rejects.toMatchObject({ code: 'ERR_CHANNEL_CLOSED' });
  });

  it('a peer channel closes when its host closes the port', async () => {
    const { host, peer } = channelPair();
    expect(await host.call('ping')).toBe('pong');
    await host.close();
    expect(await settleState(peer.closed, 500)).toBe('resolved');
    expect(peer.state).toBe('closed');
  });

  it('peerGone while closing rejects the calls being flushed with the reason', async () => {
    const { channel } = rawPeer({ closeTimeoutMs: 5_000 });
    const flushing = rejectionOf(channel.call('slow', 10_000));
    const closing = channel.close();
    expect(channel.state).toBe('closing');
    channel.peerGone(reason('thread 1 exited'));
    const error = await flushing;
    expect(isTroupeError(error, 'ERR_CHANNEL_CLOSED')).toBe(true);
    expect(((error as Error).cause as Error).message).toBe('thread 1 exited');
    expect(await settleState(closing)).toBe('resolved');
    expect(channel.actor.getSnapshot().context.forced).toBe(false);
  });
});

describe('Channel close', () => {
  it('refuses new calls at once while flushing the calls in flight', async () => {
    const { channel } = rawPeer({ closeTimeoutMs: 1_000 });
    const inFlight = channel.call('slow', 40);
    const t0 = performance.now();
    const closing = channel.close();
    expect(channel.close()).toBe(closing);
    expect(channel.state).toBe('closing');
    const refused = channel.call('ping');
    expect(await settleState(refused)).toBe('rejected');
    const error = await rejectionOf(refused);
    expect(error).toMatchObject({
      code: 'ERR_CHANNEL_CLOSED',
      context: { channelId: 'c1', operation: 'channel', method: 'ping' },
    });
    expect((error as Error).message).toBe(
      'call "ping" on channel "c1" rejected: the channel is closed',
    );
    expect(await inFlight).toBe(40);
    await closing;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30);
    expect(channel.state).toBe('closed');
    expect(channel.actor.getSnapshot().context.forced).toBe(false);
  });

  it('abandons pending calls at closeTimeoutMs: they reject and close resolves', async () => {
    const { channel } = rawPeer({ closeTimeoutMs: 60 });
    const stuck = rejectionOf(channel.call('never'));
    const t0 = performance.now();
    await channel.close();
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(55);
    expect(elapsed).toBeLessThan(500);
    const error = await stuck;
    expect(error).toBeInstanceOf(ChannelClosedError);
    expect((error as Error).message).toBe(
      'pending call on channel "c1" rejected: the channel is closed',
    );
    expect((error as Error).cause).toBeUndefined();
    expect(channel.actor.getSnapshot().context.forced).toBe(true);
  });

  it('an idle channel closes without waiting for the deadline', async () => {
    const { channel } = rawPeer({ closeTimeoutMs: 5_000 });
    const t0 = performance.now();
    await channel.close();
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(channel.state).toBe('closed');
  });

  it('a call after close rejects before a macrotask passes, without reaching the peer', async () => {
    const { channel, port1 } = rawPeer();
    await channel.close();
    const post = vi.spyOn(port1, 'postMessage');
    const call = channel.call('ping');
    expect(await settleState(call)).toBe('rejected');
    expect(post).not.toHaveBeenCalled();
    await expect(call).rejects.toBeInstanceOf(ChannelClosedError);
  });

  it('reaches closed exactly once and releases the ports once, however many ways it is closed', async () => {
    const inspected: InspectionEvent[] = [];
    const { channel, port1, port2 } = rawPeer({ inspect: (event) => inspected.push(event) });
    const closeSpy = vi.spyOn(port1, 'close');
    const port2Closed = vi.fn();
    port2.on('close', port2Closed);
    const port2Gone = new Promise<void>((resolve) => port2.once('close', resolve));
    const closedSnapshots: string[] = [];
    channel.actor.subscribe((snapshot) => {
      if (snapshot.value === 'closed') closedSnapshots.push(snapshot.status);
    });

    const closing = channel.close();
    channel.peerGone(reason('late news'));
    await closing;
    channel.peerGone(reason('later news'));
    await channel.close();
    await port2Gone;

    expect(closedSnapshots).toEqual(['done']);
    const releases = inspected.filter(
      (e) => e.type === '@xstate.action' && e.action.type === 'releasePort',
    );
    expect(releases).toHaveLength(1);
    expect(closeSpy).toHaveBeenCalledTimes(1);
    expect(port2Closed).toHaveBeenCalledTimes(1);
  });

  /** A peer behind a wrapper endpoint, so only the channel's own ref/unref calls are counted. */
  function countedPeer(): {
    channel: Channel<PeerApi>;
    ref: ReturnType<typeof vi.fn>;
    unref: ReturnType<typeof vi.fn>;
    port1: MessagePort;
  } {
    const { port1, port2 } = ports();
    Comlink.expose(makeApi(), port2);
    // Node refs a port itself when a 'message' listener is added: not counted here.
    const ref = vi.fn(() => port1.ref());
    const unref = vi.fn(() => port1.unref());
    const endpoint: ChannelEndpoint = {
      postMessage: (message: unknown, transfer?: Transferable[]) => {
        port1.postMessage(message, transfer);
      },
      addEventListener: port1.addEventListener.bind(port1) as ChannelEndpoint['addEventListener'],
      removeEventListener: port1.removeEventListener.bind(
        port1,
      ) as ChannelEndpoint['removeEventListener'],
      start: () => {
        port1.start();
      },
      close: () => {
        port1.close();
      },
      ref,
      unref,
    };
    const channel = new Channel<PeerApi>('refs', { callEndpoint: endpoint, closeTimeoutMs: 100 });
    channels.push(channel);
    return { channel, ref, unref, port1 };
  }

  it('holds the port (ref) only while a call is pending', async () => {
    const { channel, ref, unref } = countedPeer();
    expect(unref).toHaveBeenCalledTimes(1);
    expect(ref).not.toHaveBeenCalled();
    const a = channel.call('slow', 10);
    const b = rejectionOf(channel.call('never'));
    expect(ref).toHaveBeenCalledTimes(1);
    await a;
    // b is still pending: the port stays held
    expect(unref).toHaveBeenCalledTimes(1);
    expect(await channel.call('ping')).toBe('pong');
    expect(ref).toHaveBeenCalledTimes(1);
    expect(unref).toHaveBeenCalledTimes(1);
    channel.peerGone(reason('gone'));
    await b;
    expect(unref).toHaveBeenCalledTimes(2);
    expect(ref).toHaveBeenCalledTimes(1);
  });

  it('callInBackground never refs the port, and does not keep a ref a foreground call took', async () => {
    const { channel, ref, unref, port1 } = countedPeer();
    const background = rejectionOf(channel.callInBackground('never'));
    expect(channel.pending).toBe(1);
    expect(ref).not.toHaveBeenCalled();
    expect(hasRef(port1)).toBe(false);
    expect(await channel.callInBackground('add', 1, 2)).toBe(3);
    expect(ref).not.toHaveBeenCalled();
    // a foreground call holds the port while it waits, then lets go though the background one waits on
    const slow = channel.call('slow', 5);
    expect(hasRef(port1)).toBe(true);
    await slow;
    expect(hasRef(port1)).toBe(false);
    expect(ref).toHaveBeenCalledTimes(1);
    expect(unref).toHaveBeenCalledTimes(2);
    channel.peerGone(reason('gone'));
    const error = await background;
    expect(isTroupeError(error, 'ERR_CHANNEL_CLOSED')).toBe(true);
    // releasing the channel with only background calls pending unrefs nothing more
    expect(unref).toHaveBeenCalledTimes(2);
  });

  it('callInBackground on a closed channel rejects like call', async () => {
    const { channel } = rawPeer();
    await channel.close();
    await expect(channel.callInBackground('ping')).rejects.toMatchObject({
      code: 'ERR_CHANNEL_CLOSED',
      context: { channelId: 'c1', operation: 'channel', method: 'ping' },
    });
  });

  it('the actor is a read-only view: its id, snapshot and subscription only', async () => {
    const { channel } = rawPeer();
    const view = channel.actor;
    expect(view.id).toBe('channel:c1');
    for (const method of ['send', 'stop', 'start', 'system']) {
      expect((view as unknown as Record<string, unknown>)[method], method).toBeUndefined();
    }
    expect(view.getSnapshot().value).toBe('open');
    const done = new Promise<string>((resolve) => {
      view.subscribe((snapshot) => {
        if (snapshot.status === 'done') resolve(snapshot.value);
      });
    });
    await channel.close();
    expect(await done).toBe('closed');
  });

  it('an endpoint whose close() throws reports to onError, and the channel still closes', async () => {
    const onError = vi.fn();
    const { channel, port1 } = rawPeer({ onError });
    const original = port1.close.bind(port1);
    const boom = new Error('close failed');
    vi.spyOn(port1, 'close').mockImplementationOnce(() => {
      original();
      throw boom;
    });
    await channel.close();
    expect(channel.state).toBe('closed');
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(boom);
  });
});

describe('toWireApi', () => {
  it('keeps values, this, and results; turns throws and rejections into ErrorData', async () => {
    const api = {
      base: 10,
      version: '1.0',
      plus(n: number): number {
        return this.base + n;
      },
      later: (n: number) => Promise.resolve(n * 2),
      sync: () => {
        throw new QueueFullError('full', { context: { runnerId: 'r' } });
      },
      async: () => Promise.reject(new Error('async nope')),
    };
    const wire = toWireApi(api);
    expect(wire.version).toBe('1.0');
    expect(wire.plus(5)).toBe(15);
    expect(await wire.later(4)).toBe(8);
    let thrown: unknown;
    try {
      wire.sync();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).not.toBeInstanceOf(Error);
    expect(thrown).toMatchObject({
      _tag: 'TroupeError',
      code: 'ERR_QUEUE_FULL',
      context: { runnerId: 'r' },
    });
    // ErrorData is plain data: it survives structuredClone whole
    expect(structuredClone(thrown)).toEqual(thrown);
    const rejected = await rejectionOf(wire.async());
    expect(rejected).toMatchObject({ _tag: 'Error', message: 'async nope' });
    expect(rejected).not.toBeInstanceOf(Error);
  });
});
