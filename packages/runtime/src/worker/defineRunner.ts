import { InvalidConfigError } from '@troupe/core/errors';

/** Marks a `defineRunner` result so the worker entry can tell it from a plain module. */
export const kRunnerDefinition = Symbol.for('troupe.runner.definition');

/** One level of {@link WorkerLogger}: pino's `(fields, msg?)`, or a message alone. */
export interface WorkerLogFn {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

/**
 * `ctx.log`: writes to the troupe's logger in the main thread, with the
 * runner's, the thread's and (in a task) the task's ids as bindings
 * (`runnerId`, `threadId`, `taskId`). Fire-and-forget: records travel in
 * batches over the thread's channel with no reply, in order, never throw,
 * and cost nothing below the main logger's level (read when the runner
 * starts its threads). Nothing waits for them: one may land just after its
 * task's result. `setup`'s records come with the thread's hello (before it
 * counts as up), `teardown`'s before the thread exits. A value that cannot
 * be cloned is described instead; an Error keeps its class, code and cause.
 *
 * @example
 * ```ts
 * ctx.log.info({ tokens: 7 }, 'generated');
 * ctx.log.warn('cache cold');
 * ```
 */
export interface WorkerLogger {
  readonly trace: WorkerLogFn;
  readonly debug: WorkerLogFn;
  readonly info: WorkerLogFn;
  readonly warn: WorkerLogFn;
  readonly error: WorkerLogFn;
  readonly fatal: WorkerLogFn;
}

/** What `setup` and `teardown` receive, once per thread. */
export interface SetupContext {
  readonly runnerId: string;
  readonly threadId: number;
  /** The runner spec's `workerData`. */
  readonly workerData: unknown;
  /** Aborts when the troupe (or this runner) begins shutting down. */
  readonly shutdownSignal: AbortSignal;
  /** The troupe's logger, with `runnerId` and `threadId` bound. */
  readonly log: WorkerLogger;
}

/**
 * What a handler of a `defineRunner` module receives beside its payload.
 *
 * @example
 * ```ts
 * async generate(prompt: string, ctx: TaskContext<{ type: 'chunk'; text: string }>) {
 *   for (const text of words(prompt)) {
 *     if (ctx.signal.aborted) break;
 *     await ctx.emit({ type: 'chunk', text });
 *   }
 * }
 * ```
 */
export interface TaskContext<TEvent = unknown> {
  readonly runnerId: string;
  /** Unique per runner: `<runnerId>#<n>`. Events carry it too. */
  readonly taskId: string;
  readonly threadId: number;
  readonly handler: string;
  /**
   * Aborts when the caller cancels (its `signal`), the task times out, or a
   * shutdown deadline forces it. Finish or throw soon after; a task that
   * ignores it has its thread terminated after the abort grace period.
   */
  readonly signal: AbortSignal;
  /** Aborts when shutdown begins: a notice to finish up, not a cancellation. */
  readonly shutdownSignal: AbortSignal;
  /**
   * Sends an event to `runner.on('event')` (and the task's `onEvent`) over
   * the thread's channel. Events arrive in order, and all of a task's events
   * arrive before its result. Awaiting the promise gives backpressure.
   */
  emit(event: TEvent): Promise<void>;
  /** The troupe's logger, with `runnerId`, `threadId` and `taskId` bound. */
  readonly log: WorkerLogger;
}

/** A handler of a `defineRunner` module. */
export type Handler<TPayload = unknown, TResult = unknown, TEvent = unknown> = (
  payload: TPayload,
  ctx: TaskContext<TEvent>,
) => TResult | Promise<TResult>;

/**
 * Any handler. The payload is `any` on purpose: handlers annotate their own
 * payload type, and an unannotated one should still be usable.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = Handler<any>;

/** What `defineRunner` takes. */
export interface RunnerDefinition<
  THandlers extends Record<string, AnyHandler> = Record<string, AnyHandler>,
> {
  /** Runs once per thread before it takes tasks (load a model, open a connection). A throw fails startup. */
  readonly setup?: (ctx: SetupContext) => void | Promise<void>;
  /** Runs once per thread during CLOSING. */
  readonly teardown?: (ctx: SetupContext) => void | Promise<void>;
  /** The task handlers, by name. `run(payload)` without a handler name calls `default`. */
  readonly handlers: THandlers;
}

/** A {@link RunnerDefinition} marked by {@link defineRunner}. */
export type DefinedRunner<TDef extends RunnerDefinition> = TDef & {
  readonly [kRunnerDefinition]: true;
};

/**
 * Declares a worker module with per-thread `setup`/`teardown` and handlers
 * that receive a {@link TaskContext}. Export the result as the module's
 * default export.
 *
 * @example
 * ```ts
 * // worker.ts
 * import { defineRunner } from '@troupe/runtime/worker';
 *
 * let model: Float64Array;
 * export default defineRunner({
 *   async setup() { model = new Float64Array(1_000_000).fill(1); },
 *   handlers: {
 *     async generate(prompt: string, ctx) {
 *       await ctx.emit({ type: 'chunk', text: prompt });
 *       return prompt.length;
 *     },
 *   },
 * });
 * ```
 */
export function defineRunner<const THandlers extends Record<string, AnyHandler>>(
  definition: RunnerDefinition<THandlers>,
): DefinedRunner<RunnerDefinition<THandlers>> {
  const fail = (field: string, expected: string, value: unknown): never => {
    throw new InvalidConfigError(
      `defineRunner: invalid "${field}": expected ${expected}, got ${typeof value}`,
      { context: { component: 'worker', field } },
    );
  };
  if (typeof definition !== 'object' || (definition as unknown) === null) {
    fail('definition', 'an object { setup?, teardown?, handlers }', definition);
  }
  const { handlers, setup, teardown } = definition;
  if (typeof handlers !== 'object' || (handlers as unknown) === null) {
    fail('handlers', 'an object of functions', handlers);
  }
  const names = Object.keys(handlers);
  if (names.length === 0) fail('handlers', 'at least one handler', handlers);
  for (const name of names) {
    if (typeof handlers[name] !== 'function')
      fail(`handlers.${name}`, 'a function', handlers[name]);
  }
  if (setup !== undefined && typeof setup !== 'function') fail('setup', 'a function', setup);
  if (teardown !== undefined && typeof teardown !== 'function') {
    fail('teardown', 'a function', teardown);
  }
  return Object.freeze({ ...definition, [kRunnerDefinition]: true as const });
}

/** True when `value` came from {@link defineRunner} (in any copy of this package). */
export function isRunnerDefinition(value: unknown): value is DefinedRunner<RunnerDefinition> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[kRunnerDefinition] === true
  );
}
