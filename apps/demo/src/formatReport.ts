import type { ResourceCloseRecord, ShutdownReport } from '@troupe/runtime';
import { makeColors, type Colors } from './colors.js';

const PHASES = ['signaling', 'draining', 'closing'] as const;

/**
 * Renders a {@link ShutdownReport} as a readable multi-line summary: phase
 * durations and deadlines, task counts and what became of the tasks in
 * flight at SIGNALING, resources (user and runner resources one by one,
 * threads and channels counted), runners, threads, errors.
 */
export function formatReport(report: ShutdownReport, colors: Colors = makeColors(false)): string {
  const c = colors;
  const ms = (n: number): string => `${Math.round(n)} ms`;
  const yesNo = (flag: boolean): string => (flag ? c.red('yes') : c.green('no'));
  const label = (text: string): string => `  ${c.bold(text.padEnd(10))}`;
  const heading = (text: string): string => `  ${c.bold(text)}`;
  const lines: string[] = [];

  lines.push(
    `${c.bold('Shutdown report')} ${c.dim('·')} node ${report.nodeId} ${c.dim('·')} reason "${report.reason}" ${c.dim('·')} ${ms(report.durationMs)} ${c.dim('·')} forced: ${yesNo(report.forced)}`,
  );

  lines.push(heading('phases'));
  for (const name of PHASES) {
    const p = report.phases[name];
    const deadline = p.timedOut ? c.red('missed its deadline (forced path)') : 'within deadline';
    lines.push(
      `    ${name.padEnd(10)} ${ms(p.durationMs).padStart(8)}  ${c.dim('timedOut:')} ${p.timedOut}  ${c.dim(deadline)}`,
    );
  }

  const t = report.tasks;
  lines.push(
    `${label('tasks')}submitted ${t.submitted} · completed ${t.completed} · failed ${t.failed} · aborted ${t.aborted} · rejected ${t.rejected}`,
  );
  lines.push(
    `${' '.repeat(12)}in flight at SIGNALING ${t.inFlightAtSignal} → drained: completed ${t.drained.completed} · failed ${t.drained.failed} · aborted ${t.drained.aborted}`,
  );

  const r = report.resources;
  lines.push(
    `${label('resources')}closed ${r.closed} · failed ${r.failed > 0 ? c.red(r.failed) : 0} · forced ${r.forced > 0 ? c.red(r.forced) : 0}`,
  );
  const named = r.details.filter((d) => d.kind === 'user' || d.kind === 'runner');
  for (const d of named) {
    lines.push(
      `    ${d.id.padEnd(14)} ${d.kind.padEnd(7)} ${outcome(d, c)}  ${ms(d.durationMs).padStart(8)}${errorOf(d)}`,
    );
  }
  for (const kind of ['thread', 'channel'] as const) {
    const of = r.details.filter((d) => d.kind === kind);
    if (of.length === 0) continue;
    const counts = new Map<string, number>();
    for (const d of of) counts.set(d.outcome, (counts.get(d.outcome) ?? 0) + 1);
    const summary = [...counts].map(([o, n]) => `${o} ${n}`).join(' · ');
    lines.push(`    ${c.dim(`${of.length} ${kind}s: ${summary}`)}`);
  }

  lines.push(
    `${label('runners')}${report.runners
      .map(
        (x) =>
          `${x.id} ${x.state === 'failed' ? c.red(x.state) : x.state} (${x.restarts} restarts)`,
      )
      .join(' · ')}`,
  );

  const th = report.threads;
  lines.push(
    `${label('threads')}started ${th.started} · exited ${th.exited} · leaked ${th.leaked > 0 ? c.red(th.leaked) : c.green('0')}`,
  );

  if (report.errors.length === 0) {
    lines.push(`${label('errors')}${c.dim('none during shutdown')}`);
  } else {
    lines.push(`${label('errors')}${report.errors.length} during shutdown`);
    for (const e of report.errors.slice(0, 5)) {
      const code = typeof e.code === 'string' ? `${e.code}: ` : '';
      lines.push(`    ${c.red(code)}${e.message}`);
    }
  }
  return lines.join('\n');
}

function outcome(d: ResourceCloseRecord, c: Colors): string {
  const text = d.outcome.padEnd(6);
  return d.outcome === 'closed' ? c.green(text) : c.red(text);
}

function errorOf(d: ResourceCloseRecord): string {
  return d.error === null ? '' : `  (${d.error.message})`;
}
