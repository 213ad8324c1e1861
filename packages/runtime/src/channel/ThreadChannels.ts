import { fromErrorData, isTroupeError, type ErrorData } from '@troupe/core';
import type { Inspection } from '../inspection/Inspection.js';
import { forwardWorkerLogs } from '../logging/forwardWorkerLogs.js';
import { silentLogger, type Logger } from '../logger.js';
import {
  isLogMessage,
  kHelloKey,
  kLogKey,
  type ControlApi,
  type EventsApi,
  type HelloMessage,
  type WorkerModuleKind,
} from '../protocol.js';
import { Channel } from './Channel.js';

type ThreadChannel = Channel<ControlApi, EventsApi>;

/** What a thread said in its hello. */
export interface HelloInfo {
  readonly threadId: number;
  readonly ok: boolean;
  readonly error: ErrorData | null;
  readonly kind: WorkerModuleKind;
  readonly handlers: readonly string[];
}

/** One thread's answer to a health probe. */
export interface ProbeAnswer {
  readonly threadId: number;
  /** Answered within the probe's timeout. */
  readonly ok: boolean;
  /** Tasks the thread is running, by its own count. */
  readonly active: number;
}

/** How a thread's teardown went: `null` when it ran and returned. */
export type TeardownOutcome =
  { readonly ok: true } | { readonly ok: false; readonly error: unknown };

/** Options of {@link ThreadChannels}. */
export interface ThreadChannelsOptions {
  readonly runnerId: string;
  readonly closeTimeoutMs: number;
  readonly inspect?: Inspection | undefined;
  /** The runner's logger: each thread's `ctx.log` records go to its child (`threadId`). Default silent. */
  readonly logger?: Logger;
  /** An event a task emitted with `ctx.emit`. */
  readonly onEvent: (threadId: number, seq: number, event: unknown) => void;
  /** An error with nowhere else to go (never thrown). */
  readonly onError: (error: unknown, threadId: number) => void;
}

interface Link {
  readonly threadId: number;
  readonly channel: ThreadChannel;
  /** The probe still waiting for its answer: never more than one per thread. */
  probe: Promise<{ active: number }> | null;
  teardown: TeardownOutcome | null;
}

/**
 * The ChannelManager: the message plane of one runner. Every thread opens
 * its channel with a hello (two ports: control, main → thread; events,
 * thread → main); this keeps one {@link Channel} per thread and carries
 * what is not a task over it: shutdown notices, cooperative aborts (to the
 * thread running the task only), health probes (at most one in flight per
 * thread, never keeping the process alive), and teardown.
 */
export class ThreadChannels {
  readonly #options: ThreadChannelsOptions;
  readonly #links = new Map<number, Link>();
  /** Answers of the last shutdown notice, while it is being delivered. */
  #notice: Promise<void> | null = null;

  constructor(options: ThreadChannelsOptions) {
    this.#options = options;
  }

  /** Threads that said hello and have a channel. */
  get size(): number {
    return this.#links.size;
  }

  /** Opens the channel a thread offered in its hello and returns what the thread said. */
  accept(message: HelloMessage): HelloInfo {
    const hello = message[kHelloKey];
    const threadId = hello.threadId;
    const runnerId = this.#options.runnerId;
    const logger = (this.#options.logger ?? silentLogger).child({ threadId });
    const channel = new Channel<ControlApi, EventsApi>(`${runnerId}/${threadId}`, {
      callEndpoint: message.control,
      exposeEndpoint: message.events,
      localApi: {
        emit: (seq: number, event: unknown) => {
          this.#options.onEvent(threadId, seq, event);
        },
        sync: () => undefined,
      },
      onMessage: (data) => {
        if (isLogMessage(data)) forwardWorkerLogs(logger, runnerId, data[kLogKey]);
      },
      closeTimeoutMs: this.#options.closeTimeoutMs,
      logger,
      ...(this.#options.inspect === undefined ? {} : { inspect: this.#options.inspect }),
      onError: (error) => {
        this.#options.onError(error, threadId);
      },
    });
    this.#links.set(threadId, { threadId, channel, probe: null, teardown: null });
    // What setup wrote came with the hello: logged before the thread is up.
    if (hello.logs !== undefined) forwardWorkerLogs(logger, runnerId, hello.logs);
    return {
      threadId,
      ok: hello.ok,
      error: hello.error,
      kind: hello.kind,
      handlers: hello.handlers,
    };
  }

  /** True when this thread said hello (and has not exited). */
  has(threadId: number): boolean {
    return this.#links.has(threadId);
  }

  /** The channel of a thread (tests, inspection). */
  channel(threadId: number): ThreadChannel | undefined {
    return this.#links.get(threadId)?.channel;
  }

  /**
   * Posts the shutdown notice (`ctx.shutdownSignal`) to every thread;
   * resolves once each one answered or is gone. A thread blocked in
   * synchronous work answers when it yields: the caller bounds the wait.
   */
  notifyShutdown(reason: string): Promise<void> {
    const calls = [...this.#links.values()].map((link) =>
      link.channel.call('shutdownNotice', reason).then(
        () => undefined,
        () => undefined,
      ),
    );
    const notice = Promise.all(calls).then(() => undefined);
    this.#notice = notice;
    return notice;
  }

  /** The last shutdown notice's delivery (resolved when none was sent). */
  get noticeDelivered(): Promise<void> {
    return this.#notice ?? Promise.resolve();
  }

  /** Aborts one task cooperatively (`ctx.signal`) in the thread that runs it. */
  abort(threadId: number, seq: number, reason: ErrorData): void {
    this.#links
      .get(threadId)
      ?.channel.call('abortTask', seq, reason)
      .catch(() => {});
  }

  /** Aborts every running task cooperatively (the drain deadline passed). */
  abortAll(reason: ErrorData): void {
    for (const link of this.#links.values()) link.channel.call('abortAll', reason).catch(() => {});
  }

  /**
   * Pings every thread. A thread still owing the answer to an earlier probe
   * is not pinged again: its pending probe is awaited instead, so a hung
   * thread never collects calls. Probes never keep the process alive.
   */
  async probe(timeoutMs: number): Promise<ProbeAnswer[]> {
    const links = [...this.#links.values()];
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => {
        resolve(null);
      }, timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.all(
        links.map(async (link) => {
          link.probe ??= this.#ping(link);
          const answer = await Promise.race([link.probe.catch(() => null), late]);
          return answer === null
            ? { threadId: link.threadId, ok: false, active: 0 }
            : { threadId: link.threadId, ok: true, active: answer.active };
        }),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  #ping(link: Link): Promise<{ active: number }> {
    const ping = link.channel.callInBackground('ping');
    const clear = (): void => {
      if (link.probe === ping) link.probe = null;
    };
    ping.then(clear, clear);
    return ping;
  }

  /**
   * Runs `teardown` in each of these threads and records how it went (see
   * {@link teardownOf}). Resolves with the threads whose channel closed
   * during their teardown: they died in it, and their exit (which the caller
   * should await) tells how.
   */
  async teardown(threadIds: readonly number[]): Promise<number[]> {
    const died: number[] = [];
    await Promise.all(
      threadIds.map(async (threadId) => {
        const link = this.#links.get(threadId);
        if (link === undefined || link.teardown !== null || link.channel.state !== 'open') return;
        try {
          await link.channel.call('teardown');
          link.teardown = { ok: true };
        } catch (error) {
          if (isTroupeError(error, 'ERR_CHANNEL_CLOSED')) died.push(threadId);
          else link.teardown = { ok: false, error };
        }
      }),
    );
    return died;
  }

  /** How this thread's teardown went, if it ran. */
  teardownOf(threadId: number): TeardownOutcome | null {
    return this.#links.get(threadId)?.teardown ?? null;
  }

  /** The thread exited: its pending calls reject now and its channel closes. */
  gone(threadId: number, reason: ErrorData): Promise<void> {
    const link = this.#links.get(threadId);
    if (link === undefined) return Promise.resolve();
    this.#links.delete(threadId);
    link.channel.peerGone(reason);
    return link.channel.closed;
  }

  /** Every thread is gone (the pool was destroyed). */
  async goneAll(reason: ErrorData): Promise<void> {
    await Promise.all([...this.#links.keys()].map((threadId) => this.gone(threadId, reason)));
  }

  /** Errors a teardown threw, rebuilt (for the thread's resource). */
  static teardownError(outcome: TeardownOutcome | null): Error | null {
    if (outcome === null || outcome.ok) return null;
    const error = outcome.error;
    if (error instanceof Error) return error;
    return fromErrorData({ _tag: 'Thrown', name: typeof error, message: String(error) });
  }
}
