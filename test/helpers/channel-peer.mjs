// A thread that exposes a small API with Comlink on a port it is sent.
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';

parentPort.once('message', ({ port }) => {
  Comlink.expose(
    {
      ping: () => 'pong',
      slow: (ms) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)),
      never: () => new Promise(() => {}),
      fail: () => {
        throw new RangeError('peer failed');
      },
    },
    port,
  );
  parentPort.postMessage('ready');
});
