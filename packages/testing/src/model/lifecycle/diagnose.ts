import type { RealTransition } from '../ModelPathError.js';
import type { Timing } from './UserRunnerDriver.js';

interface ExitFacts {
  readonly exitCode?: number;
  readonly loaded?: boolean;
  readonly terminated?: boolean;
  readonly error?: { readonly message?: string };
}

/**
 * What a real transition that left the model says about the user's
 * worker, in words: the likely bug, with the deadline that exposed it.
 */
export function diagnose(actual: RealTransition, timing: Timing): string | null {
  const type = actual.event.type;
  if (type === 'xstate.after.abortGrace.runner.draining.aborting') {
    return `the task did not honour ctx.signal: it still ran abortGraceMs (${timing.abortGraceMs} ms) after its abort, so the runner terminated its thread`;
  }
  if (type.startsWith('xstate.after.startupTimeout')) {
    const where = actual.from.startsWith('running')
      ? 'a replacement thread (after a crash)'
      : 'a thread of a starting pool';
    return `the module load or setup of ${where} did not finish within startupTimeoutMs (${timing.startupTimeoutMs} ms): does setup wait for something only the first thread gets?`;
  }
  if (
    type.startsWith('xstate.after.closeTimeout') ||
    type.includes('abortGrace.runner.draining.terminating')
  ) {
    return `teardown did not finish within closeTimeoutMs (${timing.closeTimeoutMs} ms)`;
  }
  if (type === 'troupe.runner.threadExit') {
    const exit = actual.event as unknown as ExitFacts;
    if (exit.terminated === true) return 'the runtime terminated a thread';
    const why = exit.error?.message ?? '';
    if (exit.loaded === false) {
      return `a thread exited while loading the module (exit code ${exit.exitCode ?? '?'})${why === '' ? '' : `: ${why}`}`;
    }
    return `a thread exited on its own (exit code ${exit.exitCode ?? '?'}): the worker called process.exit() or threw outside a task${why === '' ? '' : ` (${why})`}`;
  }
  if (type === 'troupe.runner.threadFailed') {
    const error = (actual.event as unknown as ExitFacts).error?.message;
    return `a thread failed to load the module or run its setup${error === undefined ? '' : `: ${error}`}`;
  }
  if (type.startsWith('xstate.error.actor') && type.includes('starting.pool.loading')) {
    return 'the pool could not start: is the worker path right, and does the module load?';
  }
  if (actual.to === 'failed' || actual.to.startsWith('closing')) {
    return 'the runner gave up (see the root cause)';
  }
  return null;
}
