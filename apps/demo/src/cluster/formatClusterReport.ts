import type { ClusterShutdownReport } from '@troupe/cluster';
import type { ShutdownReport } from '@troupe/runtime';
import { makeColors, type Colors } from '../colors.js';

const PHASES = ['signaling', 'draining', 'closing'] as const;

/**
 * Renders a cluster shutdown's merged report: when the phases ended
 * cluster-wide (in unison), per node its outcome, the last phase it
 * finished, its own report's phase durations, the tasks it drained and its
 * threads; then the lost nodes and the totals.
 */
export function formatClusterReport(
  report: ClusterShutdownReport,
  colors: Colors = makeColors(false),
): string {
  const c = colors;
  const ms = (n: number): string => `${Math.round(n)} ms`;
  const lines: string[] = [];
  lines.push(
    `${c.bold('Cluster shutdown report')} ${c.dim('·')} reason "${report.reason}" ${c.dim('·')} initiator ${report.initiator} ${c.dim('·')} ${ms(report.durationMs)} ${c.dim('·')} forced: ${report.forced ? c.red('yes') : c.green('no')}`,
  );
  lines.push(
    `  ${c.bold('in unison')} ${PHASES.map((p) => {
      const end = report.phases[p];
      return `${p} done at ${end === null ? '–' : `+${ms(end)}`}`;
    }).join(
      c.dim(' → '),
    )} ${c.dim('(the last node to finish each phase, as the initiator heard)')}`,
  );
  const width = Math.max(8, ...report.nodes.map((n) => n.nodeId.length));
  lines.push(
    c.dim(
      `  ${'node'.padEnd(width)}  ${'outcome'.padEnd(7)}  ${'last phase'.padEnd(10)}  ${PHASES.map((p) => p.padStart(9)).join(' ')}  tasks drained · threads`,
    ),
  );
  const ordered = [
    ...report.nodes.filter((n) => n.outcome === 'stopped'),
    ...report.nodes.filter((n) => n.outcome !== 'stopped'),
  ];
  for (const node of ordered) {
    const outcome = node.outcome === 'stopped' ? c.green('stopped') : c.red('lost   ');
    const head = `  ${c.bold(node.nodeId.padEnd(width))}  ${outcome}  ${(node.lastPhase ?? '–').padEnd(10)}`;
    const r = node.report;
    if (r === null) {
      const why =
        node.why === 'down'
          ? 'its heartbeat lapsed'
          : node.why === 'timeout'
            ? 'silent past the timeout'
            : 'it left';
      lines.push(`${head}  ${c.dim(`no report: ${why} before it reported`)}`);
      continue;
    }
    const phases = PHASES.map((p) => {
      const text = ms(r.phases[p].durationMs).padStart(9);
      return r.phases[p].timedOut ? c.red(text) : text;
    }).join(' ');
    const d = r.tasks.drained;
    const drained = `${d.completed + d.failed + d.aborted} of ${r.tasks.inFlightAtSignal} in flight (completed ${d.completed}, failed ${d.failed}, aborted ${d.aborted})`;
    const t = r.threads;
    const threads = `threads started ${t.started} · exited ${t.exited} · leaked ${t.leaked > 0 ? c.red(t.leaked) : 0}`;
    lines.push(`${head}  ${phases}  ${drained} · ${threads}${r.forced ? c.red(' · forced') : ''}`);
  }
  lines.push(
    `  ${c.bold('lost')}  ${report.lost.length === 0 ? c.dim('none') : c.red(report.lost.join(', '))}`,
  );
  const reports = report.nodes.flatMap((n) => (n.report === null ? [] : [n.report]));
  const sum = (f: (r: ShutdownReport) => number): number =>
    reports.reduce((acc, r) => acc + f(r), 0);
  lines.push(
    `  ${c.bold('total')} ${ms(report.durationMs)} ${c.dim('·')} ${report.nodes.filter((n) => n.outcome === 'stopped').length} stopped, ${report.nodes.filter((n) => n.outcome === 'lost').length} lost ${c.dim('·')} tasks drained ${sum((r) => r.tasks.drained.completed)} ${c.dim('·')} threads started ${sum((r) => r.threads.started)} · exited ${sum((r) => r.threads.exited)} · leaked ${sum((r) => r.threads.leaked)}`,
  );
  return lines.join('\n');
}
