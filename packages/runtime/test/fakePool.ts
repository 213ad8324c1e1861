// A scripted ThreadPool for the runner core's unit tests (the seam is
// RunnerHost.createPool): no piscina, no threads. The test says when a
// thread says hello and becomes ready, settles each task, crashes or exits
// threads, and holds destroy(). Each fake thread has real MessagePorts with
// a Comlink-exposed control API on its side, as src/worker/entry.ts has.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { ErrorData } from '@troupe/core';
import * as Comlink from 'comlink';
import { toWireApi } from '../src/channel/toWireApi.js';
import type {
  PoolTaskOptions,
  RunTimeSummary,
  ThreadExit,
  ThreadPool,
  ThreadPoolListener,
  ThreadPoolOptions,
} from '../src/pool/ThreadPool.js';
import {
  kHelloKey,
  type ControlApi,
  type EventsApi,
  type HelloMessage,
  type WorkerModuleKind,
} from '../src/protocol.js';
import { deferred, type Deferred } from './support.js';

/** A task the runner submitted. */
export interface FakeTask {
  readonly task: unknown;
  readonly options: PoolTaskOptions;
  /** The thread that took it, or -1 when no thread was free. */
  readonly threadId: number;
  readonly settled: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** What a fake thread's control API was asked, in order. */
export type ControlCall = { readonly method: keyof ControlApi; readonly args: readonly unknown[] };

export interface HelloOptions {
  readonly ok?: boolean;
  readonly error?: ErrorData | null;
  readonly kind?: WorkerModuleKind;
  readonly handlers?: readonly string[];
}

let nextThreadId = 1_000;

/** One fake thread: ports, its control API, its task. */
export class FakeThread {
  readonly threadId: number;
  readonly calls: ControlCall[] = [];
  /** What teardown() does: resolves by default. */
  teardown: () => Promise<void> = () => Promise.resolve();
  ready = false;
  exited = false;
  task: FakeTask | null = null;
  readonly events: Comlink.Remote<EventsApi>;
  readonly #exited = deferred();
  readonly #ports: MessagePort[];
  readonly #control: MessageChannel;
  readonly #eventsChannel: MessageChannel;

  constructor() {
    this.threadId = nextThreadId++;
    this.#control = new MessageChannel();
    this.#eventsChannel = new MessageChannel();
    this.#ports = [
      this.#control.port1,
      this.#control.port2,
      this.#eventsChannel.port1,
      this.#eventsChannel.port2,
    ];
    const record = (method: keyof ControlApi, args: readonly unknown[]): void => {
      this.calls.push({ method, args });
    };
    const api: ControlApi = {
      ping: () => {
        record('ping', []);
        return { threadId: this.threadId, active: this.task === null ? 0 : 1, heapUsed: 0 };
      },
      shutdownNotice: (reason) => {
        record('shutdownNotice', [reason]);
        return true;
      },
      abortTask: (seq, reason) => {
        record('abortTask', [seq, reason]);
        return true;
      },
      abortAll: (reason) => {
        record('abortAll', [reason]);
        return 0;
      },
      teardown: () => {
        record('teardown', []);
        return this.teardown();
      },
    };
    Comlink.expose(toWireApi(api), this.#control.port1);
    this.events = Comlink.wrap<EventsApi>(this.#eventsChannel.port1);
  }

  get exitedPromise(): Promise<void> {
    return this.#exited.promise;
  }

  callsOf(method: keyof ControlApi): readonly (readonly unknown[])[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  hello(options: HelloOptions = {}): HelloMessage {
    return {
      [kHelloKey]: {
        threadId: this.threadId,
        ok: options.ok ?? true,
        error: options.error ?? null,
        kind: options.kind ?? 'defined',
        handlers: options.handlers ?? ['default', 'gen'],
      },
      control: this.#control.port2,
      events: this.#eventsChannel.port2,
    };
  }

  /** Posts on the events port without Comlink (as ctx.log's batches go). */
  postEvent(message: unknown): void {
    this.#eventsChannel.port1.postMessage(message);
  }

  /** The thread is gone: its end of the ports closes, as a dead thread's does. */
  markExited(): void {
    this.exited = true;
    this.#control.port1.close();
    this.#eventsChannel.port1.close();
    this.#exited.resolve();
  }

  /** Closes every port (test cleanup). */
  closeAll(): void {
    for (const port of this.#ports) port.close();
  }
}

/** The fake {@link ThreadPool}. */
export class FakePool implements ThreadPool {
  readonly options: ThreadPoolOptions;
  readonly listener: ThreadPoolListener;
  readonly threads = new Map<number, FakeThread>();
  readonly tasks: FakeTask[] = [];
  readonly terminated: number[] = [];
  readonly aborted: { signal: NonNullable<PoolTaskOptions['signal']>; reason: unknown }[] = [];
  /** Hold destroy() until the test resolves it. */
  holdDestroy: Deferred<void> | null = null;
  destroyCalls = 0;
  /** Start a thread in place of one terminate() ended (piscina does). */
  replaceTerminated = true;
  #placement = -1;
  #destroying: Promise<void> | null = null;
  #started = 0;
  #exited = 0;
  readonly #errors = new WeakMap<object, number>();
  readonly #taskWaiters: { index: number; resolve: (task: FakeTask) => void }[] = [];

  constructor(options: ThreadPoolOptions, listener: ThreadPoolListener) {
    this.options = options;
    this.listener = listener;
  }

  // ---- scripting -----------------------------------------------------------

  /** A thread starts, says hello and becomes ready (in piscina's order: hello, then ready). */
  startThread(hello: HelloOptions = {}): FakeThread {
    const thread = this.spawnThread();
    this.listener.onMessage(thread.hello(hello));
    if (hello.ok !== false) this.ready(thread);
    return thread;
  }

  /** A thread starts without saying anything yet. */
  spawnThread(): FakeThread {
    const thread = new FakeThread();
    this.threads.set(thread.threadId, thread);
    this.#started += 1;
    return thread;
  }

  ready(thread: FakeThread): void {
    thread.ready = true;
    this.listener.onReady(thread.threadId);
  }

  /**
   * The thread exits. Its task (if any) rejects first with `taskError`, then
   * the exit is reported: piscina's own exit handler runs before ours.
   */
  exit(
    thread: FakeThread,
    facts: Partial<Omit<ThreadExit, 'threadId'>> & { taskError?: unknown } = {},
  ): void {
    if (thread.exited) return;
    const { taskError, ...exitFacts } = facts;
    const task = thread.task;
    thread.task = null;
    if (task !== null && !task.settled) {
      task.reject(taskError ?? new Error(`worker exited with code: ${exitFacts.exitCode ?? 1}`));
    }
    thread.markExited();
    this.threads.delete(thread.threadId);
    this.#exited += 1;
    this.listener.onExit({
      threadId: thread.threadId,
      exitCode: 1,
      error: null,
      terminated: false,
      destroyed: this.#destroying !== null,
      replaced: this.#destroying === null,
      ...exitFacts,
    });
  }

  /** The error object came from this thread's 'error' event (threadOfError finds it). */
  errorFrom(thread: FakeThread, error: object): object {
    this.#errors.set(error, thread.threadId);
    return error;
  }

  /** Resolves with the task submitted `index`-th (by default the next one). */
  nextTask(index = this.tasks.length): Promise<FakeTask> {
    const task = this.tasks[index];
    if (task !== undefined) return Promise.resolve(task);
    return new Promise((resolve) => this.#taskWaiters.push({ index, resolve }));
  }

  live(): FakeThread[] {
    return [...this.threads.values()];
  }

  // ---- ThreadPool -----------------------------------------------------------

  run(task: unknown, options: PoolTaskOptions): Promise<unknown> {
    this.#placement = -1;
    if (this.#destroying !== null) return Promise.reject(new Error('Terminating worker thread'));
    const free = this.live().find((t) => t.ready && t.task === null);
    const settle = deferred<unknown>();
    let settled = false;
    const record: FakeTask = {
      task,
      options,
      threadId: free?.threadId ?? -1,
      get settled() {
        return settled;
      },
      resolve: (value) => {
        if (settled) return;
        settled = true;
        if (free !== undefined && free.task === record) free.task = null;
        settle.resolve(value);
      },
      reject: (error) => {
        if (settled) return;
        settled = true;
        if (free !== undefined && free.task === record) free.task = null;
        settle.reject(error);
      },
    };
    if (free !== undefined) {
      free.task = record;
      this.#placement = free.threadId;
    }
    this.tasks.push(record);
    const index = this.tasks.length - 1;
    for (const waiter of this.#taskWaiters.filter((w) => w.index === index)) {
      this.#taskWaiters.splice(this.#taskWaiters.indexOf(waiter), 1);
      waiter.resolve(record);
    }
    return settle.promise;
  }

  get lastPlacement(): number {
    return this.#placement;
  }

  abort(signal: NonNullable<PoolTaskOptions['signal']>, reason: unknown): void {
    this.aborted.push({ signal, reason });
    signal.fire(reason);
  }

  terminate(threadId: number): void {
    const thread = this.threads.get(threadId);
    if (thread === undefined || thread.exited) return;
    this.terminated.push(threadId);
    this.exit(thread, { terminated: true, replaced: this.replaceTerminated });
  }

  destroy(): Promise<void> {
    this.destroyCalls += 1;
    this.#destroying ??= (async () => {
      if (this.holdDestroy !== null) await this.holdDestroy.promise;
      for (const thread of this.live()) {
        this.exit(thread, {
          destroyed: true,
          replaced: false,
          taskError: new Error('Terminating worker thread'),
        });
      }
    })();
    return this.#destroying;
  }

  threadOfError(error: unknown): number | undefined {
    return typeof error === 'object' && error !== null ? this.#errors.get(error) : undefined;
  }

  exited(threadId: number): Promise<void> {
    return this.threads.get(threadId)?.exitedPromise ?? Promise.resolve();
  }

  get counts(): { started: number; exited: number } {
    return { started: this.#started, exited: this.#exited };
  }

  get queueSize(): number {
    return this.tasks.filter((t) => t.threadId < 0 && !t.settled).length;
  }

  runTime(): RunTimeSummary | null {
    return null;
  }
}
