// Troupe's channel over Comlink: what raw Comlink gets wrong (a call to a
// dead peer hangs forever), ours turns into ERR_CHANNEL_CLOSED.
import { once } from 'node:events';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { Channel } from '@troupe/runtime';
import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { settlesAtOnce, troupeErrorOf, turns, within } from '../helpers/wait.js';

interface PeerApi {
  ping(): string;
  slow(ms: number): number;
  never(): never;
  fail(): never;
}

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

async function peer(): Promise<{
  worker: Worker;
  port: MessagePort;
}> {
  const worker = new Worker(fixture('channel-peer'));
  workers.push(worker);
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ port: port2 }, [port2]);
  await new Promise((resolve) => worker.once('message', resolve));
  return { worker, port: port1 };
}

/** Resolves once `count` calls that do not return at once have reached the peer. */
function callsArrived(worker: Worker, count: number): Promise<void> {
  let seen = 0;
  return within(
    new Promise<void>((resolve) => {
      const onMessage = (message: unknown): void => {
        if (typeof message !== 'object' || message === null || !('called' in message)) return;
        if (++seen < count) return;
        worker.off('message', onMessage);
        resolve();
      };
      worker.on('message', onMessage);
    }),
    5_000,
    `${count} call(s) at the peer`,
  );
}

/** 'pending', or how `promise` settled, once everything already due has run. */
async function stateOf(promise: Promise<unknown>): Promise<unknown> {
  let state: unknown = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await turns();
  return state;
}

describe('Channel', () => {
  it('calls the peer and passes its errors back', async () => {
    const { port } = await peer();
    const channel = new Channel<PeerApi>('c', { callEndpoint: port, closeTimeoutMs: 500 });
    expect(await channel.call('ping')).toBe('pong');
    expect(await channel.call('slow', 5)).toBe(5);
    await expect(channel.call('fail')).rejects.toMatchObject({ message: 'peer failed' });
    await channel.close();
    expect(channel.state).toBe('closed');
  });

  it('rejects every pending call when the peer thread dies; raw Comlink hangs forever', async () => {
    const { worker, port } = await peer();
    const channel = new Channel<PeerApi>('dying', { callEndpoint: port, closeTimeoutMs: 500 });
    const oursArrived = callsArrived(worker, 2);
    const ours = [channel.call('never'), channel.call('slow', 10_000)];
    for (const call of ours) call.catch(() => {}); // observed below
    const second = await peer();
    const raw = Comlink.wrap<PeerApi>(second.port);
    const rawArrived = callsArrived(second.worker, 1);
    const rawCall = raw.never();
    // Both peers die with the calls pending on their side.
    await Promise.all([oursArrived, rawArrived]);
    const rawPortClosed = within(once(second.port, 'close'), 5_000, "the raw port's close");
    await Promise.all([worker.terminate(), second.worker.terminate()]);
    // The port's 'close' event reaches us 50–110 ms after the peer died.
    const errors = await Promise.all(ours.map((call) => troupeErrorOf(call, 2_000)));
    expect(errors.map((e) => e.code)).toEqual(['ERR_CHANNEL_CLOSED', 'ERR_CHANNEL_CLOSED']);
    expect(channel.state).toBe('closed');
    // Nothing can reach the raw call any more, and Comlink still waits.
    await rawPortClosed;
    expect(await stateOf(rawCall)).toBe('pending');
    second.port.close();
  });

  it('rejects at once on a closed channel, and for calls made while closing', async () => {
    const { port } = await peer();
    const channel = new Channel<PeerApi>('c', { callEndpoint: port, closeTimeoutMs: 1_000 });
    const inFlight = channel.call('slow', 100);
    const closing = channel.close();
    expect(channel.state).toBe('closing');
    await expect(channel.call('ping')).rejects.toMatchObject({ code: 'ERR_CHANNEL_CLOSED' });
    // the call already sent gets its reply before the channel closes
    expect(await inFlight).toBe(100);
    await closing;
    expect(channel.close()).toBe(closing);
    const late = channel.call('ping');
    expect(await settlesAtOnce(late), 'refused at once').toBe(true);
    await expect(late).rejects.toMatchObject({
      code: 'ERR_CHANNEL_CLOSED',
      context: { channelId: 'c', operation: 'channel', method: 'ping' },
    });
  });

  it('abandons pending calls at the close deadline: they reject, nothing hangs', async () => {
    const { port } = await peer();
    const channel = new Channel<PeerApi>('c', { callEndpoint: port, closeTimeoutMs: 100 });
    const stuck = channel.call('never');
    stuck.catch(() => {}); // observed below
    const t0 = performance.now();
    await channel.close();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
    // Already rejected when close() resolved.
    expect(await settlesAtOnce(stuck)).toBe(true);
    expect((await troupeErrorOf(stuck)).code).toBe('ERR_CHANNEL_CLOSED');
    expect(channel.actor.getSnapshot().context.forced).toBe(true);
  });

  it('does not keep the process alive while idle, only while a call is pending', async () => {
    const { port } = await peer();
    const channel = new Channel<PeerApi>('c', { callEndpoint: port, closeTimeoutMs: 100 });
    expect(process.getActiveResourcesInfo()).not.toContain('MessagePort');
    const call = channel.call('slow', 50);
    expect(process.getActiveResourcesInfo()).toContain('MessagePort');
    await call;
    expect(process.getActiveResourcesInfo()).not.toContain('MessagePort');
    await channel.close();
  });
});
