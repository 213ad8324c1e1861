/*
 * supervisorMachine: 2 states, 8 transitions. Every named action is
 * provided by a recorder that keeps its name, params and the event it ran
 * for, in order. Test ids refer to the `it` titles below.
 *
 * | state        | reached in           |
 * | ------------ | -------------------- |
 * | supervising  | V01 (initial; all)   |
 * | standingDown | V01, V06             |
 *
 * | source       | transition                                                      | test(s)  |
 * | ------------ | --------------------------------------------------------------- | -------- |
 * | supervising  | escalate [shutsDown] -> standingDown (alert, beginShutdown)     | V01      |
 * | supervising  | escalate [critical] (alert degrade)                             | V02      |
 * | supervising  | escalate (alert none)                                           | V03      |
 * | supervising  | unhealthy [recoveryIs restart] (alert restart, restartRunner)   | V04      |
 * | supervising  | unhealthy [recoveryIs stop] (alert stop, stopRunner)            | V04      |
 * | supervising  | unhealthy (alert none)                                          | V04      |
 * | supervising  | standDown -> standingDown                                       | V05, V06 |
 * | standingDown | escalate (alert none)                                           | V01, V06 |
 *
 * Ignored: unhealthy and standDown in standingDown (V06).
 *
 * V99 checks this table mechanically (run the whole file).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import {
  ErrorCodes,
  supervisorMachine,
  SupervisorEventTypes,
  troupeErrorData,
  type AlertParams,
  type EscalationPolicy,
  type HealthRecovery,
  type Severity,
  type SupervisorEvent,
} from '../src/index.js';
import { Coverage, releaseRoots, track } from './support.js';

const coverage = new Coverage(supervisorMachine);

interface Effect {
  readonly action: 'alert' | 'beginShutdown' | 'restartRunner' | 'stopRunner';
  readonly params?: AlertParams;
  readonly event: SupervisorEvent;
}

function startSupervisor(escalation: EscalationPolicy, recovery: HealthRecovery) {
  const effects: Effect[] = [];
  const machine = supervisorMachine.provide({
    actions: {
      alert: ({ event }, params) => {
        effects.push({ action: 'alert', params, event });
      },
      beginShutdown: ({ event }) => {
        effects.push({ action: 'beginShutdown', event });
      },
      restartRunner: ({ event }) => {
        effects.push({ action: 'restartRunner', event });
      },
      stopRunner: ({ event }) => {
        effects.push({ action: 'stopRunner', event });
      },
    },
  });
  const actor = createActor(machine, {
    input: { escalation, recovery },
    inspect: coverage.inspect,
  });
  track(actor);
  actor.start();
  return {
    actor,
    effects,
    send(event: SupervisorEvent): void {
      actor.send(event);
    },
    value: () => actor.getSnapshot().value,
    /** The effects recorded since the last call. */
    take(): Effect[] {
      return effects.splice(0);
    },
  };
}

function escalate(severity: Severity, runnerId?: string): SupervisorEvent {
  const error = troupeErrorData(ErrorCodes.RESTART_LIMIT, 'runner "r1" exceeded 3 restarts', {
    context: { runnerId: 'r1' },
  });
  return {
    type: SupervisorEventTypes.escalate,
    code: ErrorCodes.RESTART_LIMIT,
    severity,
    message: error.message,
    ...(runnerId === undefined ? {} : { runnerId }),
    error,
  };
}

function unhealthy(runnerId: string): SupervisorEvent {
  const error = troupeErrorData(ErrorCodes.UNHEALTHY, `runner "${runnerId}" is unhealthy`, {
    context: { runnerId },
  });
  return {
    type: SupervisorEventTypes.unhealthy,
    runnerId,
    severity: 'HIGH',
    message: error.message,
    error,
  };
}

const standDown: SupervisorEvent = { type: SupervisorEventTypes.standDown };

const severities: readonly Severity[] = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

afterEach(() => {
  expect(releaseRoots()).toEqual([]);
});

describe('supervisorMachine: escalations', () => {
  it('V01 CRITICAL under escalation shutdown: alert(shutdown), beginShutdown, then standingDown', () => {
    const s = startSupervisor('shutdown', 'restart');
    expect(s.value()).toBe('supervising');
    const event = escalate('CRITICAL', 'r1');
    s.send(event);
    expect(s.value()).toBe('standingDown');
    // The alert comes first: it says why the shutdown begins.
    expect(s.take()).toEqual([
      { action: 'alert', params: { kind: 'escalation', decision: 'shutdown' }, event },
      { action: 'beginShutdown', event },
    ]);
    // Standing down: a second CRITICAL only informs, the shutdown is not begun twice.
    const again = escalate('CRITICAL', 'r2');
    s.send(again);
    expect(s.value()).toBe('standingDown');
    expect(s.take()).toEqual([
      { action: 'alert', params: { kind: 'escalation', decision: 'none' }, event: again },
    ]);
  });

  it('V02 CRITICAL under escalation degrade: alert(degrade), nothing else, still supervising', () => {
    const s = startSupervisor('degrade', 'restart');
    for (const runnerId of ['r1', undefined]) {
      const event = escalate('CRITICAL', runnerId);
      s.send(event);
      expect(s.value()).toBe('supervising');
      expect(s.take()).toEqual([
        { action: 'alert', params: { kind: 'escalation', decision: 'degrade' }, event },
      ]);
    }
  });

  it('V03 below CRITICAL, under either policy: alert(none) only', () => {
    for (const escalation of ['shutdown', 'degrade'] as const) {
      const s = startSupervisor(escalation, 'stop');
      for (const severity of severities.filter((x) => x !== 'CRITICAL')) {
        const event = escalate(severity, 'r1');
        s.send(event);
        expect(s.value(), `${escalation} ${severity}`).toBe('supervising');
        expect(s.take(), `${escalation} ${severity}`).toEqual([
          { action: 'alert', params: { kind: 'escalation', decision: 'none' }, event },
        ]);
      }
    }
  });
});

describe('supervisorMachine: health', () => {
  it('V04 unhealthy: alert and act as recovery says (restart, stop, none), whatever the escalation', () => {
    const expected: Record<HealthRecovery, (event: SupervisorEvent) => Effect[]> = {
      restart: (event) => [
        { action: 'alert', params: { kind: 'health', decision: 'restart' }, event },
        { action: 'restartRunner', event },
      ],
      stop: (event) => [
        { action: 'alert', params: { kind: 'health', decision: 'stop' }, event },
        { action: 'stopRunner', event },
      ],
      none: (event) => [{ action: 'alert', params: { kind: 'health', decision: 'none' }, event }],
    };
    for (const escalation of ['shutdown', 'degrade'] as const) {
      for (const recovery of ['restart', 'stop', 'none'] as const) {
        const s = startSupervisor(escalation, recovery);
        // Twice: recovery does not change the state, the second one is handled alike.
        for (const runnerId of ['r1', 'r2']) {
          const event = unhealthy(runnerId);
          s.send(event);
          expect(s.value(), `${escalation} ${recovery}`).toBe('supervising');
          expect(s.take(), `${escalation} ${recovery}`).toEqual(expected[recovery](event));
        }
      }
    }
  });
});

describe('supervisorMachine: standing down', () => {
  it('V05 standDown moves to standingDown without any effect', () => {
    const s = startSupervisor('shutdown', 'restart');
    s.send(standDown);
    expect(s.value()).toBe('standingDown');
    expect(s.take()).toEqual([]);
  });

  it('V06 in standingDown: escalations only inform, unhealthy and standDown are ignored', () => {
    for (const escalation of ['shutdown', 'degrade'] as const) {
      for (const recovery of ['restart', 'stop', 'none'] as const) {
        const s = startSupervisor(escalation, recovery);
        s.send(standDown);
        s.send(unhealthy('r1'));
        s.send(standDown);
        expect(s.value()).toBe('standingDown');
        expect(s.take(), `${escalation} ${recovery}`).toEqual([]);
        for (const severity of severities) {
          const event = escalate(severity, 'r1');
          s.send(event);
          expect(s.take(), `${escalation} ${recovery} ${severity}`).toEqual([
            { action: 'alert', params: { kind: 'escalation', decision: 'none' }, event },
          ]);
        }
        expect(s.value()).toBe('standingDown');
        expect(s.actor.getSnapshot().status).toBe('active');
      }
    }
  });
});

describe('supervisorMachine: coverage', () => {
  it('V99 the tests above entered every state and took every transition', () => {
    expect(coverage.allStates).toHaveLength(2);
    expect(coverage.allTransitions).toHaveLength(8);
    expect(coverage.missingStates()).toEqual([]);
    expect(coverage.missingTransitions()).toEqual([]);
  });
});
