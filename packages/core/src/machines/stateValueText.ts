/**
 * A state value as one line: nested states joined with `.`, the regions
 * of a parallel state in parentheses, sorted by name and separated by `|`,
 * so the same value always reads the same (logs, model-based tests).
 *
 * @example
 * ```ts
 * stateValueText({ starting: { admission: 'open', pool: 'loading' } });
 * // 'starting(admission.open|pool.loading)'
 * stateValueText({ draining: 'flushing' }); // 'draining.flushing'
 * ```
 */
export function stateValueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return String(value);
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  if (entries.length === 0) return '';
  if (entries.length === 1) {
    const [key, inner] = entries[0] as [string, unknown];
    const rest = stateValueText(inner);
    if (rest === '') return key;
    return rest.startsWith('(') ? `${key}${rest}` : `${key}.${rest}`;
  }
  return `(${entries.map(([key, inner]) => stateValueText({ [key]: inner })).join('|')})`;
}
