import { isTroupeError } from '@troupe/runtime';

/** Tracks promises handed out during a path; all must settle, each with a value or a TroupeError. */
export class Outcomes {
  readonly #all: Promise<unknown>[] = [];
  readonly #bad: string[] = [];

  track<T>(promise: Promise<T>, what: string): void {
    this.#all.push(
      promise.then(
        () => undefined,
        (error: unknown) => {
          if (!isTroupeError(error)) {
            this.#bad.push(`${what} rejected with a non-TroupeError: ${String(error)}`);
          }
        },
      ),
    );
  }

  /** Throws if something did not settle within `timeoutMs` or settled the wrong way. */
  async check(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.all(this.#all).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!settled) throw new Error(`a promise handed out did not settle within ${timeoutMs} ms`);
    if (this.#bad.length > 0) throw new Error(this.#bad.join('\n'));
  }
}
