// Runner startup: ready only when every thread is ready; a clear
// ERR_RUNNER_STARTUP (worker path + cause) otherwise; ids never race.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TroupeError } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { makeTroupe } from '../helpers/troupe.js';
import { troupeErrorOf } from '../helpers/wait.js';

function startupError(spawning: Promise<unknown>): Promise<TroupeError> {
  return troupeErrorOf(spawning, 10_000, 'spawnRunner()');
}

describe('runner startup', () => {
  it('resolves only when every thread is ready', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ id: 'warm', worker: fixtures.echo, threads: 3 });
    expect(runner.state).toBe('ready');
    expect(runner.threadIds).toHaveLength(3);
    expect(runner.moduleKind).toBe('plain');
    expect([...runner.handlers].sort()).toEqual(['add', 'default', 'fail']);
  });

  it('a missing worker module → ERR_RUNNER_STARTUP naming the path, cause ENOENT', async () => {
    const troupe = makeTroupe();
    const worker = join(tmpdir(), 'troupe-no-such-module.js');
    const error = await startupError(troupe.spawnRunner({ id: 'missing', worker }));
    expect(error.code).toBe('ERR_RUNNER_STARTUP');
    expect(error.context.workerPath).toBe(worker);
    expect(error.message).toContain(worker);
    expect((error.cause as { code?: string }).code).toBe('ENOENT');
    // the id is free again
    const again = await troupe.spawnRunner({ id: 'missing', worker: fixtures.echo, threads: 1 });
    expect(again.state).toBe('ready');
  });

  it('a module that throws on load → ERR_RUNNER_STARTUP with the thrown error as cause', async () => {
    const troupe = makeTroupe();
    const error = await startupError(
      troupe.spawnRunner({ worker: fixtures.throwOnLoad, threads: 2 }),
    );
    expect(error.code).toBe('ERR_RUNNER_STARTUP');
    expect(error.context.workerPath).toBe(fileURLToPath(fixtures.throwOnLoad));
    expect((error.cause as Error).message).toBe('fixture: thrown on load');
  });

  it('a module that exits its thread on load → ERR_RUNNER_STARTUP, no crash loop', async () => {
    const troupe = makeTroupe();
    const error = await startupError(
      troupe.spawnRunner({ worker: fixtures.crashOnLoad, threads: 2 }),
    );
    expect(error.code).toBe('ERR_RUNNER_STARTUP');
    expect(error.message).toMatch(/failed to start: thread \d+ .*exited with code 1/);
    const report = await troupe.shutdown();
    // piscina would keep replacing initial threads that die while loading;
    // Troupe tears the pool down at the first failure.
    expect(report.threads.started).toBeLessThanOrEqual(4);
    expect(report.threads.leaked).toBe(0);
  });

  it('a failing setup() → ERR_RUNNER_STARTUP with the setup error as cause', async () => {
    const troupe = makeTroupe();
    const error = await startupError(
      troupe.spawnRunner({ worker: fixtures.setupFails, threads: 1 }),
    );
    expect(error.code).toBe('ERR_RUNNER_STARTUP');
    expect((error.cause as Error).message).toBe('fixture: setup failed');
  });

  it('missing startupTimeoutMs → ERR_RUNNER_STARTUP at the deadline, threads terminated', async () => {
    const troupe = makeTroupe();
    const started = performance.now();
    const error = await startupError(
      troupe.spawnRunner({ worker: fixtures.slowSetup, threads: 1, startupTimeoutMs: 300 }),
    );
    const elapsed = performance.now() - started;
    expect(error.code).toBe('ERR_RUNNER_STARTUP');
    expect(error.message).toMatch(/startupTimeoutMs \(300 ms\)/);
    expect(error.context.workerPath).toBe(fileURLToPath(fixtures.slowSetup));
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
    const report = await troupe.shutdown();
    expect(report.threads.leaked).toBe(0);
    expect(report.threads.exited).toBe(report.threads.started);
  });

  it('a shutdown while a runner is still starting leaves no thread behind (regression)', async () => {
    // Startup used to create its pool after an await even when the runner
    // had been closed meanwhile: an orphan thread no report counted.
    const { checkLeaks, snapshotHandles } = await import('@troupe/testing');
    const baseline = snapshotHandles();
    const troupe = makeTroupe();
    const spawning = troupe.spawnRunner({ id: 'late', worker: fixtures.echo, threads: 2 });
    const report = await troupe.shutdown();
    await expect(spawning).rejects.toMatchObject({ code: 'ERR_SHUTDOWN_IN_PROGRESS' });
    expect(report.threads.leaked).toBe(0);
    const leaks = await checkLeaks(baseline, { settleMs: 2_000 });
    expect(leaks.ok, leaks.message).toBe(true);
  });

  it('rejects a duplicate id while the first runner lives', async () => {
    const troupe = makeTroupe();
    await troupe.spawnRunner({ id: 'dup', worker: fixtures.echo, threads: 1 });
    await expect(troupe.spawnRunner({ id: 'dup', worker: fixtures.echo })).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      message: expect.stringContaining('"dup" already exists') as string,
    });
    troupe.resources.register({ id: 'db', close: () => {} });
    await expect(troupe.spawnRunner({ id: 'db', worker: fixtures.echo })).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
    });
  });

  it('respawns the same id right after stop(): the old threads are gone, setup and teardown ran', async () => {
    const troupe = makeTroupe();
    const dir = mkdtempSync(join(tmpdir(), 'troupe-respawn-'));
    for (let round = 0; round < 5; round++) {
      const runner = await troupe.spawnRunner({
        id: 'llm-0',
        worker: fixtures.lifecycleMarker,
        threads: 2,
        workerData: { dir },
      });
      expect(await runner.run(round, { handler: 'echo' })).toBe(round);
      const threads = runner.threadIds;
      await runner.stop();
      expect(runner.state).toBe('stopped');
      expect(runner.threadIds).toEqual([]);
      for (const id of threads) {
        expect(existsSync(join(dir, `setup-${id}`))).toBe(true);
        expect(existsSync(join(dir, `teardown-${id}`))).toBe(true);
      }
      expect(troupe.runner('llm-0')).toBeUndefined();
      expect(troupe.resources.state('llm-0')).toBeUndefined();
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('teardown-'))).toHaveLength(10);
    const stopped = await troupe.spawnRunner({ id: 'llm-0', worker: fixtures.echo, threads: 1 });
    await stopped.stop();
    await expect(stopped.run(1)).rejects.toMatchObject({ code: 'ERR_RUNNER_STOPPED' });
    expect(stopped.stop()).toBe(stopped.stop());
  });
});
