/**
 * Resolves once `predicate()` holds, checking every few milliseconds;
 * rejects after `timeoutMs`. A bounded wait for a condition (never a sleep
 * of a guessed length).
 */
export async function until(
  predicate: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
