/** When something finished closing (`performance.now()`), as the demo observed it. */
export interface ClosedAt {
  readonly id: string;
  readonly at: number;
}

/**
 * The order things finished closing, with offsets from `since` (the start
 * of shutdown): `llm-0 +812 ms → … → kv-cache +905 ms → metrics-sink +936 ms`.
 * What ended before `since` (a runner that failed earlier) is named apart.
 */
export function formatCloseOrder(closed: readonly ClosedAt[], since: number): string {
  const sorted = [...closed].sort((a, b) => a.at - b.at);
  const during = sorted
    .filter((x) => x.at >= since)
    .map((x) => `${x.id} +${Math.round(x.at - since)} ms`)
    .join(' → ');
  const before = sorted.filter((x) => x.at < since).map((x) => x.id);
  if (before.length === 0) return during;
  return `${during} (already ended before shutdown: ${before.join(', ')})`;
}
