// 2. Message round trips, one at a time: ctx.emit (thread → main) and a call
// over a Troupe Channel (main → thread) against raw Comlink in the same
// direction, and a raw MessagePort ping/pong as the floor.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { Channel, createTroupe } from '@troupe/runtime';
import * as Comlink from 'comlink';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';
import { rotate, timed } from '../timing.js';
import type { EmitSink, MessagingPorts } from '../workers/messaging.js';

const EMITTER = new URL('../workers/emitter.js', import.meta.url);
const MESSAGING = new URL('../workers/messaging.js', import.meta.url);
const ROUND_TRIPS = 5_000;
const WARMUP = 1_000;

type EchoApi = { echo(x: unknown): unknown };
type Side = 'emit' | 'comlinkEmit' | 'channel' | 'comlink' | 'port';

/** A raw MessagePort client: post a value, await the echo. */
function pingPong(port: MessagePort): (value: number) => Promise<unknown> {
  let resolveNext: ((value: unknown) => void) | null = null;
  port.on('message', (message: unknown) => {
    const resolve = resolveNext;
    resolveNext = null;
    resolve?.(message);
  });
  return (value) =>
    new Promise((resolve) => {
      resolveNext = resolve;
      port.postMessage(value);
    });
}

export const messaging: Scenario = {
  name: 'messaging',
  title: 'message-plane round trips, sequential',
  async run(ctx) {
    const troupe = createTroupe();
    const runner = await troupe.spawnRunner({ worker: EMITTER, threads: 1 });

    const comlinkCh = new MessageChannel();
    const channelCh = new MessageChannel();
    const pongCh = new MessageChannel();
    const emitCh = new MessageChannel();
    const workerPorts: MessagingPorts = {
      comlink: comlinkCh.port2,
      channel: channelCh.port2,
      pong: pongCh.port2,
      emit: emitCh.port2,
    };
    const worker = new Worker(MESSAGING, {
      workerData: workerPorts,
      transferList: Object.values(workerPorts),
    });
    await new Promise((resolve) => worker.once('online', resolve));

    const remote = Comlink.wrap<EchoApi>(comlinkCh.port1);
    const channel = new Channel<EchoApi>('bench/echo', {
      callEndpoint: channelCh.port1,
      closeTimeoutMs: 1_000,
    });
    const ping = pingPong(pongCh.port1);
    const sink: EmitSink = { emit() {} };
    Comlink.expose(sink, emitCh.port1);
    const workerDone = (): Promise<void> =>
      new Promise((resolve) => {
        worker.once('message', () => {
          resolve();
        });
      });

    const runs: Record<Side, (n: number) => Promise<unknown>> = {
      emit: (n) => runner.run(n, { handler: 'emits' }),
      comlinkEmit: async (n) => {
        const done = workerDone();
        worker.postMessage({ n });
        await done;
      },
      channel: async (n) => {
        for (let i = 0; i < n; i++) await channel.call('echo', i);
      },
      comlink: async (n) => {
        for (let i = 0; i < n; i++) await remote.echo(i);
      },
      port: async (n) => {
        for (let i = 0; i < n; i++) await ping(i);
      },
    };
    const sides: Side[] = ['emit', 'comlinkEmit', 'channel', 'comlink', 'port'];
    const us: Record<Side, number[]> = {
      emit: [],
      comlinkEmit: [],
      channel: [],
      comlink: [],
      port: [],
    };
    try {
      for (const side of sides) await runs[side](WARMUP);
      const rounds = Math.max(5, ctx.rounds);
      for (let r = 0; r < rounds; r++) {
        for (const side of rotate(sides, r)) {
          const ms = await timed(() => runs[side](ROUND_TRIPS));
          us[side].push((ms * 1000) / ROUND_TRIPS);
        }
        ctx.log(
          `round ${r + 1}/${rounds}: ` +
            sides.map((s) => `${s} ${(us[s].at(-1) ?? 0).toFixed(1)} µs`).join(', '),
        );
      }
    } finally {
      await troupe.shutdown({ reason: 'bench done' });
      await channel.close();
      remote[Comlink.releaseProxy]();
      worker.postMessage('close');
      for (const port of [comlinkCh.port1, pongCh.port1, emitCh.port1]) port.close();
      await worker.terminate();
    }
    const scenario = '2 messaging';
    const rows: Row[] = [
      row({
        scenario,
        metric: 'await ctx.emit(i), thread → main',
        unit: 'µs/round trip',
        troupe: median(us.emit),
        baseline: median(us.comlinkEmit),
        baselineName: 'Comlink',
        target: { on: 'ratio', op: '<=', limit: 1.2 },
        samples: { troupe: us.emit, baseline: us.comlinkEmit },
      }),
      row({
        scenario,
        metric: 'await channel.call(echo), main → thread',
        unit: 'µs/round trip',
        troupe: median(us.channel),
        baseline: median(us.comlink),
        baselineName: 'Comlink',
        target: { on: 'ratio', op: '<=', limit: 1.2 },
        samples: { troupe: us.channel, baseline: us.comlink },
      }),
      row({
        scenario,
        metric: 'extra: channel.call vs raw MessagePort ping/pong',
        unit: 'µs/round trip',
        troupe: median(us.channel),
        baseline: median(us.port),
        baselineName: 'MessagePort',
        samples: { troupe: us.channel, baseline: us.port },
      }),
      row({
        scenario,
        metric: 'extra: ctx.emit vs raw MessagePort ping/pong',
        unit: 'µs/round trip',
        troupe: median(us.emit),
        baseline: median(us.port),
        baselineName: 'MessagePort',
        samples: { troupe: us.emit, baseline: us.port },
      }),
    ];
    return rows;
  },
};
