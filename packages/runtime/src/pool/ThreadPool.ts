import type { MessagePort, ResourceLimits, Transferable, Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';

/** How a pool is built. */
export interface ThreadPoolOptions {
  /** The module every thread loads (the runner's worker entry). */
  readonly filename: string;
  readonly threads: number;
  readonly atomics: 'disabled' | 'async';
  readonly workerData: unknown;
  readonly resourceLimits?: ResourceLimits | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly execArgv?: readonly string[] | undefined;
}

/** What the pool knows about a thread that exited. */
export interface ThreadExit {
  readonly threadId: number;
  readonly exitCode: number;
  /** The last error the thread emitted ('error' event), or null. */
  readonly error: unknown;
  /** This pool terminated it (`terminate()`, an abort hook fired past its grace). */
  readonly terminated: boolean;
  /** The pool was being destroyed: every thread is terminated. */
  readonly destroyed: boolean;
  /** The pool has as many threads as it should after this exit (a replacement started). */
  readonly replaced: boolean;
}

/** What a pool reports, as plain callbacks (the runner core turns them into events). */
export interface ThreadPoolListener {
  /** piscina takes tasks to this thread from now on. */
  onReady(threadId: number): void;
  /** A message a thread posted through `parentPort` (hello, crash note). */
  onMessage(message: unknown): void;
  onExit(exit: ThreadExit): void;
  /** The reply of the task running on this thread could not be deserialized here. */
  onUndeliverable(threadId: number, error: unknown): void;
  /** A task piscina had queued (no thread was free when it was submitted) went to this thread. */
  onLatePlacement?(threadId: number): void;
}

/** The smallest thing piscina accepts as a task's abort signal (see AbortHook). */
export interface PoolAbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Options of one task. */
export interface PoolTaskOptions {
  name?: string;
  filename?: string;
  transferList?: Transferable[];
  signal?: PoolAbortSignal & { fire(reason: unknown): void };
}

/**
 * A pool of worker threads. The runner core sees threads only through
 * this seam: thread readiness and exits arrive as typed callbacks, tasks
 * go to a free thread and say which one took them. Tests put a fake in
 * its place.
 */
export interface ThreadPool {
  /**
   * Runs a task. The runner only submits when a thread is free, so the
   * thread that takes it is known at once: {@link lastPlacement}.
   */
  run(task: unknown, options: PoolTaskOptions): Promise<unknown>;
  /** The thread the last `run()` went to, or -1 when the pool had to queue it. */
  readonly lastPlacement: number;
  /** Fires a task's abort hook: piscina dequeues the task, or terminates its thread. */
  abort(signal: NonNullable<PoolTaskOptions['signal']>, reason: unknown): void;
  /** Terminates one thread (it is replaced); its exit reports `terminated`. */
  terminate(threadId: number): void;
  /** Terminates every thread; resolves once each thread this pool ever started exited. Idempotent. */
  destroy(): Promise<void>;
  /** The thread that emitted this error object ('error' event), if it came from one. */
  threadOfError(error: unknown): number | undefined;
  /** Resolves when the thread exited (at once for an unknown or exited thread). */
  exited(threadId: number): Promise<void>;
  /** Threads started and exited over the pool's life. */
  readonly counts: { readonly started: number; readonly exited: number };
  /** Tasks waiting inside the pool for a thread (normally none: the runner queues). */
  readonly queueSize: number;
  /** Run-time figures of the tasks, in ms (piscina's histogram summary). */
  runTime(): RunTimeSummary | null;
}

/** piscina's run-time histogram summary, in ms. */
export interface RunTimeSummary {
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

interface ThreadRecord {
  readonly threadId: number;
  readonly worker: Worker;
  readonly exited: Promise<void>;
  lastError: unknown;
  terminated: boolean;
  done: boolean;
}

/** piscina's per-worker record behind its public `workerCreate` interface (kWorkerData). */
interface WorkerInfoLike {
  readonly port?: MessagePort;
}

function workerInfoOf(iface: object): WorkerInfoLike | null {
  // piscina 5.3.2 keeps its WorkerInfo under a private Symbol('Piscina.kWorkerData'):
  // the only way to the port its replies arrive on (for 'messageerror').
  for (const symbol of Object.getOwnPropertySymbols(iface)) {
    if (symbol.description === 'Piscina.kWorkerData') {
      const info = (iface as Record<symbol, unknown>)[symbol];
      return typeof info === 'object' && info !== null ? info : null;
    }
  }
  return null;
}

/**
 * The piscina 5.3.2 implementation of {@link ThreadPool}. What it works
 * around (FIELD-NOTES): `close()` kills running tasks (never called);
 * `destroy()` called twice lets piscina start untracked replacement threads
 * (destroy is idempotent here); a pool used after `destroy()` silently
 * starts threads (refused here); a reply that cannot be deserialized leaves
 * its task pending forever ('messageerror' is watched, and reported); an
 * idle thread's crash emits 'error' on the pool (always listened to).
 * Threads are learned from the pool's own list when piscina may have
 * started one (construction, an exit, an error, an abort), so a replacement
 * that dies while loading is still seen, counted and awaited.
 */
export class PiscinaThreadPool implements ThreadPool {
  readonly #piscina: Piscina;
  readonly #listener: ThreadPoolListener;
  readonly #expected: number;
  readonly #known = new WeakSet<Worker>();
  readonly #threads = new Map<number, ThreadRecord>();
  readonly #errors = new WeakMap<object, number>();
  #placement = -1;
  #submitting = false;
  #aborting = false;
  #destroying: Promise<void> | null = null;
  #started = 0;
  #exited = 0;

  constructor(options: ThreadPoolOptions, listener: ThreadPoolListener) {
    this.#listener = listener;
    this.#expected = options.threads;
    this.#piscina = new Piscina({
      filename: options.filename,
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: Infinity,
      maxQueue: Infinity,
      concurrentTasksPerWorker: 1,
      atomics: options.atomics,
      workerData: options.workerData,
      // Takes an idle thread and says which: the runner only submits when
      // one is free, so every task's thread is known.
      loadBalancer: (_task, workers) => {
        for (const worker of workers) {
          if (worker.currentUsage === 0) {
            if (this.#submitting) this.#placement = worker.id;
            // A task piscina had to queue went to a thread later.
            else listener.onLatePlacement?.(worker.id);
            return worker;
          }
        }
        return null;
      },
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
      ...(options.env === undefined ? {} : { env: { ...options.env } }),
      ...(options.execArgv === undefined ? {} : { execArgv: [...options.execArgv] }),
    });
    this.#piscina.on('error', (error: unknown) => {
      // An idle thread's crash or a failed bootstrap: its own 'error' and
      // 'exit' say the rest. Without this listener the process would die.
      if (typeof error === 'object' && error !== null && !this.#errors.has(error)) {
        this.#errors.set(error, -1);
      }
    });
    this.#piscina.on('message', (message: unknown) => {
      this.#scan();
      listener.onMessage(message);
    });
    this.#piscina.on('workerCreate', (iface: { id: number } & object) => {
      this.#scan();
      workerInfoOf(iface)?.port?.on('messageerror', (error: unknown) => {
        listener.onUndeliverable(iface.id, error);
      });
      // piscina emits this before it counts a replacement among its ready
      // threads: a task submitted now would wait in piscina's own queue.
      queueMicrotask(() => {
        listener.onReady(iface.id);
      });
    });
    this.#piscina.on('workerDestroy', (iface: { id: number }) => {
      if (this.#aborting) {
        const record = this.#threads.get(iface.id);
        if (record !== undefined) record.terminated = true;
      }
    });
    this.#scan();
  }

  get lastPlacement(): number {
    return this.#placement;
  }

  get counts(): { started: number; exited: number } {
    return { started: this.#started, exited: this.#exited };
  }

  get queueSize(): number {
    return this.#piscina.queueSize;
  }

  run(task: unknown, options: PoolTaskOptions): Promise<unknown> {
    this.#placement = -1;
    if (this.#destroying !== null) {
      // piscina would start new threads for it: a destroyed pool takes nothing.
      return Promise.reject(new Error('Terminating worker thread'));
    }
    this.#submitting = true;
    try {
      return this.#piscina.run(task, options);
    } finally {
      this.#submitting = false;
    }
  }

  abort(signal: NonNullable<PoolTaskOptions['signal']>, reason: unknown): void {
    this.#aborting = true;
    try {
      signal.fire(reason);
    } finally {
      this.#aborting = false;
    }
    // piscina replaced a terminated thread synchronously.
    this.#scan();
  }

  terminate(threadId: number): void {
    const record = this.#threads.get(threadId);
    if (record === undefined || record.done) return;
    record.terminated = true;
    void record.worker.terminate();
  }

  destroy(): Promise<void> {
    this.#destroying ??= (async () => {
      await this.#piscina.destroy();
      // Every thread ever seen, including one piscina dropped from its list
      // (a failed start) and one it started meanwhile: none may outlive this.
      for (;;) {
        this.#scan();
        const left = [...this.#threads.values()].filter((record) => !record.done);
        if (left.length === 0) return;
        for (const record of left) void record.worker.terminate();
        await Promise.all(left.map((record) => record.exited));
      }
    })();
    return this.#destroying;
  }

  threadOfError(error: unknown): number | undefined {
    if (typeof error !== 'object' || error === null) return undefined;
    const threadId = this.#errors.get(error);
    return threadId === undefined || threadId < 0 ? undefined : threadId;
  }

  exited(threadId: number): Promise<void> {
    return this.#threads.get(threadId)?.exited ?? Promise.resolve();
  }

  runTime(): RunTimeSummary | null {
    const summary = this.#piscina.histogram.runTime;
    if (!Number.isFinite(summary.mean) || summary.max <= 0) return null;
    return {
      mean: summary.mean,
      p50: summary.p50,
      p90: summary.p90,
      p99: summary.p99,
      max: summary.max,
    };
  }

  /** Learns the threads piscina started since the last look. */
  #scan(): void {
    for (const worker of this.#piscina.threads) {
      if (this.#known.has(worker)) continue;
      this.#known.add(worker);
      this.#track(worker);
    }
  }

  #track(worker: Worker): void {
    const threadId = worker.threadId;
    let resolve!: () => void;
    const record: ThreadRecord = {
      threadId,
      worker,
      exited: new Promise<void>((r) => {
        resolve = r;
      }),
      lastError: null,
      terminated: false,
      done: false,
    };
    this.#threads.set(threadId, record);
    this.#started += 1;
    worker.on('error', (error: unknown) => {
      if (typeof error === 'object' && error !== null) this.#errors.set(error, threadId);
      // Keep the thread's most telling error: an Error over a value that lost its shape.
      if (record.lastError === null || error instanceof Error) record.lastError = error;
      this.#scan();
    });
    // Registered after piscina's own listener: piscina has rejected the
    // thread's task and started a replacement by the time this runs. Node
    // emits 'exit' once the OS thread is joined.
    worker.once('exit', (exitCode: number) => {
      record.done = true;
      this.#exited += 1;
      this.#threads.delete(threadId);
      this.#scan();
      let live = 0;
      for (const other of this.#threads.values()) if (!other.done) live += 1;
      resolve();
      this.#listener.onExit({
        threadId,
        exitCode,
        error: record.lastError,
        terminated: record.terminated,
        destroyed: this.#destroying !== null,
        replaced: this.#destroying === null && live >= this.#expected,
      });
    });
  }
}

/** Builds the piscina-backed pool. */
export function createThreadPool(
  options: ThreadPoolOptions,
  listener: ThreadPoolListener,
): ThreadPool {
  return new PiscinaThreadPool(options, listener);
}
