import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidConfigError, type RunnerRestartConfig } from '@troupe/core';
import type { z } from 'zod';
import { parseWith } from './parse.js';
import { runnerSpecSchema, type troupeOptionsSchema } from './schemas.js';

/** A runner spec with every default filled in. */
export interface ResolvedRunnerSpec {
  readonly id: string | undefined;
  readonly workerPath: string;
  readonly moduleUrl: string;
  readonly threads: number;
  readonly maxQueue: number;
  readonly taskTimeoutMs: number | undefined;
  readonly startupTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly abortGraceMs: number;
  readonly restart: RunnerRestartConfig;
  readonly dependsOn: readonly string[];
  readonly workerData: unknown;
  readonly resourceLimits: z.output<typeof runnerSpecSchema>['resourceLimits'];
  readonly env: Readonly<Record<string, string>> | undefined;
  readonly execArgv: readonly string[] | undefined;
  readonly atomics: 'disabled' | 'async';
}

type TroupeDefaults = z.output<typeof troupeOptionsSchema>['runnerDefaults'];

function workerPathOf(worker: string | URL): string {
  if (
    typeof worker === 'string' &&
    /^[a-z][a-z0-9+.-]*:\/\//i.test(worker) &&
    !worker.startsWith('file:')
  ) {
    throw new InvalidConfigError(
      `invalid "spec.worker": expected a file path or file: URL; got ${worker}`,
      { context: { component: 'config', field: 'spec.worker', value: worker } },
    );
  }
  try {
    if (worker instanceof URL) return fileURLToPath(worker);
    if (worker.startsWith('file:')) return fileURLToPath(worker);
  } catch (error) {
    throw new InvalidConfigError(
      `invalid "spec.worker": expected a file path or file: URL; got ${String(worker)}`,
      { cause: error, context: { component: 'config', field: 'spec.worker' } },
    );
  }
  return isAbsolute(worker) ? worker : resolve(process.cwd(), worker);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge of plain objects; `undefined` in `over` never erases `base`. */
function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

/** The troupe's `runnerDefaults` under the spec; the spec wins, field by field. */
function mergeDefaults(input: unknown, defaults: TroupeDefaults): unknown {
  if (!isPlainObject(input) || defaults === undefined) return input;
  return deepMerge(defaults, input);
}

/** Validates a runner spec and fills in defaults (troupe-level `runnerDefaults` first). */
export function resolveRunnerSpec(
  input: unknown,
  defaults: TroupeDefaults,
  abortGraceMs: number,
): ResolvedRunnerSpec {
  const merged = mergeDefaults(input, defaults);
  const spec = parseWith(runnerSpecSchema, merged, 'spec');
  const workerPath = workerPathOf(spec.worker);
  const threads = spec.threads ?? Math.max(1, Math.floor(availableParallelism() / 2));
  if (spec.restart.backoff.baseMs > spec.restart.backoff.capMs) {
    throw new InvalidConfigError(
      `invalid "spec.restart.backoff": baseMs (${spec.restart.backoff.baseMs}) must not exceed capMs (${spec.restart.backoff.capMs})`,
      { context: { component: 'config', field: 'spec.restart.backoff' } },
    );
  }
  return {
    id: spec.id,
    workerPath,
    moduleUrl: pathToFileURL(workerPath).href,
    threads,
    maxQueue: spec.maxQueue ?? 1_000,
    taskTimeoutMs: spec.taskTimeoutMs,
    startupTimeoutMs: spec.startupTimeoutMs,
    closeTimeoutMs: spec.closeTimeoutMs,
    abortGraceMs: spec.abortGraceMs ?? abortGraceMs,
    restart: spec.restart,
    dependsOn: spec.dependsOn,
    workerData: spec.workerData,
    resourceLimits: spec.resourceLimits,
    env: spec.env,
    execArgv: spec.execArgv,
    atomics: spec.atomics,
  };
}
