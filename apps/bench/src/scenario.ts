// What a scenario is and what it reports: rows of Troupe vs a raw baseline.
import { median } from './stats.js';

/** How a row's target is checked: on the Troupe value itself or on the ratio. */
export interface Target {
  readonly on: 'value' | 'ratio';
  readonly op: '<=' | '>=';
  readonly limit: number;
}

/** One line of the results table. */
export interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly unit: string;
  /** Median of the Troupe side (null when the row only measures a baseline). */
  readonly troupe: number | null;
  /** Median of the baseline side (null when there is none). */
  readonly baseline: number | null;
  readonly baselineName: string | null;
  /** troupe / baseline, as medians. */
  readonly ratio: number | null;
  /** Median of the per-round ratios (rounds alternate sides, so each pair ran close in time). */
  readonly pairedRatio: number | null;
  readonly target: Target | null;
  /** Whether the target holds; null without a target. */
  readonly met: boolean | null;
  readonly note?: string;
  /** Every round's value, for the JSON file. */
  readonly samples?: { readonly troupe?: readonly number[]; readonly baseline?: readonly number[] };
}

/** What a scenario receives from main. */
export interface BenchContext {
  /** Measured rounds per scenario (after warm-up). */
  readonly rounds: number;
  /** Progress line on stderr (the table goes to stdout). */
  log(message: string): void;
}

export interface Scenario {
  /** Short name for `--only`. */
  readonly name: string;
  readonly title: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

/** Builds a row, computing the ratio and whether the target is met. */
export function row(fields: {
  scenario: string;
  metric: string;
  unit: string;
  troupe: number | null;
  baseline?: number | null;
  baselineName?: string | null;
  target?: Target | null;
  note?: string;
  samples?: Row['samples'];
}): Row {
  const baseline = fields.baseline ?? null;
  const ratio =
    fields.troupe !== null && baseline !== null && baseline !== 0 ? fields.troupe / baseline : null;
  const t = fields.samples?.troupe;
  const b = fields.samples?.baseline;
  const pairedRatio =
    t !== undefined &&
    b !== undefined &&
    t.length === b.length &&
    t.length > 0 &&
    b.every((v) => v !== 0)
      ? median(t.map((v, i) => v / (b[i] as number)))
      : null;
  const target = fields.target ?? null;
  let met: boolean | null = null;
  if (target !== null) {
    const value = target.on === 'ratio' ? ratio : fields.troupe;
    met =
      value === null ? null : target.op === '<=' ? value <= target.limit : value >= target.limit;
  }
  return {
    scenario: fields.scenario,
    metric: fields.metric,
    unit: fields.unit,
    troupe: fields.troupe,
    baseline,
    baselineName: fields.baselineName ?? null,
    ratio,
    pairedRatio,
    target,
    met,
    ...(fields.note === undefined ? {} : { note: fields.note }),
    ...(fields.samples === undefined ? {} : { samples: fields.samples }),
  };
}
