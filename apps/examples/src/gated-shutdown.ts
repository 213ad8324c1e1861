// apps/examples/src/gated-shutdown.ts
import { createTroupe, type ShutdownGate } from '@troupe/runtime';

/** A gate that opens a phase's exit once `parties` troupes finished that phase. */
function barrier(parties: number): ShutdownGate {
  const waiting = new Map<string, (() => void)[]>();
  return (phase) =>
    new Promise<void>((resolve) => {
      const arrived = [...(waiting.get(phase) ?? []), resolve];
      waiting.set(phase, arrived);
      if (arrived.length === parties) for (const open of arrived) open();
    });
}

// Two troupes (think: two nodes of a cluster) leave each phase together.
const gate = barrier(2);
const nodes = [createTroupe({ nodeId: 'a' }), createTroupe({ nodeId: 'b' })];
for (const node of nodes) {
  node.on('shutdown:phase', ({ phase }) => console.log(`${node.nodeId}: ${phase}`));
  await node.spawnRunner({
    worker: new URL('./quickstart-worker.js', import.meta.url),
    threads: 1,
  });
}
const reports = await Promise.all(nodes.map((node) => node.shutdown({ reason: 'deploy', gate })));
console.log(reports.map((report) => `${report.nodeId} forced: ${report.forced}`).join(', '));
