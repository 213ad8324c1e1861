// ResourceManager: the close walk over the dependency graph (order from
// recorded timestamps), outcomes and deadlines, idempotence, the forced
// path, release() (alone and during closeAll()), batch registration, and
// the read-only actor views.
import {
  InvalidConfigError,
  ResourceCycleError,
  ShutdownInProgressError,
  isTroupeError,
} from '@troupe/core';
import { describe, expect, it, vi } from 'vitest';
import { untilSnapshot } from '../src/inspection/untilSnapshot.js';
import {
  ResourceManager,
  type ResourceCloseRecord,
  type ResourceCloseReport,
  type ResourceInfo,
} from '../src/resources/ResourceManager.js';
import { silentLogger } from '../src/logger.js';
import { deferred, recordingLogger, settleState, sleep, thrownBy } from './support.js';

interface Span {
  readonly start: number;
  end: number | null;
}

/** Fake closes that record when they started and ended. */
function recorder(): {
  close(id: string, ms: number): () => Promise<void>;
  /** A close that records its start and returns `promise`. */
  closeWith(id: string, promise: Promise<void>): () => Promise<void>;
  started(id: string): boolean;
  span(id: string): { start: number; end: number };
  readonly order: string[];
} {
  const spans = new Map<string, Span>();
  const order: string[] = [];
  const begin = (id: string): Span => {
    if (spans.has(id)) throw new Error(`close of "${id}" ran twice`);
    const span: Span = { start: performance.now(), end: null };
    spans.set(id, span);
    order.push(id);
    return span;
  };
  return {
    order,
    close: (id, ms) => async () => {
      const span = begin(id);
      await sleep(ms);
      span.end = performance.now();
    },
    closeWith: (id, promise) => () => {
      begin(id);
      return promise;
    },
    started: (id) => spans.has(id),
    span: (id) => {
      const span = spans.get(id);
      if (span?.end == null) throw new Error(`"${id}" did not finish closing`);
      return { start: span.start, end: span.end };
    },
  };
}

function manager(onCloseFailure?: (record: ResourceCloseRecord) => void): ResourceManager {
  return new ResourceManager({
    logger: recordingLogger(),
    ...(onCloseFailure === undefined ? {} : { onCloseFailure }),
  });
}

function recordOf(report: ResourceCloseReport, id: string): ResourceCloseRecord {
  const matches = report.resources.filter((r) => r.id === id);
  expect(matches, `records of "${id}"`).toHaveLength(1);
  return matches[0]!;
}

function infoOf(list: readonly ResourceInfo[], id: string): ResourceInfo {
  const info = list.find((r) => r.id === id);
  if (info === undefined) throw new Error(`"${id}" is not listed`);
  return info;
}

const noop = (): void => {};

/** Resolves once the resource reached `state` (or its actor is done). */
async function untilState(rm: ResourceManager, id: string, state: string): Promise<void> {
  const view = rm.actor(id);
  if (view === undefined) throw new Error(`"${id}" is not registered`);
  await untilSnapshot(view, (snapshot) => snapshot.value === state);
  expect(rm.state(id)).toBe(state);
}

/** Lets every pending microtask run (promise callbacks queued so far and the ones they queue). */
function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('ResourceManager close order', () => {
  it('diamond: the top closes first, both sides in parallel, the bottom last', async () => {
    const rm = manager();
    const rec = recorder();
    rm.register([
      { id: 'top', close: rec.close('top', 20), dependsOn: ['left', 'right'] },
      { id: 'left', close: rec.close('left', 40), dependsOn: ['bottom'] },
      { id: 'right', close: rec.close('right', 40), dependsOn: ['bottom'] },
      { id: 'bottom', close: rec.close('bottom', 10) },
    ]);
    const report = await rm.closeAll();

    const top = rec.span('top');
    const left = rec.span('left');
    const right = rec.span('right');
    const bottom = rec.span('bottom');
    expect(top.end).toBeLessThanOrEqual(left.start);
    expect(top.end).toBeLessThanOrEqual(right.start);
    expect(left.end).toBeLessThanOrEqual(bottom.start);
    expect(right.end).toBeLessThanOrEqual(bottom.start);
    // left and right overlap: each started before the other ended
    expect(left.start).toBeLessThan(right.end);
    expect(right.start).toBeLessThan(left.end);

    expect(report).toMatchObject({ closed: 4, failed: 0, forced: 0 });
    expect(report.resources.map((r) => r.id).sort()).toEqual(['bottom', 'left', 'right', 'top']);
    expect(recordOf(report, 'left').durationMs).toBeGreaterThanOrEqual(35);
    expect(recordOf(report, 'left').error).toBeNull();
    for (const id of ['top', 'left', 'right', 'bottom']) expect(rm.state(id)).toBe('closed');
  });

  it('chain: strictly one after the other, dependents first', async () => {
    const rm = manager();
    const rec = recorder();
    rm.register([
      { id: 'd', close: rec.close('d', 5) },
      { id: 'c', close: rec.close('c', 5), dependsOn: ['d'] },
      { id: 'b', close: rec.close('b', 5), dependsOn: ['c'] },
      { id: 'a', close: rec.close('a', 5), dependsOn: ['b'] },
    ]);
    const report = await rm.closeAll();
    expect(rec.order).toEqual(['a', 'b', 'c', 'd']);
    expect(report.resources.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(rec.span('a').end).toBeLessThanOrEqual(rec.span('b').start);
    expect(rec.span('b').end).toBeLessThanOrEqual(rec.span('c').start);
    expect(rec.span('c').end).toBeLessThanOrEqual(rec.span('d').start);
  });

  it('forest: independent trees do not wait for each other', async () => {
    const rm = manager();
    const rec = recorder();
    rm.register([
      { id: 'x', close: rec.close('x', 15), dependsOn: ['y'] },
      { id: 'y', close: rec.close('y', 5) },
      { id: 'p', close: rec.close('p', 80), dependsOn: ['q'] },
      { id: 'q', close: rec.close('q', 5) },
      { id: 'lone', close: rec.close('lone', 40) },
    ]);
    const report = await rm.closeAll();
    const [x, y, p, q, lone] = ['x', 'y', 'p', 'q', 'lone'].map((id) => rec.span(id));
    // the roots of all three trees start together
    expect(x!.start).toBeLessThan(p!.end);
    expect(p!.start).toBeLessThan(x!.end);
    expect(lone!.start).toBeLessThan(x!.end);
    // within a tree the order holds
    expect(x!.end).toBeLessThanOrEqual(y!.start);
    expect(p!.end).toBeLessThanOrEqual(q!.start);
    // y does not wait for the slow p of the other tree, nor for lone
    expect(y!.start).toBeLessThan(p!.end);
    expect(y!.start).toBeLessThan(lone!.end);
    expect(report.closed).toBe(5);
  });
});

describe('ResourceManager outcomes and deadlines', () => {
  it('a close that throws synchronously and one that rejects are failed with ERR_RESOURCE_CLOSE_FAILED', async () => {
    const onCloseFailure = vi.fn<(record: ResourceCloseRecord) => void>();
    const rm = manager(onCloseFailure);
    const rec = recorder();
    rm.register([
      { id: 'db', close: rec.close('db', 0) },
      {
        id: 'sync',
        close: () => {
          throw new Error('disk on fire');
        },
        dependsOn: ['db'],
      },
      { id: 'async', close: () => Promise.reject(new TypeError('socket gone')), dependsOn: ['db'] },
    ]);
    const report = await rm.closeAll();
    expect(report).toMatchObject({ closed: 1, failed: 2, forced: 0 });
    const sync = recordOf(report, 'sync');
    expect(sync.outcome).toBe('failed');
    expect(sync.error).toMatchObject({
      code: 'ERR_RESOURCE_CLOSE_FAILED',
      context: { resourceId: 'sync' },
      cause: { message: 'disk on fire' },
    });
    expect(sync.error?.message).toContain('"sync"');
    const rejected = recordOf(report, 'async');
    expect(rejected.outcome).toBe('failed');
    expect(rejected.error).toMatchObject({
      code: 'ERR_RESOURCE_CLOSE_FAILED',
      cause: { name: 'TypeError', message: 'socket gone' },
    });
    // the dependency still closed, after both failures
    expect(recordOf(report, 'db').outcome).toBe('closed');
    expect(rm.state('sync')).toBe('failed');
    expect(rm.state('async')).toBe('failed');
    // onCloseFailure hears of each resource that did not close cleanly, not of db
    expect(onCloseFailure).toHaveBeenCalledTimes(2);
    expect(onCloseFailure).toHaveBeenCalledWith(sync);
    expect(onCloseFailure).toHaveBeenCalledWith(rejected);
    // the report lists them in the order they finished: db last
    expect(report.resources.map((r) => r.id).at(-1)).toBe('db');
  });

  it('a hung close is forced at closeTimeoutMs with ERR_RESOURCE_CLOSE_TIMEOUT; its dependency closes afterwards', async () => {
    const onCloseFailure = vi.fn<(record: ResourceCloseRecord) => void>();
    const rm = manager(onCloseFailure);
    const rec = recorder();
    rm.register([
      { id: 'db', close: rec.close('db', 5) },
      {
        id: 'hung',
        close: rec.closeWith('hung', new Promise<void>(noop)),
        dependsOn: ['db'],
        closeTimeoutMs: 80,
      },
    ]);
    const t0 = performance.now();
    const report = await rm.closeAll();
    const hung = recordOf(report, 'hung');
    expect(hung.outcome).toBe('forced');
    expect(hung.error).toMatchObject({
      code: 'ERR_RESOURCE_CLOSE_TIMEOUT',
      context: { resourceId: 'hung', closeTimeoutMs: 80 },
    });
    expect(hung.durationMs).toBeGreaterThanOrEqual(75);
    expect(hung.durationMs).toBeLessThan(500);
    expect(recordOf(report, 'db').outcome).toBe('closed');
    // db waited for the deadline of its dependent, then closed
    expect(rec.span('db').start - t0).toBeGreaterThanOrEqual(75);
    expect(report).toMatchObject({ closed: 1, failed: 0, forced: 1 });
    expect(rm.state('hung')).toBe('forced');
    expect(onCloseFailure).toHaveBeenCalledTimes(1);
    expect(onCloseFailure).toHaveBeenCalledWith(hung);
  });

  it('hung closes with different deadlines are each forced at their own, among quick ones that disarm theirs', async () => {
    const rm = manager();
    const rec = recorder();
    const hang = new Promise<void>(noop);
    const quick = Array.from({ length: 200 }, (_, i) => ({
      id: `quick${i}`,
      close: rec.close(`quick${i}`, 1),
      closeTimeoutMs: 60 + (i % 2) * 100,
    }));
    rm.register([
      { id: 'slow', close: rec.closeWith('slow', hang), closeTimeoutMs: 200 },
      { id: 'fast', close: rec.closeWith('fast', hang), closeTimeoutMs: 60 },
      ...quick,
    ]);
    const report = await rm.closeAll();
    const fast = recordOf(report, 'fast');
    const slow = recordOf(report, 'slow');
    expect([fast.outcome, slow.outcome]).toEqual(['forced', 'forced']);
    expect(fast.durationMs).toBeGreaterThanOrEqual(55);
    expect(fast.durationMs).toBeLessThan(slow.durationMs);
    expect(slow.durationMs).toBeGreaterThanOrEqual(195);
    expect(slow.durationMs).toBeLessThan(1_000);
    expect(slow.error).toMatchObject({ context: { resourceId: 'slow', closeTimeoutMs: 200 } });
    expect(report).toMatchObject({ closed: 200, failed: 0, forced: 2 });
    // fast was forced first: the report lists records in the order they ended
    const order = report.resources.map((r) => r.id);
    expect(order.indexOf('fast')).toBeLessThan(order.indexOf('slow'));
  });

  it('closeAll() on an empty manager reports nothing', async () => {
    const report = await manager().closeAll();
    expect(report).toEqual({ closed: 0, failed: 0, forced: 0, resources: [] });
  });
});

describe('ResourceManager closeAll() idempotence and the forced path', () => {
  it('closeAll() returns the same promise; register() after it throws ERR_SHUTDOWN_IN_PROGRESS', async () => {
    const rm = manager();
    let closes = 0;
    rm.register({
      id: 'db',
      close: () => {
        closes += 1;
      },
    });
    expect(rm.closing).toBe(false);
    const first = rm.closeAll();
    expect(rm.closing).toBe(true);
    expect(rm.closeAll()).toBe(first);
    const error = thrownBy(() => {
      rm.register({ id: 'late', close: noop });
    });
    expect(error).toBeInstanceOf(ShutdownInProgressError);
    expect(isTroupeError(error, 'ERR_SHUTDOWN_IN_PROGRESS')).toBe(true);
    expect(() => {
      rm.registerInternal([{ id: 'late-thread', kind: 'thread', close: noop }]);
    }).toThrow(ShutdownInProgressError);
    expect(rm.has('late')).toBe(false);
    const report = await first;
    expect(await rm.closeAll()).toBe(report);
    expect(closes).toBe(1);
    expect(report.resources).toHaveLength(1);
  });

  it('forceRemaining() resolves closeAll at once, starts waiting resources out of order and reports the unfinished as forced', async () => {
    const onCloseFailure = vi.fn<(record: ResourceCloseRecord) => void>();
    const rm = manager(onCloseFailure);
    const rec = recorder();
    const stuck = deferred();
    rm.register([
      { id: 'base', close: rec.close('base', 0) },
      {
        id: 'stuck',
        close: rec.closeWith('stuck', stuck.promise),
        dependsOn: ['base'],
        closeTimeoutMs: 5_000,
      },
      { id: 'slow', close: rec.close('slow', 400) },
      { id: 'quick', close: rec.close('quick', 30) },
    ]);
    const all = rm.closeAll();
    // quick, slow and stuck start at once; base waits for stuck
    expect(rec.started('stuck')).toBe(true);
    await untilState(rm, 'quick', 'closed');
    expect(rec.started('base')).toBe(false);
    expect(rm.state('base')).toBe('open'); // not closing yet
    expect(await settleState(all)).toBe('pending');

    const t0 = performance.now();
    rm.forceRemaining();
    const report = await all;
    expect(performance.now() - t0).toBeLessThan(50);
    // base started although its dependent is still closing
    expect(rec.started('base')).toBe(true);
    expect(rm.state('stuck')).toBe('closing');

    expect(recordOf(report, 'quick').outcome).toBe('closed');
    for (const id of ['stuck', 'slow', 'base']) {
      const record = recordOf(report, id);
      expect(record.outcome, id).toBe('forced');
      expect(record.error).toMatchObject({
        code: 'ERR_RESOURCE_CLOSE_TIMEOUT',
        context: { resourceId: id },
      });
      expect(record.error?.message).toContain('closing deadline');
    }
    expect(recordOf(report, 'stuck').durationMs).toBeGreaterThanOrEqual(25);
    expect(recordOf(report, 'base').durationMs).toBeLessThan(25);
    expect(report).toMatchObject({ closed: 1, failed: 0, forced: 3 });
    // the stragglers are announced as forced too
    expect(onCloseFailure.mock.calls.map(([r]) => [r.id, r.outcome]).sort()).toEqual([
      ['base', 'forced'],
      ['slow', 'forced'],
      ['stuck', 'forced'],
    ]);
    expect(onCloseFailure).toHaveBeenCalledWith(
      expect.objectContaining({
        id: 'stuck',
        error: expect.objectContaining({ code: 'ERR_RESOURCE_CLOSE_TIMEOUT' }) as unknown,
      }),
    );
    expect(rm.closeAll()).toBe(all);
    stuck.resolve();
  });

  it('forceRemaining() before closeAll() does nothing', () => {
    const rm = manager();
    const rec = recorder();
    rm.register({ id: 'a', close: rec.close('a', 0) });
    rm.forceRemaining();
    expect(rec.started('a')).toBe(false);
    expect(rm.closing).toBe(false);
    expect(rm.state('a')).toBe('open');
  });
});

describe('ResourceManager release()', () => {
  it('a resource released mid-closeAll is counted once and closeAll finishes without a deadline', async () => {
    const rm = manager();
    const rec = recorder();
    const runnerClosed = deferred();
    rm.register([
      { id: 'thread', close: rec.close('thread', 5) },
      { id: 'runner', close: rec.closeWith('runner', runnerClosed.promise), dependsOn: ['thread'] },
      { id: 'other', close: rec.close('other', 5) },
    ]);
    const all = rm.closeAll();
    expect(rm.state('runner')).toBe('closing');
    expect(rm.state('thread')).toBe('open'); // waits for its dependent

    // the thread exited on its own: release closes it now, out of order
    expect(await rm.release('thread')).toBe('closed');
    expect(rm.has('thread')).toBe(false);
    expect(rec.started('thread')).toBe(true);
    // its dependent is still closing: the release did not wait for it
    expect(rm.state('runner')).toBe('closing');
    expect(await settleState(all)).toBe('pending');

    runnerClosed.resolve();
    expect(await settleState(all, 1_000)).toBe('resolved');
    const report = await all;
    expect(report.resources.map((r) => r.id).sort()).toEqual(['other', 'runner', 'thread']);
    expect(report).toMatchObject({ closed: 3, failed: 0, forced: 0 });
    expect(rec.order.filter((id) => id === 'thread')).toHaveLength(1);
  });

  it('a release still in progress when closeAll begins is awaited and counted once', async () => {
    const rm = manager();
    const rec = recorder();
    rm.register([
      { id: 'a', close: rec.close('a', 40) },
      { id: 'b', close: rec.close('b', 5), dependsOn: ['a'] },
    ]);
    const released = rm.release('a');
    const report = await rm.closeAll();
    expect(await released).toBe('closed');
    expect(report.resources.map((r) => r.id).sort()).toEqual(['a', 'b']);
    expect(recordOf(report, 'a').durationMs).toBeGreaterThanOrEqual(35);
    expect(report.closed).toBe(2);
    expect(rm.has('a')).toBe(false);
  });

  it('resolves the outcome, unlinks the node, and is safe to call twice', async () => {
    const rm = manager();
    rm.register([
      { id: 'db', close: noop },
      { id: 'api', close: () => Promise.reject(new Error('nope')), dependsOn: ['db'] },
    ]);
    const [first, second] = await Promise.all([rm.release('api'), rm.release('api')]);
    expect(first).toBe('failed');
    expect(second).toBe('failed');
    expect(rm.has('api')).toBe(false);
    expect(rm.size).toBe(1);
    expect(infoOf(rm.list(), 'db').dependents).toEqual([]);
    expect(await rm.release('api')).toBeNull();
    expect(await rm.release('never-registered')).toBeNull();
  });
});

describe('ResourceManager registration', () => {
  const permutations = <T>(items: readonly T[]): T[][] =>
    items.length <= 1
      ? [[...items]]
      : items.flatMap((item, i) =>
          permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [
            item,
            ...rest,
          ]),
        );

  it.each(permutations(['a', 'b', 'c'] as const).map((p) => [p.join(''), p] as const))(
    'a batch may reference its members in any order (%s)',
    async (_name, ordering) => {
      const rm = manager();
      const rec = recorder();
      const specs = {
        a: { id: 'a', close: rec.close('a', 0), dependsOn: ['b'] },
        b: { id: 'b', close: rec.close('b', 0), dependsOn: ['c'] },
        c: { id: 'c', close: rec.close('c', 0) },
      };
      rm.register(ordering.map((id) => specs[id]));
      const list = rm.list();
      expect(infoOf(list, 'a').dependsOn).toEqual(['b']);
      expect(infoOf(list, 'b').dependsOn).toEqual(['c']);
      expect(infoOf(list, 'c').dependents).toEqual(['b']);
      await rm.closeAll();
      expect(rec.order).toEqual(['a', 'b', 'c']);
    },
  );

  it('rejects a cycle with its path, and registers nothing of the batch', () => {
    const rm = manager();
    rm.register({ id: 'base', close: noop });
    const error = thrownBy(() => {
      rm.register([
        { id: 'x', close: noop },
        { id: 'a', close: noop, dependsOn: ['b'] },
        { id: 'b', close: noop, dependsOn: ['c', 'base'] },
        { id: 'c', close: noop, dependsOn: ['a'] },
      ]);
    });
    expect(error).toBeInstanceOf(ResourceCycleError);
    expect((error as ResourceCycleError).message).toBe('dependency cycle: a → b → c → a');
    expect((error as ResourceCycleError).context.cycle).toEqual(['a', 'b', 'c', 'a']);
    expect(rm.size).toBe(1);
    for (const id of ['x', 'a', 'b', 'c']) expect(rm.state(id)).toBeUndefined();
    expect(infoOf(rm.list(), 'base').dependents).toEqual([]);
    // the ids are free again
    rm.register([
      { id: 'x', close: noop },
      { id: 'a', close: noop, dependsOn: ['base'] },
    ]);
    expect(rm.size).toBe(3);
  });

  it('names only the cycle, not the path that led to it', () => {
    const rm = manager();
    const error = thrownBy(() => {
      rm.register([
        { id: 'entry', close: noop, dependsOn: ['m'] },
        { id: 'm', close: noop, dependsOn: ['n'] },
        { id: 'n', close: noop, dependsOn: ['m'] },
      ]);
    });
    expect(isTroupeError(error, 'ERR_RESOURCE_CYCLE')).toBe(true);
    expect((error as Error).message).toBe('dependency cycle: m → n → m');
  });

  it('rejects a self-dependency as a cycle', () => {
    const rm = manager();
    const error = thrownBy(() => {
      rm.register({ id: 'self', close: noop, dependsOn: ['self'] });
    });
    expect(error).toBeInstanceOf(ResourceCycleError);
    expect((error as ResourceCycleError).context.cycle).toEqual(['self', 'self']);
    expect(rm.size).toBe(0);
  });

  it('registers a 10,000-long chain (iterative cycle check) and closes it in order', async () => {
    const N = 10_000;
    const rm = manager();
    const closed: number[] = [];
    // Deepest first, so the depth-first search from the first root walks all 10,000.
    const specs = Array.from({ length: N }, (_, k) => {
      const i = N - 1 - k;
      return {
        id: `r${i}`,
        close: () => {
          closed.push(i);
        },
        dependsOn: i === 0 ? [] : [`r${i - 1}`],
      };
    });
    rm.register(specs);
    expect(rm.size).toBe(N);
    const report = await rm.closeAll();
    expect(report.closed).toBe(N);
    expect(closed).toEqual(Array.from({ length: N }, (_, k) => N - 1 - k));
  });

  it('finds the cycle closing a 10,000-long chain without overflowing the stack', () => {
    const N = 10_000;
    const rm = manager();
    const specs = Array.from({ length: N }, (_, i) => ({
      id: `r${i}`,
      close: noop,
      dependsOn: [`r${(i + 1) % N}`],
    }));
    const error = thrownBy(() => {
      rm.register(specs);
    });
    expect(error).toBeInstanceOf(ResourceCycleError);
    const cycle = (error as ResourceCycleError).context.cycle as string[];
    expect(cycle).toHaveLength(N + 1);
    expect(cycle[0]).toBe('r0');
    expect(cycle[1]).toBe('r1');
    expect(cycle[N]).toBe('r0');
    expect(rm.size).toBe(0);
  });

  it('rejects duplicates, unknown dependencies and reserved ids by name', () => {
    const rm = new ResourceManager({
      logger: recordingLogger(),
      isReserved: (id) => id === 'runner-1',
    });
    rm.register({ id: 'a', close: noop });
    const dup = thrownBy(() => {
      rm.register({ id: 'a', close: noop });
    });
    expect(dup).toBeInstanceOf(InvalidConfigError);
    expect((dup as Error).message).toBe('duplicate resource id "a"');
    const inBatch = thrownBy(() => {
      rm.register([
        { id: 'b', close: noop },
        { id: 'b', close: noop },
      ]);
    });
    expect((inBatch as Error).message).toBe('duplicate resource id "b"');
    const reserved = thrownBy(() => {
      rm.register({ id: 'runner-1', close: noop });
    });
    expect((reserved as Error).message).toBe('duplicate resource id "runner-1"');
    const unknown = thrownBy(() => {
      rm.register({ id: 'c', close: noop, dependsOn: ['zzz'] });
    });
    expect(unknown).toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      context: { resourceId: 'c', field: 'dependsOn', value: 'zzz' },
    });
    const badTimeout = thrownBy(() => {
      rm.register({ id: 'd', close: noop, closeTimeoutMs: Number.POSITIVE_INFINITY });
    });
    expect(badTimeout).toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      context: { field: 'd.closeTimeoutMs' },
    });
    const badDeps = thrownBy(() => {
      rm.register({ id: 'e', close: noop, dependsOn: [1 as unknown as string] });
    });
    expect(badDeps).toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      context: { field: 'e.dependsOn' },
    });
    expect(rm.size).toBe(1);
  });
});

describe('ResourceManager internals: requiredBy, list(), markOpen()', () => {
  it('registerInternal with requiredBy adds an edge into an existing resource', async () => {
    const rm = manager();
    const rec = recorder();
    rm.registerInternal([{ id: 'runner', kind: 'runner', close: rec.close('runner', 15) }]);
    rm.registerInternal([
      { id: 'thread-1', kind: 'thread', close: rec.close('thread-1', 0), requiredBy: ['runner'] },
      { id: 'chan-1', kind: 'channel', close: rec.close('chan-1', 0), requiredBy: ['runner'] },
    ]);
    const list = rm.list();
    expect(infoOf(list, 'runner')).toMatchObject({
      kind: 'runner',
      dependsOn: ['thread-1', 'chan-1'],
      dependents: [],
    });
    expect(infoOf(list, 'thread-1')).toMatchObject({ kind: 'thread', dependents: ['runner'] });
    expect(infoOf(list, 'chan-1').kind).toBe('channel');
    const report = await rm.closeAll();
    expect(rec.span('runner').end).toBeLessThanOrEqual(rec.span('thread-1').start);
    expect(rec.span('runner').end).toBeLessThanOrEqual(rec.span('chan-1').start);
    expect(recordOf(report, 'thread-1').kind).toBe('thread');
  });

  it('requiredBy must name existing resources and excludes dependsOn', () => {
    const rm = manager();
    rm.registerInternal([{ id: 'runner', kind: 'runner', close: noop }]);
    const unknown = thrownBy(() => {
      rm.registerInternal([{ id: 't', kind: 'thread', close: noop, requiredBy: ['ghost'] }]);
    });
    expect(unknown).toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      context: { resourceId: 't', field: 'requiredBy', value: 'ghost' },
    });
    const both = thrownBy(() => {
      rm.registerInternal([
        { id: 't', kind: 'thread', close: noop, dependsOn: ['runner'], requiredBy: ['runner'] },
      ]);
    });
    expect(both).toBeInstanceOf(InvalidConfigError);
    expect((both as Error).message).toBe('requiredBy is only allowed without dependsOn');
    expect(rm.size).toBe(1);
    expect(infoOf(rm.list(), 'runner').dependsOn).toEqual([]);
  });

  it('list() reports kinds, states and edges in both directions', async () => {
    const rm = manager();
    rm.register([
      { id: 'db', close: noop },
      { id: 'cache', close: noop, dependsOn: ['db'] },
      { id: 'api', close: noop, dependsOn: ['cache', 'db'] },
    ]);
    const byId = Object.fromEntries(rm.list().map((r) => [r.id, r]));
    expect(byId).toEqual({
      db: {
        id: 'db',
        kind: 'user',
        state: 'open',
        dependsOn: [],
        dependents: ['cache', 'api'],
      },
      cache: {
        id: 'cache',
        kind: 'user',
        state: 'open',
        dependsOn: ['db'],
        dependents: ['api'],
      },
      api: {
        id: 'api',
        kind: 'user',
        state: 'open',
        dependsOn: ['cache', 'db'],
        dependents: [],
      },
    });
    await rm.release('api');
    const after = rm.list();
    expect(after.map((r) => r.id)).toEqual(['db', 'cache']);
    expect(infoOf(after, 'db').dependents).toEqual(['cache']);
    expect(infoOf(after, 'cache').dependents).toEqual([]);
  });

  it('register() opens a resource at once, or when its open() resolves', async () => {
    const rm = manager();
    const opened = deferred();
    const errors: unknown[] = [];
    const reported = deferred();
    const failing = new ResourceManager({
      logger: silentLogger,
      onError: (e) => {
        errors.push(e);
        reported.resolve();
      },
    });
    rm.register([
      { id: 'plain', close: noop },
      { id: 'connecting', close: noop, open: () => opened.promise },
    ]);
    expect(rm.state('plain')).toBe('open');
    expect(rm.state('connecting')).toBe('registered');
    opened.resolve();
    await untilState(rm, 'connecting', 'open');
    failing.register({
      id: 'refused',
      close: noop,
      open: () => {
        throw new Error('connection refused');
      },
    });
    await reported.promise;
    expect(failing.state('refused')).toBe('registered');
    expect(errors).toEqual([expect.objectContaining({ message: 'connection refused' })]);
    // a resource still opening is closed at shutdown all the same
    const report = await failing.closeAll();
    expect(report.closed).toBe(1);
    expect(() => {
      rm.register({ id: 'bad', close: noop, open: 'now' as never });
    }).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }) as Error);
  });

  it('markOpen() moves registered → open, and nothing once closing started', async () => {
    const rm = manager();
    const hold = deferred();
    rm.registerInternal([
      { id: 'a', kind: 'user', close: () => hold.promise },
      { id: 'b', kind: 'user', close: noop },
    ]);
    expect(rm.state('a')).toBe('registered');
    rm.markOpen('a');
    expect(rm.state('a')).toBe('open');
    rm.markOpen('a');
    expect(rm.state('a')).toBe('open');
    expect(() => {
      rm.markOpen('missing');
    }).not.toThrow();
    expect(rm.state('missing')).toBeUndefined();

    const all = rm.closeAll();
    expect(rm.state('a')).toBe('closing');
    rm.markOpen('a');
    expect(rm.state('a')).toBe('closing');
    hold.resolve();
    await all;
    expect(rm.state('a')).toBe('closed');
    expect(rm.state('b')).toBe('closed');
    rm.markOpen('b');
    expect(rm.state('b')).toBe('closed');
  });
});

describe('ResourceManager release() without a closeAll()', () => {
  it('reports a close that failed through onCloseFailure, once', async () => {
    const onCloseFailure = vi.fn<(record: ResourceCloseRecord) => void>();
    const rm = manager(onCloseFailure);
    rm.registerInternal([
      {
        id: 't1',
        kind: 'thread',
        close: () => Promise.reject(new Error('teardown threw')),
      },
    ]);
    expect(await rm.release('t1')).toBe('failed');
    expect(onCloseFailure).toHaveBeenCalledTimes(1);
    expect(onCloseFailure).toHaveBeenCalledWith({
      id: 't1',
      kind: 'thread',
      outcome: 'failed',
      durationMs: expect.any(Number) as unknown,
      error: expect.objectContaining({
        code: 'ERR_RESOURCE_CLOSE_FAILED',
        cause: expect.objectContaining({ message: 'teardown threw' }) as unknown,
      }) as unknown,
    });
    // a second release of the id finds nothing
    expect(await rm.release('t1')).toBeNull();
    expect(onCloseFailure).toHaveBeenCalledTimes(1);
  });

  it('reports a close that hung past its deadline as forced', async () => {
    const onCloseFailure = vi.fn<(record: ResourceCloseRecord) => void>();
    const rm = manager(onCloseFailure);
    rm.register({ id: 'hung', close: () => new Promise<void>(noop), closeTimeoutMs: 30 });
    expect(await rm.release('hung')).toBe('forced');
    expect(onCloseFailure).toHaveBeenCalledWith(
      expect.objectContaining({
        id: 'hung',
        outcome: 'forced',
        error: expect.objectContaining({ code: 'ERR_RESOURCE_CLOSE_TIMEOUT' }) as unknown,
      }),
    );
  });

  it('reports nothing for a clean close', async () => {
    const onCloseFailure = vi.fn();
    const rm = manager(onCloseFailure);
    rm.register({ id: 'ok', close: noop });
    expect(await rm.release('ok')).toBe('closed');
    expect(onCloseFailure).not.toHaveBeenCalled();
  });

  it('a failed release during closeAll() is reported once, by closeAll()', async () => {
    const onCloseFailure = vi.fn<(record: ResourceCloseRecord) => void>();
    const rm = manager(onCloseFailure);
    const hold = deferred();
    rm.register([
      { id: 'thread', close: () => Promise.reject(new Error('nope')) },
      { id: 'runner', close: () => hold.promise, dependsOn: ['thread'] },
    ]);
    const all = rm.closeAll();
    expect(await rm.release('thread')).toBe('failed');
    hold.resolve();
    const report = await all;
    expect(report).toMatchObject({ closed: 1, failed: 1, forced: 0 });
    expect(onCloseFailure).toHaveBeenCalledTimes(1);
    expect(onCloseFailure).toHaveBeenCalledWith(recordOf(report, 'thread'));
  });
});

describe('ResourceManager registration while closing', () => {
  it('is refused from the first close on: a close() that registers more is refused', async () => {
    const rm = manager();
    const caught: unknown[] = [];
    rm.register({
      id: 'first',
      close: () => {
        expect(rm.closing).toBe(true);
        try {
          rm.register({ id: 'spawned-by-close', close: noop });
        } catch (error) {
          caught.push(error);
        }
        try {
          rm.registerInternal([{ id: 'thread-by-close', kind: 'thread', close: noop }]);
        } catch (error) {
          caught.push(error);
        }
      },
    });
    const report = await rm.closeAll();
    expect(caught).toHaveLength(2);
    for (const error of caught) expect(error).toBeInstanceOf(ShutdownInProgressError);
    expect(rm.has('spawned-by-close')).toBe(false);
    expect(rm.has('thread-by-close')).toBe(false);
    expect(report.resources.map((r) => r.id)).toEqual(['first']);
  });
});

describe('ResourceManager open() and reused ids', () => {
  it('an open() resolving after release and re-registration does not open the new one', async () => {
    const rm = manager();
    const oldOpen = deferred();
    const newOpen = deferred();
    rm.register({ id: 'db', close: noop, open: () => oldOpen.promise });
    expect(await rm.release('db')).toBe('closed');
    rm.register({ id: 'db', close: noop, open: () => newOpen.promise });
    oldOpen.resolve();
    await oldOpen.promise;
    await flushMicrotasks();
    expect(rm.state('db')).toBe('registered');
    newOpen.resolve();
    await untilState(rm, 'db', 'open');
  });

  it('an open() resolving after the close started does not reopen it', async () => {
    const rm = manager();
    const opening = deferred();
    const closing = deferred();
    rm.register({ id: 'db', close: () => closing.promise, open: () => opening.promise });
    const all = rm.closeAll();
    expect(rm.state('db')).toBe('closing');
    opening.resolve();
    await opening.promise;
    await flushMicrotasks();
    expect(rm.state('db')).toBe('closing');
    closing.resolve();
    expect((await all).closed).toBe(1);
  });
});

describe('ResourceManager actor views', () => {
  it('actor(id) is a read-only view of the resource statechart', async () => {
    const rm = manager();
    const hold = deferred();
    rm.register({ id: 'db', close: () => hold.promise });
    const view = rm.actor('db');
    if (view === undefined) throw new Error('no view');
    expect(view.id).toBe('resource:db');
    for (const method of ['send', 'stop', 'start', 'system']) {
      expect((view as unknown as Record<string, unknown>)[method], method).toBeUndefined();
    }
    expect(view.getSnapshot().value).toBe('open');
    const states: unknown[] = [];
    view.subscribe((snapshot) => states.push(snapshot.value));
    const released = rm.release('db');
    expect(states).toEqual(['closing']);
    hold.resolve();
    expect(await released).toBe('closed');
    expect(states.at(-1)).toBe('closed');
    expect(view.getSnapshot().status).toBe('done');
    expect(rm.actor('db')).toBeUndefined();
    expect(rm.actor('never')).toBeUndefined();
  });
});

describe('ResourceManager with synchronous closes', () => {
  it('closes a 20,000-long chain whose closes return at once, without growing the stack (regression)', async () => {
    // A synchronous close used to report back within the same call, so each
    // link started the next one inside it: "Maximum call stack size exceeded".
    const rm = manager();
    const order: number[] = [];
    rm.register(
      Array.from({ length: 20_000 }, (_, i) => ({
        id: `c${i}`,
        close: () => {
          order.push(i);
        },
        dependsOn: i === 0 ? [] : [`c${i - 1}`],
      })),
    );
    const report = await rm.closeAll();
    expect(report.closed).toBe(20_000);
    expect(order[0]).toBe(19_999);
    expect(order.at(-1)).toBe(0);
  }, 30_000);
});
