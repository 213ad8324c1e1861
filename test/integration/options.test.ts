// Every bad input gets ERR_INVALID_CONFIG naming the field and the value.
import { createTroupe, isTroupeError } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { makeTroupe } from '../helpers/troupe.js';

function configError(fn: () => unknown): { message: string; field: unknown } {
  try {
    fn();
  } catch (error) {
    if (isTroupeError(error, 'ERR_INVALID_CONFIG')) {
      return { message: error.message, field: error.context.field };
    }
    throw error;
  }
  throw new Error('expected ERR_INVALID_CONFIG');
}

describe('option validation', () => {
  it.each([
    [{ shutdown: { drainingMs: -5 } }, 'options.shutdown.drainingMs', '-5'],
    [{ shutdown: { closingMs: 'soon' } }, 'options.shutdown.closingMs', '"soon"'],
    [{ shutdown: { drainMs: 10 } }, 'options.shutdown', 'drainMs'],
    [{ signals: ['SIGKILL'] }, 'options.signals.0', '"SIGKILL"'],
    [{ logger: { info: 1 } }, 'options.logger', '{"info":1}'],
    [{ nodeId: 'has space' }, 'options.nodeId', '"has space"'],
    [{ inspect: 42 }, 'options.inspect', '42'],
  ])('createTroupe(%j) names %s and the value', (options, field, shown) => {
    const error = configError(() => createTroupe(options as never));
    expect(error.field).toBe(field);
    expect(error.message).toContain(`"${field}"`);
    expect(error.message).toContain(shown);
  });

  it.each([
    [{ worker: fixtures.echo, threads: 0 }, 'spec.threads', '0'],
    [{ worker: fixtures.echo, threads: 1.5 }, 'spec.threads', '1.5'],
    [{ worker: fixtures.echo, maxQueue: -1 }, 'spec.maxQueue', '-1'],
    [{ worker: fixtures.echo, id: '' }, 'spec.id', '""'],
    [{ worker: 42 }, 'spec.worker', '42'],
    [{}, 'spec.worker', 'undefined'],
    [
      { worker: fixtures.echo, restart: { policy: 'sometimes' } },
      'spec.restart.policy',
      '"sometimes"',
    ],
    [{ worker: fixtures.echo, taskTimeoutMs: 0 }, 'spec.taskTimeoutMs', '0'],
    [{ worker: fixtures.echo, dependsOn: 'db' }, 'spec.dependsOn', '"db"'],
    [{ worker: fixtures.echo, threds: 2 }, 'spec', 'threds'],
  ])('spawnRunner(%j) rejects naming %s', async (spec, field, shown) => {
    const troupe = makeTroupe();
    const error: unknown = await troupe.spawnRunner(spec as never).catch((e: unknown) => e);
    expect(isTroupeError(error, 'ERR_INVALID_CONFIG')).toBe(true);
    const { message, context } = error as { message: string; context: { field: unknown } };
    expect(context.field).toBe(field);
    expect(message).toContain(shown);
  });

  it('spawnRunner with an unknown dependency names it', async () => {
    const troupe = makeTroupe();
    await expect(
      troupe.spawnRunner({ worker: fixtures.echo, dependsOn: ['db'] }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      message: expect.stringContaining('unknown resource "db"') as string,
    });
  });

  it('run() with bad options rejects (never throws synchronously)', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    const cases: [unknown, string][] = [
      [{ timeoutMs: -1 }, 'timeoutMs'],
      [{ handler: 7 }, 'handler'],
      [{ signal: 'stop' }, 'signal'],
      [{ transfer: 'x' }, 'transfer'],
      [{ onEvent: 1 }, 'onEvent'],
    ];
    for (const [options, field] of cases) {
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = runner.run(1, options as never);
      }).not.toThrow();
      await expect(result).rejects.toMatchObject({
        code: 'ERR_INVALID_CONFIG',
        context: { field },
      });
    }
    expect(runner.stats().rejected).toBe(cases.length);
  });

  it('resources.register rejects bad specs, duplicates and unknown dependencies by name', () => {
    const troupe = makeTroupe();
    expect(
      configError(() => troupe.resources.register({ id: '', close: () => {} })).message,
    ).toMatch(/\[0\]\.id/);
    expect(
      configError(() => troupe.resources.register({ id: 'a', close: 'no' as never })).message,
    ).toContain('a.close');
    expect(
      configError(() => troupe.resources.register({ id: 'a', close: () => {}, closeTimeoutMs: 0 }))
        .message,
    ).toContain('a.closeTimeoutMs');
    troupe.resources.register({ id: 'a', close: () => {} });
    expect(
      configError(() => troupe.resources.register({ id: 'a', close: () => {} })).message,
    ).toContain('duplicate resource id "a"');
    expect(
      configError(() => troupe.resources.register({ id: 'b', close: () => {}, dependsOn: ['zzz'] }))
        .message,
    ).toContain('unknown resource "zzz"');
  });
});
