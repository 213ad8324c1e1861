import { existsSync, readdirSync } from 'node:fs';

/** What is alive in this process: ref'd handles by type, and OS threads. */
export interface HandleSnapshot {
  /** `process.getActiveResourcesInfo()` counted by type (ref'd timers, ports, sockets...). */
  readonly handles: Readonly<Record<string, number>>;
  /** OS threads of this process (Linux `/proc/self/task`), or -1 where unknown. */
  readonly osThreads: number;
}

/** The difference between two snapshots. */
export interface LeakReport {
  readonly ok: boolean;
  /** Handle types with more live instances than at the baseline. */
  readonly handles: Readonly<Record<string, number>>;
  /** OS threads more than at the baseline (worker threads that did not exit). */
  readonly threads: number;
  readonly message: string;
}

function countBy(items: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[item] = (out[item] ?? 0) + 1;
  return out;
}

function osThreads(): number {
  return existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : -1;
}

/**
 * Takes a snapshot of live handles and threads; take one before the code
 * under test, then pass it to {@link checkLeaks}.
 */
export function snapshotHandles(): HandleSnapshot {
  return { handles: countBy(process.getActiveResourcesInfo()), osThreads: osThreads() };
}

/**
 * Compares what is alive now with `baseline`, after letting pending
 * callbacks and thread exits settle for up to `settleMs`. A worker thread
 * that did not exit, a ref'd port or timer that would keep the process
 * alive: each shows up here.
 *
 * @example
 * ```ts
 * const baseline = snapshotHandles();
 * const troupe = createTroupe();
 * // ... use it ...
 * await troupe.shutdown();
 * const leaks = await checkLeaks(baseline);
 * expect(leaks.ok, leaks.message).toBe(true);
 * ```
 */
export async function checkLeaks(
  baseline: HandleSnapshot,
  options: { settleMs?: number; ignore?: readonly string[] } = {},
): Promise<LeakReport> {
  const deadline = Date.now() + (options.settleMs ?? 500);
  const ignore = new Set(options.ignore ?? []);
  for (;;) {
    const now = snapshotHandles();
    const handles: Record<string, number> = {};
    for (const [type, count] of Object.entries(now.handles)) {
      if (ignore.has(type)) continue;
      const extra = count - (baseline.handles[type] ?? 0);
      if (extra > 0) handles[type] = extra;
    }
    const threads =
      now.osThreads < 0 || baseline.osThreads < 0
        ? 0
        : Math.max(0, now.osThreads - baseline.osThreads);
    const ok = Object.keys(handles).length === 0 && threads === 0;
    if (ok || Date.now() >= deadline) {
      const parts = Object.entries(handles).map(([type, n]) => `${n} × ${type}`);
      if (threads > 0) parts.push(`${threads} OS thread(s)`);
      return {
        ok,
        handles,
        threads,
        message: ok ? 'no leaks' : `left alive: ${parts.join(', ')}`,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
