// refusal.ts: the errors run() and spawnRunner() refuse with, built from
// the facts at the moment of the refusal (never a state remembered from
// earlier: bug 16 named a runner "ready" after it stopped).
import {
  RestartLimitError,
  RunnerStoppedError,
  ShutdownInProgressError,
  TaskAbortedError,
  isTroupeError,
  troupeErrorData,
  type ShutdownPhase,
} from '@troupe/core';
import { describe, expect, it } from 'vitest';
import {
  drainDeadlineRejection,
  queuedRejection,
  refusalOf,
  shutdownRefusal,
  type RefusalFacts,
} from '../src/admission/refusal.js';

const facts = (over: Partial<RefusalFacts> = {}): RefusalFacts => ({
  runnerId: 'r1',
  value: 'stopped',
  failure: null,
  phase: 'running',
  nodeId: 'n1',
  reason: null,
  ...over,
});

describe('shutdownRefusal', () => {
  it.each<[ShutdownPhase, string]>([
    ['signaling', 'troupe n1 is shutting down (deploy): no new work is accepted'],
    ['draining', 'troupe n1 is shutting down (deploy): no new work is accepted'],
    ['closing', 'troupe n1 is shutting down (deploy): no new work is accepted'],
    ['stopped', 'troupe n1 has shut down (deploy): no new work is accepted'],
  ])('in phase %s says: %s', (phase, message) => {
    const error = shutdownRefusal('n1', phase, 'deploy');
    expect(error).toBeInstanceOf(ShutdownInProgressError);
    expect(error.message).toBe(message);
    expect(error.context).toEqual({
      component: 'troupe',
      operation: 'admit',
      phase,
      reason: 'deploy',
    });
  });

  it('without a reason leaves it out of the message and the context', () => {
    const error = shutdownRefusal('n1', 'stopped', null);
    expect(error.message).toBe('troupe n1 has shut down: no new work is accepted');
    expect(error.context).not.toHaveProperty('reason');
  });
});

describe('refusalOf', () => {
  it.each<[string, unknown, string]>([
    ['stopped', 'stopped', 'stopped'],
    ['closing', { closing: 'tearingDown' }, 'closing'],
    ['draining', { draining: 'flushing' }, 'draining'],
    ['restarting (admission closed by a stop)', { restarting: 'waiting' }, 'restarting'],
    ['starting', { starting: { admission: 'closed', pool: 'loading' } }, 'starting'],
  ])('names the state the runner is in now: %s', (_label, value, state) => {
    const error = refusalOf(facts({ value }));
    expect(error).toBeInstanceOf(RunnerStoppedError);
    expect(error.message).toBe(`runner "r1" is ${state} and takes no new tasks`);
    expect(error.context).toEqual({ runnerId: 'r1', state, operation: 'admit' });
  });

  it('the same runner refused twice names the state of each moment (bug 16)', () => {
    const during = refusalOf(facts({ value: { draining: 'flushing' } }));
    const after = refusalOf(facts({ value: 'stopped' }));
    expect(during.context.state).toBe('draining');
    expect(after.context.state).toBe('stopped');
  });

  it('a failed runner refuses with its failure (e.g. ERR_RESTART_LIMIT), rebuilt with its class', () => {
    const failure = troupeErrorData('ERR_RESTART_LIMIT', 'runner "r1" exceeded 3 restarts', {
      context: { runnerId: 'r1', maxRestarts: 3 },
    });
    const error = refusalOf(facts({ value: 'failed', failure }));
    expect(error).toBeInstanceOf(RestartLimitError);
    expect(error.message).toBe('runner "r1" exceeded 3 restarts');
    expect(error.context).toMatchObject({ runnerId: 'r1', maxRestarts: 3 });
  });

  it('a failure that is not a TroupeError becomes ERR_RUNNER_STOPPED keeping it as cause', () => {
    const error = refusalOf(
      facts({ value: 'failed', failure: { _tag: 'Error', name: 'Error', message: 'odd' } }),
    );
    expect(isTroupeError(error, 'ERR_RUNNER_STOPPED')).toBe(true);
    expect(error.message).toBe('odd');
    expect((error.cause as Error).message).toBe('odd');
    expect(error.context).toMatchObject({ runnerId: 'r1' });
  });

  it('during a shutdown the shutdown wins over the state and the failure, and names the runner', () => {
    const failure = troupeErrorData('ERR_RESTART_LIMIT', 'gave up');
    const error = refusalOf(
      facts({ value: 'failed', failure, phase: 'draining', reason: 'SIGTERM' }),
    );
    expect(error).toBeInstanceOf(ShutdownInProgressError);
    expect(error.message).toBe('troupe n1 is shutting down (SIGTERM): no new work is accepted');
    expect(error.context).toEqual({
      component: 'troupe',
      operation: 'admit',
      phase: 'draining',
      reason: 'SIGTERM',
      runnerId: 'r1',
    });
  });

  it("after the shutdown (phase 'stopped') says the troupe has shut down", () => {
    const error = refusalOf(facts({ value: 'stopped', phase: 'stopped', reason: 'deploy' }));
    expect(error).toBeInstanceOf(ShutdownInProgressError);
    expect(error.message).toBe('troupe n1 has shut down (deploy): no new work is accepted');
    expect(error.context).toMatchObject({ phase: 'stopped', runnerId: 'r1' });
  });
});

describe('queuedRejection and drainDeadlineRejection', () => {
  it('queued tasks of a runner that closes are aborted, naming the runner', () => {
    const error = queuedRejection('r1', null);
    expect(error).toBeInstanceOf(TaskAbortedError);
    expect(error.message).toBe('runner "r1" closed before a thread took the task');
    expect(error.context).toEqual({ runnerId: 'r1', operation: 'run' });
  });

  it('queued tasks of a runner that failed get its failure', () => {
    const failure = troupeErrorData('ERR_RUNNER_STARTUP', 'module missing', {
      context: { runnerId: 'r1' },
    });
    const error = queuedRejection('r1', failure);
    expect(error.code).toBe('ERR_RUNNER_STARTUP');
    expect(error.message).toBe('module missing');
  });

  it('queued tasks at the drain deadline are aborted, naming the phase', () => {
    const error = drainDeadlineRejection('r1');
    expect(error).toBeInstanceOf(TaskAbortedError);
    expect(error.message).toBe(
      'runner "r1" missed its drain deadline before a thread took the task',
    );
    expect(error.context).toEqual({ runnerId: 'r1', phase: 'draining', operation: 'run' });
  });
});
