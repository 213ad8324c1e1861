import { workerData } from 'node:worker_threads';
import { kBootKey, type WorkerBoot } from '../protocol.js';

/**
 * The runner spec's `workerData`, from inside a worker module (plain modules
 * included; `defineRunner` setup/teardown also get it as `ctx.workerData`).
 * `undefined` outside a Troupe thread.
 *
 * @example
 * ```ts
 * import { getWorkerData } from '@troupe/runtime/worker';
 * const { modelPath } = getWorkerData<{ modelPath: string }>();
 * ```
 */
export function getWorkerData<T = unknown>(): T {
  const boot = (workerData as Record<string, unknown> | null)?.[kBootKey] as WorkerBoot | undefined;
  return boot?.userData as T;
}
