import { describe, expect, it } from 'vitest';
import { row } from '../src/scenario.js';
import { formatNumber, renderMarkdown, renderTable } from '../src/table.js';

describe('rows and tables', () => {
  it('computes the ratio of medians, the paired ratio and whether a target holds', () => {
    const r = row({
      scenario: 's',
      metric: 'm',
      unit: 'tasks/s',
      troupe: 90,
      baseline: 100,
      baselineName: 'raw',
      target: { on: 'ratio', op: '>=', limit: 0.9 },
      samples: { troupe: [90, 80], baseline: [100, 100] },
    });
    expect(r.ratio).toBeCloseTo(0.9);
    expect(r.pairedRatio).toBeCloseTo(0.85);
    expect(r.met).toBe(true);
    const v = row({
      scenario: 's',
      metric: 'v',
      unit: 'ms',
      troupe: 120,
      target: { on: 'value', op: '<=', limit: 100 },
    });
    expect(v.ratio).toBeNull();
    expect(v.met).toBe(false);
    expect(row({ scenario: 's', metric: 'n', unit: 'ms', troupe: 1 }).met).toBeNull();
  });

  it('renders aligned text and Markdown', () => {
    const rows = [
      row({
        scenario: 'a',
        metric: 'x',
        unit: 'ms',
        troupe: 1234.5,
        baseline: 0.5,
        baselineName: 'raw',
      }),
    ];
    const text = renderTable(rows);
    expect(text.split('\n')[0]).toMatch(/^scenario\s+metric/);
    expect(text).toContain('1,235');
    expect(text).toContain('2469.00x');
    expect(renderMarkdown(rows)).toContain('| a | x | ms | 1,235 | 0.50 | raw |');
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(0.0123)).toBe('0.012');
  });
});
