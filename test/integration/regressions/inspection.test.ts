// Regressions of issue 9 about the actors Troupe hands out or shows to an
// inspector (bugs 3, 11). Actor refs from inspection are the only way to
// reach the live actors once the public views are read-only.
import { createTroupe, type Troupe } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { describe, expect, it } from 'vitest';
import { makeTroupe } from '../../helpers/troupe.js';
import { within } from '../../helpers/wait.js';

/** The actors seen in `@xstate.actor` inspection events, with their machine ids. */
function actorsSeen(
  events: readonly InspectionEvent[],
): { ref: AnyActorRef; machine: string | undefined; label: string }[] {
  return events
    .filter((e) => e.type === '@xstate.actor')
    .map((e) => {
      const ref = e.actorRef as AnyActorRef;
      const machine = (ref.getSnapshot() as { machine?: { id?: string } }).machine?.id;
      return { ref, machine, label: `${ref.id} (${ref.sessionId}, machine ${machine ?? '-'})` };
    });
}

describe('regressions: inspection and actor views', () => {
  it('bug 3: runner.actor, troupe.shutdownActor and resources.actor() are read-only views', async () => {
    const troupe = makeTroupe();
    troupe.resources.register({ id: 'db', close: () => {} });
    const runner = await troupe.spawnRunner({ id: 'r', worker: fixtures.echo, threads: 1 });
    const views: [string, unknown][] = [
      ['runner.actor', runner.actor],
      ['troupe.shutdownActor', troupe.shutdownActor],
      ["troupe.resources.actor('db')", troupe.resources.actor('db')],
    ];
    for (const [name, view] of views) {
      const v = view as Record<string, unknown>;
      expect(typeof v.getSnapshot, `${name}.getSnapshot`).toBe('function');
      expect(typeof v.subscribe, `${name}.subscribe`).toBe('function');
      expect(typeof v.id, `${name}.id`).toBe('string');
      expect(v.send, `${name}.send`).toBeUndefined();
      expect(v.stop, `${name}.stop`).toBeUndefined();
    }
  });

  it("bug 3: stopping the runner's actor from outside leaves runner.stop() and shutdown() settling", async () => {
    const events: InspectionEvent[] = [];
    const troupe = makeTroupe({
      inspect: (e) => events.push(e),
      shutdown: { drainingMs: 2_000, closingMs: 2_000, forceMs: 1_000 },
    });
    const runner = await troupe.spawnRunner({ id: 'victim', worker: fixtures.echo, threads: 1 });
    const actors = actorsSeen(events);
    console.info(`bug 3: actors seen by the inspector: ${actors.map((a) => a.label).join('; ')}`);
    const target = actors.find((a) => a.machine === 'runner' && a.ref.id.includes('victim'));
    expect(target, `actors: ${actors.map((a) => a.label).join('; ')}`).toBeDefined();
    target?.ref.stop();
    await within(runner.stop(), 5_000, 'runner.stop()');
    await within(troupe.shutdown(), 5_000, 'troupe.shutdown()');
  });

  it('bug 3: a begin event sent to the coordinator from outside leaves shutdown() resolving', async () => {
    const events: InspectionEvent[] = [];
    // Not makeTroupe: today this troupe's shutdown() never settles, which would hang the cleanup.
    const troupe: Troupe = createTroupe({ inspect: (e) => events.push(e) });
    await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    const actors = actorsSeen(events);
    const coordinator = actors.find((a) => a.machine === 'shutdown');
    expect(coordinator, `actors: ${actors.map((a) => a.label).join('; ')}`).toBeDefined();
    const ref = coordinator?.ref as AnyActorRef;
    ref.send({ type: 'troupe.shutdown.begin', reason: 'outside' });
    // If the coordinator took the event, let it run to its end first.
    if ((ref.getSnapshot() as { value?: unknown }).value !== 'running') {
      await within(
        new Promise<void>((resolve) => {
          const settled = (): boolean =>
            (ref.getSnapshot() as { status: string }).status !== 'active';
          if (settled()) resolve();
          ref.subscribe({
            next: () => {
              if (settled()) resolve();
            },
            complete: resolve,
          });
        }),
        20_000,
        'the coordinator driven from outside',
      );
    }
    const report = await within(troupe.shutdown(), 15_000, 'troupe.shutdown()');
    expect(report.nodeId).toBe(troupe.nodeId);
    expect(troupe.phase).toBe('stopped');
  });

  it('bug 11: an inspect observer that throws breaks neither tasks nor the drain', async () => {
    let armed = false;
    const troupe = makeTroupe({
      inspect: (e) => {
        if (
          armed &&
          e.type === '@xstate.snapshot' &&
          (e.actorRef as AnyActorRef).id.includes('watched')
        ) {
          throw new Error('inspector bug');
        }
      },
      shutdown: { drainingMs: 3_000 },
    });
    const runner = await troupe.spawnRunner({ id: 'watched', worker: fixtures.echo, threads: 1 });
    armed = true;
    expect(await within(runner.run(1), 5_000, 'run()')).toBe(1);
    const report = await within(troupe.shutdown(), 15_000, 'troupe.shutdown()');
    expect(report.phases.draining.timedOut).toBe(false);
    expect(report.forced).toBe(false);
  });
});
