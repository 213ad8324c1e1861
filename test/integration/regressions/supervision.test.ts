// Regressions of issue 9 about supervision: classification and escalation,
// health after a failure, replacement threads that fail to load, requested
// restarts (bugs 2, 5, 24, 29).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert, ErrorRecord, Runner, RunOptions, Troupe } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { nextEvent, stateReached } from '../../helpers/events.js';
import { sharedInts } from '../../helpers/fixtures.js';
import { textOf } from '../../helpers/textOf.js';
import { makeTroupe } from '../../helpers/troupe.js';
import { troupeErrorOf, within } from '../../helpers/wait.js';

/** Resolves once `runner` went through 'restarting' and is 'ready' again. */
function restartedAndReady(troupe: Troupe, runner: Runner, ms: number): Promise<unknown> {
  let restarting = false;
  return nextEvent(
    troupe,
    'runner:state',
    ({ runnerId, state }) => {
      if (runnerId !== runner.id) return false;
      if (state === 'restarting') restarting = true;
      return state === 'ready' && restarting;
    },
    ms,
  );
}

describe('regressions: supervision', () => {
  it("bug 2: a caller's bad run option is rejected, never escalated to a shutdown", async () => {
    const troupe = makeTroupe({ errors: { escalation: 'shutdown' } });
    const alerts: Alert[] = [];
    troupe.on('alert', (a) => alerts.push(a));
    const runner = await troupe.spawnRunner({ id: 'r', worker: fixtures.echo, threads: 1 });
    const badOptions: RunOptions[] = [{ timeoutMs: -1 }, { retries: -1, idempotent: true }];
    for (const options of badOptions) {
      const error = await troupeErrorOf(runner.run(1, options), 5_000, JSON.stringify(options));
      expect(error.code).toBe('ERR_INVALID_CONFIG');
      const record = troupe.errors
        .recent()
        .filter((r) => r.code === 'ERR_INVALID_CONFIG')
        .at(-1);
      expect(record?.action).toBe('SKIP');
      expect(record?.severity).not.toBe('CRITICAL');
      expect(alerts).toEqual([]);
      expect(troupe.phase).toBe('running');
    }
    expect(await runner.run('still serving')).toBe('still serving');
  });

  it('bug 5: a failed runner does not cap the health status once its id serves again', async () => {
    const troupe = makeTroupe({ health: { intervalMs: 60_000 } });
    // A healthy sibling: with one runner failed of two, the troupe is degraded.
    await troupe.spawnRunner({ id: 'sibling', worker: fixtures.echo, threads: 1 });
    const runner = await troupe.spawnRunner({
      id: 'temp',
      worker: fixtures.crashMidTask,
      threads: 1,
      restart: { policy: 'temporary' },
    });
    const failed = stateReached(troupe, runner, 'failed');
    await troupeErrorOf(runner.run({ code: 1 }));
    await failed;
    await troupe.probeHealth();
    expect(troupe.health().status).toBe('degraded');
    const again = await troupe.spawnRunner({ id: 'temp', worker: fixtures.echo, threads: 1 });
    expect(await again.run(1)).toBe(1);
    await troupe.probeHealth();
    expect(troupe.health().status).toBe('healthy');
  });

  it('bug 24: a replacement thread whose module throws on load is a startup failure, not a ready thread', async () => {
    const troupe = makeTroupe();
    const errors: ErrorRecord[] = [];
    troupe.on('error', (r) => errors.push(r));
    const runner = await troupe.spawnRunner({
      id: 'flaky',
      worker: fixtures.flakyLoad,
      threads: 1,
      workerData: { loads: sharedInts(1), okLoads: 1 },
      restart: { maxRestarts: 2, windowMs: 60_000, backoff: { baseMs: 5, capMs: 20 } },
    });
    const failed = stateReached(troupe, runner, 'failed', 15_000);
    const crash = runner.run({ crash: true });
    // Queued behind the crash: they reach the replacement thread.
    const followers = [1, 2, 3].map((n) => runner.run(n));
    expect((await troupeErrorOf(crash)).code).toBe('ERR_WORKER_CRASHED');
    const outcomes = await within(Promise.allSettled(followers), 15_000, 'the followers');
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') continue;
      const reason: unknown = outcome.reason;
      expect((reason as { code?: unknown }).code).not.toBe('ERR_TASK_FAILED');
      expect(textOf(reason)).not.toMatch(/no default export/);
    }
    // Every later load fails too: the restart limit ends it.
    await failed;
    const codes = errors.map((r) => r.code);
    const record = errors.find((r) => r.code === 'ERR_THREAD_STARTUP');
    expect(record, `error events: ${codes.join(', ')}`).toBeDefined();
    expect(textOf(record?.error)).toMatch(/load 2 fails/);
  });

  it('bug 29: a requested restart runs teardown on the old threads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-bug29-'));
    try {
      const troupe = makeTroupe();
      const runner = await troupe.spawnRunner({
        id: 'marker',
        worker: fixtures.lifecycleMarker,
        threads: 1,
        workerData: { dir },
        restart: { maxRestarts: 10, windowMs: 60_000, backoff: { baseMs: 5, capMs: 20 } },
      });
      for (let i = 0; i < 3; i++) {
        const back = restartedAndReady(troupe, runner, 10_000);
        await runner.restart();
        await back;
      }
      await troupe.shutdown();
      const files = readdirSync(dir);
      expect(files.filter((f) => f.startsWith('setup-'))).toHaveLength(4);
      expect(files.filter((f) => f.startsWith('teardown-'))).toHaveLength(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
