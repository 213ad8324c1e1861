// shutdownReport: the report's counts add up by construction (what drained
// is what settled since SIGNALING), and `forced` says whether any deadline
// was missed: a phase that timed out, a forced resource, a forced runner, a
// thread that never exited.
import { describe, expect, it } from 'vitest';
import type { ResourceCloseReport } from '../src/resources/ResourceManager.js';
import type { ShutdownOutcome } from '../src/shutdown/ShutdownCoordinator.js';
import { shutdownReport, type ShutdownReportInput } from '../src/shutdown/shutdownReport.js';

const phases = {
  signaling: { durationMs: 1, timedOut: false },
  draining: { durationMs: 2, timedOut: false },
  closing: { durationMs: 3, timedOut: false },
};

function outcome(over: Partial<ShutdownOutcome> = {}): ShutdownOutcome {
  return {
    reason: 'deploy',
    timedOut: { signaling: false, draining: false, closing: false },
    forceRequested: false,
    readinessDelayMs: 0,
    errors: [],
    startedAt: 1_700_000_000_000,
    durationMs: 6,
    phases,
    ...over,
  };
}

const cleanClose: ResourceCloseReport = {
  closed: 2,
  failed: 0,
  forced: 0,
  resources: [
    { id: 'r1', kind: 'runner', outcome: 'closed', durationMs: 1, error: null },
    { id: 'db', kind: 'user', outcome: 'closed', durationMs: 1, error: null },
  ],
};

function input(over: Partial<ShutdownReportInput> = {}): ShutdownReportInput {
  return {
    nodeId: 'n1',
    outcome: outcome(),
    close: cleanClose,
    runners: [{ id: 'r1', state: 'stopped', restarts: 1, forced: false }],
    tasks: { submitted: 20, completed: 12, failed: 3, aborted: 2, rejected: 3 },
    atSignal: { submitted: 15, completed: 8, failed: 2, aborted: 0, rejected: 1, unsettled: 4 },
    threads: { started: 3, exited: 3 },
    ...over,
  };
}

describe('shutdownReport', () => {
  it('carries the outcome, the close report and the runners as they are', () => {
    const report = shutdownReport(input());
    expect(report).toMatchObject({
      nodeId: 'n1',
      reason: 'deploy',
      startedAt: 1_700_000_000_000,
      durationMs: 6,
      forced: false,
      phases,
      resources: { closed: 2, failed: 0, forced: 0, details: cleanClose.resources },
      runners: [{ id: 'r1', state: 'stopped', restarts: 1, forced: false }],
      threads: { started: 3, exited: 3, leaked: 0 },
      errors: [],
    });
  });

  it('the task counts add up: drained is what settled since SIGNALING', () => {
    const { tasks } = shutdownReport(input());
    expect(tasks).toEqual({
      submitted: 20,
      completed: 12,
      failed: 3,
      aborted: 2,
      rejected: 3,
      inFlightAtSignal: 4,
      drained: { completed: 4, failed: 1, aborted: 2 },
    });
  });

  it('a shutdown that never signaled (no atSignal) drained nothing and had nothing in flight', () => {
    const { tasks } = shutdownReport(input({ atSignal: null }));
    expect(tasks.inFlightAtSignal).toBe(0);
    expect(tasks.drained).toEqual({ completed: 0, failed: 0, aborted: 0 });
  });

  it('no close report: zero resources', () => {
    const report = shutdownReport(input({ close: null }));
    expect(report.resources).toEqual({ closed: 0, failed: 0, forced: 0, details: [] });
    expect(report.forced).toBe(false);
  });

  it.each<[string, Partial<ShutdownReportInput>]>([
    [
      'draining timed out',
      { outcome: outcome({ timedOut: { signaling: false, draining: true, closing: false } }) },
    ],
    [
      'closing timed out',
      { outcome: outcome({ timedOut: { signaling: false, draining: false, closing: true } }) },
    ],
    ['a resource was forced', { close: { ...cleanClose, forced: 1 } }],
    [
      'a runner was forced',
      { runners: [{ id: 'r1', state: 'stopped', restarts: 0, forced: true }] },
    ],
    ['a thread leaked (started, never exited)', { threads: { started: 3, exited: 2 } }],
  ])('forced when %s', (_label, over) => {
    expect(shutdownReport(input(over)).forced).toBe(true);
  });

  it('not forced by a signaling timeout alone (it goes on) nor by a failed resource', () => {
    const report = shutdownReport(
      input({
        outcome: outcome({ timedOut: { signaling: true, draining: false, closing: false } }),
        close: { ...cleanClose, failed: 1 },
      }),
    );
    expect(report.forced).toBe(false);
    expect(report.resources.failed).toBe(1);
  });

  it('counts the threads that leaked', () => {
    const report = shutdownReport(input({ threads: { started: 7, exited: 4 } }));
    expect(report.threads).toEqual({ started: 7, exited: 4, leaked: 3 });
  });

  it('passes the errors of the outcome through', () => {
    const errors = [{ _tag: 'Error' as const, name: 'Error', message: 'drain failed' }];
    expect(shutdownReport(input({ outcome: outcome({ errors }) })).errors).toEqual(errors);
  });
});
