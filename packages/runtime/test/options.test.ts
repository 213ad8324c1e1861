// parseWith's error messages (field path + value), resolveRunnerSpec's
// defaults, troupe-level runnerDefaults and worker locations, and the
// hand-written option interfaces (TroupeOptions, RunnerSpec, ...) kept in
// step with the schemas that check them.
import type * as Os from 'node:os';
import { availableParallelism } from 'node:os';
import { InvalidConfigError, isTroupeError } from '@troupe/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { parseWith } from '../src/options/parse.js';
import { resolveRunnerSpec } from '../src/options/resolveRunnerSpec.js';
import {
  errorsSchema,
  healthSchema,
  metricsSchema,
  restartSchema,
  runnerSpecSchema,
  shutdownSchema,
  troupeOptionsSchema,
} from '../src/options/schemas.js';
import type {
  ErrorOptions,
  HealthOptions,
  MetricsOptions,
  RestartOptions,
  RunnerDefaults,
  RunnerSpec,
  ShutdownDeadlineOptions,
  TroupeOptions,
} from '../src/options/TroupeOptions.js';
import { thrownBy } from './support.js';

vi.mock('node:os', async (importOriginal) => {
  const actual = await importOriginal<typeof Os>();
  return { ...actual, availableParallelism: vi.fn(() => 8) };
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.mocked(availableParallelism).mockReturnValue(8);
});

interface ConfigFailure {
  readonly message: string;
  readonly field: unknown;
  readonly value: unknown;
  readonly error: InvalidConfigError;
}

function configError(fn: () => unknown): ConfigFailure {
  const error = thrownBy(fn);
  if (!(error instanceof InvalidConfigError)) throw error;
  expect(isTroupeError(error, 'ERR_INVALID_CONFIG')).toBe(true);
  return { message: error.message, field: error.context.field, value: error.context.value, error };
}

/** runnerDefaults as the troupe really hands them over: parsed by the options schema. */
function runnerDefaults(input: unknown): z.output<typeof troupeOptionsSchema>['runnerDefaults'] {
  return parseWith(troupeOptionsSchema, { runnerDefaults: input }, 'options').runnerDefaults;
}

describe('parseWith', () => {
  it('names the nested field and shows the value', () => {
    const failure = configError(() =>
      parseWith(troupeOptionsSchema, { shutdown: { drainingMs: -5 } }, 'options'),
    );
    expect(failure.field).toBe('options.shutdown.drainingMs');
    expect(failure.message).toMatch(/^invalid "options\.shutdown\.drainingMs": .+; got -5$/);
    expect(failure.error.context).toEqual({
      component: 'config',
      field: 'options.shutdown.drainingMs',
      value: '-5',
    });
  });

  it('names array elements by index', () => {
    const failure = configError(() =>
      parseWith(troupeOptionsSchema, { signals: ['SIGINT', 'SIGKILL'] }, 'options'),
    );
    expect(failure.field).toBe('options.signals.1');
    expect(failure.message).toMatch(/; got "SIGKILL"$/);

    const schema = z.object({ items: z.array(z.object({ name: z.string() })) });
    const nested = configError(() =>
      parseWith(schema, { items: [{ name: 'a' }, { name: 5 }] }, 'cfg'),
    );
    expect(nested.field).toBe('cfg.items.1.name');
    expect(nested.value).toBe('5');
  });

  it('reports unknown keys of a strictObject on the object, naming the keys', () => {
    const failure = configError(() =>
      parseWith(troupeOptionsSchema, { shutdown: { drainMs: 10, foo: 1 } }, 'options'),
    );
    expect(failure.field).toBe('options.shutdown');
    expect(failure.message).toContain('"drainMs"');
    expect(failure.message).toContain('"foo"');
    expect(failure.message).toMatch(/; got \{"drainMs":10,"foo":1\}$/);

    const top = configError(() =>
      parseWith(runnerSpecSchema, { worker: 'w.js', threds: 2 }, 'spec'),
    );
    expect(top.field).toBe('spec');
    expect(top.message).toContain('"threds"');
  });

  it('adds "(and N more)" when there are further issues, and only then', () => {
    const three = configError(() =>
      parseWith(
        troupeOptionsSchema,
        { nodeId: 'has space', signals: ['SIGKILL'], shutdown: { closingMs: 'soon' } },
        'options',
      ),
    );
    expect(three.message).toMatch(/ \(and 2 more\)$/);
    expect(three.field).toBe('options.nodeId');
    expect(three.message).toContain('got "has space"');

    const two = configError(() =>
      parseWith(troupeOptionsSchema, { nodeId: 'has space', signals: ['SIGKILL'] }, 'options'),
    );
    expect(two.message).toMatch(/ \(and 1 more\)$/);

    const one = configError(() =>
      parseWith(troupeOptionsSchema, { nodeId: 'has space' }, 'options'),
    );
    expect(one.message).not.toContain('more)');
    expect(one.message).toMatch(/got "has space"$/);
  });

  it('names the whole input when the root is wrong, and shows missing values as undefined', () => {
    const root = configError(() => parseWith(troupeOptionsSchema, 5, 'options'));
    expect(root.field).toBe('options');
    expect(root.message).toMatch(/; got 5$/);

    const missing = configError(() => parseWith(runnerSpecSchema, undefined, 'spec'));
    expect(missing.field).toBe('spec.worker');
    expect(missing.message).toMatch(/; got undefined$/);
  });

  it('shows functions and long values readably', () => {
    const fn = configError(() => parseWith(troupeOptionsSchema, { logger: () => 'x' }, 'options'));
    expect(fn.field).toBe('options.logger');
    expect(fn.message).toMatch(/; got a function$/);

    const schema = z.strictObject({ a: z.strictObject({ b: z.number() }) });
    const long = configError(() => parseWith(schema, { a: { b: 1, c: 'x'.repeat(100) } }, 'cfg'));
    expect(long.field).toBe('cfg.a');
    expect(long.value).toHaveLength(80);
    expect(long.value).toMatch(/^\{"b":1,"c":"x+\.\.\.$/);
  });

  it('returns the parsed data with defaults; undefined input means all defaults', () => {
    const parsed = parseWith(troupeOptionsSchema, undefined, 'options');
    expect(parsed.shutdown).toEqual({
      signalingMs: 1_000,
      drainingMs: 10_000,
      closingMs: 5_000,
      forceMs: 2_000,
      abortGraceMs: 1_000,
      readinessDelayMs: 0,
    });
    expect(parsed.signalExit).toBe('exitCode');
    expect(parsed.signals).toEqual([]);
    expect(
      parseWith(troupeOptionsSchema, { shutdown: { closingMs: 7 } }, 'o').shutdown.closingMs,
    ).toBe(7);
  });
});

describe('resolveRunnerSpec defaults', () => {
  it.each([
    [8, 4],
    [3, 1],
    [2, 1],
    [1, 1],
  ])('threads default with availableParallelism() = %i is %i', (cores, threads) => {
    vi.mocked(availableParallelism).mockReturnValue(cores);
    expect(resolveRunnerSpec({ worker: '/opt/w.js' }, undefined, 1_000).threads).toBe(threads);
  });

  it('fills every other default', () => {
    const spec = resolveRunnerSpec({ worker: '/opt/w.js' }, undefined, 1_234);
    expect(spec).toEqual({
      id: undefined,
      workerPath: '/opt/w.js',
      moduleUrl: 'file:///opt/w.js',
      threads: 4,
      maxQueue: 1_000,
      taskTimeoutMs: undefined,
      startupTimeoutMs: 10_000,
      closeTimeoutMs: 5_000,
      abortGraceMs: 1_234,
      restart: {
        policy: 'permanent',
        maxRestarts: 3,
        windowMs: 10_000,
        backoff: { baseMs: 100, capMs: 10_000 },
        resetAfterMs: 30_000,
      },
      dependsOn: [],
      workerData: undefined,
      resourceLimits: undefined,
      env: undefined,
      execArgv: undefined,
      atomics: 'disabled',
    });
  });

  it("keeps the spec's own values, abortGraceMs included", () => {
    const spec = resolveRunnerSpec(
      {
        worker: '/opt/w.js',
        id: 'llm',
        threads: 2,
        maxQueue: 0,
        abortGraceMs: 50,
        atomics: 'async',
      },
      undefined,
      1_000,
    );
    expect(spec).toMatchObject({
      id: 'llm',
      threads: 2,
      maxQueue: 0,
      abortGraceMs: 50,
      atomics: 'async',
    });
  });

  it("refuses atomics 'sync' (idle workers would not answer Comlink calls)", () => {
    const failure = configError(() =>
      resolveRunnerSpec({ worker: '/opt/w.js', atomics: 'sync' }, undefined, 1_000),
    );
    expect(failure.field).toBe('spec.atomics');
    expect(failure.message).toMatch(/got "sync"$/);
  });
});

describe('resolveRunnerSpec with troupe-level runnerDefaults', () => {
  it('applies the defaults where the spec is silent', () => {
    const defaults = runnerDefaults({
      threads: 3,
      maxQueue: 5,
      taskTimeoutMs: 250,
      startupTimeoutMs: 777,
      restart: { maxRestarts: 9, backoff: { baseMs: 50 } },
    });
    const spec = resolveRunnerSpec({ worker: '/opt/w.js' }, defaults, 1_000);
    expect(spec).toMatchObject({
      threads: 3,
      maxQueue: 5,
      taskTimeoutMs: 250,
      startupTimeoutMs: 777,
      restart: {
        policy: 'permanent',
        maxRestarts: 9,
        windowMs: 10_000,
        backoff: { baseMs: 50, capMs: 10_000 },
      },
    });
  });

  it('lets the spec override them, merging restart field by field', () => {
    const defaults = runnerDefaults({
      threads: 3,
      maxQueue: 5,
      restart: { maxRestarts: 9, windowMs: 500, backoff: { baseMs: 50 } },
    });
    const spec = resolveRunnerSpec(
      {
        worker: '/opt/w.js',
        threads: 1,
        maxQueue: 0,
        restart: { policy: 'transient', maxRestarts: 1 },
      },
      defaults,
      1_000,
    );
    expect(spec.threads).toBe(1);
    expect(spec.maxQueue).toBe(0);
    expect(spec.restart).toEqual({
      policy: 'transient',
      maxRestarts: 1,
      windowMs: 500,
      backoff: { baseMs: 50, capMs: 10_000 },
      resetAfterMs: 30_000,
    });
  });

  // Regression (fixed) (src/options/resolveRunnerSpec.ts:
  it('merges restart.backoff field by field too', () => {
    const defaults = runnerDefaults({ restart: { backoff: { baseMs: 50 } } });
    const spec = resolveRunnerSpec(
      { worker: '/opt/w.js', restart: { backoff: { capMs: 200 } } },
      defaults,
      1_000,
    );
    expect(spec.restart.backoff).toEqual({ baseMs: 50, capMs: 200 });
  });

  // Regression (fixed) (src/options/resolveRunnerSpec.ts:
  it('an explicit undefined in the spec does not erase a troupe default', () => {
    const defaults = runnerDefaults({ threads: 3 });
    const spec = resolveRunnerSpec({ worker: '/opt/w.js', threads: undefined }, defaults, 1_000);
    expect(spec.threads).toBe(3);
  });
});

describe('resolveRunnerSpec worker location', () => {
  it('takes a file: URL object', () => {
    const spec = resolveRunnerSpec({ worker: new URL('file:///opt/my%20app/w.js') }, undefined, 1);
    expect(spec.workerPath).toBe('/opt/my app/w.js');
    expect(spec.moduleUrl).toBe('file:///opt/my%20app/w.js');
  });

  it('takes a file: URL string', () => {
    const spec = resolveRunnerSpec({ worker: 'file:///opt/w.js' }, undefined, 1);
    expect(spec.workerPath).toBe('/opt/w.js');
    expect(spec.moduleUrl).toBe('file:///opt/w.js');
  });

  it('resolves a relative path against the current directory', () => {
    vi.spyOn(process, 'cwd').mockReturnValue('/srv/app');
    const spec = resolveRunnerSpec({ worker: 'workers/../dist/w.js' }, undefined, 1);
    expect(spec.workerPath).toBe('/srv/app/dist/w.js');
    expect(spec.moduleUrl).toBe('file:///srv/app/dist/w.js');
  });

  it('keeps an absolute path as it is', () => {
    const cwd = vi.spyOn(process, 'cwd');
    const spec = resolveRunnerSpec({ worker: '/opt/w.js' }, undefined, 1);
    expect(spec.workerPath).toBe('/opt/w.js');
    expect(cwd).not.toHaveBeenCalled();
  });

  it.each([42, null, { path: 'w.js' }, ''])(
    'says what a worker must be when given %j',
    (worker) => {
      const failure = configError(() => parseWith(runnerSpecSchema, { worker }, 'spec'));
      expect(failure.field).toBe('spec.worker');
      expect(failure.message).toMatch(
        /^invalid "spec\.worker": expected the worker module: a path, a file: URL string or a URL[,;] /,
      );
    },
  );

  it.each([
    ['an http: URL object', new URL('http://x/y.js'), 'http://x/y.js'],
    ['a file: URL with a host', 'file://host/y.js', 'file://host/y.js'],
  ])('rejects %s with ERR_INVALID_CONFIG on spec.worker', (_label, worker, shown) => {
    const failure = configError(() => resolveRunnerSpec({ worker }, undefined, 1));
    expect(failure.field).toBe('spec.worker');
    expect(failure.message).toContain(shown);
    expect(failure.message).toContain('file: URL');
    expect(failure.error.cause).toBeInstanceOf(TypeError);
  });
});

describe('resolveRunnerSpec restart.backoff', () => {
  it('rejects baseMs > capMs, naming both', () => {
    const failure = configError(() =>
      resolveRunnerSpec(
        { worker: '/opt/w.js', restart: { backoff: { baseMs: 500, capMs: 100 } } },
        undefined,
        1,
      ),
    );
    expect(failure.field).toBe('spec.restart.backoff');
    expect(failure.message).toContain('baseMs (500)');
    expect(failure.message).toContain('capMs (100)');
  });

  it('rejects a baseMs above the default cap, and accepts baseMs = capMs', () => {
    expect(
      configError(() =>
        resolveRunnerSpec(
          { worker: '/opt/w.js', restart: { backoff: { baseMs: 20_000 } } },
          undefined,
          1,
        ),
      ).field,
    ).toBe('spec.restart.backoff');
    const equal = resolveRunnerSpec(
      { worker: '/opt/w.js', restart: { backoff: { baseMs: 300, capMs: 300 } } },
      undefined,
      1,
    );
    expect(equal.restart.backoff).toEqual({ baseMs: 300, capMs: 300 });
  });
});

describe('maxConcurrentStarts', () => {
  it('takes a positive whole number, and is optional', () => {
    expect(
      parseWith(troupeOptionsSchema, { maxConcurrentStarts: 3 }, 'options').maxConcurrentStarts,
    ).toBe(3);
    expect(parseWith(troupeOptionsSchema, {}, 'options').maxConcurrentStarts).toBeUndefined();
  });

  it.each([0, -1, 1.5, '4'])('refuses %j, naming the field', (value) => {
    const failure = configError(() =>
      parseWith(troupeOptionsSchema, { maxConcurrentStarts: value }, 'options'),
    );
    expect(failure.field).toBe('options.maxConcurrentStarts');
  });
});

describe('shutdown.readinessDelayMs and signalExit', () => {
  it('takes a delay of 0 or more ms and one of the three exit modes', () => {
    const parsed = parseWith(
      troupeOptionsSchema,
      { shutdown: { readinessDelayMs: 5_000 }, signalExit: 'exit' },
      'options',
    );
    expect(parsed.shutdown.readinessDelayMs).toBe(5_000);
    expect(parsed.signalExit).toBe('exit');
    expect(parseWith(troupeOptionsSchema, { signalExit: 'none' }, 'options').signalExit).toBe(
      'none',
    );
  });

  it.each([-1, '5', Number.NaN])('refuses readinessDelayMs %j, naming the field', (value) => {
    const failure = configError(() =>
      parseWith(troupeOptionsSchema, { shutdown: { readinessDelayMs: value } }, 'options'),
    );
    expect(failure.field).toBe('options.shutdown.readinessDelayMs');
  });

  it('refuses an unknown signalExit, listing the three', () => {
    const failure = configError(() =>
      parseWith(troupeOptionsSchema, { signalExit: 'kill' }, 'options'),
    );
    expect(failure.field).toBe('options.signalExit');
    expect(failure.message).toMatch(/exitCode.*exit.*none/);
  });
});

describe('metrics', () => {
  it('has no default process metrics unless asked', () => {
    expect(parseWith(troupeOptionsSchema, {}, 'options').metrics).toEqual({
      defaultMetrics: false,
    });
    expect(
      parseWith(troupeOptionsSchema, { metrics: { defaultMetrics: true } }, 'options').metrics,
    ).toEqual({ defaultMetrics: true });
  });

  it.each([{ defaultMetrics: 'yes' }, { prefix: 'x_' }, true])('refuses %j', (value) => {
    const failure = configError(() =>
      parseWith(troupeOptionsSchema, { metrics: value }, 'options'),
    );
    expect(failure.field).toMatch(/^options\.metrics/);
  });
});

/** T without `readonly`, deeply (functions and class instances as they are). */
type Writable<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends URL
    ? T
    : T extends readonly (infer U)[]
      ? Writable<U>[]
      : T extends object
        ? { -readonly [K in keyof T]: Writable<T[K]> }
        : T;

/** The keys of an object schema, through the optional/default/prefault wrappers around it. */
function keysOf(schema: z.ZodType): string[] {
  let inner: unknown = schema;
  while (!(inner instanceof z.ZodObject)) {
    const unwrap = (inner as { unwrap?: () => unknown }).unwrap;
    if (unwrap === undefined) throw new Error('not an object schema');
    inner = unwrap.call(inner);
  }
  return Object.keys(inner.shape).sort();
}

/** Every key of T, each listed once: adding or removing one in the interface fails to compile. */
function keys<T>(record: { readonly [K in keyof Required<T>]: true }): string[] {
  return Object.keys(record).sort();
}

describe('the option interfaces and their schemas agree', () => {
  const shape = troupeOptionsSchema.shape;

  it.each<[string, string[], z.ZodType]>([
    [
      'TroupeOptions',
      keys<TroupeOptions>({
        nodeId: true,
        shutdown: true,
        signals: true,
        signalExit: true,
        logger: true,
        inspect: true,
        health: true,
        errors: true,
        runnerDefaults: true,
        maxConcurrentStarts: true,
        metrics: true,
      }),
      troupeOptionsSchema,
    ],
    [
      'ShutdownDeadlineOptions',
      keys<ShutdownDeadlineOptions>({
        signalingMs: true,
        drainingMs: true,
        closingMs: true,
        forceMs: true,
        abortGraceMs: true,
        readinessDelayMs: true,
      }),
      shutdownSchema,
    ],
    [
      'HealthOptions',
      keys<HealthOptions>({
        enabled: true,
        intervalMs: true,
        probeTimeoutMs: true,
        weights: true,
        thresholds: true,
        recovery: true,
      }),
      healthSchema,
    ],
    [
      'HealthOptions.weights',
      keys<NonNullable<HealthOptions['weights']>>({
        process: true,
        status: true,
        resource: true,
        error: true,
        tasks: true,
      }),
      healthSchema.shape.weights,
    ],
    [
      'HealthOptions.thresholds',
      keys<NonNullable<HealthOptions['thresholds']>>({
        healthy: true,
        degraded: true,
        errorRatePerMin: true,
        unhealthyProbes: true,
        hungAfterMs: true,
        queueWaitMs: true,
      }),
      healthSchema.shape.thresholds,
    ],
    [
      'ErrorOptions',
      keys<ErrorOptions>({
        ringSize: true,
        windowMs: true,
        policies: true,
        classify: true,
        retry: true,
        escalation: true,
      }),
      errorsSchema,
    ],
    [
      'ErrorOptions.retry',
      keys<NonNullable<ErrorOptions['retry']>>({ baseMs: true, capMs: true, maxAttempts: true }),
      errorsSchema.shape.retry,
    ],
    [
      'RestartOptions',
      keys<RestartOptions>({
        policy: true,
        maxRestarts: true,
        windowMs: true,
        backoff: true,
        resetAfterMs: true,
      }),
      restartSchema,
    ],
    [
      'RestartOptions.backoff',
      keys<NonNullable<RestartOptions['backoff']>>({ baseMs: true, capMs: true }),
      restartSchema.shape.backoff,
    ],
    [
      'RunnerSpec',
      keys<RunnerSpec>({
        worker: true,
        id: true,
        threads: true,
        maxQueue: true,
        taskTimeoutMs: true,
        startupTimeoutMs: true,
        closeTimeoutMs: true,
        abortGraceMs: true,
        restart: true,
        dependsOn: true,
        workerData: true,
        resourceLimits: true,
        env: true,
        execArgv: true,
        atomics: true,
      }),
      runnerSpecSchema,
    ],
    [
      'RunnerDefaults',
      keys<RunnerDefaults>({
        threads: true,
        maxQueue: true,
        taskTimeoutMs: true,
        startupTimeoutMs: true,
        restart: true,
      }),
      shape.runnerDefaults,
    ],
    ['MetricsOptions', keys<MetricsOptions>({ defaultMetrics: true }), metricsSchema],
  ])('%s has the keys its schema accepts', (_name, interfaceKeys, schema) => {
    expect(interfaceKeys).toEqual(keysOf(schema));
  });

  it('whatever the interfaces admit, the schemas accept (a compile-time check)', () => {
    // The interfaces take readonly arrays where the schemas' inputs are mutable: not a difference.
    const troupe = (options: Writable<TroupeOptions>): z.input<typeof troupeOptionsSchema> =>
      options;
    const spec = (options: Writable<RunnerSpec>): z.input<typeof runnerSpecSchema> => options;
    expect(troupe({}).nodeId).toBeUndefined();
    expect(spec({ worker: 'w.js' }).worker).toBe('w.js');
  });
});
