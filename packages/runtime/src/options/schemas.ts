import { z } from 'zod';
import type { InspectOption } from '../inspection/InspectOption.js';
import type { LoggerLike } from '../logger.js';

const ms = z.number().positive();
const count = z.number().int().nonnegative();

const isFunction = (v: unknown): boolean => typeof v === 'function';

export const restartSchema = z.strictObject({
  policy: z.enum(['permanent', 'transient', 'temporary']).default('permanent'),
  maxRestarts: count.default(3),
  windowMs: ms.default(10_000),
  backoff: z
    .strictObject({
      baseMs: ms.default(100),
      capMs: ms.default(10_000),
    })
    .prefault({}),
  resetAfterMs: ms.default(30_000),
});

export const resourceLimitsSchema = z.strictObject({
  maxOldGenerationSizeMb: z.number().positive().optional(),
  maxYoungGenerationSizeMb: z.number().positive().optional(),
  codeRangeSizeMb: z.number().positive().optional(),
  stackSizeMb: z.number().positive().optional(),
});

export const runnerSpecSchema = z.strictObject({
  id: z.string().min(1).regex(/^\S+$/, 'must not contain whitespace').optional(),
  worker: z.union(
    [
      z
        .string()
        .min(
          1,
          'expected the worker module: a path, a file: URL string or a URL, not an empty string',
        ),
      z.instanceof(URL),
    ],
    {
      error: 'expected the worker module: a path, a file: URL string or a URL',
    },
  ),
  threads: z.number().int().min(1).max(256).optional(),
  maxQueue: count.optional(),
  taskTimeoutMs: ms.optional(),
  startupTimeoutMs: ms.default(10_000),
  closeTimeoutMs: ms.default(5_000),
  abortGraceMs: ms.optional(),
  restart: restartSchema.prefault({}),
  dependsOn: z.array(z.string().min(1)).default([]),
  workerData: z.unknown().optional(),
  resourceLimits: resourceLimitsSchema.optional(),
  env: z.record(z.string(), z.string()).optional(),
  execArgv: z.array(z.string()).optional(),
  atomics: z.enum(['disabled', 'async']).default('disabled'),
});

export const shutdownSchema = z.strictObject({
  signalingMs: ms.default(1_000),
  drainingMs: ms.default(10_000),
  closingMs: ms.default(5_000),
  forceMs: ms.default(2_000),
  abortGraceMs: ms.default(1_000),
  readinessDelayMs: z.number().min(0).default(0),
});

export const healthSchema = z.strictObject({
  enabled: z.boolean().default(true),
  intervalMs: ms.default(1_000),
  probeTimeoutMs: ms.default(500),
  weights: z
    .strictObject({
      process: z.number().nonnegative().default(0.4),
      status: z.number().nonnegative().default(0.15),
      resource: z.number().nonnegative().default(0.15),
      error: z.number().nonnegative().default(0.15),
      tasks: z.number().nonnegative().default(0.15),
    })
    .prefault({}),
  thresholds: z
    .strictObject({
      // With the default weights: every thread hung scores 0.6 (unhealthy),
      // half of them hung 0.8 (degraded).
      healthy: z.number().min(0).max(1).default(0.9),
      degraded: z.number().min(0).max(1).default(0.7),
      errorRatePerMin: z.number().positive().default(30),
      unhealthyProbes: z.number().int().positive().default(3),
      hungAfterMs: ms.default(30_000),
      // Saturation alone (the task component at 0) scores 0.85: degraded.
      queueWaitMs: ms.default(500),
    })
    .prefault({}),
  recovery: z.enum(['restart', 'stop', 'none']).default('restart'),
});

export const errorsSchema = z.strictObject({
  ringSize: z.number().int().positive().default(1_000),
  windowMs: ms.default(60_000),
  policies: z
    .record(
      z.string(),
      z.strictObject({
        severity: z.enum(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']).optional(),
        action: z
          .enum(['RETRY', 'SKIP', 'RESTART', 'FORCE_CLEANUP', 'DEGRADE', 'ESCALATE'])
          .optional(),
      }),
    )
    .default({}),
  classify: z.custom<(...args: never[]) => unknown>(isFunction, 'must be a function').optional(),
  retry: z
    .strictObject({
      baseMs: ms.default(100),
      capMs: ms.default(10_000),
      maxAttempts: z.number().int().min(1).default(3),
    })
    .prefault({}),
  escalation: z.enum(['degrade', 'shutdown']).default('degrade'),
});

export const metricsSchema = z.strictObject({
  defaultMetrics: z.boolean().default(false),
});

export const troupeOptionsSchema = z.strictObject({
  nodeId: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9._-]+$/, 'may contain letters, digits, ".", "_" and "-" only')
    .optional(),
  shutdown: shutdownSchema.prefault({}),
  signals: z.array(z.enum(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'])).default([]),
  signalExit: z.enum(['exitCode', 'exit', 'none']).default('exitCode'),
  logger: z
    .custom<LoggerLike>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        ['debug', 'info', 'warn', 'error'].every(
          (m) => typeof (v as Record<string, unknown>)[m] === 'function',
        ),
      'must have debug, info, warn and error methods (pino-compatible)',
    )
    .optional(),
  inspect: z
    .custom<InspectOption>(
      (v) =>
        typeof v === 'function' ||
        (typeof v === 'object' &&
          v !== null &&
          typeof (v as Record<string, unknown>).next === 'function'),
      'must be an inspection observer (a function or { next })',
    )
    .optional(),
  health: healthSchema.prefault({}),
  errors: errorsSchema.prefault({}),
  maxConcurrentStarts: z.number().int().positive().optional(),
  metrics: metricsSchema.prefault({}),
  runnerDefaults: z
    .strictObject({
      threads: z.number().int().min(1).max(256).optional(),
      maxQueue: count.optional(),
      taskTimeoutMs: ms.optional(),
      startupTimeoutMs: ms.optional(),
      restart: restartSchema.partial().optional(),
    })
    .optional(),
});
