// The `inspect` option reaches every statechart Troupe runs, so the
// Stately inspector can draw them all.
import type { InspectionEvent } from 'xstate';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { makeTroupe } from '../helpers/troupe.js';

describe('inspection', () => {
  it('sees the runner, resource, channel and shutdown actors and their transitions', async () => {
    const events: InspectionEvent[] = [];
    const troupe = makeTroupe({ inspect: (event) => events.push(event) });
    troupe.resources.register({ id: 'db', close: () => {} });
    const runner = await troupe.spawnRunner({ id: 'llm-0', worker: fixtures.echo, threads: 1 });
    await runner.run(1);
    await troupe.shutdown();
    const idOf = (e: InspectionEvent): string => (e.actorRef as unknown as { id: string }).id;
    const actorIds = new Set(events.filter((e) => e.type === '@xstate.actor').map(idOf));
    expect(actorIds).toContain('runner:llm-0');
    expect(actorIds).toContain('shutdown');
    expect(actorIds).toContain('supervisor');
    expect(actorIds).toContain('resource:db');
    expect([...actorIds].some((id) => id.startsWith('channel:llm-0/'))).toBe(true);
    const machineIds = new Set(
      events
        .filter((e) => e.type === '@xstate.actor')
        .map((e) => (e.actorRef.getSnapshot() as { machine?: { id: string } }).machine?.id)
        .filter((id) => id !== undefined),
    );
    expect([...machineIds].sort()).toEqual([
      'channel',
      'resource',
      'runner',
      'shutdown',
      'supervisor',
    ]);
    const runnerEvents = events
      .filter((e) => e.type === '@xstate.event' && idOf(e) === 'runner:llm-0')
      .map((e) => (e as { event: { type: string } }).event.type);
    expect(runnerEvents).toContain('troupe.runner.stop');
    expect(runnerEvents).toContain('troupe.runner.close');
  });
});
