// Property-based model runs (fast-check commands) over a real troupe:
// random sequences of spawn, run, crash, hang, stop, shutdown and
// concurrent shutdown. After every sequence:
// - every promise handed out settled within a bound, with a value or a TroupeError;
// - the troupe is stopped and every runner stopped or failed;
// - no thread, ref'd port or timer is left;
// - the ShutdownReport's task counts add up to what was submitted.
// (No unhandled rejection: the suite's setup file fails the file on any.)
// A failure prints the seed, the path and the commands' replayPath; replay
// with FC_SEED=... FC_PATH=... FC_REPLAY=... (FC_RUNS sets the number of runs).
import { createTroupe, isTroupeError, type Runner, type Troupe } from '@troupe/runtime';
import { checkLeaks, fixtures, snapshotHandles } from '@troupe/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { within } from '../helpers/wait.js';

const deep = process.env.TROUPE_DEEP === '1';
const numRuns = Number(process.env.FC_RUNS ?? (deep ? 1_000 : 200));
const SETTLE_BOUND_MS = 8_000;

type Kind = 'echo' | 'sleep' | 'crash' | 'hang' | 'stream';

interface Real {
  readonly troupe: Troupe;
  readonly runners: Runner[];
  readonly handedOut: { what: string; promise: Promise<unknown> }[];
  submitted: number;
  /** `submitted` when the shutdown report was made. */
  submittedAtReport: number | null;
  ids: number;
}

interface Model {
  runners: number;
  shutdown: boolean;
}

const workers: Record<Kind, URL> = {
  echo: fixtures.echo,
  sleep: fixtures.sleep,
  crash: fixtures.crashMidTask,
  hang: fixtures.hang,
  stream: fixtures.stream,
};

function track(real: Real, what: string, promise: Promise<unknown>): void {
  promise.catch(() => {}); // observed at the end
  real.handedOut.push({ what, promise });
}

class Spawn implements fc.AsyncCommand<Model, Real> {
  constructor(readonly kind: Kind) {}
  check(m: Readonly<Model>): boolean {
    return m.runners < 3;
  }
  async run(m: Model, r: Real): Promise<void> {
    const id = `r${r.ids++}`;
    const spawned = r.troupe.spawnRunner({
      id,
      worker: workers[this.kind],
      threads: 1,
      restart: { maxRestarts: 2, windowMs: 60_000, backoff: { baseMs: 5, capMs: 20 } },
    });
    track(r, `spawn ${id}`, spawned);
    try {
      r.runners.push(await spawned);
      m.runners += 1;
    } catch (error) {
      if (!m.shutdown) throw error as Error; // only shutdown may refuse a spawn
      expect(isTroupeError(error, 'ERR_SHUTDOWN_IN_PROGRESS')).toBe(true);
    }
  }
  toString(): string {
    return `spawn(${this.kind})`;
  }
}

class Run implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly index: number,
    readonly timeout: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.runners > 0;
  }
  run(_: Model, r: Real): Promise<void> {
    const runner = r.runners[this.index % r.runners.length];
    if (runner === undefined) return Promise.resolve();
    const options = this.timeout ? { timeoutMs: 150 } : {};
    let task: Promise<unknown>;
    switch (runner.workerPath.split('/').pop() ?? '') {
      case 'sleep.js':
        task = runner.run(20, options);
        break;
      case 'crash-mid-task.js':
        task = runner.run({ code: 1, afterMs: 5 }, options);
        break;
      case 'stream.js':
        task = runner.run({ prompt: 'p', chunks: 3 }, { ...options, handler: 'generate' });
        break;
      default:
        task = runner.run('x', options);
    }
    r.submitted += 1;
    track(r, `run ${runner.id}`, task);
    return Promise.resolve();
  }
  toString(): string {
    return `run(${this.index}${this.timeout ? ', timeout' : ''})`;
  }
}

class Stop implements fc.AsyncCommand<Model, Real> {
  constructor(readonly index: number) {}
  check(m: Readonly<Model>): boolean {
    return m.runners > 0;
  }
  run(_: Model, r: Real): Promise<void> {
    const runner = r.runners[this.index % r.runners.length];
    if (runner !== undefined) track(r, `stop ${runner.id}`, runner.stop());
    return Promise.resolve();
  }
  toString(): string {
    return `stop(${this.index})`;
  }
}

class Shutdown implements fc.AsyncCommand<Model, Real> {
  constructor(readonly concurrent: boolean) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const first = r.troupe.shutdown({ reason: 'property' });
    track(r, 'shutdown', first);
    void first.then(() => {
      r.submittedAtReport ??= r.submitted;
    });
    if (this.concurrent) {
      const second = r.troupe.shutdown();
      expect(second).toBe(first);
      await Promise.resolve();
    }
    m.shutdown = true;
  }
  toString(): string {
    return this.concurrent ? 'shutdown(x2, concurrent)' : 'shutdown()';
  }
}

class Wait implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.ms));
  }
  toString(): string {
    return `wait(${this.ms})`;
  }
}

const kinds = fc.constantFrom<Kind>('echo', 'sleep', 'crash', 'hang', 'stream');
const run = fc.tuple(fc.nat(5), fc.boolean()).map(([i, t]) => new Run(i, t));
// Tasks are what most sequences should be made of.
const commands = [
  kinds.map((k) => new Spawn(k)),
  run,
  run,
  run,
  run,
  fc.nat(5).map((i) => new Stop(i)),
  fc.boolean().map((c) => new Shutdown(c)),
  fc.integer({ min: 0, max: 40 }).map((ms) => new Wait(ms)),
  fc.integer({ min: 0, max: 40 }).map((ms) => new Wait(ms)),
];

function settledWithin(
  handedOut: Real['handedOut'],
  ms: number,
): Promise<{ what: string; outcome: unknown }[]> {
  return within(
    Promise.all(
      handedOut.map(({ what, promise }) =>
        promise.then(
          () => ({ what, outcome: 'value' }),
          (error: unknown) => ({ what, outcome: error }),
        ),
      ),
    ),
    ms,
    'a promise handed out',
  );
}

const exercised = { runs: 0, spawned: 0, tasks: 0, crashes: 0, shutdownsByCommand: 0, refusals: 0 };

describe('properties over random command sequences (real threads)', () => {
  it(`hold for ${numRuns} runs: everything settles, nothing leaks, counts add up`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(kinds, { minLength: 1, maxLength: 3 }),
        fc.commands(commands, {
          maxCommands: 10,
          ...(process.env.FC_REPLAY === undefined ? {} : { replayPath: process.env.FC_REPLAY }),
        }),
        async (initial, cmds) => {
          const baseline = snapshotHandles();
          const troupe = createTroupe({
            health: { enabled: false },
            shutdown: {
              signalingMs: 200,
              drainingMs: 200,
              abortGraceMs: 50,
              closingMs: 2_000,
              forceMs: 500,
            },
          });
          const real: Real = {
            troupe,
            runners: [],
            handedOut: [],
            submitted: 0,
            submittedAtReport: null,
            ids: 0,
          };
          const model: Model = { runners: 0, shutdown: false };
          for (const kind of initial) await new Spawn(kind).run(model, real);
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          const report = await troupe.shutdown({ reason: 'end of run' });
          real.submittedAtReport ??= real.submitted;
          const results = await settledWithin(real.handedOut, SETTLE_BOUND_MS);
          for (const { what, outcome } of results) {
            if (outcome !== 'value') {
              expect(isTroupeError(outcome), `${what} rejected with a non-TroupeError`).toBe(true);
            }
          }
          expect(troupe.phase).toBe('stopped');
          for (const runner of real.runners) expect(['stopped', 'failed']).toContain(runner.state);
          const t = report.tasks;
          // Calls made after the report was produced are refused but not in it.
          expect(t.submitted).toBe(real.submittedAtReport);
          expect(t.completed + t.failed + t.aborted + t.rejected).toBe(t.submitted);
          expect(t.drained.completed + t.drained.failed + t.drained.aborted).toBe(
            t.inFlightAtSignal,
          );
          expect(report.threads.leaked).toBe(0);
          exercised.runs += 1;
          exercised.spawned += real.runners.length;
          exercised.tasks += real.submitted;
          exercised.crashes += real.runners.reduce((n, r) => n + r.stats().crashes, 0);
          exercised.refusals += t.rejected;
          if ([...cmds].some((c) => c instanceof Shutdown)) exercised.shutdownsByCommand += 1;
          const leaks = await checkLeaks(baseline, { settleMs: 2_000 });
          expect(leaks.ok, leaks.message).toBe(true);
        },
      ),
      {
        numRuns,
        verbose: true,
        ...(process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }),
        ...(process.env.FC_PATH === undefined ? {} : { path: process.env.FC_PATH }),
      },
    );
    console.info(`property runs exercised: ${JSON.stringify(exercised)}`);
    // The runs must have done real work, not mostly empty sequences.
    expect(exercised.spawned).toBeGreaterThan(numRuns);
    expect(exercised.tasks).toBeGreaterThan(numRuns);
    expect(exercised.crashes).toBeGreaterThan(numRuns / 20);
  }, 900_000);
});
