// A raw worker (no piscina) serving the message-plane baselines over the
// ports it receives in workerData:
// - `comlink`: Comlink.expose({ echo }) for raw Comlink calls;
// - `channel`: the same, as the peer of a Troupe Channel;
// - `pong`: posts every message straight back (raw MessagePort);
// - `emit`: Comlink.wrap of the main thread's { emit } — on a `{ n }` message
//   from the main thread it awaits `emit(i)` n times, then posts 'done'.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';

export interface MessagingPorts {
  readonly comlink: MessagePort;
  readonly channel: MessagePort;
  readonly pong: MessagePort;
  readonly emit: MessagePort;
}

export interface EmitSink {
  emit(i: number): void;
}

const ports = workerData as MessagingPorts;
const api = {
  echo(x: unknown): unknown {
    return x;
  },
};
Comlink.expose(api, ports.comlink);
Comlink.expose(api, ports.channel);
ports.pong.on('message', (message: unknown) => {
  ports.pong.postMessage(message);
});
const sink = Comlink.wrap<EmitSink>(ports.emit);

parentPort?.on('message', (message: { n: number } | 'close') => {
  if (message === 'close') {
    sink[Comlink.releaseProxy]();
    for (const port of [ports.comlink, ports.channel, ports.pong, ports.emit]) port.close();
    parentPort?.close();
    return;
  }
  void (async () => {
    for (let i = 0; i < message.n; i++) await sink.emit(i);
    parentPort?.postMessage('done');
  })();
});
