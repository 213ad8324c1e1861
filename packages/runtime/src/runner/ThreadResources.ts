import type { Logger } from '../logger.js';
import type { ResourceManager } from '../resources/ResourceManager.js';

/**
 * Each thread of a runner and its channel are resources the runner uses:
 * registered when the thread says hello, released when it exits, listed in
 * the shutdown report. A thread whose `teardown` threw closes `failed`,
 * with that error.
 */
export class ThreadResources {
  readonly #runnerId: string;
  readonly #resources: ResourceManager;
  readonly #logger: Logger;
  readonly #closeTimeoutMs: number;
  readonly #own = new Set<string>();
  readonly #teardownFailures = new Map<number, Error>();

  constructor(options: {
    runnerId: string;
    resources: ResourceManager;
    logger: Logger;
    closeTimeoutMs: number;
  }) {
    this.#runnerId = options.runnerId;
    this.#resources = options.resources;
    this.#logger = options.logger;
    this.#closeTimeoutMs = options.closeTimeoutMs;
  }

  /**
   * Registers a thread (closed by `closeThread`, which resolves once it
   * exited) and its channel, both required by the runner.
   */
  register(
    threadId: number,
    closeThread: () => Promise<void>,
    channel: { close(): Promise<void> } | undefined,
  ): void {
    const resources = this.#resources;
    if (!resources.has(this.#runnerId) || resources.closing) return;
    const thread = this.#threadId(threadId);
    try {
      resources.registerInternal([
        {
          id: thread,
          kind: 'thread',
          openAtOnce: true,
          requiredBy: [this.#runnerId],
          close: async () => {
            await closeThread();
            const failure = this.#teardownFailures.get(threadId);
            if (failure !== undefined) {
              this.#teardownFailures.delete(threadId);
              throw failure;
            }
          },
          closeTimeoutMs: this.#closeTimeoutMs,
        },
        ...(channel === undefined
          ? []
          : [
              {
                id: `${thread}/channel`,
                kind: 'channel' as const,
                openAtOnce: true,
                requiredBy: [this.#runnerId],
                close: () => channel.close(),
                closeTimeoutMs: this.#closeTimeoutMs,
              },
            ]),
      ]);
      this.#own.add(thread);
      if (channel !== undefined) this.#own.add(`${thread}/channel`);
    } catch (error) {
      // The runner's logger: `runnerId` is bound.
      this.#logger.debug({ threadId, err: error }, 'thread resources not registered');
    }
  }

  /** The thread's teardown threw: its resource closes `failed` with this error. */
  teardownFailed(threadId: number, error: Error): void {
    this.#teardownFailures.set(threadId, error);
  }

  /** The thread exited: its resources close now (out of order) and go. */
  async release(threadId: number): Promise<void> {
    const thread = this.#threadId(threadId);
    const ids = [thread, `${thread}/channel`];
    for (const id of ids) this.#own.delete(id);
    await Promise.all(ids.map((id) => this.#resources.release(id)));
  }

  /** Every thread resource still registered goes (the runner is done). */
  async releaseAll(): Promise<void> {
    const ids = [...this.#own];
    this.#own.clear();
    await Promise.all(ids.map((id) => this.#resources.release(id)));
  }

  #threadId(threadId: number): string {
    return `${this.#runnerId}/thread-${threadId}`;
  }
}
