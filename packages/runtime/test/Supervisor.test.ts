// Supervisor: escalations and health verdicts go in, alerts and recovery
// calls come out as the supervisor statechart decides; standDown ends
// recovery. The effects are recorded; the records come from a real
// ErrorHandler, as in a troupe.
import {
  QueueFullError,
  RestartLimitError,
  UnhealthyError,
  type EscalationPolicy,
  type HealthRecovery,
} from '@troupe/core';
import { describe, expect, it, vi } from 'vitest';
import { ErrorHandler, type ErrorRecord } from '../src/errors/ErrorHandler.js';
import { Supervisor, type Alert, type SupervisorEffects } from '../src/supervision/Supervisor.js';
import { recordingLogger } from './support.js';

interface Recorded {
  supervisor: Supervisor;
  alerts: Alert[];
  shutdowns: string[];
  restarts: [string, unknown, ErrorRecord | undefined][];
  stops: string[];
  onError: ReturnType<typeof vi.fn>;
}

function supervisor(
  escalation: EscalationPolicy = 'degrade',
  recovery: HealthRecovery = 'restart',
  override: Partial<SupervisorEffects> = {},
): Recorded {
  const alerts: Alert[] = [];
  const shutdowns: string[] = [];
  const restarts: [string, unknown, ErrorRecord | undefined][] = [];
  const stops: string[] = [];
  const onError = vi.fn();
  const s = new Supervisor({
    escalation,
    recovery,
    onError,
    effects: {
      alert: (alert) => alerts.push(alert),
      beginShutdown: (reason) => shutdowns.push(reason),
      restartRunner: (runnerId, error, record) => restarts.push([runnerId, error, record]),
      stopRunner: (runnerId) => stops.push(runnerId),
      ...override,
    },
  });
  return { supervisor: s, alerts, shutdowns, restarts, stops, onError };
}

const errors = new ErrorHandler({
  logger: recordingLogger(),
  ringSize: 10,
  windowMs: 60_000,
  emit: () => {},
  escalate: () => {},
  phase: () => 'running',
});

const restartLimit = (): ErrorRecord =>
  errors.report(new RestartLimitError('runner "r1" exceeded 3 restarts'), {
    component: 'runner',
    operation: 'supervise',
    runnerId: 'r1',
  });

const unknown = (): ErrorRecord =>
  errors.report(new Error('something odd'), { component: 'resources', operation: 'open' });

function unhealthy(runnerId = 'r1'): [UnhealthyError, ErrorRecord] {
  const error = new UnhealthyError(`runner "${runnerId}" was unhealthy for 3 probes`, {
    context: { runnerId },
  });
  return [error, errors.report(error, { component: 'health', operation: 'probe', runnerId })];
}

describe('Supervisor escalations', () => {
  it('a CRITICAL escalation under escalation: shutdown alerts and begins the shutdown, once', () => {
    const s = supervisor('shutdown');
    const record = restartLimit();
    expect(record).toMatchObject({ severity: 'CRITICAL', action: 'ESCALATE' });
    s.supervisor.escalate(record);
    expect(s.alerts).toEqual([
      {
        kind: 'escalation',
        severity: 'CRITICAL',
        code: 'ERR_RESTART_LIMIT',
        message: 'runner "r1" exceeded 3 restarts',
        runnerId: 'r1',
        error: expect.objectContaining({ code: 'ERR_RESTART_LIMIT' }) as unknown,
        decision: 'shutdown',
      },
    ]);
    expect(s.shutdowns).toEqual(['escalation: ERR_RESTART_LIMIT (r1)']);
    expect(s.supervisor.view.getSnapshot().value).toBe('standingDown');
    // the shutdown began: later escalations only inform
    s.supervisor.escalate(restartLimit());
    expect(s.shutdowns).toHaveLength(1);
    expect(s.alerts.map((a) => a.decision)).toEqual(['shutdown', 'none']);
  });

  it('a CRITICAL escalation under escalation: degrade alerts and keeps serving', () => {
    const s = supervisor('degrade');
    s.supervisor.escalate(restartLimit());
    expect(s.alerts.map((a) => [a.kind, a.decision])).toEqual([['escalation', 'degrade']]);
    expect(s.shutdowns).toEqual([]);
    expect(s.supervisor.view.getSnapshot().value).toBe('supervising');
  });

  it('a non-critical escalation only informs, under either policy; no runner id, none in the alert', () => {
    for (const policy of ['degrade', 'shutdown'] as const) {
      const s = supervisor(policy);
      const record = unknown();
      expect(record).toMatchObject({ code: 'ERR_UNKNOWN', severity: 'MEDIUM', action: 'ESCALATE' });
      s.supervisor.escalate(record);
      expect(s.alerts).toHaveLength(1);
      expect(s.alerts[0]).toMatchObject({
        kind: 'escalation',
        decision: 'none',
        code: 'ERR_UNKNOWN',
      });
      expect(s.alerts[0]).not.toHaveProperty('runnerId');
      expect(s.shutdowns).toEqual([]);
    }
  });
});

describe('Supervisor health verdicts', () => {
  it("recovery 'restart': alerts and restarts the runner, handing over the error record", () => {
    const s = supervisor('degrade', 'restart');
    const [error, record] = unhealthy();
    s.supervisor.unhealthy('r1', error, record);
    expect(s.alerts).toEqual([
      {
        kind: 'health',
        severity: record.severity,
        code: 'ERR_UNHEALTHY',
        message: error.message,
        runnerId: 'r1',
        error: expect.objectContaining({ code: 'ERR_UNHEALTHY' }) as unknown,
        decision: 'restart',
      },
    ]);
    expect(s.restarts).toHaveLength(1);
    expect(s.restarts[0]?.[0]).toBe('r1');
    expect(s.restarts[0]?.[1]).toMatchObject({ code: 'ERR_UNHEALTHY', message: error.message });
    expect(s.restarts[0]?.[2]).toBe(record);
    expect(s.stops).toEqual([]);
  });

  it("recovery 'stop': alerts and stops the runner", () => {
    const s = supervisor('degrade', 'stop');
    const [error, record] = unhealthy('r2');
    s.supervisor.unhealthy('r2', error, record);
    expect(s.alerts.map((a) => [a.kind, a.decision, a.runnerId])).toEqual([
      ['health', 'stop', 'r2'],
    ]);
    expect(s.stops).toEqual(['r2']);
    expect(s.restarts).toEqual([]);
  });

  it("recovery 'none': alerts only", () => {
    const s = supervisor('degrade', 'none');
    const [error, record] = unhealthy();
    s.supervisor.unhealthy('r1', error, record);
    expect(s.alerts.map((a) => a.decision)).toEqual(['none']);
    expect(s.restarts).toEqual([]);
    expect(s.stops).toEqual([]);
  });
});

describe('Supervisor standDown', () => {
  it('after standDown nothing is recovered and escalations never shut down again', () => {
    const s = supervisor('shutdown', 'restart');
    s.supervisor.standDown();
    expect(s.supervisor.view.getSnapshot().value).toBe('standingDown');
    const [error, record] = unhealthy();
    s.supervisor.unhealthy('r1', error, record);
    expect(s.restarts).toEqual([]);
    s.supervisor.escalate(restartLimit());
    expect(s.shutdowns).toEqual([]);
    expect(s.alerts.map((a) => [a.kind, a.decision])).toEqual([['escalation', 'none']]);
    // standing down twice is harmless
    s.supervisor.standDown();
    expect(s.onError).not.toHaveBeenCalled();
  });

  it('once stopped, it ignores everything without throwing', () => {
    const s = supervisor('shutdown');
    s.supervisor.stop();
    expect(() => {
      s.supervisor.escalate(restartLimit());
      s.supervisor.standDown();
    }).not.toThrow();
    expect(s.alerts).toEqual([]);
    expect(s.shutdowns).toEqual([]);
  });
});

describe('Supervisor failures', () => {
  it('an effect that throws is reported through onError, never thrown at the caller', () => {
    const boom = new Error('alert sink broke');
    const s = supervisor('degrade', 'restart', {
      alert: () => {
        throw boom;
      },
    });
    expect(() => {
      s.supervisor.escalate(
        errors.report(new QueueFullError('full'), { component: 'runner', operation: 'run' }),
      );
    }).not.toThrow();
    expect(() => {
      s.supervisor.escalate(unknown());
    }).not.toThrow();
    // Each failure is reported, and the supervisor keeps supervising.
    expect(s.onError).toHaveBeenCalledTimes(2);
    expect(s.onError).toHaveBeenCalledWith(boom);
    expect(s.supervisor.view.getSnapshot().status).toBe('active');
  });

  it('its view is read-only and named supervisor', () => {
    const view = supervisor().supervisor.view;
    expect(view.id).toBe('supervisor');
    for (const method of ['send', 'stop', 'start', 'system']) {
      expect((view as unknown as Record<string, unknown>)[method], method).toBeUndefined();
    }
    expect(view.getSnapshot().context).toEqual({ escalation: 'degrade', recovery: 'restart' });
  });
});
