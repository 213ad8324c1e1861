// The broker dies (SIGKILL) and comes back on the same port and store,
// under load: every client reconnects, every task either completes or
// rejects with a typed error (none hangs), and the cluster serves again.
import { isTroupeError } from '@troupe/runtime';
import { describe, expect, it } from 'vitest';
import { progress, seesUp, useCluster } from './clusterHarness.js';

const { startNode, clientNode, nats } = useCluster();

const TYPED = new Set(['ERR_NODE_LOST', 'ERR_NO_NODE', 'ERR_CLUSTER_UNAVAILABLE']);

describe('a broker restart', () => {
  it.each([
    ['at once', 0],
    ['after 2 s, longer than the heartbeat TTL', 2_000],
  ])(
    'back %s, under load: clients reconnect, every task completes or rejects typed, idempotent ones complete, the cluster serves again',
    async (_, outageMs) => {
      await Promise.all([startNode('a', ['work']), startNode('b', ['work'])]);
      const { cluster } = await clientNode();
      await seesUp(cluster, ['a', 'b']);
      const work = cluster.runner('work');
      let stop = false;
      let completed = 0;
      let started = 0;
      let settled = 0;
      const failures: unknown[] = [];
      const idempotentFailures: unknown[] = [];
      const done = progress();
      // Tasks of 200 ms: several are in flight on the nodes when the broker dies.
      // Half the clients mark theirs idempotent: those must all complete.
      const loops = Array.from({ length: 8 }, async (_, i) => {
        const idempotent = i % 2 === 0;
        while (!stop) {
          started += 1;
          try {
            expect(await work.run(200, { idempotent })).toBe(200);
            completed += 1;
            done.notify();
          } catch (error) {
            (idempotent ? idempotentFailures : failures).push(error);
          } finally {
            settled += 1;
          }
        }
      });
      await done.until(() => completed >= 50, '50 tasks before the restart');
      const before = completed;
      const restartedAt = Date.now();
      await nats().kill();
      // The outage itself is what is under test: the broker stays away this long.
      if (outageMs > 0) await new Promise((resolve) => setTimeout(resolve, outageMs));
      await nats().start();
      const downMs = Date.now() - restartedAt;
      // Service resumes: 50 more tasks complete after the broker is back.
      await done.until(() => completed >= before + 50, '50 tasks after the restart');
      stop = true;
      // Nothing hangs: every loop's last task settles.
      await Promise.all(loops);
      expect(settled).toBe(started);
      expect(idempotentFailures).toEqual([]);
      for (const failure of failures) {
        expect(isTroupeError(failure) && TYPED.has(failure.code)).toBe(true);
      }
      await seesUp(cluster, ['a', 'b']);
      process.stdout.write(
        `broker restart (down ${downMs} ms): ${completed} tasks completed, ${failures.length} rejected typed (${[
          ...new Set(failures.map((f) => (isTroupeError(f) ? f.code : String(f)))),
        ].join(
          ', ',
        )}), 0 hung${failures.length > 0 ? `; first: ${(failures[0] as Error).message}` : ''}\n`,
      );
    },
    120_000,
  );

  it("a task's events across a broker restart: none lost, all in order, then the result", async () => {
    await startNode('s', ['stream']);
    const { cluster } = await clientNode();
    await seesUp(cluster, ['s']);
    const seen: number[] = [];
    const events = progress();
    const task = cluster.runner('stream').run(
      { prompt: 'outage', chunks: 80, delayMs: 25 },
      {
        handler: 'generate',
        onEvent: (event) => {
          seen.push((event as { index: number }).index);
          events.notify();
        },
      },
    );
    await events.until(() => seen.length >= 20, '20 events before the restart');
    const before = seen.length;
    await nats().restart();
    const result = (await task) as { chunks: number };
    expect(result.chunks).toBe(80);
    expect(seen).toEqual(Array.from({ length: 80 }, (_, i) => i));
    process.stdout.write(
      `events across a broker restart: 80 of 80 in order (${before} before the restart), then the result\n`,
    );
  }, 60_000);
});
