// cluster.shutdown() on a real nats-server with node processes: every
// node's coordinator steps through the phases in unison, the broker
// connection closes after the node's resources, one merged report; and a
// node killed in DRAINING holds the others no longer than the heartbeat TTL.
import { isTroupeError, type ShutdownPhase } from '@troupe/runtime';
import { describe, expect, it } from 'vitest';
import { HEARTBEAT_MS, progress, seesUp, useCluster, type Node } from './clusterHarness.js';

const { startNode, clientNode } = useCluster();

/** When `node` entered `phase` (epoch ms, from its own line). */
async function entered(node: Node, phase: ShutdownPhase): Promise<number> {
  const line = await node.line((l) => l.phase === phase);
  return line.at as number;
}

describe('cluster.shutdown()', () => {
  it('steps every node through SIGNALING → DRAINING → CLOSING in unison; connections close last; one merged report', async () => {
    // Only `a` hosts `slow`: its drain is long, the others have nothing to drain.
    const [a, b, c] = await Promise.all([
      startNode('a', ['slow', 'work']),
      startNode('b', ['work']),
      startNode('c', ['work']),
    ]);
    const { troupe, cluster } = await clientNode();
    await seesUp(cluster, ['a', 'b', 'c']);
    const clientPhases = new Map<ShutdownPhase, number>();
    troupe.on('shutdown:phase', ({ phase }) => clientPhases.set(phase, Date.now()));
    // Two 900 ms tasks on `a`, started before the shutdown: they must be drained, not lost.
    const placed: string[] = [];
    const placing = progress();
    const slow = [900, 900].map((ms) =>
      cluster
        .runner('slow')
        .run(ms, {
          onPlaced: (n) => {
            placed.push(n);
            placing.notify();
          },
        })
        .then((value) => ({ value, at: Date.now() })),
    );
    await placing.until(() => placed.length === 2, 'both tasks placed');

    const report = await cluster.shutdown({ reason: 'maintenance' });
    const finished = await Promise.all(slow);
    expect(finished.map((f) => f.value)).toEqual([900, 900]);
    const drainedAt = Math.max(...finished.map((f) => f.at));

    // Every node process ends by itself once its connection is closed.
    expect(await Promise.all([a, b, c].map((n) => n.exited))).toEqual([0, 0, 0]);
    await cluster.closed();

    expect(report.reason).toBe('maintenance');
    expect(report.initiator).toBe('client-troupe');
    expect(report.lost).toEqual([]);
    expect(report.forced).toBe(false);
    expect(report.nodes.map((n) => [n.nodeId, n.outcome, n.lastPhase])).toEqual([
      ['a', 'stopped', 'stopped'],
      ['b', 'stopped', 'stopped'],
      ['c', 'stopped', 'stopped'],
      ['client-troupe', 'stopped', 'stopped'],
    ]);
    const ofA = report.nodes.find((n) => n.nodeId === 'a')?.report;
    expect(ofA?.tasks.drained.completed).toBe(2);
    expect(ofA?.forced).toBe(false);
    expect(ofA?.threads.leaked).toBe(0);
    for (const node of report.nodes) expect(node.report?.nodeId).toBe(node.nodeId);
    const { signaling, draining, closing } = report.phases;
    expect(signaling).not.toBeNull();
    expect(draining).toBeGreaterThanOrEqual(signaling ?? Infinity);
    expect(closing).toBeGreaterThanOrEqual(draining ?? Infinity);

    // In unison: no node drains before every node signalled, none closes before every node drained.
    const nodes = [a, b, c];
    const signalingAt = [
      ...(await Promise.all(nodes.map((n) => entered(n, 'signaling')))),
      clientPhases.get('signaling') ?? Infinity,
    ];
    const drainingAt = [
      ...(await Promise.all(nodes.map((n) => entered(n, 'draining')))),
      clientPhases.get('draining') ?? Infinity,
    ];
    const closingAt = [
      ...(await Promise.all(nodes.map((n) => entered(n, 'closing')))),
      clientPhases.get('closing') ?? Infinity,
    ];
    expect(Math.min(...drainingAt)).toBeGreaterThanOrEqual(Math.max(...signalingAt));
    expect(Math.min(...closingAt)).toBeGreaterThanOrEqual(Math.max(...drainingAt));
    // b and c had nothing to drain, yet closed only once a's tasks were done
    // (alone, they would have closed about 900 ms earlier). The 50 ms is the
    // result's trip from a to this process.
    for (const at of closingAt) expect(at).toBeGreaterThanOrEqual(drainedAt - 50);

    // The broker connection is the last thing each node closes: after its resources, after it stopped.
    for (const node of nodes) {
      const resourceClosed = (await node.line((l) => l.resourceClosed === 'db')).at as number;
      const stopped = await entered(node, 'stopped');
      const closed = (await node.line((l) => l.closed === node.id)).at as number;
      expect(closed).toBeGreaterThanOrEqual(resourceClosed);
      expect(closed).toBeGreaterThanOrEqual(stopped);
      expect(node.lines.filter((l) => 'error' in l)).toEqual([]);
    }
    process.stdout.write(
      `cluster shutdown: 4 nodes in ${report.durationMs} ms; all signalled by ${signaling} ms, drained by ${draining} ms, closed by ${closing} ms (a's 900 ms tasks drained)\n`,
    );
  }, 90_000);

  it('a node killed in DRAINING: the others go on within the heartbeat TTL, not its deadline; the report lists it lost', async () => {
    const [victim, b, c] = await Promise.all([
      startNode('victim', ['slow'], { DRAINING_MS: '30000' }),
      startNode('b', ['work']),
      startNode('c', ['work']),
    ]);
    const { cluster } = await clientNode();
    await seesUp(cluster, ['victim', 'b', 'c']);
    // A task that holds the victim in DRAINING.
    const placed: string[] = [];
    const placing = progress();
    const held = cluster
      .runner('slow')
      .run(60_000, {
        onPlaced: (n) => {
          placed.push(n);
          placing.notify();
        },
      })
      .catch((error: unknown) => error);
    await placing.until(() => placed.length === 1, 'the task placed');

    const shutdown = cluster.shutdown({ reason: 'deploy' });
    await victim.line((l) => l.phase === 'draining');
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    const report = await shutdown;
    const afterKill = Date.now() - killedAt;

    const error = await held;
    expect(isTroupeError(error) && error.code).toBe('ERR_NODE_LOST');
    expect(await Promise.all([b.exited, c.exited])).toEqual([0, 0]);
    expect(report.lost).toEqual(['victim']);
    expect(report.forced).toBe(true);
    const lost = report.nodes.find((n) => n.nodeId === 'victim');
    expect(lost).toMatchObject({
      outcome: 'lost',
      why: 'down',
      lastPhase: 'signaling',
      report: null,
    });
    for (const id of ['b', 'c', 'client-troupe']) {
      const node = report.nodes.find((n) => n.nodeId === id);
      expect(node?.outcome).toBe('stopped');
      // Their draining gate ended when the victim went down, not at their 10 s deadline.
      expect(node?.report?.phases.draining.timedOut).toBe(false);
      expect(node?.report?.forced).toBe(false);
    }
    // Within the TTL (3 heartbeats, 750 ms) plus the closing phase, with a margin for a loaded machine.
    expect(afterKill).toBeLessThan(HEARTBEAT_MS * 3 + 3_000);
    process.stdout.write(
      `cluster shutdown with a node killed in DRAINING: the others stopped ${afterKill} ms after the kill (TTL ${HEARTBEAT_MS * 3} ms, draining deadline 10 000 ms); lost: ${report.lost.join(', ')}\n`,
    );
  }, 90_000);
});
