// Troupe nodes as one cluster over a real nats-server: node processes
// (test/fixtures/node.mjs) serve their runners; this process joins as a
// client node and runs tasks on them.
import { isTroupeError } from '@troupe/runtime';
import { describe, expect, it } from 'vitest';
import { HEARTBEAT_MS, progress, seesUp, useCluster } from './clusterHarness.js';

const { startNode, clientNode: joinAsClient } = useCluster();
const clientNode = async (cluster?: string) => (await joinAsClient(cluster)).cluster;

describe('a cluster of Troupe nodes over NATS', () => {
  it('places tasks on every node that hosts the runner; results come back typed', async () => {
    await Promise.all([
      startNode('a', ['work']),
      startNode('b', ['work']),
      startNode('c', ['work']),
    ]);
    const { troupe, cluster } = await joinAsClient();
    await seesUp(cluster, ['a', 'b', 'c']);
    // Each member is a clusterNodeMachine actor the troupe's inspection sees (the dashboard too).
    const members = await new Promise<Map<string, unknown>>((resolve) => {
      const seen = new Map<string, unknown>();
      const stop = troupe.inspect((event) => {
        if (event.type !== '@xstate.snapshot') return;
        const { id } = event.actorRef as unknown as { id: string };
        if (!id.startsWith('node:')) return;
        seen.set(id, (event.snapshot as { value?: unknown }).value);
        if (['node:a', 'node:b', 'node:c'].every((id) => seen.get(id) === 'up')) {
          stop();
          resolve(seen);
        }
      });
    });
    expect(members.get('node:a')).toBe('up');
    const placed = new Map<string, number>();
    const work = cluster.runner('work');
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        work.run(5 + (i % 5), { onPlaced: (n) => placed.set(n, (placed.get(n) ?? 0) + 1) }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 60 }, (_, i) => 5 + (i % 5)));
    expect([...placed.keys()].sort()).toEqual(['a', 'b', 'c']);
    // A handler's error travels as the same typed error as a local runner's.
    const failed = await work.run(1, { handler: 'nope' }).catch((error: unknown) => error);
    expect(isTroupeError(failed) && failed.code).toBe('ERR_UNKNOWN_HANDLER');
    const health = cluster.health();
    expect(health.nodes.map((n) => n.nodeId).sort()).toEqual(['a', 'b', 'c', 'client-troupe']);
    expect(health.nodes.find((n) => n.nodeId === 'a')?.runners).toEqual(['work']);
    expect(health.nodes.find((n) => n.nodeId === 'a')?.health.score).toBeGreaterThan(0);
  });

  it("a task's events reach the caller in order, before the result", async () => {
    await startNode('s', ['stream']);
    const cluster = await clientNode();
    await seesUp(cluster, ['s']);
    const seen: unknown[] = [];
    const result = await cluster
      .runner('stream')
      .run(
        { prompt: 'actors', chunks: 6, delayMs: 2 },
        { handler: 'generate', onEvent: (event) => seen.push(event) },
      );
    expect(seen).toHaveLength(6);
    expect(seen.map((e) => (e as { index?: number }).index ?? seen.indexOf(e))).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    expect(result).toBeDefined();
  });

  it('no node hosts it: ERR_NO_NODE at once; two clusters on one broker never mix', async () => {
    await startNode('a', ['work']);
    const cluster = await clientNode('other');
    const started = performance.now();
    const error = await cluster
      .runner('work')
      .run(1)
      .catch((e: unknown) => e);
    expect(isTroupeError(error) && error.code).toBe('ERR_NO_NODE');
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(cluster.nodes().map((n) => n.nodeId)).toEqual(['client-other']);
  });

  it('a payload over max_payload is ERR_PAYLOAD_TOO_LARGE naming the limit, never a hang', async () => {
    await startNode('a', ['work', 'big']);
    const cluster = await clientNode();
    // A result over the limit: the node sends the typed error instead.
    const tooBig = await cluster
      .runner('big')
      .run(1_100_000)
      .catch((e: unknown) => e);
    expect(isTroupeError(tooBig) && tooBig.code).toBe('ERR_PAYLOAD_TOO_LARGE');
    expect(isTroupeError(tooBig) && tooBig.message).toContain('1048576');
    expect(await cluster.runner('big').run(10)).toBe('xxxxxxxxxx');
    const error = await cluster
      .runner('work')
      .run('x'.repeat(1_100_000))
      .catch((e: unknown) => e);
    expect(isTroupeError(error) && error.code).toBe('ERR_PAYLOAD_TOO_LARGE');
    expect(isTroupeError(error) && error.context.limit).toBe(1_048_576);
  });

  it('a node killed mid-task: its tasks reject ERR_NODE_LOST within the heartbeat TTL; idempotent ones finish on another node', async () => {
    // Only the victim hosts 'slow'; both host 'retryable'.
    const [victim] = await Promise.all([
      startNode('victim', ['slow', 'retryable']),
      startNode('spare', ['retryable']),
    ]);
    const cluster = await clientNode();
    await seesUp(cluster, ['victim', 'spare']);
    const victimStates: string[] = [];
    cluster.onNodeChange(({ nodeId, state }) => {
      if (nodeId === 'victim') victimStates.push(state);
    });
    const placing = progress();
    const taken = (): { placed: string[] } => ({ placed: [] });
    const onPlaced =
      (where: { placed: string[] }) =>
      (n: string): void => {
        where.placed.push(n);
        placing.notify();
      };
    const lost = Array.from({ length: 4 }, () => {
      const where = taken();
      const task = cluster
        .runner('slow')
        .run(30_000, { onPlaced: onPlaced(where) })
        .catch((e: unknown) => e);
      return { task, where };
    });
    // Idempotent tasks until one of them runs on the victim (the broker picks the node).
    const retried: { task: Promise<unknown>; where: { placed: string[] } }[] = [];
    while (!retried.some((r) => r.where.placed[0] === 'victim') && retried.length < 64) {
      const where = taken();
      const task = cluster
        .runner('retryable')
        .run(1_500, { idempotent: true, onPlaced: onPlaced(where) });
      retried.push({ task, where });
      await placing.until(() => where.placed.length > 0, 'an idempotent task placed');
    }
    await placing.until(
      () => lost.every((l) => l.where.placed.length > 0),
      'the slow tasks placed',
    );
    expect(retried.some((r) => r.where.placed[0] === 'victim')).toBe(true);
    const killedAt = performance.now();
    victim.child.kill('SIGKILL');
    const outcomes = await Promise.all(lost.map((l) => l.task));
    const lostWithin = performance.now() - killedAt;
    for (const outcome of outcomes) {
      expect(isTroupeError(outcome) && outcome.code).toBe('ERR_NODE_LOST');
      expect(isTroupeError(outcome) && outcome.context.nodeId).toBe('victim');
    }
    // Within the TTL (3 heartbeats = 750 ms) plus a margin for a loaded machine.
    expect(lostWithin).toBeLessThan(HEARTBEAT_MS * 3 + 2_000);
    // Every idempotent task completes; those the victim had ran again on the spare.
    expect(await Promise.all(retried.map((r) => r.task))).toEqual(retried.map(() => 1_500));
    for (const r of retried.filter((x) => x.where.placed[0] === 'victim')) {
      expect(r.where.placed).toEqual(['victim', 'spare']);
    }
    expect(cluster.nodes().find((n) => n.nodeId === 'victim')).toBeUndefined();
    expect(victimStates).toEqual(['down']);
    process.stdout.write(
      `cluster kill test: ${outcomes.length} tasks ERR_NODE_LOST ${Math.round(lostWithin)} ms after SIGKILL (TTL ${HEARTBEAT_MS * 3} ms); ${retried.filter((x) => x.where.placed[0] === 'victim').length} of ${retried.length} idempotent tasks retried on the spare\n`,
    );
  }, 90_000);

  it('a graceful leave under load: zero failed tasks, the others keep serving, the node is removed', async () => {
    const [leaver] = await Promise.all([
      startNode('leaver', ['work']),
      startNode('stayer', ['work']),
    ]);
    const cluster = await clientNode();
    await seesUp(cluster, ['leaver', 'stayer']);
    const work = cluster.runner('work');
    let stop = false;
    let completed = 0;
    const failures: unknown[] = [];
    const done = progress();
    const leaverStates: string[] = [];
    cluster.onNodeChange(({ nodeId, state }) => {
      if (nodeId === 'leaver') leaverStates.push(state);
      done.notify();
    });
    const loops = Array.from({ length: 8 }, async () => {
      while (!stop) {
        try {
          await work.run(20);
          completed += 1;
          done.notify();
        } catch (error) {
          failures.push(error);
        }
      }
    });
    await done.until(() => completed >= 50, '50 tasks before the leave');
    leaver.child.kill('SIGTERM');
    await leaver.line((l) => l.left === 'leaver');
    const after = completed;
    await done.until(() => completed >= after + 50, '50 tasks after the leave');
    stop = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(await leaver.exited).toBe(0);
    await done.until(() => leaverStates.includes('removed'), 'the leaver removed');
    expect(leaverStates.slice(-1)).toEqual(['removed']);
    expect(
      cluster
        .nodes()
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['client-troupe', 'stayer']);
  }, 90_000);

  it('a rolling deploy: each node in turn leaves and a new one takes its place, under load, with zero failed tasks', async () => {
    let generation = ['a', 'b', 'c'];
    const running = await Promise.all(generation.map((id) => startNode(id, ['work'])));
    const cluster = await clientNode();
    await seesUp(cluster, generation);
    const work = cluster.runner('work');
    let stop = false;
    let completed = 0;
    const failures: unknown[] = [];
    const servedBy = new Map<string, number>();
    const done = progress();
    const loops = Array.from({ length: 8 }, async () => {
      while (!stop) {
        try {
          await work.run(20, { onPlaced: (n) => servedBy.set(n, (servedBy.get(n) ?? 0) + 1) });
          completed += 1;
          done.notify();
        } catch (error) {
          failures.push(error);
        }
      }
    });
    const enough = (n: number): Promise<void> => {
      const target = completed + n;
      return done.until(() => completed >= target, `${n} more tasks`);
    };
    await enough(40);
    for (const [i, old] of running.entries()) {
      const next = `${old.id}2`;
      // The replacement joins first, then the old node leaves (SIGTERM: leave, then shut down).
      running[i] = await startNode(next, ['work']);
      await seesUp(cluster, [next]);
      old.child.kill('SIGTERM');
      await old.line((l) => l.left === old.id);
      expect(await old.exited).toBe(0);
      await enough(40);
      generation = generation.map((id) => (id === old.id ? next : id));
    }
    stop = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    // Every generation served: the old nodes before they left, the new ones after.
    for (const id of ['a', 'b', 'c', 'a2', 'b2', 'c2'])
      expect(servedBy.get(id) ?? 0).toBeGreaterThan(0);
    expect(
      cluster
        .nodes()
        .filter((n) => n.state === 'up')
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['a2', 'b2', 'c2', 'client-troupe']);
    process.stdout.write(
      `rolling deploy: 3 nodes replaced one by one under load from 8 clients, ${completed} tasks completed, 0 failed\n`,
    );
  }, 120_000);
});
