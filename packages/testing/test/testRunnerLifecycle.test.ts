// testRunnerLifecycle on workers with one planted bug each (test/planted):
// every bug is caught, with the message a user needs; a correct worker
// passes every case. Real threads; the bugs are found by the harness, not
// told to it.
import { appendFileSync } from 'node:fs';
import {
  testRunnerLifecycle,
  type LifecycleCase,
  type RunnerLifecycleOptions,
} from '@troupe/testing';
import { describe, expect, it } from 'vitest';

const planted = (name: string): URL => new URL(`./planted/${name}.mjs`, import.meta.url);

interface Caught {
  readonly caseId: string;
  readonly ms: number;
  readonly message: string;
  readonly ran: number;
}

/** Runs the cases in order until one fails; the failure, or null. */
async function firstFailure(
  cases: readonly LifecycleCase[],
  before?: () => void,
): Promise<Caught | null> {
  const started = performance.now();
  let ran = 0;
  for (const c of cases) {
    before?.();
    ran += 1;
    try {
      await c.run();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const caught = { caseId: c.id, ms: performance.now() - started, message, ran };
      // The table of the closing note: TROUPE_PLANTED_LOG=file to collect it.
      const log = process.env.TROUPE_PLANTED_LOG;
      if (log !== undefined) {
        appendFileSync(
          log,
          `${JSON.stringify({ ...caught, first: message.split('\n').slice(0, 4) })}\n`,
        );
      }
      return caught;
    }
  }
  return null;
}

function cases(options: Partial<RunnerLifecycleOptions> & Pick<RunnerLifecycleOptions, 'worker'>) {
  return testRunnerLifecycle({ task: { handler: 'work', payload: 1 }, ...options });
}

describe('testRunnerLifecycle catches planted bugs', () => {
  it('a teardown that throws', async () => {
    const caught = await firstFailure(cases({ worker: planted('teardown-throws') }));
    expect(caught?.message).toMatch(/unexpected error recorded: ERR_RESOURCE_CLOSE_FAILED/);
    expect(caught?.message).toContain('planted: the connection pool was already closed');
    expect(caught?.message).toMatch(/replay: TROUPE_LIFECYCLE_CASE=[0-9a-f]{8}/);
  }, 120_000);

  it('a long task that ignores ctx.signal while claiming to honour it', async () => {
    const caught = await firstFailure(
      cases({
        worker: planted('ignores-signal'),
        longTask: { handler: 'long', payload: 0, honoursAbort: true },
      }).filter((c) =>
        c.steps.some((s) => s === 'abort' || s.startsWith('xstate.after.drainTimeout')),
      ),
    );
    expect(caught?.message).toMatch(/actual: {3}"draining\.aborting" -\(xstate\.after\.abortGrace/);
    expect(caught?.message).toContain('the task did not honour ctx.signal');
    expect(caught?.message).toMatch(/failed at step \d+ of \d+/);
  }, 120_000);

  it('a handler that calls process.exit(1) on its third call', async () => {
    const caught = await firstFailure(
      cases({ worker: planted('exit-third-call'), task: { payload: 1 } }),
    );
    expect(caught?.message).toMatch(
      /task #3 \(lifecycle, default\) should have succeeded on this path; it rejected with ERR_WORKER_CRASHED: the thread running task lifecycle#3 crashed: worker exited with code: 1/,
    );
    expect(caught?.message).toMatch(/root cause: ERR_WORKER_CRASHED .*exited with code 1/);
  }, 120_000);

  it('a setup that leaves a setInterval running past teardown', async () => {
    const caught = await firstFailure(cases({ worker: planted('leaves-interval') }));
    expect(caught?.message).toMatch(
      /thread \d+ left 1 handle\(s\) that would keep it alive after its teardown: Timeout \(a setInterval or setTimeout never cleared\); the thread would not exit by itself/,
    );
  }, 120_000);

  it('a plain module that leaves a timer running while idle', async () => {
    const caught = await firstFailure(
      cases({ worker: planted('plain-leaves-interval'), task: { payload: 1 } }),
    );
    expect(caught?.message).toMatch(
      /left 1 handle\(s\) that would keep it alive while idle: Timeout/,
    );
  }, 120_000);

  it('a setup that hangs on a replacement thread (the lock a crashed thread held)', async () => {
    const lock = new Int32Array(new SharedArrayBuffer(4));
    const crashes = cases({
      worker: planted('setup-hangs-on-replacement'),
      spec: { workerData: { lock } },
      // The lock outlives a case whose thread crashed: every run starts unlocked.
      beforeEach: () => {
        Atomics.store(lock, 0, 0);
      },
    }).filter((c) => c.steps.some((s) => s.startsWith('threadExit')));
    const caught = await firstFailure(crashes);
    expect(caught?.message).toMatch(/-\(xstate\.after\.startupTimeout/);
    expect(caught?.message).toContain(
      'the module load or setup of a replacement thread (after a crash) did not finish within startupTimeoutMs (5000 ms)',
    );
    expect(caught?.message).toMatch(/failed at step 4 of 4/);
    // The harness's own crash is not the root cause.
    expect(caught?.message).not.toMatch(/root cause: ERR_WORKER_CRASHED/);
  }, 120_000);

  it('a handler that throws', async () => {
    const caught = await firstFailure(
      cases({ worker: planted('handler-throws'), task: { payload: 2 } }),
    );
    expect(caught?.message).toMatch(
      /task #1 \(lifecycle, default\) should have succeeded on this path; it rejected with ERR_TASK_FAILED: task lifecycle#1 failed in "default": planted: cannot handle 2/,
    );
  }, 120_000);

  it('a teardown that hangs', async () => {
    const caught = await firstFailure(
      cases({ worker: planted('teardown-hangs'), closeTimeoutMs: 500 }),
    );
    expect(caught?.message).toContain(
      "runner lifecycle's close missed a deadline: a teardown that did not finish within closeTimeoutMs (500 ms)",
    );
  }, 120_000);

  it('a setup that throws', async () => {
    const caught = await firstFailure(cases({ worker: planted('setup-throws') }));
    expect(caught?.message).toMatch(/failed at step \d+/);
    expect(caught?.message).toContain('planted: DATABASE_URL is not set');
    // The user's module is named, not the harness's wrapper around it.
    expect(caught?.message).toMatch(/worker module \S*planted\/setup-throws\.mjs failed to load/);
    expect(caught?.message).not.toContain('troupe-lifecycle-');
    expect(caught?.message).toMatch(
      /root cause: spawnRunner should have succeeded on this path; it rejected with ERR_RUNNER_STARTUP/,
    );
  }, 120_000);

  it('a long failing case is shrunk to the fewest first steps that still fail, replayable by id', async () => {
    const all = cases({ worker: planted('handler-throws'), task: { payload: 2 } });
    // The longest case that makes the runner busy before doing more.
    const longest = [...all]
      .filter((c) => c.steps.includes('busy') && c.steps.at(-1) !== 'busy')
      .sort((a, b) => b.steps.length - a.steps.length)[0];
    if (longest === undefined) throw new Error('no cases');
    const busyAt = longest.steps.indexOf('busy') + 1;
    expect(busyAt).toBeGreaterThan(0);
    expect(longest.steps.length).toBeGreaterThan(busyAt);
    const caught = await firstFailure([longest]);
    expect(caught?.message).toContain(
      `shrunk: the first ${busyAt} of the case's ${longest.steps.length} steps already fail`,
    );
    expect(caught?.message).toContain(`replay: TROUPE_LIFECYCLE_CASE=${longest.id}/${busyAt}`);
    expect(caught?.message).toContain(
      'should have succeeded on this path; it rejected with ERR_TASK_FAILED',
    );
    // the shrunk id replays exactly those steps
    const replay = cases({
      worker: planted('handler-throws'),
      task: { payload: 2 },
      only: `${longest.id}/${busyAt}`,
    });
    expect(replay.map((c) => c.steps)).toEqual([longest.steps.slice(0, busyAt)]);
  }, 120_000);

  it('a wrong worker path fails before any case runs, naming the path', () => {
    const missing = new URL('./planted/no-such-worker.mjs', import.meta.url);
    expect(() => cases({ worker: missing })).toThrow(
      /testRunnerLifecycle: the worker module .*planted\/no-such-worker\.mjs does not exist/,
    );
    expect(() => cases({ worker: new URL('./planted/', import.meta.url) })).toThrow(
      /is not a file \(a directory\?\)/,
    );
  });
});

describe('testRunnerLifecycle on a correct worker', () => {
  const all = testRunnerLifecycle({
    worker: planted('correct'),
    task: { handler: 'work', payload: 1 },
    longTask: { handler: 'long', payload: 0, honoursAbort: true },
  });

  it('reports its coverage of runnerMachine', () => {
    expect(all.coverage.states.covered.length).toBeGreaterThan(15);
    expect(all.coverageText).toMatch(
      /^runnerMachine: \d+\/\d+ states, \d+\/\d+ transitions in \d+ cases/,
    );
    // ids are stable and unique
    expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
  });

  for (const c of all) it(c.name, c.run, 60_000);

  it('only: replays exactly one case by its id', () => {
    const first = all[0];
    if (first === undefined) throw new Error('no cases');
    const one = testRunnerLifecycle({
      worker: planted('correct'),
      task: { handler: 'work', payload: 1 },
      longTask: { handler: 'long', payload: 0, honoursAbort: true },
      only: first.id,
    });
    expect(one.map((c) => c.id)).toEqual([first.id]);
    expect(() =>
      testRunnerLifecycle({ worker: planted('correct'), task: { payload: 1 }, only: 'ffffffff' }),
    ).toThrow(/no case has the id\(s\) ffffffff/);
  });

  it('afterStep hooks see every step; a throw fails the case there, named', async () => {
    const seen: number[] = [];
    const c = testRunnerLifecycle({
      worker: planted('correct'),
      task: { handler: 'work', payload: 1 },
      faults: false,
      // One run: shrinking would run the case's prefixes too.
      shrink: false,
      afterStep: ({ step, runner }) => {
        seen.push(step);
        if (step === 2) throw new Error(`my check: ${runner.id} is not what I expected`);
      },
    }).find((one) => one.steps.length >= 3);
    if (c === undefined) throw new Error('no cases');
    await expect(c.run()).rejects.toThrow(
      /your check failed after "[^"]+": my check: lifecycle is not what I expected/,
    );
    expect(seen).toEqual([0, 1, 2]);
  }, 60_000);
});
