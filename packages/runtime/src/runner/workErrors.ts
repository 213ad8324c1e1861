/** How a rejection from piscina came about. */
export type WorkErrorKind =
  /** The thread exited, threw outside the handler, or ran out of memory. */
  | 'crash'
  /** `destroy()` rejected it: the pool is being released or closed. */
  | 'terminated'
  /** Our abort hook fired (the caller already got its TroupeError). */
  | 'aborted'
  /** The payload or the result could not be cloned. */
  | 'clone'
  /** The handler itself threw (plain modules only). */
  | 'handler';

const EXIT_MESSAGE = /^worker exited with code: -?\d+$/;

/**
 * Classifies an error piscina 5.3.2 rejected a task with. piscina gives no
 * codes: a crash is an Error "worker exited with code: N", the error the
 * Worker emitted ('error' event; `crashErrors` holds those objects), or
 * `ERR_WORKER_OUT_OF_MEMORY`; destroy() rejects with "Terminating worker
 * thread"; its abort path with an `AbortError`.
 */
/**
 * True for a crash whose error did not survive serialization (a DOMException
 * thrown in the worker arrives as a plain `{}`): the thread's crash note
 * tells what it was.
 */
export function isOpaqueCrash(error: unknown, crashErrors: WeakSet<object>): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    !(error instanceof Error) &&
    crashErrors.has(error)
  );
}

export function classifyWorkError(error: unknown, crashErrors: WeakSet<object>): WorkErrorKind {
  if (typeof error !== 'object' || error === null) return 'handler';
  if (crashErrors.has(error)) {
    return (error as { name?: unknown }).name === 'DataCloneError' ? 'clone' : 'crash';
  }
  const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
  if (name === 'DataCloneError') return 'clone';
  if (code === 'ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST') return 'clone';
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') return 'crash';
  if (typeof message === 'string') {
    if (EXIT_MESSAGE.test(message)) return 'crash';
    if (message === 'Terminating worker thread') return 'terminated';
  }
  if (name === 'AbortError' && message === 'The task has been aborted') return 'aborted';
  return 'handler';
}
