// Lifecycle logs on real threads: ctx.log from setup, tasks and teardown
// reaches the troupe's logger with the runner's, the thread's and the
// task's ids; startup, every transition, errors and the shutdown phases are
// logged with their fields and levels; nothing is printed.
import type { LogLevel, Logger } from '@troupe/runtime';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { makeTroupe } from '../helpers/troupe.js';
import { rejectionOf, within } from '../helpers/wait.js';

interface Entry {
  readonly level: LogLevel;
  readonly fields: Record<string, unknown>;
  readonly msg: string | undefined;
}

/**
 * A logger of pino's shape that keeps every record, bindings merged in;
 * with `enabled`, it (and every child) says which levels it writes, and
 * still keeps whatever it is given: what a caller sends below them shows.
 */
function recorder(enabled?: (level: LogLevel) => boolean): Logger & { readonly records: Entry[] } {
  const records: Entry[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: LogLevel) =>
      (obj: object, msg?: string): void => {
        records.push({ level, fields: { ...bindings, ...obj }, msg });
      };
    return {
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      fatal: at('fatal'),
      child: (more) => make({ ...bindings, ...more }),
      ...(enabled === undefined ? {} : { isLevelEnabled: enabled }),
    };
  };
  return Object.assign(make({}), { records });
}

/** Resolves once a record with this message arrived (bounded: a hang fails, naming it). */
async function arrived(records: readonly Entry[], msg: string): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (!records.some((r) => r.msg === msg)) {
    if (performance.now() > deadline) throw new Error(`the record "${msg}": not there after 5 s`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

let writes: MockInstance[] = [];
beforeEach(() => {
  writes = [vi.spyOn(process.stdout, 'write'), vi.spyOn(process.stderr, 'write')];
});
afterEach(() => {
  for (const spy of writes) spy.mockRestore();
});

describe('lifecycle logs on real threads', () => {
  it('ctx.log, startup, transitions, errors and shutdown phases, with their ids and levels', async () => {
    const logger = recorder();
    const troupe = makeTroupe({ nodeId: 'n1', logger, health: { enabled: false } });
    const runner = await troupe.spawnRunner({ id: 'llm', worker: fixture('logging'), threads: 2 });
    const { records } = logger;

    // Startup: each thread's setup wrote once (no taskId), with its hello: before the runner is ready at info.
    const ready = records.filter((r) => r.msg === 'runner ready');
    const readyAt = records.findIndex((r) => r.msg === 'runner ready');
    const loaded = records.flatMap((r, i) => (r.msg === 'model loaded' ? [i] : []));
    expect(loaded).toHaveLength(2);
    for (const at of loaded) expect(at).toBeLessThan(readyAt);
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({
      level: 'info',
      fields: { nodeId: 'n1', runnerId: 'llm', threads: 2 },
    });
    expect(ready[0]?.fields.durationMs).toBeGreaterThan(0);

    // A task's records (fire-and-forget: they may land just after its result) are
    // bound to the runner, its thread and the task.
    expect(await runner.run(21, { handler: 'work' })).toBe(42);
    await arrived(records, 'n is 21');
    const working = records.find((r) => r.msg === 'working');
    expect(working).toMatchObject({
      level: 'debug',
      fields: { nodeId: 'n1', runnerId: 'llm', taskId: 'llm#1', n: 21 },
    });
    expect(runner.stats().threads).toBe(2);
    expect(typeof working?.fields.threadId).toBe('number');
    // A function cannot cross threads: described, the rest of the record kept.
    expect(records.find((r) => r.msg === 'odd value')).toMatchObject({
      level: 'warn',
      fields: { taskId: 'llm#1', n: 21, fn: '[not cloneable] a function' },
    });
    // An Error alone is the record's err, rebuilt here; its message is the record's.
    const thrown = records.find((r) => r.msg === 'n is 21');
    expect(thrown?.level).toBe('error');
    expect(thrown?.fields.err).toBeInstanceOf(Error);
    expect((thrown?.fields.err as Error).name).toBe('RangeError');

    // A failing task: the error handler's record, at warn (MEDIUM) with code, severity, action.
    await rejectionOf(runner.run(0, { handler: 'fail' }));
    const failure = records.find((r) => r.fields.code === 'ERR_TASK_FAILED');
    expect(failure).toMatchObject({
      level: 'warn',
      fields: {
        nodeId: 'n1',
        runnerId: 'llm',
        taskId: 'llm#2',
        severity: 'MEDIUM',
        action: expect.any(String) as unknown,
      },
    });

    const report = await within(troupe.shutdown({ reason: 'test' }), 20_000, 'shutdown');
    expect(report.forced).toBe(false);

    // setup and teardown: once per thread, each from its own thread, never with a taskId.
    for (const msg of ['model loaded', 'model unloaded']) {
      const lines = records.filter((r) => r.msg === msg);
      expect(lines.map((r) => r.level)).toEqual(['info', 'info']);
      expect(new Set(lines.map((r) => r.fields.threadId)).size).toBe(2);
      for (const line of lines) {
        expect(line.fields).toMatchObject({ nodeId: 'n1', runnerId: 'llm' });
        expect(line.fields).not.toHaveProperty('taskId');
      }
    }

    // Each shutdown phase at info when it ends, with its duration.
    const phases = records.filter((r) => r.msg === 'shutdown phase done');
    expect(phases.map((r) => [r.level, r.fields.component, r.fields.phase])).toEqual([
      ['info', 'shutdown', 'signaling'],
      ['info', 'shutdown', 'draining'],
      ['info', 'shutdown', 'closing'],
    ]);
    for (const phase of phases) expect(phase.fields.durationMs).toBeGreaterThanOrEqual(0);

    // Every transition once at debug: per actor a chain from null, each record moving on.
    const chains = new Map<string, Entry[]>();
    for (const record of records) {
      if (!record.msg?.endsWith(' state') || record.fields.state === undefined) continue;
      const actor = [
        record.msg,
        record.fields.runnerId,
        record.fields.threadId,
        record.fields.resourceId,
      ].join(':');
      chains.set(actor, [...(chains.get(actor) ?? []), record]);
    }
    for (const [actor, chain] of chains) {
      expect(chain[0]?.fields.previous, actor).toBeNull();
      chain.forEach((record, i) => {
        expect(record.level, actor).toBe('debug');
        expect(typeof record.fields.event, actor).toBe('string');
        if (i > 0) expect(record.fields.previous, actor).toBe(chain[i - 1]?.fields.state);
        expect(record.fields.state, actor).not.toBe(record.fields.previous);
      });
    }
    const kinds = [...chains.keys()].map((key) => key.split(':')[0]);
    for (const kind of [
      'runner state',
      'channel state',
      'resource state',
      'shutdown state',
      'supervisor state',
    ]) {
      expect(kinds, kind).toContain(kind);
    }
    // Two thread channels, each with its runner's and thread's ids.
    const channels = [...chains.values()].filter((c) => c[0]?.msg === 'channel state');
    expect(channels).toHaveLength(2);
    for (const chain of channels) {
      expect(chain.at(-1)?.fields).toMatchObject({ runnerId: 'llm', state: 'closed' });
    }
    expect(chains.get('runner state:llm::')?.at(-1)?.fields.state).toBe('stopped');

    // Nothing went to the console: not from the runtime, not from the threads.
    for (const spy of writes) expect(spy).not.toHaveBeenCalled();
  });

  it('costs nothing below the logger level: no transition logged, worker records dropped in the thread', async () => {
    const logger = recorder((level) => level === 'error' || level === 'fatal');
    const troupe = makeTroupe({ logger, health: { enabled: false } });
    const runner = await troupe.spawnRunner({ worker: fixture('logging'), threads: 1 });
    expect(await runner.run(1, { handler: 'work' })).toBe(2);
    await arrived(logger.records, 'n is 1');
    await troupe.shutdown();
    expect(logger.records.filter((r) => r.fields.state !== undefined)).toEqual([]);
    // Only the task's error record came over; its debug and warn stayed in the thread.
    expect(logger.records.filter((r) => r.fields.taskId !== undefined).map((r) => r.msg)).toEqual([
      'n is 1',
    ]);
  });
});
