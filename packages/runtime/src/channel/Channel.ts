import {
  ChannelClosedError,
  channelMachine,
  fromErrorData,
  isErrorData,
  type ChannelState,
  type ErrorData,
} from '@troupe/core';
import * as Comlink from 'comlink';
import { createActor, fromPromise, type Actor, type SnapshotFrom } from 'xstate';
import { actorView, type ActorView } from '../inspection/ActorView.js';
import { inspectOptions, trackActor, type Inspection } from '../inspection/Inspection.js';
import { logTransitions } from '../logging/logTransitions.js';
import { silentLogger, type Logger } from '../logger.js';
import { ReleasableEndpoint } from './ReleasableEndpoint.js';
import { toWireApi } from './toWireApi.js';

/**
 * What a channel sends and listens on: a Comlink `Endpoint` (anything with
 * `postMessage` and `addEventListener`), optionally with the extras of a
 * Node `MessagePort` (`close`, `ref`/`unref`, a `'close'` event). A
 * `MessagePort` fits as is; a broker subject can stand in later.
 */
export type ChannelEndpoint = Comlink.Endpoint & {
  close?(): void;
  ref?(): void;
  unref?(): void;
  once?(event: 'close', listener: () => void): unknown;
  off?(event: 'close', listener: () => void): unknown;
};

/** Options of {@link Channel}. */
export interface ChannelOptions<TLocal extends object> {
  /** The endpoint whose peer exposes the API this channel calls. */
  readonly callEndpoint?: ChannelEndpoint;
  /** The endpoint on which this side exposes `localApi` to the peer. */
  readonly exposeEndpoint?: ChannelEndpoint;
  readonly localApi?: TLocal;
  /** How long `close()` waits for pending calls before abandoning them. */
  readonly closeTimeoutMs: number;
  readonly inspect?: Inspection;
  /** Its state transitions are logged here at debug (with `channelId`). Default silent. */
  readonly logger?: Logger;
  /**
   * Every message that arrives on `exposeEndpoint`, Comlink's included
   * (which ignores what is not its own): the peer can post there without a
   * reply (a thread's log records).
   */
  readonly onMessage?: (data: unknown) => void;
  /** Called with errors that have nowhere else to go (never thrown). */
  readonly onError?: (error: unknown) => void;
}

type AnyFunction = (...args: never[]) => unknown;
type MethodNames<T> = { [K in keyof T]: T[K] extends AnyFunction ? K : never }[keyof T] & string;
type MethodArgs<T, K extends keyof T> = T[K] extends (...args: infer A) => unknown ? A : never;
type MethodResult<T, K extends keyof T> = T[K] extends (...args: never[]) => infer R
  ? Awaited<R>
  : never;

interface PendingCall {
  readonly reject: (error: Error) => void;
  /** The call keeps the process alive while it waits (health probes do not). */
  readonly keepAlive: boolean;
}

/**
 * Troupe's message channel: Comlink calls over an endpoint, with the
 * guarantees Comlink lacks. A call on a closing or closed channel rejects
 * with `ERR_CHANNEL_CLOSED`; when the peer dies every pending call rejects;
 * the proxy is held for the channel's life (comlink #692); the port never
 * keeps the process alive unless a call is pending. Its lifecycle is a
 * {@link channelMachine} actor.
 *
 * @example
 * ```ts
 * const { port1, port2 } = new MessageChannel();
 * const channel = new Channel<{ ping(): string }>('c1', { callEndpoint: port1, closeTimeoutMs: 1_000 });
 * await channel.call('ping');
 * await channel.close();
 * ```
 */
export class Channel<TRemote extends object = object, TLocal extends object = object> {
  readonly id: string;
  readonly #callEndpoint: ChannelEndpoint | undefined;
  readonly #expose: ChannelEndpoint | undefined;
  readonly #remote: Comlink.Remote<TRemote> | undefined;
  readonly #pending = new Set<PendingCall>();
  /** What Comlink holds on to: detached when the channel is released. */
  readonly #comlinkEndpoints: ReleasableEndpoint[] = [];
  /** Pending calls that keep the process alive: the call port is ref'd while there are any. */
  #keepingAlive = 0;
  readonly #actor: Actor<typeof channelMachine>;
  readonly #view: ActorView<SnapshotFrom<typeof channelMachine>>;
  readonly #onError: (error: unknown) => void;
  readonly #closed: Promise<void>;
  #accepting = true;
  #idleWaiters: (() => void)[] = [];
  #released = false;
  #releaseReason: ErrorData | null = null;
  readonly #onPortClose = (): void => {
    this.peerGone({
      _tag: 'Error',
      name: 'Error',
      message: 'the peer closed its port',
    });
  };

  constructor(id: string, options: ChannelOptions<TLocal>) {
    this.id = id;
    this.#callEndpoint = options.callEndpoint;
    this.#expose = options.exposeEndpoint;
    this.#onError = options.onError ?? (() => {});
    if (this.#expose !== undefined && options.localApi !== undefined) {
      const endpoint = new ReleasableEndpoint(this.#expose);
      this.#comlinkEndpoints.push(endpoint);
      Comlink.expose(toWireApi(options.localApi), endpoint);
      const onMessage = options.onMessage;
      if (onMessage !== undefined) {
        // Through the releasable endpoint: detached with Comlink's listener.
        endpoint.addEventListener('message', (event: MessageEvent) => {
          onMessage(event.data);
        });
      }
      this.#expose.unref?.();
    }
    if (this.#callEndpoint !== undefined) {
      const endpoint = new ReleasableEndpoint(this.#callEndpoint);
      this.#comlinkEndpoints.push(endpoint);
      this.#remote = Comlink.wrap<TRemote>(endpoint);
      this.#callEndpoint.unref?.();
    }
    for (const endpoint of this.#endpoints()) endpoint.once?.('close', this.#onPortClose);

    const machine = channelMachine.provide({
      actors: {
        flushCalls: fromPromise(() => this.#whenIdle()),
      },
      actions: {
        releasePort: () => {
          this.#release();
        },
      },
    });
    this.#actor = createActor(machine, {
      id: `channel:${id}`,
      input: { id, closeTimeoutMs: options.closeTimeoutMs },
      ...inspectOptions(options.inspect),
    });
    trackActor(options.inspect, this.#actor);
    this.#closed = new Promise<void>((resolve) => {
      this.#actor.subscribe({
        next: (snapshot) => {
          if (snapshot.value !== 'open') this.#accepting = false;
          if (snapshot.status === 'done') resolve();
        },
        error: (error) => {
          this.#onError(error);
          this.#release();
          resolve();
        },
        // Stopped from outside (an inspection actorRef): nothing may stay pending.
        complete: () => {
          this.#release();
          resolve();
        },
      });
    });
    this.#view = actorView(this.#actor);
    logTransitions(this.#actor, options.logger ?? silentLogger, 'channel state', {
      channelId: id,
    });
    this.#actor.start();
  }

  /** The channel's state: `open`, `closing` or `closed`. */
  get state(): ChannelState {
    return this.#actor.getSnapshot().value;
  }

  /** Calls in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  /** The channel's statechart (read-only: its snapshot and a subscription). */
  get actor(): ActorView<SnapshotFrom<typeof channelMachine>> {
    return this.#view;
  }

  /** Resolves when the channel is closed (however it closed). */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Calls `method` on the peer. Rejects with `ERR_CHANNEL_CLOSED` if the
   * channel is closing or closed, or when the peer dies before replying.
   */
  call<K extends MethodNames<TRemote>>(
    method: K,
    ...args: MethodArgs<TRemote, K>
  ): Promise<MethodResult<TRemote, K>> {
    return this.#call(true, method, args);
  }

  /**
   * Like {@link call}, but the pending call never keeps the process alive:
   * for calls that only observe (a health probe of a thread that may never
   * answer must not hold the process open).
   */
  callInBackground<K extends MethodNames<TRemote>>(
    method: K,
    ...args: MethodArgs<TRemote, K>
  ): Promise<MethodResult<TRemote, K>> {
    return this.#call(false, method, args);
  }

  #call<K extends MethodNames<TRemote>>(
    keepAlive: boolean,
    method: K,
    args: MethodArgs<TRemote, K>,
  ): Promise<MethodResult<TRemote, K>> {
    const remote = this.#remote;
    if (!this.#accepting || remote === undefined) {
      return Promise.reject(this.#closedError(method));
    }
    return new Promise<MethodResult<TRemote, K>>((resolve, reject) => {
      const entry: PendingCall = { reject, keepAlive };
      this.#pending.add(entry);
      if (keepAlive && this.#keepingAlive++ === 0) this.#callEndpoint?.ref?.();
      const fn = (remote as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
        method
      ];
      const settle = (): boolean => {
        if (!this.#pending.delete(entry)) return false;
        if (keepAlive && --this.#keepingAlive === 0) this.#callEndpoint?.unref?.();
        if (this.#pending.size === 0) this.#onIdle();
        return true;
      };
      let call: Promise<unknown>;
      try {
        call = (fn as (...a: unknown[]) => Promise<unknown>)(...(args as unknown[]));
      } catch (error) {
        settle();
        reject(this.#remoteError(error));
        return;
      }
      call.then(
        (value) => {
          if (settle()) resolve(value as MethodResult<TRemote, K>);
        },
        (error: unknown) => {
          if (settle()) reject(this.#remoteError(error));
        },
      );
    });
  }

  /**
   * Closes the channel: refuses new calls at once, lets pending calls finish
   * (up to `closeTimeoutMs`), then closes the ports. Idempotent.
   */
  close(): Promise<void> {
    if (this.#actor.getSnapshot().status === 'active') {
      this.#actor.send({ type: 'troupe.channel.close' });
    }
    return this.#closed;
  }

  /** The peer is gone (thread exit, port closed): every pending call rejects now. */
  peerGone(reason: ErrorData): void {
    this.#releaseReason ??= reason;
    if (this.#actor.getSnapshot().status === 'active') {
      this.#actor.send({ type: 'troupe.channel.peerGone', reason });
    }
  }

  #endpoints(): ChannelEndpoint[] {
    const out: ChannelEndpoint[] = [];
    if (this.#callEndpoint !== undefined) out.push(this.#callEndpoint);
    if (this.#expose !== undefined && this.#expose !== this.#callEndpoint) out.push(this.#expose);
    return out;
  }

  #whenIdle(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #onIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#accepting = false;
    const reason = this.#releaseReason ?? this.#actor.getSnapshot().context.reason;
    const pending = [...this.#pending];
    this.#pending.clear();
    if (this.#keepingAlive > 0) this.#callEndpoint?.unref?.();
    this.#keepingAlive = 0;
    for (const entry of pending) entry.reject(this.#closedError(undefined, reason));
    this.#onIdle();
    for (const endpoint of this.#endpoints()) {
      endpoint.off?.('close', this.#onPortClose);
      try {
        endpoint.close?.();
      } catch (error) {
        this.#onError(error);
      }
    }
    for (const endpoint of this.#comlinkEndpoints) endpoint.release();
  }

  #closedError(method?: string, reason: ErrorData | null = null): ChannelClosedError {
    const what = method === undefined ? 'pending call' : `call "${method}"`;
    const why = reason === null ? 'the channel is closed' : `the peer is gone: ${reason.message}`;
    return new ChannelClosedError(`${what} on channel "${this.id}" rejected: ${why}`, {
      ...(reason === null ? {} : { cause: fromErrorData(reason) }),
      context: {
        channelId: this.id,
        operation: 'channel',
        ...(method === undefined ? {} : { method }),
      },
    });
  }

  #remoteError(error: unknown): Error {
    if (isErrorData(error)) return fromErrorData(error);
    return error instanceof Error ? error : new Error(String(error));
  }
}
