/*
 * channelMachine: 3 states, 6 transitions. The close deadline runs on a
 * SimulatedClock; `flushCalls` is a promise the test settles and
 * `releasePort` is counted.
 *
 * | state   | reached in         |
 * | ------- | ------------------ |
 * | open    | C01 (initial)      |
 * | closing | C01                |
 * | closed  | C01, C02, C03, ... |
 *
 * | source  | transition                                | test(s) |
 * | ------- | ----------------------------------------- | ------- |
 * | open    | close -> closing                          | C01     |
 * | open    | peerGone -> closed (recordPeerGone)       | C02     |
 * | closing | onDone -> closed                          | C01     |
 * | closing | onError -> closed                         | C03     |
 * | closing | after closeTimeout -> closed (markForced) | C04     |
 * | closing | peerGone -> closed (recordPeerGone)       | C05     |
 * | closed  | (entry releasePort, exactly once)         | C01-C06 |
 *
 * C99 checks this table mechanically through the inspection API (it relies
 * on the tests before it: run the whole file).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import {
  ChannelEventTypes,
  channelMachine,
  ErrorCodes,
  type ChannelEvent,
  type ErrorData,
} from '../src/index.js';
import { controlled, Coverage, flush, releaseRoots, track } from './support.js';

const coverage = new Coverage(channelMachine);

function startChannel(closeTimeoutMs = 1_000) {
  const clock = new SimulatedClock();
  const flushCalls = controlled<{ id: string }>();
  let released = 0;
  const actor = createActor(
    channelMachine.provide({
      actors: { flushCalls: flushCalls.logic },
      actions: {
        releasePort: () => {
          released += 1;
        },
      },
    }),
    { input: { id: 'c1', closeTimeoutMs }, clock, inspect: coverage.inspect },
  );
  track(actor);
  actor.start();
  return {
    flushCalls,
    released: () => released,
    send(event: ChannelEvent): void {
      actor.send(event);
    },
    advance(ms: number): void {
      clock.increment(ms);
    },
    snapshot: () => actor.getSnapshot(),
  };
}

const close: ChannelEvent = { type: ChannelEventTypes.close };

function peerGone(message: string): ChannelEvent & { reason: ErrorData } {
  return {
    type: ChannelEventTypes.peerGone,
    reason: {
      _tag: 'TroupeError',
      name: 'WorkerCrashedError',
      code: ErrorCodes.WORKER_CRASHED,
      message,
    },
  };
}

afterEach(() => {
  const errors = releaseRoots();
  vi.restoreAllMocks();
  expect(errors).toEqual([]);
});

describe('channelMachine', () => {
  it('C01 open -> closing -> closed once the pending calls are flushed', async () => {
    const c = startChannel();
    expect(c.snapshot().value).toBe('open');
    expect(c.snapshot().context).toEqual({
      id: 'c1',
      closeTimeoutMs: 1_000,
      reason: null,
      forced: false,
    });
    c.send(close);
    expect(c.snapshot().value).toBe('closing');
    expect(c.flushCalls.last().input).toEqual({ id: 'c1' });
    expect(c.released()).toBe(0);
    c.flushCalls.last().resolve();
    await flush();
    expect(c.snapshot().value).toBe('closed');
    expect(c.snapshot().status).toBe('done');
    expect(c.snapshot().context).toMatchObject({ reason: null, forced: false });
    expect(c.released()).toBe(1);
    // The machine declares no output.
    expect(c.snapshot().output).toBeUndefined();
  });

  it('C02 the peer going away while open closes at once and keeps the reason', () => {
    const c = startChannel();
    const event = peerGone('thread 3 exited with code 1');
    c.send(event);
    expect(c.snapshot().value).toBe('closed');
    expect(c.snapshot().context.reason).toBe(event.reason);
    expect(c.snapshot().context.forced).toBe(false);
    expect(c.flushCalls.calls).toHaveLength(0);
    expect(c.released()).toBe(1);
  });

  it('C03 a failed flush still closes the channel', async () => {
    const c = startChannel();
    c.send(close);
    c.flushCalls.last().reject(new Error('flush failed'));
    await flush();
    expect(c.snapshot().value).toBe('closed');
    expect(c.snapshot().context).toMatchObject({ reason: null, forced: false });
    expect(c.released()).toBe(1);
  });

  it('C04 pending calls are abandoned at the close deadline (forced)', async () => {
    const c = startChannel(300);
    c.send(close);
    c.advance(299);
    expect(c.snapshot().value).toBe('closing');
    c.advance(1);
    expect(c.snapshot().value).toBe('closed');
    expect(c.snapshot().context.forced).toBe(true);
    expect(c.flushCalls.last().signal.aborted).toBe(true);
    expect(c.released()).toBe(1);
    c.flushCalls.last().resolve();
    await flush();
    expect(c.released()).toBe(1);
  });

  it('C05 the peer going away while closing cuts the flush short', () => {
    const c = startChannel();
    c.send(close);
    const event = peerGone('port closed');
    c.send(event);
    expect(c.snapshot().value).toBe('closed');
    expect(c.snapshot().context).toMatchObject({ reason: event.reason, forced: false });
    expect(c.flushCalls.last().signal.aborted).toBe(true);
    expect(c.released()).toBe(1);
  });

  it('C06 close is idempotent: repeated close and late peerGone change nothing', async () => {
    const c = startChannel();
    c.send(close);
    c.send(close);
    expect(c.flushCalls.calls).toHaveLength(1);
    c.flushCalls.last().resolve();
    await flush();
    // Events after the end are dropped (silence the development build's warnings).
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    c.send(close);
    c.send(peerGone('late'));
    expect(c.snapshot().value).toBe('closed');
    expect(c.snapshot().context.reason).toBeNull();
    expect(c.released()).toBe(1);
  });

  it('C99 the tests above entered every state and took every transition', () => {
    expect(coverage.allStates).toHaveLength(3);
    expect(coverage.allTransitions).toHaveLength(6);
    expect(coverage.missingStates()).toEqual([]);
    expect(coverage.missingTransitions()).toEqual([]);
  });
});
