/** When something finished closing (`performance.now()`), as the demo observed it. */
export interface ClosedAt {
  readonly id: string;
  readonly at: number;
}

/**
 * The order things finished closing, with offsets from `since` (the start
 * of shutdown): `llm-0 +812 ms → … → kv-cache +905 ms → metrics-sink +936 ms`.
 */
export function formatCloseOrder(closed: readonly ClosedAt[], since: number): string {
  return [...closed]
    .sort((a, b) => a.at - b.at)
    .map((x) => `${x.id} +${Math.round(x.at - since)} ms`)
    .join(' → ');
}
