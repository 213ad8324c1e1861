// Renders result rows as a plain-text table (stdout) and as Markdown.
import type { Row, Target } from './scenario.js';

/** A number with about three significant digits, thousands grouped. */
export function formatNumber(value: number | null): string {
  if (value === null) return '—';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return '0';
  return value.toPrecision(2);
}

export function formatTarget(target: Target | null): string {
  if (target === null) return '';
  const limit = target.on === 'ratio' ? `${target.limit}x` : String(target.limit);
  return `${target.on === 'ratio' ? 'ratio' : 'value'} ${target.op} ${limit}`;
}

function metLabel(met: boolean | null): string {
  if (met === null) return '';
  return met ? 'yes' : 'NO';
}

const HEADER = [
  'scenario',
  'metric',
  'unit',
  'troupe',
  'baseline',
  'vs',
  'ratio',
  'paired',
  'target',
  'met',
];

function cells(r: Row): string[] {
  return [
    r.scenario,
    r.metric,
    r.unit,
    formatNumber(r.troupe),
    formatNumber(r.baseline),
    r.baselineName ?? '',
    r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`,
    r.pairedRatio === null ? '' : `${r.pairedRatio.toFixed(2)}x`,
    formatTarget(r.target),
    metLabel(r.met),
  ];
}

/** Numeric columns are right-aligned. `ratio` is of medians, `paired` the median of per-round ratios. */
const RIGHT = new Set([3, 4, 6, 7]);

export function renderTable(rows: readonly Row[]): string {
  const body = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]): string =>
    c
      .map((cell, i) =>
        RIGHT.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const notes = rows
    .filter((r) => r.note !== undefined)
    .map((r) => `  * ${r.scenario} / ${r.metric}: ${r.note ?? ''}`);
  return [line(HEADER), rule, ...body.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join(
    '\n',
  );
}

export function renderMarkdown(rows: readonly Row[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const head = `| ${HEADER.join(' | ')} |`;
  const sep = `| ${HEADER.map((_, i) => (RIGHT.has(i) ? '---:' : '---')).join(' | ')} |`;
  return [head, sep, ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`)].join('\n');
}
