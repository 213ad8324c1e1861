// Small, dependency-free statistics over samples of one measurement.

/** Throws on an empty sample: a median of nothing is a bug in the caller. */
function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError('no samples');
  for (const v of values) {
    if (!Number.isFinite(v)) throw new RangeError(`not a finite sample: ${v}`);
  }
  return [...values].sort((a, b) => a - b);
}

/** The middle value (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The `q` quantile (0..1), linear interpolation between closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile out of range: ${q}`);
  const s = sorted(values);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = s[lo] as number;
  const b = s[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function mean(values: readonly number[]): number {
  const s = sorted(values);
  return s.reduce((sum, v) => sum + v, 0) / s.length;
}

export function min(values: readonly number[]): number {
  return sorted(values)[0] as number;
}

export function max(values: readonly number[]): number {
  const s = sorted(values);
  return s[s.length - 1] as number;
}

/** Sample standard deviation (n - 1); 0 for a single sample. */
export function stddev(values: readonly number[]): number {
  const s = sorted(values);
  if (s.length < 2) return 0;
  const m = mean(s);
  return Math.sqrt(s.reduce((sum, v) => sum + (v - m) ** 2, 0) / (s.length - 1));
}

/** Spread of a sample relative to its median: (max - min) / median. */
export function relativeSpread(values: readonly number[]): number {
  const m = median(values);
  return m === 0 ? 0 : (max(values) - min(values)) / m;
}

/** `a / b`, or null when `b` is 0 (no meaningful ratio). */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}

/** The figures a report keeps of one sample. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p90: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    median: median(values),
    min: min(values),
    max: max(values),
    mean: mean(values),
    p90: quantile(values, 0.9),
  };
}
