import { stat } from 'node:fs/promises';
import type { ResolvedRunnerSpec } from '../options/resolveRunnerSpec.js';
import type { ThreadPool, ThreadPoolListener, ThreadPoolOptions } from '../pool/ThreadPool.js';
import type { LogLevel } from '../logger.js';
import { kBootKey, type WorkerBoot } from '../protocol.js';
import { startFailure, type ThreadErrorSource } from './threadErrors.js';

// The worker entry, bundled into one module at build time (scripts/bundle-worker.mjs).
const ENTRY_URL = new URL('../worker/entry.bundle.js', import.meta.url).href;

/**
 * Builds a runner's pool: checks the worker module is a file, then starts
 * `threads` threads on the worker entry, which loads it, and hands the pool
 * to `adopt`. Creates nothing when `signal` aborted meanwhile (the start was
 * abandoned); rejects with the start's TroupeError.
 */
export async function createRunnerPool(options: {
  readonly source: ThreadErrorSource;
  readonly spec: ResolvedRunnerSpec;
  readonly threads: number;
  readonly signal: AbortSignal;
  /** The lowest level the runner's logger writes (`ctx.log` drops what is below). */
  readonly logLevel: LogLevel | 'silent';
  readonly createPool: (options: ThreadPoolOptions, listener: ThreadPoolListener) => ThreadPool;
  readonly listener: ThreadPoolListener;
  /** Called with the pool as soon as it exists, before any of its threads can report. */
  readonly adopt: (pool: ThreadPool) => void;
}): Promise<void> {
  const { source, spec } = options;
  let isFile: boolean;
  try {
    isFile = (await stat(spec.workerPath)).isFile();
  } catch (error) {
    throw startFailure(source, `worker module not found: ${spec.workerPath}`, error);
  }
  if (!isFile) {
    throw startFailure(
      source,
      `worker module ${spec.workerPath} is not a file (a directory?): give the module's own path`,
      undefined,
    );
  }
  if (options.signal.aborted) return;
  const boot: WorkerBoot = {
    runnerId: source.runnerId,
    moduleUrl: spec.moduleUrl,
    userData: spec.workerData,
    logLevel: options.logLevel,
  };
  let pool: ThreadPool;
  try {
    pool = options.createPool(
      {
        filename: ENTRY_URL,
        threads: options.threads,
        atomics: spec.atomics,
        workerData: { [kBootKey]: boot },
        resourceLimits: spec.resourceLimits,
        env: spec.env,
        execArgv: spec.execArgv,
      },
      options.listener,
    );
  } catch (error) {
    throw startFailure(source, `runner "${source.runnerId}" could not create its threads`, error);
  }
  options.adopt(pool);
}
