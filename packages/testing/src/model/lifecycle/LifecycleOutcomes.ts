import { isTroupeError } from '@troupe/runtime';

/** What a promise handed out on a path should settle with: `'value'`, or this error code. */
export type Expected = string;

interface Tracked {
  readonly what: string;
  readonly expected: Expected;
  settled: boolean;
  problem: string | null;
}

/** Text of an error and its causes, one per line. */
export function causeChain(error: unknown, depth = 0): string {
  if (depth > 4) return '';
  if (!(error instanceof Error)) return String(error);
  const code = isTroupeError(error) ? `${error.code}: ` : '';
  const own = `${code}${error.message}`;
  const cause = (error as { cause?: unknown }).cause;
  return cause === undefined ? own : `${own}\n    caused by ${causeChain(cause, depth + 1)}`;
}

/**
 * Every promise a lifecycle case hands out (tasks, spawn, stop, restart,
 * shutdown), each with the outcome its path calls for: all must settle, and
 * each the way the path says.
 */
export class LifecycleOutcomes {
  readonly #all: Promise<void>[] = [];
  readonly #tracked: Tracked[] = [];

  track(promise: Promise<unknown>, what: string, expected: Expected): void {
    const tracked: Tracked = { what, expected, settled: false, problem: null };
    this.#tracked.push(tracked);
    this.#all.push(
      promise.then(
        () => {
          tracked.settled = true;
          if (expected !== 'value') {
            tracked.problem = `${what} should have rejected with ${expected} on this path; it resolved`;
          }
        },
        (error: unknown) => {
          tracked.settled = true;
          const code = isTroupeError(error) ? error.code : null;
          if (expected === code) return;
          tracked.problem =
            code === null
              ? `${what} rejected with something that is not a TroupeError: ${causeChain(error)}`
              : `${what} should have ${expected === 'value' ? 'succeeded' : `rejected with ${expected}`} on this path; it rejected with ${causeChain(error)}`;
        },
      ),
    );
  }

  /** The first rejection of `what` that was not expected, if any (a spawn's startup error). */
  problemOf(what: string): string | null {
    return this.#tracked.find((t) => t.what === what && t.problem !== null)?.problem ?? null;
  }

  /** What went wrong: promises unsettled after `timeoutMs`, or settled the wrong way. */
  async problems(timeoutMs: number): Promise<string[]> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.#all),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const problems: string[] = [];
    for (const t of this.#tracked) {
      if (!t.settled) problems.push(`${t.what} never settled (waited ${timeoutMs} ms)`);
      else if (t.problem !== null) problems.push(t.problem);
    }
    return problems;
  }
}
