// The resource manager: dependency order, parallel branches, deadlines.
import { setTimeout as delay } from 'node:timers/promises';
import { isTroupeError } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { makeTroupe } from '../helpers/troupe.js';

describe('resources', () => {
  it('closes dependents first, branches in parallel; a hung close is forced, a throwing one fails', async () => {
    const troupe = makeTroupe({ shutdown: { closingMs: 3_000 } });
    const events: string[] = [];
    const close =
      (id: string, ms = 20) =>
      async (): Promise<void> => {
        events.push(`start ${id}`);
        await delay(ms);
        events.push(`end ${id}`);
      };
    troupe.resources.register([
      { id: 'db', close: close('db') },
      { id: 'cache', close: close('cache'), dependsOn: ['db'] },
      { id: 'api', close: close('api', 50), dependsOn: ['cache', 'queue'] },
      { id: 'queue', close: close('queue'), dependsOn: ['db'] },
      {
        id: 'hung',
        close: () => new Promise(() => {}),
        dependsOn: ['db'],
        closeTimeoutMs: 200,
      },
      {
        id: 'broken',
        close: () => {
          throw new Error('disk on fire');
        },
        dependsOn: ['db'],
      },
    ]);
    const runner = await troupe.spawnRunner({
      id: 'llm',
      worker: fixtures.echo,
      threads: 1,
      dependsOn: ['cache'],
    });
    expect(troupe.resources.state('llm')).toBe('open');
    troupe.on('runner:state', ({ runnerId, state }) => {
      if (runnerId === 'llm' && state === 'stopped') events.push('stopped llm');
    });
    const report = await troupe.shutdown();
    // Every close ran to its end (so no index below is -1).
    expect([...events].sort()).toEqual(
      ['api', 'cache', 'db', 'queue']
        .flatMap((id) => [`end ${id}`, `start ${id}`])
        .concat('stopped llm')
        .sort(),
    );
    const order = (label: string): number => events.indexOf(label);
    expect(order('end api')).toBeLessThan(order('start cache'));
    expect(order('end api')).toBeLessThan(order('start queue'));
    expect(order('end cache')).toBeLessThan(order('start db'));
    expect(order('end queue')).toBeLessThan(order('start db'));
    // cache and queue close in parallel (both started before either ended)
    expect(order('start queue')).toBeLessThan(order('end cache'));
    expect(order('start cache')).toBeLessThan(order('end queue'));
    const byId = new Map(report.resources.details.map((d) => [d.id, d]));
    expect(byId.get('hung')?.outcome).toBe('forced');
    expect(byId.get('hung')?.error?.code).toBe('ERR_RESOURCE_CLOSE_TIMEOUT');
    expect(byId.get('broken')?.outcome).toBe('failed');
    expect(byId.get('broken')?.error?.code).toBe('ERR_RESOURCE_CLOSE_FAILED');
    expect(byId.get('broken')?.error?.cause?.message).toBe('disk on fire');
    expect(byId.get('db')?.outcome).toBe('closed'); // dependencies close even when a dependent failed
    expect(byId.get('llm')?.outcome).toBe('closed');
    expect(runner.state).toBe('stopped');
    // the runner (a dependent of cache) stopped before cache started closing
    expect(order('stopped llm')).toBeLessThan(order('start cache'));
    expect(report.resources).toMatchObject({ failed: 1, forced: 1 });
    expect(report.forced).toBe(true);
    expect(report.phases.closing.timedOut).toBe(false);
  });

  it('rejects a cycle at registration, naming it, and registers nothing of the batch', () => {
    const troupe = makeTroupe();
    troupe.resources.register({ id: 'base', close: () => {} });
    let error: unknown;
    try {
      troupe.resources.register([
        { id: 'a', close: () => {}, dependsOn: ['b'] },
        { id: 'b', close: () => {}, dependsOn: ['c'] },
        { id: 'c', close: () => {}, dependsOn: ['a', 'base'] },
      ]);
    } catch (e) {
      error = e;
    }
    expect(isTroupeError(error, 'ERR_RESOURCE_CYCLE')).toBe(true);
    expect((error as Error).message).toMatch(/a → b → c → a/);
    expect(troupe.resources.state('a')).toBeUndefined();
    expect(troupe.resources.size).toBe(1);
    expect(() =>
      troupe.resources.register({ id: 'self', close: () => {}, dependsOn: ['self'] }),
    ).toThrow(expect.objectContaining({ code: 'ERR_RESOURCE_CYCLE' }) as Error);
  });

  it('lists resources with their edges and states', async () => {
    const troupe = makeTroupe();
    troupe.resources.register([
      { id: 'db', close: () => {} },
      { id: 'api', close: () => {}, dependsOn: ['db'] },
    ]);
    await troupe.spawnRunner({ id: 'r', worker: fixtures.echo, threads: 1, dependsOn: ['db'] });
    const list = troupe.resources.list();
    const db = list.find((r) => r.id === 'db');
    expect([...(db?.dependents ?? [])].sort()).toEqual(['api', 'r']);
    expect(list.find((r) => r.id === 'r')?.kind).toBe('runner');
    expect(list.filter((r) => r.kind === 'thread')).toHaveLength(1);
    expect(list.filter((r) => r.kind === 'channel')).toHaveLength(1);
  });

  it('closes 2,000 resources in a deep graph in order, in well under the deadline', async () => {
    const troupe = makeTroupe({ shutdown: { closingMs: 10_000 } });
    const closed: number[] = [];
    const specs = Array.from({ length: 2_000 }, (_, i) => ({
      id: `r${i}`,
      close: () => {
        closed.push(i);
      },
      dependsOn: i === 0 ? [] : [`r${Math.floor((i - 1) / 2)}`],
    }));
    troupe.resources.register(specs);
    const report = await troupe.shutdown();
    expect(report.resources.closed).toBe(2_000);
    const position = new Map(closed.map((id, index) => [id, index]));
    for (let i = 1; i < 2_000; i++) {
      const parent = Math.floor((i - 1) / 2);
      expect(position.get(i)).toBeLessThan(position.get(parent) as number);
    }
    expect(report.phases.closing.durationMs).toBeLessThan(5_000);
  });
});
