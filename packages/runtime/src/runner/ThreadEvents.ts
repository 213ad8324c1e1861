import { fromErrorData, toErrorData, type RunnerEvent } from '@troupe/core';
import { ThreadChannels, type HelloInfo } from '../channel/ThreadChannels.js';
import type { ErrorRecord } from '../errors/ErrorHandler.js';
import type { ThreadExit, ThreadPool } from '../pool/ThreadPool.js';
import { isCrashNote, isHelloMessage, kCrashKey, type HelloMessage } from '../protocol.js';
import type { RunnerHost } from './RunnerHost.js';
import type { RuntimeRunnerSnapshot } from './runtimeRunnerMachine.js';
import { exitError, loadFailure } from './threadErrors.js';
import type { ThreadResources } from './ThreadResources.js';
import type { ThreadRoster } from './ThreadRoster.js';

/** What {@link ThreadEvents} works with: the runner's parts and its statechart. */
export interface ThreadEventsRunner {
  readonly id: string;
  readonly workerPath: string;
  readonly host: RunnerHost;
  readonly channels: ThreadChannels;
  readonly roster: ThreadRoster;
  readonly resources: ThreadResources;
  pool(): ThreadPool | null;
  snapshot(): RuntimeRunnerSnapshot;
  send(event: RunnerEvent): void;
  /** A thread loaded the module: what it exports. */
  loaded(info: HelloInfo): void;
}

/**
 * Turns what a runner's pool and threads report into the statechart's
 * thread events, with the facts each needs (`threadUp` once a thread said
 * hello and piscina takes tasks to it; `threadFailed` for a failed load;
 * `threadExit` with loaded / terminated / replaced), and reports what the
 * error handler should know. What an exit *means* is the statechart's call.
 */
export class ThreadEvents {
  readonly #runner: ThreadEventsRunner;
  /** Errors resolved once a thread serves again (a crash, a failed replacement, a restart). */
  #awaitingRestart: ErrorRecord[] = [];
  /** Threads that exited on their own over the runner's life. */
  crashes = 0;

  constructor(runner: ThreadEventsRunner) {
    this.#runner = runner;
  }

  /** This error is resolved when a thread serves again. */
  awaitRestart(record: ErrorRecord): void {
    this.#awaitingRestart.push(record);
  }

  onReady(threadId: number): void {
    if (this.#runner.roster.ready(threadId)) this.#up(threadId);
  }

  onMessage(message: unknown): void {
    if (isHelloMessage(message)) {
      this.#onHello(message);
    } else if (isCrashNote(message)) {
      const { threadId, error } = message[kCrashKey];
      this.#runner.roster.note(threadId, error);
    }
  }

  onExit(exit: ThreadExit): void {
    const runner = this.#runner;
    const { threadId, exitCode } = exit;
    const loaded = runner.roster.loaded(threadId);
    const teardown = ThreadChannels.teardownError(runner.channels.teardownOf(threadId));
    if (teardown !== null) runner.resources.teardownFailed(threadId, teardown);
    const exitData = toErrorData(exitError(runner.id, exit, runner.roster.noteOf(threadId)));
    void runner.channels.gone(threadId, exitData);
    runner.roster.exited(threadId);
    void runner.resources.release(threadId);
    if (loaded && !exit.terminated && !exit.destroyed) {
      // It exited on its own: a crash (or a normal exit), wherever it happened.
      this.crashes += 1;
      const snapshot = runner.snapshot();
      const record = runner.host.reportError(fromErrorData(exitData), {
        runnerId: runner.id,
        threadId,
        component: 'runner',
        operation: snapshot.matches('closing') ? 'teardown' : 'thread',
      });
      if (snapshot.matches('running')) this.#awaitingRestart.push(record);
    }
    runner.send({
      type: 'troupe.runner.threadExit',
      threadId,
      exitCode,
      error: exitData,
      loaded,
      terminated: exit.terminated,
      replaced: exit.replaced,
      at: Date.now(),
    });
  }

  #onHello(message: HelloMessage): void {
    const runner = this.#runner;
    const info = runner.channels.accept(message);
    const threadId = info.threadId;
    if (!info.ok) {
      const everReady = runner.snapshot().context.everReady;
      const error = loadFailure(
        { runnerId: runner.id, workerPath: runner.workerPath, everReady },
        threadId,
        info.error,
      );
      // A first start's failure is reported once, when the runner gives up.
      if (everReady) {
        this.#awaitingRestart.push(
          runner.host.reportError(error, {
            runnerId: runner.id,
            threadId,
            component: 'runner',
            operation: 'restart',
          }),
        );
      }
      runner.send({ type: 'troupe.runner.threadFailed', threadId, error: toErrorData(error) });
      return;
    }
    runner.loaded(info);
    runner.resources.register(
      threadId,
      async () => {
        const pool = runner.pool();
        if (pool === null) return;
        pool.terminate(threadId);
        await pool.exited(threadId);
      },
      runner.channels.channel(threadId),
    );
    if (runner.roster.hello(threadId)) this.#up(threadId);
  }

  #up(threadId: number): void {
    const runner = this.#runner;
    if (this.#awaitingRestart.length > 0 && runner.snapshot().context.everReady) {
      // A thread is serving again: the crash it replaces is resolved.
      runner.host.resolveErrors(this.#awaitingRestart.splice(0), 'restart');
    }
    runner.send({ type: 'troupe.runner.threadUp', threadId });
  }
}
