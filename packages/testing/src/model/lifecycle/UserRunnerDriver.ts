import { runnerMachine, type RestartPolicy, type RunnerContext } from '@troupe/core';
import {
  createTroupe,
  type ErrorRecord,
  type RunOptions,
  type Runner,
  type RunnerSpec,
  type ShutdownReport,
  type Troupe,
} from '@troupe/runtime';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { checkLeaks, snapshotHandles, type HandleSnapshot } from '../../leakCheck.js';
import { ActorRecorder } from '../ActorRecorder.js';
import type { ModelPath } from '../modelPaths.js';
import type { ModelDriver, ObservedActor } from '../runModelPath.js';
import { modelRestart } from '../runnerModel.js';
import { inStateNode } from '../stateValue.js';
import { LoadPlan } from './instrumentSlots.js';
import { LifecycleOutcomes, causeChain } from './LifecycleOutcomes.js';
import { WorkerInstrument } from './WorkerInstrument.js';

export const RUNNER_ID = 'lifecycle';

/** A task of the user's worker module: the handler and its payload. */
export interface DriverTask {
  readonly handler?: string;
  readonly payload?: unknown;
}

/** What the driver needs from `testRunnerLifecycle`'s options. */
export interface DriverOptions {
  readonly worker: string | URL;
  readonly task: DriverTask;
  readonly longTask?: DriverTask & { readonly honoursAbort: boolean };
  readonly spec?: Omit<RunnerSpec, 'worker' | 'id' | 'restart'>;
  readonly restart: RestartPolicy;
  readonly startupTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly leakCheck: boolean;
}

/** What a case left behind, for the failure message and the user's checks. */
export interface CaseFacts {
  readonly errors: readonly ErrorRecord[];
  /** The errors the path does not cause by design: findings. */
  readonly unexpected: readonly ErrorRecord[];
  readonly report: ShutdownReport | null;
  readonly problems: readonly string[];
  /** Deadlines of this path, for the diagnosis. */
  readonly timing: Timing;
  /** The spawn's own rejection, when it was not expected. */
  readonly spawnProblem: string | null;
}

export interface Timing {
  readonly startupTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly abortGraceMs: number;
  readonly drainingMs: number;
}

function takes(path: ModelPath, prefix: string): boolean {
  return path.steps.some((s) => s.event.type.startsWith(prefix));
}

function isIn(snapshot: AnyMachineSnapshot, id: string): boolean {
  return inStateNode(runnerMachine, snapshot.value, id);
}

/** Deadlines the path waits out are short; every other one is far away (or the user's). */
function timingFor(path: ModelPath, options: DriverOptions): Timing {
  return {
    startupTimeoutMs: takes(path, 'xstate.after.startupTimeout') ? 1_000 : options.startupTimeoutMs,
    closeTimeoutMs: options.closeTimeoutMs,
    // Honoured aborts get a second before the thread would be terminated.
    abortGraceMs: takes(path, 'xstate.after.abortGrace') ? 200 : 1_000,
    drainingMs:
      takes(path, 'troupe.runner.abort') || takes(path, 'xstate.after.drainTimeout') ? 200 : 30_000,
  };
}

/** Error codes a path produces by design: any other record is a finding. */
function expectedCodes(path: ModelPath): Set<string> {
  const codes = new Set<string>();
  for (const step of path.steps) {
    const type = step.event.type;
    if (type === 'troupe.runner.threadExit') codes.add('ERR_WORKER_CRASHED');
    if (type === 'troupe.runner.threadFailed' || type.startsWith('xstate.after.startupTimeout')) {
      codes.add('ERR_THREAD_STARTUP');
    }
    if (type === 'troupe.runner.abort' || type.startsWith('xstate.after.drainTimeout')) {
      codes.add('ERR_TASK_ABORTED');
    }
    // The runner's own verdict on the path (a restart limit, a failed start).
    const failure = (step.state.context as RunnerContext).failure;
    if (failure?.code !== undefined) codes.add(failure.code);
  }
  return codes;
}

/** Whether the path reaches `running` after step `index` (a restart that serves again). */
function servesAfter(path: ModelPath, index: number): boolean {
  return path.steps.slice(index + 1).some((step) => isIn(step.state, 'runner.running'));
}

/** Whether the runner is serving at the end of the path (the case's own shutdown starts there). */
function endsServing(path: ModelPath): boolean {
  const last = path.steps.at(-1)?.state ?? path.initial;
  return isIn(last, 'runner.running') || last.status === 'done';
}

/** The event that ends the load begun after step `index` (a replacement's). */
function loadEnd(path: ModelPath, index: number): string | null {
  for (const step of path.steps.slice(index + 1)) {
    const type = step.event.type;
    if (type === 'troupe.runner.threadUp') return 'up';
    if (type === 'troupe.runner.threadFailed') return 'failed';
    if (type.startsWith('xstate.after.startupTimeout')) return 'timeout';
  }
  return null;
}

/** Whether the tasks of the `busy` at `index` must outlast an abort: the next thing ending them. */
function needsLong(path: ModelPath, index: number): boolean {
  for (const step of path.steps.slice(index + 1)) {
    const type = step.event.type;
    if (type === 'troupe.runner.idle') return false;
    if (type === 'troupe.runner.abort' || type.startsWith('xstate.after.drainTimeout')) return true;
  }
  return false;
}

/**
 * Drives the user's worker module (instrumented, see WorkerInstrument) on a
 * real runner along a path of `runnerMachine`, observed through inspection
 * from its first state; at the end, shuts down and collects what the case
 * must be judged on.
 */
export class UserRunnerDriver implements ModelDriver {
  readonly #options: DriverOptions;
  #troupe: Troupe | null = null;
  #runner: Runner | null = null;
  #instrument: WorkerInstrument | null = null;
  #outcomes = new LifecycleOutcomes();
  #errors: ErrorRecord[] = [];
  #baseline: HandleSnapshot = snapshotHandles();
  #timing: Timing | null = null;
  #tasks = 0;
  #facts: CaseFacts | null = null;
  #wrapper: string | null = null;

  constructor(options: DriverOptions) {
    this.#options = options;
  }

  /** The user's worker module. */
  get worker(): string | URL {
    return this.#options.worker;
  }

  get troupe(): Troupe | null {
    return this.#troupe;
  }

  get runner(): Runner | null {
    return this.#runner;
  }

  /** What the last case left behind (after `finish`). */
  get facts(): CaseFacts | null {
    return this.#facts;
  }

  /** Errors recorded so far that the path does not cause by design. */
  unexpectedErrors(path: ModelPath): ErrorRecord[] {
    const expected = expectedCodes(path);
    return this.#errors.filter((record) => !expected.has(record.code));
  }

  /** Errors recorded so far in this case. */
  get errors(): readonly ErrorRecord[] {
    return this.#errors;
  }

  /** The generated module around the user's (named in runtime errors instead of theirs). */
  get wrapper(): string | null {
    return this.#wrapper;
  }

  get timing(): Timing | null {
    return this.#timing;
  }

  /** The spawn's rejection so far, if it was not expected. */
  spawnProblem(): string | null {
    return this.#outcomes.problemOf('spawnRunner');
  }

  start(path: ModelPath): Promise<ObservedActor> {
    const options = this.#options;
    this.#baseline = snapshotHandles();
    this.#outcomes = new LifecycleOutcomes();
    this.#errors = [];
    this.#tasks = 0;
    this.#facts = null;
    const timing = timingFor(path, options);
    this.#timing = timing;
    const handlers = [options.task.handler, options.longTask?.handler].filter(
      (h): h is string => h !== undefined,
    );
    const instrument = new WorkerInstrument(options.worker, handlers);
    this.#instrument = instrument;
    this.#wrapper = instrument.file;
    const recorder = new ActorRecorder();
    const troupe = createTroupe({
      inspect: recorder.inspect,
      health: { enabled: false },
      shutdown: {
        drainingMs: timing.drainingMs,
        abortGraceMs: timing.abortGraceMs,
        closingMs: 30_000,
      },
    });
    this.#troupe = troupe;
    troupe.on('error', (record) => {
      this.#errors.push(record);
    });
    this.#outcomes.track(
      troupe.spawnRunner({
        threads: 1,
        ...options.spec,
        id: RUNNER_ID,
        worker: instrument.file,
        restart: modelRestart(options.restart),
        startupTimeoutMs: timing.startupTimeoutMs,
        closeTimeoutMs: timing.closeTimeoutMs,
        abortGraceMs: timing.abortGraceMs,
      }),
      'spawnRunner',
      // Shut down before it ever served: the spawn says so.
      servesAfter(path, -1) ? 'value' : 'ERR_SHUTDOWN_IN_PROGRESS',
    );
    const runner = troupe.runner(RUNNER_ID);
    if (runner === undefined) throw new Error('the runner was not registered');
    this.#runner = runner;
    return Promise.resolve(recorder.actor(`runner:${RUNNER_ID}`));
  }

  #run(task: DriverTask, count: number, expected: string): void {
    const runner = this.#runner;
    if (runner === null) return;
    const options: RunOptions = task.handler === undefined ? {} : { handler: task.handler };
    for (let i = 0; i < count; i++) {
      this.#tasks += 1;
      const label = `${task === this.#options.longTask ? 'long task' : 'task'} #${this.#tasks} (${runner.id}, ${task.handler ?? 'default'})`;
      this.#outcomes.track(runner.run(task.payload, options), label, expected);
    }
  }

  exec(path: ModelPath, index: number): Promise<boolean> {
    const runner = this.#runner;
    const troupe = this.#troupe;
    const instrument = this.#instrument;
    const step = path.steps[index];
    if (runner === null || troupe === null || instrument === null || step === undefined) {
      return Promise.resolve(false);
    }
    const before = index === 0 ? path.initial : (path.steps[index - 1]?.state ?? path.initial);
    const event = step.event as EventObject & { closeWhenDrained?: boolean };
    switch (event.type) {
      case 'troupe.runner.busy': {
        const threads = runner.threadCount;
        const long = this.#options.longTask;
        if (needsLong(path, index) && long !== undefined) {
          this.#run(long, threads, 'ERR_TASK_ABORTED');
        } else {
          // Four per thread: a handler that breaks on its nth call shows up.
          instrument.hold(threads * 4);
          this.#run(this.#options.task, threads * 4, 'value');
        }
        return Promise.resolve(true);
      }
      case 'troupe.runner.idle':
        if (isIn(before, 'runner.draining.aborting')) return Promise.resolve(false);
        instrument.release();
        return Promise.resolve(true);
      case 'troupe.runner.restart':
        this.#outcomes.track(
          runner.restart(),
          'runner.restart()',
          // The case ends (and shuts down) before the restarted pool serves.
          servesAfter(path, index) ? 'value' : 'ERR_RUNNER_STOPPED',
        );
        return Promise.resolve(true);
      case 'troupe.runner.stop':
        if (event.closeWhenDrained === true) {
          this.#outcomes.track(runner.stop(), 'runner.stop()', 'value');
        } else {
          this.#outcomes.track(
            troupe.shutdown({ reason: 'lifecycle' }),
            'troupe.shutdown()',
            'value',
          );
        }
        return Promise.resolve(true);
      case 'troupe.runner.threadExit': {
        // The replacement's load is planned before it begins.
        const end = loadEnd(path, index);
        const next = instrument.loads;
        if (end === 'failed') instrument.plan(next, LoadPlan.throw);
        if (end === 'timeout') instrument.plan(next, LoadPlan.hang);
        instrument.exitNow(1);
        return Promise.resolve(true);
      }
      default:
        // Loads, teardowns, destroys, deadlines, backoffs: the runtime's own.
        return Promise.resolve(false);
    }
  }

  async finish(path: ModelPath): Promise<void> {
    const troupe = this.#troupe;
    const runner = this.#runner;
    const instrument = this.#instrument;
    const timing = this.#timing;
    if (troupe === null || runner === null || instrument === null || timing === null) return;
    const problems: string[] = [];
    let report: ShutdownReport | null = null;
    try {
      instrument.release();
      // A plain module has no teardown: what it left running, asked while idle.
      if (runner.moduleKind === 'plain' && (runner.state === 'ready' || runner.state === 'busy')) {
        const threads = runner.threadIds.length;
        await instrument.checkIdle(threads, 2_000);
      }
      report = await troupe.shutdown({ reason: 'lifecycle case done' });
      problems.push(...(await this.#outcomes.problems(15_000)));
      for (const record of this.unexpectedErrors(path)) {
        // A task's own error is reported with its outcome above.
        const operation = record.context.operation;
        if (operation === 'run' || operation === 'admit') continue;
        problems.push(`unexpected error recorded: ${describeRecord(record)}`);
      }
      const deadline =
        takes(path, 'troupe.runner.abort') ||
        takes(path, 'xstate.after.drainTimeout') ||
        takes(path, 'xstate.after.abortGrace');
      // A shutdown that interrupts a start or a restart is forced by design.
      if (report.forced && !deadline && endsServing(path)) {
        problems.push(
          `the shutdown report says forced: ${forcedParts(report, timing)} (nothing on this path needs forcing)`,
        );
      }
      for (const r of instrument.reports) {
        if (r.left.length === 0) continue;
        problems.push(
          `thread ${r.threadId} left ${r.left.length} handle(s) that would keep it alive ${r.when === 'teardown' ? 'after its teardown' : 'while idle'}: ${r.left.join(', ')}${r.left.includes('Timeout') ? ' (a setInterval or setTimeout never cleared)' : ''}; the thread would not exit by itself`,
        );
      }
      if (report.threads.leaked > 0) problems.push(`${report.threads.leaked} thread(s) leaked`);
    } finally {
      instrument.close();
      this.#troupe = null;
      this.#runner = null;
      this.#instrument = null;
    }
    if (this.#options.leakCheck) {
      const leaks = await checkLeaks(this.#baseline, { settleMs: 2_000 });
      if (!leaks.ok) problems.push(`after the case: ${leaks.message}`);
    }
    this.#facts = {
      errors: this.#errors,
      unexpected: this.unexpectedErrors(path),
      report,
      problems,
      timing,
      spawnProblem: this.#outcomes.problemOf('spawnRunner'),
    };
    if (problems.length > 0) throw new Error(problems.join('\n'));
  }
}

function describeRecord(record: ErrorRecord): string {
  const where = [record.context.component, record.context.operation]
    .filter((x) => typeof x === 'string')
    .join('/');
  return `${record.code} (${record.severity}${where === '' ? '' : `, ${where}`}): ${causeChain(record.error).replace(/^[A-Z_]+: /, '')}`;
}

function forcedParts(report: ShutdownReport, timing: Timing): string {
  const parts: string[] = [];
  for (const r of report.resources.details) {
    if (r.outcome === 'forced' || r.outcome === 'failed') {
      parts.push(`resource ${r.id} ${r.outcome}${r.error === null ? '' : ` (${r.error.message})`}`);
    }
  }
  if (report.tasks.aborted > 0) parts.push(`${report.tasks.aborted} task(s) aborted`);
  for (const runner of report.runners) {
    if (!runner.forced) continue;
    parts.push(
      `runner ${runner.id}'s close missed a deadline: a teardown that did not finish within closeTimeoutMs (${timing.closeTimeoutMs} ms), or a thread that did not exit when terminated`,
    );
  }
  return parts.length === 0 ? 'a deadline passed' : parts.join('; ');
}

export { describeRecord };
