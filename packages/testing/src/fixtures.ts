function fixture(name: string): URL {
  return new URL(`./fixtures/${name}.js`, import.meta.url);
}

/**
 * Worker modules that misbehave on demand, one behaviour per file. Pass
 * them as `worker` to `spawnRunner()`.
 *
 * @example
 * ```ts
 * import { fixtures } from '@troupe/testing';
 * const runner = await troupe.spawnRunner({ worker: fixtures.crashMidTask });
 * await expect(runner.run({ code: 7 })).rejects.toMatchObject({ code: 'ERR_WORKER_CRASHED' });
 * ```
 */
export const fixtures = {
  /** Plain module: default returns its payload; `add({a,b})`; `fail(message)` throws RangeError. */
  echo: fixture('echo'),
  /** Plain module: sleeps `payload` ms and returns it. */
  sleep: fixture('sleep'),
  /** Plain module: the thread exits (`{ code, afterMs }`) while the task runs. */
  crashMidTask: fixture('crash-mid-task'),
  /** Plain module: throws from a timer while the task runs (uncaught). */
  throwUncaught: fixture('throw-uncaught'),
  /** Plain module that calls `process.exit(1)` while loading. */
  crashOnLoad: fixture('crash-on-load'),
  /** Plain module that throws while loading. */
  throwOnLoad: fixture('throw-on-load'),
  /** Plain module whose task spins forever (a blocked thread). */
  hang: fixture('hang'),
  /** Plain module: returns, then blocks its idle thread's event loop for `payload` ms (silent, no task). */
  blockAfterReturn: fixture('block-after-return'),
  /** Plain module that allocates until its heap limit (use `resourceLimits`). */
  heapHog: fixture('heap-hog'),
  /** Plain module returning a value that cannot be cloned. */
  nonCloneable: fixture('non-cloneable'),
  /** Plain module: returns, then its idle thread exits with code 9 `payload` ms later. */
  exitAfterReturn: fixture('exit-after-return'),
  /** Plain module whose thread exits with code 0 during a task. */
  exitNormally: fixture('exit-normally'),
  /** Plain module: crashes mid-task on the first `crashes` calls (`workerData: { calls: Int32Array(SAB), crashes }`), then echoes. */
  crashThenSucceed: fixture('crash-then-succeed'),
  /** Plain module that loads `okLoads` times then throws on load (`workerData: { loads: Int32Array(SAB), okLoads }`). */
  flakyLoad: fixture('flaky-load'),
  /** defineRunner: `generate({ prompt, chunks, delayMs })` streams chunk events; `echo`. */
  stream: fixture('stream'),
  /** defineRunner: `wait` (until aborted), `untilShutdown`, `work(ms)` (abortable). */
  cooperative: fixture('cooperative'),
  /** defineRunner: `hang` never settles and ignores ctx.signal; `spin` blocks the thread. */
  hangAsync: fixture('hang-async'),
  /** defineRunner whose setup throws. */
  setupFails: fixture('setup-fails'),
  /** defineRunner whose setup takes `workerData.setupMs` (default 60 s). */
  slowSetup: fixture('slow-setup'),
  /** defineRunner writing `setup-<threadId>` / `teardown-<threadId>` files into `workerData.dir`; `teardownMs`, `teardownExitCode`. */
  lifecycleMarker: fixture('lifecycle-marker'),
  /** defineRunner driven through a shared control block: see `Control` (load, hold, exit, teardown on demand). */
  controllable: fixture('controllable'),
  /** A thread exposing `ping`, `slow(ms)`, `never()` with Comlink on the port posted to it first. */
  channelPeer: fixture('channel-peer'),
} as const;

/** The name of one fixture. */
export type FixtureName = keyof typeof fixtures;
