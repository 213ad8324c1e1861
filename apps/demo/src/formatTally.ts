import { makeColors, type Colors } from './colors.js';
import type { RequestTally } from './RequestTally.js';

/**
 * The demo's own bookkeeping, per runner and in total, ending with the
 * check line `lost: N` (requests submitted but never settled; must be 0).
 */
export function formatTally(tally: RequestTally, colors: Colors = makeColors(false)): string {
  const c = colors;
  const lines: string[] = [c.bold('Requests (the demo’s own bookkeeping)')];
  const row = (
    id: string,
    r: {
      submitted: number;
      completed: number;
      failed: number;
      aborted: number;
      rejected: number;
      tokens: number;
    },
  ): string =>
    `  ${id.padEnd(10)} submitted ${String(r.submitted).padStart(4)} · completed ${String(r.completed).padStart(4)} · failed ${String(r.failed).padStart(3)} · aborted ${String(r.aborted).padStart(3)} · rejected ${String(r.rejected).padStart(3)} · tokens ${String(r.tokens).padStart(6)}`;
  for (const r of tally.runners) {
    lines.push(row(r.runnerId, r));
    if (r.byCode.size > 0) {
      const codes = [...r.byCode].map(([code, n]) => `${code} ×${n}`).join(', ');
      lines.push(`  ${' '.repeat(10)} ${c.dim(codes)}`);
    }
  }
  const t = tally.totals();
  lines.push(c.bold(row('total', t)));
  const check = `submitted ${t.submitted} = completed ${t.completed} + failed ${t.failed} + aborted ${t.aborted} + rejected ${t.rejected}${t.lost === 0 ? '' : ` + ${t.lost} never settled`}`;
  lines.push(
    `${t.lost === 0 ? c.green('lost: 0') : c.red(`lost: ${t.lost}`)} ${c.dim(`(${check})`)}`,
  );
  return lines.join('\n');
}
