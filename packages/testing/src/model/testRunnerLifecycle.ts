import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runnerMachine, type RestartPolicy } from '@troupe/core';
import type { Runner, RunnerSpec, ShutdownReport, Troupe, ErrorRecord } from '@troupe/runtime';
import { lifecycleEvents } from './lifecycle/lifecycleEvents.js';
import { diagnose } from './lifecycle/diagnose.js';
import { causeChain } from './lifecycle/LifecycleOutcomes.js';
import { UserRunnerDriver, describeRecord, type CaseFacts } from './lifecycle/UserRunnerDriver.js';
import { ModelPathError } from './ModelPathError.js';
import {
  coverageOf,
  eventFacts,
  modelPaths,
  simplePaths,
  type ModelCoverage,
  type ModelPath,
} from './modelPaths.js';
import { runModelPath } from './runModelPath.js';
import { runnerModel } from './runnerModel.js';

/** A task of your worker module: the handler and its payload. */
export interface LifecycleTask {
  readonly handler?: string;
  readonly payload?: unknown;
}

/** What a hook of yours sees after a step, or at the end of a case. */
export interface LifecycleStepContext {
  /** The case's id (replay it with `only`). */
  readonly caseId: string;
  /** 0 for the initial state, then 1.. the path's length. */
  readonly step: number;
  /** The runner's state as the model names it (e.g. `running(load.busy|threads.full)`). */
  readonly state: string;
  readonly runner: Runner;
  readonly troupe: Troupe;
}

/** What `afterCase` sees: everything the case left behind. */
export interface LifecycleCaseContext {
  readonly caseId: string;
  readonly report: ShutdownReport | null;
  readonly errors: readonly ErrorRecord[];
}

/** Options of {@link testRunnerLifecycle}. */
export interface RunnerLifecycleOptions {
  /** Your worker module (plain or `defineRunner`). */
  readonly worker: string | URL;
  /**
   * A task that succeeds. The harness holds each one at its start until the
   * path lets it go, so its duration does not matter; on every path it must
   * resolve.
   */
  readonly task: LifecycleTask;
  /**
   * A task that runs until it is aborted, and whether it honours
   * `ctx.signal` (ends when aborted) or not (its thread is terminated after
   * `abortGraceMs`). Given one, the cases also cover the drain deadline.
   * Tell the truth: a task that claims to honour its signal and does not
   * fails its cases with "did not honour ctx.signal".
   */
  readonly longTask?: LifecycleTask & { readonly honoursAbort: boolean };
  /** Extra runner spec fields (threads, workerData, ...). */
  readonly spec?: Omit<
    RunnerSpec,
    'worker' | 'id' | 'restart' | 'startupTimeoutMs' | 'closeTimeoutMs'
  >;
  /** Also run this many sampled simple paths to a final state. Default 4. */
  readonly simplePaths?: number;
  /** Seed of the simple-path sample (the same seed, the same paths). Default 11. */
  readonly seed?: number;
  /**
   * Also the fault paths: an idle thread crashes (the pool replaces it), a
   * replacement thread fails to load (the pool restarts), a replacement
   * never finishes loading (the startup deadline). Default true.
   */
  readonly faults?: boolean;
  /** The restart policy the runner runs under. Default 'permanent'. */
  readonly restart?: RestartPolicy;
  /** How long the runner may take to reach each step's state. Default 10,000 ms. */
  readonly stepTimeoutMs?: number;
  /** The runner's startup deadline per thread (a path that waits it out uses 1 s). Default 5,000 ms. */
  readonly startupTimeoutMs?: number;
  /** The teardown deadline per thread. Default 5,000 ms. */
  readonly closeTimeoutMs?: number;
  /** Check that no thread, ref'd port or timer is left in this process after each case. Default true. */
  readonly leakCheck?: boolean;
  /**
   * Only the cases with these ids (from a failure's `replay:` line). The
   * environment variable `TROUPE_LIFECYCLE_CASE` (ids, comma-separated) does
   * the same without editing the test.
   */
  readonly only?: string | readonly string[];
  /**
   * A failing case is shrunk: its prefixes are run (binary search) to find
   * the fewest first steps that still fail, and that is what the failure
   * reports, with its own replay id (`<id>/<steps>`). Default true.
   */
  readonly shrink?: boolean;
  /** Called before every run of a path (shrinking runs too): reset your fixture's state here. */
  readonly beforeEach?: () => void | Promise<void>;
  /** Your check after each step; a throw fails the case there. */
  readonly afterStep?: (context: LifecycleStepContext) => void | Promise<void>;
  /** Your check at the end of each case (after the shutdown); a throw fails it. */
  readonly afterCase?: (context: LifecycleCaseContext) => void | Promise<void>;
}

/** One generated case: give it to `it(name, run)`. */
export interface LifecycleCase {
  /** Stable id of the path (a hash of its steps): `only` and `TROUPE_LIFECYCLE_CASE` take it. */
  readonly id: string;
  readonly name: string;
  /** The path as events, one per line. */
  readonly steps: readonly string[];
  readonly run: () => Promise<void>;
}

/** The cases, with what they cover of `runnerMachine`. */
export type LifecycleCases = LifecycleCase[] & {
  readonly coverage: ModelCoverage;
  /** The coverage in words: states and transitions covered, and what is left out. */
  readonly coverageText: string;
};

function workerText(worker: string | URL): string {
  return worker instanceof URL || worker.startsWith('file:')
    ? fileURLToPath(worker)
    : resolve(worker);
}

/** The first `steps` steps of `path`, as a path of their own. */
function prefixOf(path: ModelPath, steps: number): ModelPath {
  return {
    ...path,
    name: `${path.name} [first ${steps} steps]`,
    steps: path.steps.slice(0, steps),
    // (what it covers is not counted: coverage is the full cases')
    transitions: [],
  };
}

/** A worker that is not a file fails here, before any case runs. */
function checkWorker(worker: string | URL): void {
  let file: string;
  try {
    file =
      worker instanceof URL || worker.startsWith('file:') ? fileURLToPath(worker) : resolve(worker);
  } catch (error) {
    throw new TypeError(
      `testRunnerLifecycle: "worker" must be a file path or file: URL; got ${String(worker)}`,
      { cause: error },
    );
  }
  if (!existsSync(file)) {
    throw new TypeError(`testRunnerLifecycle: the worker module ${file} does not exist`);
  }
  if (!statSync(file).isFile()) {
    throw new TypeError(`testRunnerLifecycle: the worker ${file} is not a file (a directory?)`);
  }
}

/** 32-bit FNV-1a of the path's name, as 8 hex digits. */
function pathId(path: ModelPath): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < path.name.length; i++) {
    hash ^= path.name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

function stepText(path: ModelPath, index: number): string {
  const step = path.steps[index];
  if (step === undefined) return '?';
  const type = step.event.type.replace(/^troupe\.runner\./, '');
  const facts = eventFacts(step.event)
    .filter(([k]) => k !== 'threadId' && k !== 'error' && k !== 'at')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return `${type}${facts === '' ? '' : ` {${facts}}`}`;
}

function onlyIds(options: RunnerLifecycleOptions): Set<string> | null {
  const fromEnv = process.env.TROUPE_LIFECYCLE_CASE;
  const given =
    options.only === undefined
      ? []
      : typeof options.only === 'string'
        ? [options.only]
        : options.only;
  const ids = [...given, ...(fromEnv === undefined ? [] : fromEnv.split(','))]
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return ids.length === 0 ? null : new Set(ids);
}

/** The failure a user reads: what broke, where, why, and how to replay it. */
function lifecycleFailure(
  id: string,
  path: ModelPath,
  error: unknown,
  driver: UserRunnerDriver,
): Error {
  const facts: CaseFacts | null = driver.facts;
  const lines: string[] = [];
  const steps = path.steps.map((_, i) => `${i + 1}. ${stepText(path, i)}`);
  const timing = driver.timing;
  if (error instanceof ModelPathError) {
    lines.push(`lifecycle case ${id} failed at step ${error.step} of ${error.steps}`);
    if (error.failure === 'hook') {
      lines.push(`  your check failed after "${error.expected}": ${causeChain(error.cause)}`);
    } else {
      lines.push(`  expected: "${error.expected}"${error.by === null ? '' : ` by ${error.by}`}`);
      if (error.actual !== null) {
        lines.push(
          `  actual:   "${error.actual.from}" -(${error.actual.event.type})→ "${error.actual.to}"`,
        );
        const why = timing === null ? null : diagnose(error.actual, timing);
        if (why !== null) lines.push(`  why:      ${why}`);
      } else {
        lines.push(`  actual:   never reached it (step timeout); the runner went ${error.real}`);
      }
    }
  } else {
    lines.push(`lifecycle case ${id}: the path ran, but the case failed`);
  }
  // The root cause: the first error the runtime recorded, or what the spawn said.
  // (Errors the path causes by design, such as the harness's own crash, are not it.)
  const first = (facts?.unexpected ?? driver.unexpectedErrors(path))[0];
  const spawn = facts?.spawnProblem ?? driver.spawnProblem();
  if (spawn !== null) lines.push(`  root cause: ${spawn}`);
  else if (first !== undefined) lines.push(`  root cause: ${describeRecord(first)}`);
  const problems =
    facts?.problems ??
    (error instanceof ModelPathError
      ? []
      : [error instanceof Error ? error.message : String(error)]);
  if (problems.length > 0) {
    lines.push('  found:');
    for (const p of problems) lines.push(`    - ${p.replace(/\n/g, '\n      ')}`);
  }
  lines.push('  path:');
  for (const s of steps) lines.push(`    ${s}`);
  lines.push(`  replay: TROUPE_LIFECYCLE_CASE=${id} (or the option only: '${id}')`);
  // Runtime errors name the generated wrapper: the user wants their own module.
  let text = lines.join('\n');
  const wrapper = driver.wrapper;
  if (wrapper !== null) text = text.split(wrapper).join(workerText(driver.worker));
  const out = new Error(text, { cause: error });
  out.name = 'LifecycleError';
  return out;
}

/**
 * Model-tests your worker module against Troupe's runner lifecycle. Paths
 * generated from `runnerMachine` — start, busy ⇄ idle, `runner.stop()`,
 * the troupe's shutdown, `runner.restart()`, with a `longTask` the drain
 * deadline, and (`faults`, on by default) a crashed thread, a replacement
 * that fails to load and one that never finishes loading — each run your
 * module on real threads and check:
 *
 * - the runner goes exactly through the model's states: the first
 *   transition anywhere else fails the case at once, named, with what it
 *   likely means (a task that ignores `ctx.signal`, a setup that hangs on a
 *   replacement thread, a thread that exits by itself, a teardown that
 *   hangs);
 * - every promise settles the way the path says (tasks succeed, long tasks
 *   are aborted, spawn, stop, restart and shutdown resolve);
 * - no error is recorded beyond those the path causes (a teardown that
 *   throws, a handler that throws), the shutdown report is not `forced`
 *   unless the path waits out a deadline, no thread leaks;
 * - no thread is left with a handle (a timer, a socket) that would keep it
 *   alive after its teardown, or while idle for a plain module: a thread of
 *   yours that would not exit by itself is reported;
 * - no thread, ref'd port or timer is left in this process.
 *
 * A failure names the step, the expected and the real transition, the root
 * cause (the first error, with its causes), and the id to replay it.
 *
 * @example
 * ```ts
 * import { testRunnerLifecycle } from '@troupe/testing';
 * import { describe, it } from 'vitest';
 *
 * describe('my worker follows the runner lifecycle', () => {
 *   for (const c of testRunnerLifecycle({
 *     worker: new URL('../dist/worker.js', import.meta.url),
 *     task: { handler: 'generate', payload: 20 },
 *   })) {
 *     it(c.name, c.run, 60_000);
 *   }
 * });
 * ```
 */
export function testRunnerLifecycle(options: RunnerLifecycleOptions): LifecycleCases {
  checkWorker(options.worker);
  const long = options.longTask !== undefined;
  const honours = options.longTask?.honoursAbort ?? true;
  const restart = options.restart ?? 'permanent';
  const model = runnerModel(restart);
  const threads = options.spec?.threads ?? 1;
  const spec = {
    ...model,
    input: { ...(model.input as object), threads },
    filterEvents: lifecycleEvents({ long, honours, faults: options.faults ?? true }),
  };
  const driver = new UserRunnerDriver({
    worker: options.worker,
    task: options.task,
    ...(options.longTask === undefined ? {} : { longTask: options.longTask }),
    ...(options.spec === undefined ? {} : { spec: options.spec }),
    restart,
    startupTimeoutMs: options.startupTimeoutMs ?? 5_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
    leakCheck: options.leakCheck !== false,
  });
  const all: ModelPath[] = [
    ...modelPaths(spec).paths,
    ...simplePaths(spec, { sample: options.simplePaths ?? 4, seed: options.seed ?? 11 }),
  ];
  const seen = new Set<string>();
  const paths = all.filter((p) => {
    if (seen.has(p.name)) return false;
    seen.add(p.name);
    return true;
  });
  const only = onlyIds(options);
  const cases: LifecycleCase[] = [];
  /** Runs `path` once as case `id`; a failure comes back as the user's error. */
  const runOnce = async (path: ModelPath, id: string): Promise<Error | null> => {
    await options.beforeEach?.();
    try {
      await runModelPath(path, driver, {
        stepTimeoutMs: options.stepTimeoutMs ?? 10_000,
        strict: true,
        ...(options.afterStep === undefined
          ? {}
          : {
              afterStep: (step, state) => {
                const runner = driver.runner;
                const troupe = driver.troupe;
                if (runner === null || troupe === null) return;
                return options.afterStep?.({ caseId: id, step, state, runner, troupe });
              },
            }),
      });
    } catch (error) {
      return lifecycleFailure(id, path, error, driver);
    }
    if (options.afterCase !== undefined) {
      const facts = driver.facts;
      await options.afterCase({
        caseId: id,
        report: facts?.report ?? null,
        errors: facts?.errors ?? [],
      });
    }
    return null;
  };
  const addCase = (path: ModelPath, id: string): void => {
    cases.push({
      id,
      name: `[${id}] ${path.steps.map((_, i) => stepText(path, i)).join(' → ')}`,
      steps: path.steps.map((_, i) => stepText(path, i)),
      run: async () => {
        const failure = await runOnce(path, id);
        if (failure === null) return;
        if (options.shrink === false || path.steps.length <= 1) throw failure;
        // The fewest first steps that still fail (binary search over prefixes).
        let lo = 1;
        let hi = path.steps.length;
        let smallest = failure;
        let runs = 0;
        while (lo < hi) {
          const mid = Math.floor((lo + hi) / 2);
          runs += 1;
          const again = await runOnce(prefixOf(path, mid), `${id}/${mid}`);
          if (again === null) {
            lo = mid + 1;
          } else {
            hi = mid;
            smallest = again;
          }
        }
        if (hi === path.steps.length) throw failure;
        smallest.message += `\n  shrunk: the first ${hi} of the case's ${path.steps.length} steps already fail (${runs} runs of its prefixes)`;
        throw smallest;
      },
    });
  };
  for (const path of paths) {
    const id = pathId(path);
    if (only !== null && !only.has(id)) {
      // A shrunk case's id: the first <k> steps of case <id>.
      for (const wanted of only) {
        const [base, k] = wanted.split('/');
        const steps = Number(k);
        if (base === id && Number.isInteger(steps) && steps >= 1 && steps <= path.steps.length) {
          addCase(prefixOf(path, steps), wanted);
        }
      }
      continue;
    }
    addCase(path, id);
  }
  if (only !== null && cases.length === 0) {
    throw new Error(
      `testRunnerLifecycle: no case has the id(s) ${[...only].join(', ')} (ids: ${paths.map(pathId).join(', ')})`,
    );
  }
  const coverage = coverageOf(runnerMachine, paths);
  const coverageText = [
    `runnerMachine: ${coverage.states.covered.length}/${coverage.states.total} states, ${coverage.transitions.covered.length}/${coverage.transitions.total} transitions in ${paths.length} cases`,
    `not covered (a user's worker cannot be driven there deterministically, or the options leave them out):`,
    ...coverage.transitions.missing.map((t) => `  ${t}`),
  ].join('\n');
  return Object.assign(cases, { coverage, coverageText });
}
