// The module piscina loads in every thread of a runner. It imports the
// user's worker module, runs `setup`, opens the thread's channel (control
// port: main → thread calls; events port: thread → main calls) and says
// hello through `parentPort`. For a plain module its default export *is*
// the user's default function, so plain tasks pay nothing extra here.
import { MessageChannel, parentPort, threadId, workerData } from 'node:worker_threads';
import {
  DataCloneError,
  ShutdownInProgressError,
  UnknownHandlerError,
  fromErrorData,
  toErrorData,
  type ErrorData,
} from '@troupe/core/errors';
import * as Comlink from 'comlink';
import { toWireApi } from '../channel/toWireApi.js';
import {
  kBootKey,
  kCrashKey,
  kFailureKey,
  kHelloKey,
  kLogKey,
  type ControlApi,
  type EventsApi,
  type HelloMessage,
  type TaskEnvelope,
  type TaskFailure,
  type WorkerBoot,
  type WorkerModuleKind,
} from '../protocol.js';
import {
  isRunnerDefinition,
  type DefinedRunner,
  type RunnerDefinition,
  type SetupContext,
  type TaskContext,
  type WorkerLogger,
} from './defineRunner.js';
import { WorkerLogSink } from './WorkerLogSink.js';

if (parentPort === null) {
  throw new Error('@troupe/runtime worker entry must be loaded by a runner, in a worker thread');
}
const port = parentPort;
const maybeBoot = (workerData as Record<string, unknown> | null)?.[kBootKey] as
  WorkerBoot | undefined;
if (maybeBoot === undefined) {
  throw new Error('@troupe/runtime worker entry started without its boot data');
}
const boot: WorkerBoot = maybeBoot;

interface TaskState {
  readonly seq: number;
  readonly handler: string;
  controller: AbortController | null;
  abortReason: ErrorData | null;
  /** The last event sent: replies come back in order, so when it is acknowledged all are. */
  lastEmit: Promise<void> | null;
  /** Events sent so far, and the first one that could not be sent. */
  emits: number;
  emitFailure: DataCloneError | null;
  /** `ctx.log`, made on first use. */
  log: WorkerLogger | null;
}

const shutdownController = new AbortController();
const active = new Map<number, TaskState>();
// Aborts that overtook their task (the two travel on different ports). The
// runner sends a thread the aborts of its own tasks only, and gives it
// tasks in increasing order: an entry older than the task starting now can
// never be used, so the map holds a few entries at most.
const preAborted = new Map<number, ErrorData>();
let definition: DefinedRunner<RunnerDefinition> | null = null;
let events: Comlink.Remote<EventsApi> | null = null;
let teardown: Promise<void> | null = null;
// ctx.log: records go to the main thread's logger over the events channel.
const logs = new WorkerLogSink(boot.logLevel);

const setupContext: SetupContext = {
  runnerId: boot.runnerId,
  threadId,
  workerData: boot.userData,
  shutdownSignal: shutdownController.signal,
  log: logs.logger(null),
};

function abortTaskState(state: TaskState, reason: ErrorData): void {
  if (state.abortReason !== null) return;
  state.abortReason = reason;
  state.controller?.abort(fromErrorData(reason));
}

class Context implements TaskContext {
  readonly #state: TaskState;
  constructor(state: TaskState) {
    this.#state = state;
  }
  get runnerId(): string {
    return setupContext.runnerId;
  }
  get taskId(): string {
    return `${setupContext.runnerId}#${this.#state.seq}`;
  }
  get threadId(): number {
    return threadId;
  }
  get handler(): string {
    return this.#state.handler;
  }
  get signal(): AbortSignal {
    const state = this.#state;
    if (state.controller === null) {
      state.controller = new AbortController();
      if (state.abortReason !== null) state.controller.abort(fromErrorData(state.abortReason));
    }
    return state.controller.signal;
  }
  get shutdownSignal(): AbortSignal {
    return shutdownController.signal;
  }
  get log(): WorkerLogger {
    const state = this.#state;
    state.log ??= logs.silent ? setupContext.log : logs.logger(state.seq);
    return state.log;
  }
  emit(event: unknown): Promise<void> {
    const state = this.#state;
    if (events === null) return Promise.reject(new Error('events channel not open'));
    const index = state.emits++;
    const sent = events.emit(state.seq, event).catch((error: unknown) => {
      // An event that cannot be cloned fails the task (nothing is lost
      // silently), whether or not the handler awaited its emit.
      const failure = new DataCloneError(
        `task ${setupContext.runnerId}#${state.seq}: event #${index} could not be cloned: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
          context: {
            runnerId: setupContext.runnerId,
            taskId: `${setupContext.runnerId}#${state.seq}`,
            handler: state.handler,
          },
        },
      );
      state.emitFailure ??= failure;
      throw failure;
    });
    // Handled here, so an emit the handler did not await cannot kill the thread.
    sent.catch(() => {});
    state.lastEmit = sent.then(
      () => undefined,
      () => undefined,
    );
    return sent;
  }
}

function failure(error: unknown): TaskFailure {
  return { [kFailureKey]: toErrorData(error) };
}

// Events a task emitted travel on the thread's channel, its result on
// piscina's port: hold the result until the channel acknowledged them all.
// Its log records are fire-and-forget: posted now, before the result, never waited for.
function afterEmits(state: TaskState, value: unknown): unknown {
  active.delete(state.seq);
  if (state.log !== null) logs.flush();
  const last = state.lastEmit;
  const deliver = (): unknown => (state.emitFailure === null ? value : failure(state.emitFailure));
  if (last === null) return deliver();
  return last.then(deliver, deliver);
}

function dispatch(envelope: TaskEnvelope): unknown {
  const handlers = definition?.handlers;
  const fn = handlers?.[envelope.h];
  if (fn === undefined) {
    return failure(
      new UnknownHandlerError(`handler "${envelope.h}" is not defined`, {
        context: { runnerId: setupContext.runnerId, handler: envelope.h },
      }),
    );
  }
  const early = preAborted.get(envelope.s);
  for (const seq of preAborted.keys()) if (seq <= envelope.s) preAborted.delete(seq);
  if (early !== undefined) return failure(fromErrorData(early));
  const state: TaskState = {
    seq: envelope.s,
    handler: envelope.h,
    controller: null,
    abortReason: null,
    lastEmit: null,
    emits: 0,
    emitFailure: null,
    log: null,
  };
  active.set(envelope.s, state);
  let out: unknown;
  try {
    out = (fn as (payload: unknown, ctx: TaskContext) => unknown)(envelope.p, new Context(state));
  } catch (error) {
    return afterEmits(state, failure(error));
  }
  if (out instanceof Promise) {
    return out.then(
      (value: unknown) => afterEmits(state, value),
      (error: unknown) => afterEmits(state, failure(error)),
    );
  }
  return afterEmits(state, out);
}

const control: ControlApi = {
  ping() {
    return { threadId, active: active.size, heapUsed: process.memoryUsage().heapUsed };
  },
  shutdownNotice(reason: string) {
    if (!shutdownController.signal.aborted) {
      shutdownController.abort(
        new ShutdownInProgressError(`shutdown: ${reason}`, {
          context: { runnerId: setupContext.runnerId, threadId },
        }),
      );
    }
    return true;
  },
  abortTask(seq: number, reason: ErrorData) {
    const state = active.get(seq);
    if (state !== undefined) {
      abortTaskState(state, reason);
      return true;
    }
    preAborted.set(seq, reason);
    return false;
  },
  abortAll(reason: ErrorData) {
    for (const state of active.values()) abortTaskState(state, reason);
    return active.size;
  },
  teardown() {
    teardown ??= (async () => {
      try {
        await definition?.teardown?.(setupContext);
      } finally {
        // Its records reach the main thread before the thread is let go.
        await logs.settled();
      }
    })();
    return teardown;
  },
};

function unknownDefault(): never {
  throw new UnknownHandlerError('the worker module has no default export function', {
    context: { runnerId: setupContext.runnerId, handler: 'default' },
  });
}

async function start(): Promise<(payload: unknown) => unknown> {
  const controlChannel = new MessageChannel();
  const eventsChannel = new MessageChannel();
  let kind: WorkerModuleKind = 'plain';
  let handlers: string[] = [];
  let error: ErrorData | null = null;
  let plainDefault: unknown;
  try {
    const mod = (await import(boot.moduleUrl)) as Record<string, unknown>;
    const exported: unknown = await mod.default;
    if (isRunnerDefinition(exported)) {
      kind = 'defined';
      definition = exported;
      handlers = Object.keys(exported.handlers);
      await exported.setup?.(setupContext);
    } else {
      plainDefault = exported;
      handlers = Object.keys(mod).filter(
        (name) =>
          typeof mod[name] === 'function' || (name === 'default' && typeof exported === 'function'),
      );
    }
  } catch (thrown) {
    error = toErrorData(thrown);
  }
  Comlink.expose(toWireApi(control), controlChannel.port1);
  events = Comlink.wrap<EventsApi>(eventsChannel.port1);
  const hello: HelloMessage = {
    [kHelloKey]: { threadId, ok: error === null, error, kind, handlers, logs: logs.drain() },
    control: controlChannel.port2,
    events: eventsChannel.port2,
  };
  port.postMessage(hello, [controlChannel.port2, eventsChannel.port2]);
  const remote = events;
  logs.open({
    post: (records) => {
      eventsChannel.port1.postMessage({ [kLogKey]: records });
    },
    sync: () => remote.sync(),
  });
  // A module that failed to load must not take tasks: piscina sees a failed
  // start (and does not mark the thread ready); the hello said why.
  if (error !== null) throw fromErrorData(error);
  return typeof plainDefault === 'function'
    ? (plainDefault as (payload: unknown) => unknown)
    : unknownDefault;
}

// Errors that kill the thread do not always survive the trip to the main
// thread (a DOMException arrives as {}): say what it was first.
process.on('uncaughtExceptionMonitor', (error: unknown) => {
  try {
    port.postMessage({ [kCrashKey]: { threadId, error: toErrorData(error) } });
  } catch {
    // nothing more can be done from a dying thread
  }
});

const started = start();
/** piscina's handler for `defineRunner` tasks. */
const dispatcher = started.then(() => dispatch);
// piscina awaits these; a failed load must not also surface as an unhandled rejection.
started.catch(() => {});
dispatcher.catch(() => {});

/** piscina's default handler: the plain module's default export. */
export default started;
export { dispatcher as dispatchTask };
