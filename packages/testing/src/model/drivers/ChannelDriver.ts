import { MessageChannel, Worker } from 'node:worker_threads';
import { Channel } from '@troupe/runtime';
import { fixtures } from '../../fixtures.js';
import type { ModelPath } from '../modelPaths.js';
import type { ModelDriver, ObservedActor } from '../runModelPath.js';
import { ActorRecorder } from '../ActorRecorder.js';
import { Outcomes } from './settle.js';

interface PeerApi {
  ping(): string;
  slow(ms: number): number;
  never(): never;
}

/**
 * Drives a real Troupe `Channel` to a real peer thread along paths of
 * `channelMachine`: `close` is `channel.close()` with a call pending that
 * answers, never answers, or dies with its peer, as the path's next step
 * requires; `peerGone` is the peer thread terminated.
 */
export class ChannelDriver implements ModelDriver {
  #worker: Worker | null = null;
  #channel: Channel<PeerApi> | null = null;
  #outcomes = new Outcomes();

  async start(path: ModelPath): Promise<ObservedActor> {
    const types = path.steps.map((s) => s.event.type);
    const peerDiesWhileClosing = types.some(
      (t, i) => t === 'troupe.channel.peerGone' && types[i - 1] === 'troupe.channel.close',
    );
    this.#outcomes = new Outcomes();
    const worker = new Worker(fixtures.channelPeer);
    this.#worker = worker;
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ port: port2 }, [port2]);
    await new Promise((resolve) => worker.once('message', resolve));
    const recorder = new ActorRecorder();
    const channel = new Channel<PeerApi>('model-channel', {
      callEndpoint: port1,
      inspect: recorder.inspect,
      closeTimeoutMs: peerDiesWhileClosing ? 10_000 : 100,
    });
    this.#channel = channel;
    return recorder.actor('channel:model-channel');
  }

  exec(path: ModelPath, index: number): Promise<boolean> {
    const channel = this.#channel;
    const worker = this.#worker;
    const type = path.steps[index]?.event.type;
    const next = path.steps[index + 1]?.event.type;
    if (channel === null || worker === null) return Promise.resolve(false);
    if (type === 'troupe.channel.close') {
      if (next?.startsWith('xstate.done.actor') === true) {
        this.#outcomes.track(channel.call('slow', 50), 'slow call');
      } else if (next !== undefined) {
        this.#outcomes.track(channel.call('never'), 'pending call');
      }
      this.#outcomes.track(channel.close(), 'channel.close');
      return Promise.resolve(true);
    }
    if (type === 'troupe.channel.peerGone') {
      this.#outcomes.track(worker.terminate(), 'worker.terminate');
      return Promise.resolve(true);
    }
    return Promise.resolve(false);
  }

  async finish(): Promise<void> {
    await this.#worker?.terminate();
    await this.#channel?.close();
    await this.#outcomes.check(10_000);
    this.#worker = null;
    this.#channel = null;
  }
}
