// Regressions of issue 9 about troupe events and their listeners (bugs 1, 4, 27).
import type { RunnerStateEvent, ShutdownPhaseEvent } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { stateReached } from '../../helpers/events.js';
import { makeTroupe } from '../../helpers/troupe.js';
import { troupeErrorOf } from '../../helpers/wait.js';

describe('regressions: events', () => {
  it('bug 1: a throwing alert listener is called once, recorded once, never escalated', async () => {
    const troupe = makeTroupe();
    const sibling = await troupe.spawnRunner({ id: 'sibling', worker: fixtures.echo, threads: 1 });
    const runner = await troupe.spawnRunner({
      id: 'fragile',
      worker: fixtures.crashMidTask,
      threads: 1,
      restart: { policy: 'permanent', maxRestarts: 0 },
    });
    let calls = 0;
    troupe.on('alert', () => {
      calls += 1;
      throw new Error('alert listener bug');
    });
    const failed = stateReached(troupe, runner, 'failed', 10_000);
    await troupeErrorOf(runner.run({ code: 1 }));
    await failed;
    expect(calls).toBe(1);
    const stats = troupe.errors.stats();
    expect(stats.byCode.ERR_LISTENER_FAILED).toBe(1);
    // The one escalation is the runner's restart limit, not the listener's failure.
    const escalated = troupe.errors.recent().filter((r) => r.action === 'ESCALATE');
    expect(escalated.map((r) => r.code)).toEqual(['ERR_RESTART_LIMIT']);
    const listenerRecord = troupe.errors.recent().find((r) => r.code === 'ERR_LISTENER_FAILED');
    expect(listenerRecord).toMatchObject({ severity: 'LOW', action: 'SKIP' });
    expect(await sibling.run('still serving')).toBe('still serving');
  });

  it('bug 4: once() with one listener for two events fires once per event', async () => {
    const troupe = makeTroupe();
    const calls: string[] = [];
    const listener = (e: RunnerStateEvent | ShutdownPhaseEvent): void => {
      calls.push('runnerId' in e ? 'runner:state' : 'shutdown:phase');
    };
    troupe.once('runner:state', listener);
    troupe.once('shutdown:phase', listener);
    const runner = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    await runner.run(1);
    await troupe.shutdown();
    expect(calls.filter((c) => c === 'runner:state')).toHaveLength(1);
    expect(calls.filter((c) => c === 'shutdown:phase')).toHaveLength(1);
  });

  it("bug 27: the first runner:state of a runner is { state: 'starting', previous: null }", async () => {
    const troupe = makeTroupe();
    const seen: RunnerStateEvent[] = [];
    troupe.on('runner:state', (e) => seen.push(e));
    await troupe.spawnRunner({ id: 'first', worker: fixtures.echo, threads: 1 });
    const mine = seen.filter((e) => e.runnerId === 'first');
    expect(mine[0]).toEqual({ runnerId: 'first', state: 'starting', previous: null });
  });
});
