/** What an interruptible wait rejects with once its signal aborted (the driver's SIGINT). */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

/**
 * `work`, or a rejection with {@link Interrupted} as soon as `signal`
 * aborts, or with a timeout error naming `what` after `timeoutMs` (if
 * given). Leaves no timer or listener behind.
 */
export function interruptible<T>(
  work: Promise<T>,
  signal: AbortSignal,
  timeout?: { readonly ms: number; readonly what: string },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(new Interrupted());
      return;
    }
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(timer);
    };
    const onAbort = (): void => {
      done();
      reject(new Interrupted());
    };
    const timer =
      timeout === undefined
        ? undefined
        : setTimeout(() => {
            done();
            reject(new Error(`${timeout.what}: not within ${timeout.ms} ms`));
          }, timeout.ms);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
