// Lifecycle logs without threads: the logger option (pino's shape, a
// partial logger wrapped), state transitions logged once at debug with
// their event, the shutdown phases at info with their durations, and the
// two halves of ctx.log (the worker's batching sink, the main thread's
// forwarding) — all with a recording logger.
import { MessageChannel } from 'node:worker_threads';
import { TaskTimeoutError, toErrorData } from '@troupe/core';
import { createActor, createMachine } from 'xstate';
import { describe, expect, it, vi } from 'vitest';
import { Channel } from '../src/channel/Channel.js';
import { createTroupe } from '../src/createTroupe.js';
import { forwardWorkerLogs } from '../src/logging/forwardWorkerLogs.js';
import { logTransitions, stateText } from '../src/logging/logTransitions.js';
import {
  isLevelEnabled,
  lowestLevel,
  silentLogger,
  toLogger,
  type LogFn,
  type Logger,
  type LogLevel,
} from '../src/logger.js';
import type { LogRecord } from '../src/protocol.js';
import { ResourceManager } from '../src/resources/ResourceManager.js';
import { ShutdownCoordinator } from '../src/shutdown/ShutdownCoordinator.js';
import { Supervisor } from '../src/supervision/Supervisor.js';
import { WorkerLogSink, type LogPort } from '../src/worker/WorkerLogSink.js';
import { recordingLogger, type LogEntry } from './support.js';

/** A logger whose `isLevelEnabled` says which levels are on (as pino's does). */
function leveled(min: LogLevel): Logger & { records: LogEntry[] } {
  const logger = recordingLogger();
  const order: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  return Object.assign(logger, {
    isLevelEnabled: (level: LogLevel) => order.indexOf(level) >= order.indexOf(min),
  });
}

/** A light-switch machine: off ⇄ on, plus a final `broken`. */
const lamp = createMachine({
  id: 'lamp',
  initial: 'off',
  states: {
    off: { on: { toggle: 'on', noop: {} } },
    on: { on: { toggle: 'off', smash: 'broken' } },
    broken: { type: 'final' },
  },
});

describe('toLogger: what the logger option accepts', () => {
  it('a logger of pino shape (all six levels and child) is used as it is', () => {
    const full = recordingLogger();
    expect(toLogger(full)).toBe(full);
  });

  it('a partial logger (debug, info, warn, error) is wrapped: trace → debug, fatal → error, child merges bindings', () => {
    const calls: [string, object, string | undefined][] = [];
    const at =
      (level: string): LogFn =>
      (obj, msg) =>
        calls.push([level, obj, msg]);
    const partial = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const logger = toLogger(partial);
    logger.trace({ a: 1 }, 't');
    logger.fatal({ b: 2 }, 'f');
    const child = logger.child({ nodeId: 'n1' }).child({ runnerId: 'r1' });
    child.info({ c: 3, runnerId: 'own' }, 'i');
    child.child({ threadId: 7 }).warn({}, 'w');
    expect(calls).toEqual([
      ['debug', { a: 1 }, 't'],
      ['error', { b: 2 }, 'f'],
      // The record's own fields win over the bindings, as in pino.
      ['info', { nodeId: 'n1', runnerId: 'own', c: 3 }, 'i'],
      ['warn', { nodeId: 'n1', runnerId: 'r1', threadId: 7 }, 'w'],
    ]);
  });

  it("a partial logger's own child() and isLevelEnabled() are used", () => {
    const inner = recordingLogger();
    const partial = {
      debug: vi.fn(),
      info: vi.fn(),
      warn: vi.fn(),
      error: vi.fn(),
      child: (bindings: Record<string, unknown>) => inner.child(bindings),
      isLevelEnabled: (level: LogLevel) => level !== 'trace',
    };
    const logger = toLogger(partial);
    logger.child({ runnerId: 'r1' }).info({ x: 1 }, 'hi');
    expect(inner.records).toEqual([{ level: 'info', fields: { runnerId: 'r1', x: 1 }, msg: 'hi' }]);
    expect(isLevelEnabled(logger, 'trace')).toBe(false);
    expect(lowestLevel(logger)).toBe('debug');
  });

  it('the silent logger is off at every level, and so are its children', () => {
    expect(lowestLevel(silentLogger)).toBe('silent');
    expect(silentLogger.child({ a: 1 })).toBe(silentLogger);
    expect(isLevelEnabled(silentLogger, 'fatal')).toBe(false);
    // A logger that cannot tell is taken as on; one whose check throws, too.
    expect(lowestLevel(recordingLogger())).toBe('trace');
    const odd = Object.assign(recordingLogger(), {
      isLevelEnabled: (): boolean => {
        throw new Error('no');
      },
    });
    expect(isLevelEnabled(odd, 'info')).toBe(true);
  });
});

describe('logTransitions', () => {
  it('logs each state change once at debug with { state, previous, event }, none for an event that changes nothing', () => {
    const logger = recordingLogger();
    const actor = createActor(lamp);
    logTransitions(actor, logger, 'lamp state', { lampId: 'l1' });
    actor.start();
    actor.send({ type: 'noop' });
    actor.send({ type: 'toggle' });
    actor.send({ type: 'toggle' });
    actor.send({ type: 'toggle' });
    actor.send({ type: 'smash' });
    expect(logger.records).toEqual([
      {
        level: 'debug',
        msg: 'lamp state',
        fields: { lampId: 'l1', state: 'off', previous: null, event: 'xstate.init' },
      },
      {
        level: 'debug',
        msg: 'lamp state',
        fields: { lampId: 'l1', state: 'on', previous: 'off', event: 'toggle' },
      },
      {
        level: 'debug',
        msg: 'lamp state',
        fields: { lampId: 'l1', state: 'off', previous: 'on', event: 'toggle' },
      },
      {
        level: 'debug',
        msg: 'lamp state',
        fields: { lampId: 'l1', state: 'on', previous: 'off', event: 'toggle' },
      },
      {
        level: 'debug',
        msg: 'lamp state',
        fields: { lampId: 'l1', state: 'broken', previous: 'on', event: 'smash' },
      },
    ]);
  });

  it('does nothing when debug is off: no child logger, no inspection observer', () => {
    const logger = leveled('info');
    const child = vi.spyOn(logger, 'child');
    const actor = createActor(lamp);
    const inspect = vi.spyOn(actor.system, 'inspect');
    logTransitions(actor, logger, 'lamp state', { lampId: 'l1' });
    actor.start();
    actor.send({ type: 'toggle' });
    expect(logger.records).toEqual([]);
    expect(child).not.toHaveBeenCalled();
    expect(inspect).not.toHaveBeenCalled();
  });

  it('a logger that throws never breaks the actor', () => {
    const logger = recordingLogger();
    logger.debug.mockImplementation(() => {
      throw new Error('logger bug');
    });
    const actor = createActor(lamp);
    logTransitions(actor, logger, 'lamp state');
    actor.start();
    actor.send({ type: 'toggle' });
    expect(actor.getSnapshot().value).toBe('on');
    expect(actor.getSnapshot().status).toBe('active');
  });

  it('writes parallel and nested states on one line', () => {
    expect(stateText({ running: { threads: 'up', work: 'idle' } })).toBe(
      'running(threads.up|work.idle)',
    );
    expect(stateText({ draining: { terminating: 'tearingDown' } })).toBe(
      'draining.terminating.tearingDown',
    );
  });
});

describe('the actors of a troupe log their transitions with their ids', () => {
  it('resources: resourceId, registered → open → closing → closed', async () => {
    const logger = recordingLogger();
    const resources = new ResourceManager({ logger });
    resources.register([{ id: 'db', close: () => {} }]);
    await resources.closeAll();
    const db = logger.records.filter((r) => r.msg === 'resource state');
    expect(db.map((r) => [r.fields.previous, r.fields.state, r.fields.event])).toEqual([
      [null, 'open', 'xstate.init'],
      ['open', 'closing', 'troupe.resource.close'],
      ['closing', 'closed', 'troupe.resource.closed'],
    ]);
    for (const record of db)
      expect(record).toMatchObject({ level: 'debug', fields: { resourceId: 'db' } });
  });

  it('a channel: channelId, open → closing → closed', async () => {
    const logger = recordingLogger();
    const { port1, port2 } = new MessageChannel();
    const channel = new Channel('c1', { callEndpoint: port1, closeTimeoutMs: 1_000, logger });
    await channel.close();
    port2.close();
    expect(
      logger.records.map((r) => [
        r.level,
        r.msg,
        r.fields.channelId,
        r.fields.previous,
        r.fields.state,
      ]),
    ).toEqual([
      ['debug', 'channel state', 'c1', null, 'open'],
      ['debug', 'channel state', 'c1', 'open', 'closing'],
      ['debug', 'channel state', 'c1', 'closing', 'closed'],
    ]);
  });

  it('the supervisor: supervising → standingDown on standDown', () => {
    const logger = recordingLogger();
    const supervisor = new Supervisor({
      escalation: 'degrade',
      recovery: 'restart',
      logger,
      onError: () => {},
      effects: {
        alert: () => {},
        beginShutdown: () => {},
        restartRunner: () => {},
        stopRunner: () => {},
      },
    });
    supervisor.standDown();
    supervisor.stop();
    expect(logger.records.map((r) => [r.fields.previous, r.fields.state, r.fields.event])).toEqual([
      [null, 'supervising', 'xstate.init'],
      ['supervising', 'standingDown', 'troupe.supervisor.standDown'],
    ]);
  });

  it('the shutdown coordinator: began (reason), each phase at info with durationMs when it ends, transitions at debug', async () => {
    const logger = recordingLogger();
    const slow = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));
    const coordinator = new ShutdownCoordinator({
      deadlines: { signalingMs: 1_000, drainingMs: 1_000, closingMs: 1_000, forceMs: 1_000 },
      logger,
      work: { signal: slow, drain: slow, forceDrain: slow, close: slow, forceClose: slow },
      onPhase: () => {},
      onError: () => {},
    });
    coordinator.begin('deploy');
    const outcome = await coordinator.outcome;
    const info = logger.records.filter((r) => r.level === 'info');
    expect(info.map((r) => [r.msg, r.fields.phase, r.fields.timedOut])).toEqual([
      ['shutdown began', undefined, undefined],
      ['shutdown phase done', 'signaling', false],
      ['shutdown phase done', 'draining', false],
      ['shutdown phase done', 'closing', false],
    ]);
    expect(info[0]?.fields).toEqual({ reason: 'deploy' });
    for (const [i, phase] of (['signaling', 'draining', 'closing'] as const).entries()) {
      const durationMs = info[i + 1]?.fields.durationMs as number;
      expect(durationMs).toBeGreaterThanOrEqual(15);
      // The same figure as the report's.
      expect(durationMs).toBeCloseTo(outcome.phases[phase].durationMs, 0);
    }
    const debug = logger.records.filter((r) => r.level === 'debug');
    expect(debug[0]?.fields).toMatchObject({
      state: 'running',
      previous: null,
      event: 'xstate.init',
    });
    expect(debug.at(-1)?.fields).toMatchObject({ state: 'stopped' });
    const states = debug.map((r) => r.fields.state);
    expect(new Set(states).size).toBe(states.length);
    expect(states.some((s) => String(s).startsWith('signaling'))).toBe(true);
  });
});

describe('createTroupe({ logger })', () => {
  it('a partial logger works: every record carries nodeId, the shutdown phases are at info', async () => {
    const calls: [string, Record<string, unknown>, string | undefined][] = [];
    const at =
      (level: string): LogFn =>
      (obj, msg) =>
        calls.push([level, obj as Record<string, unknown>, msg]);
    const troupe = createTroupe({
      nodeId: 'n1',
      health: { enabled: false },
      logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    });
    troupe.resources.register({ id: 'db', close: () => {} });
    await troupe.shutdown({ reason: 'test' });
    expect(calls.length).toBeGreaterThan(0);
    for (const [, fields] of calls) expect(fields.nodeId).toBe('n1');
    const done = calls.filter(([, , msg]) => msg === 'shutdown phase done');
    expect(done.map(([level, fields]) => [level, fields.component, fields.phase])).toEqual([
      ['info', 'shutdown', 'signaling'],
      ['info', 'shutdown', 'draining'],
      ['info', 'shutdown', 'closing'],
    ]);
    expect(calls.filter(([, , msg]) => msg === 'supervisor state').length).toBeGreaterThan(0);
    expect(calls.find(([, fields]) => fields.resourceId === 'db')?.[2]).toBe('resource state');
  });

  it('with debug off, no transition is logged', async () => {
    const logger = leveled('info');
    const troupe = createTroupe({ nodeId: 'n1', health: { enabled: false }, logger });
    troupe.resources.register({ id: 'db', close: () => {} });
    await troupe.shutdown();
    expect(logger.records.filter((r) => r.level === 'debug')).toEqual([]);
    expect(logger.records.map((r) => r.msg)).toContain('shutdown complete');
  });
});

describe('ctx.log, worker side (WorkerLogSink)', () => {
  /** A port that clones as postMessage does (DataCloneError) and keeps what it got. */
  const port = (): { sent: (readonly LogRecord[])[]; synced: number } & LogPort => {
    const state = {
      sent: [] as (readonly LogRecord[])[],
      synced: 0,
      post: (records: readonly LogRecord[]) => {
        state.sent.push(structuredClone(records));
      },
      sync: () => {
        state.synced += 1;
        return Promise.resolve();
      },
    };
    return state;
  };

  it('posts the records of one turn in one message, once the channel is open; setup records go with the hello', async () => {
    const sink = new WorkerLogSink('trace');
    const log = sink.logger(null);
    log.info({ a: 1 }, 'setup');
    // Before the channel exists (setup runs first), drain() hands them over, cloneable.
    const early = sink.logger(null);
    early.warn({ fn: () => 1 }, 'odd');
    expect(sink.drain()).toEqual([
      ['info', null, { a: 1 }, 'setup', null],
      ['warn', null, { fn: '[not cloneable] a function' }, 'odd', null],
    ]);
    const p = port();
    sink.open(p);
    const task = sink.logger(3);
    task.info({ b: 2 }, 'one');
    task.warn('two');
    expect(p.sent).toEqual([]);
    await Promise.resolve();
    expect(p.sent).toEqual([
      [
        ['info', 3, { b: 2 }, 'one', null],
        ['warn', 3, {}, 'two', null],
      ],
    ]);
    task.debug({ c: 3 });
    sink.flush(); // the task's end: posted now, before its result
    expect(p.sent[1]).toEqual([['debug', 3, { c: 3 }, undefined, null]]);
    await Promise.resolve();
    expect(p.sent).toHaveLength(2);
  });

  it('drops what is below the main logger level at once; posts nothing when it is silent', () => {
    const p = port();
    const sink = new WorkerLogSink('warn');
    sink.open(p);
    const log = sink.logger(1);
    log.trace({}, 'x');
    log.debug({}, 'x');
    log.info({}, 'x');
    log.warn({}, 'kept');
    log.fatal({}, 'kept too');
    sink.flush();
    expect(p.sent.flat().map((r) => r[0])).toEqual(['warn', 'fatal']);
    const silent = new WorkerLogSink('silent');
    expect(silent.silent).toBe(true);
    silent.open(p);
    silent.logger(1).fatal({}, 'gone');
    silent.flush();
    expect(p.sent).toHaveLength(1);
  });

  it('never throws; Errors go as ErrorData; values that cannot be cloned are described', () => {
    const p = port();
    const sink = new WorkerLogSink('trace');
    sink.open(p);
    const log = sink.logger(null);
    const hostile = {
      get boom(): never {
        throw new Error('getter');
      },
    };
    expect(() => {
      log.info(hostile, 'dropped');
    }).not.toThrow();
    log.error(new TaskTimeoutError('slow', { context: { taskId: 't1' } }));
    sink.flush();
    log.info({ fn: () => 1, n: 2, port: new MessageChannel().port1 }, 'odd values');
    sink.flush();
    const records = p.sent.flat();
    expect(records).toHaveLength(2);
    const [, seq, fields, msg, errorKeys] = records[0]!;
    expect([seq, msg, errorKeys]).toEqual([null, 'slow', ['err']]);
    expect(fields.err).toMatchObject({ code: 'ERR_TASK_TIMEOUT', context: { taskId: 't1' } });
    // That batch could not be cloned: posted again, those values described.
    expect(records[1]?.[2]).toMatchObject({ fn: '[not cloneable] a function', n: 2 });
    expect(String(records[1]?.[2].port)).toMatch(/^\[not cloneable\]/);
    // A port that is gone: nothing thrown, nothing waited for.
    const gone = new WorkerLogSink('trace');
    gone.open({
      post: () => {
        throw new Error('port closed');
      },
      sync: () => Promise.reject(new Error('port closed')),
    });
    gone.logger(1).info({}, 'lost');
    expect(() => {
      gone.flush();
    }).not.toThrow();
    return expect(gone.settled()).resolves.toBeUndefined();
  });

  it('settled() posts what is queued, then waits for the main thread to have it (a teardown)', async () => {
    const p = port();
    const sink = new WorkerLogSink('trace');
    sink.open(p);
    sink.logger(null).info({}, 'bye');
    await sink.settled();
    expect(p.sent.flat().map((r) => r[3])).toEqual(['bye']);
    expect(p.synced).toBe(1);
  });
});

describe('ctx.log, main side (forwardWorkerLogs)', () => {
  it('writes each record at its level, with taskId for a task, Errors rebuilt; skips what is malformed', () => {
    const logger = recordingLogger();
    forwardWorkerLogs(logger, 'r1', [
      ['warn', 4, { a: 1 }, 'task', null],
      ['nonsense', null, { b: 2 }, 'setup', null],
      ['error', 4, { err: toErrorData(new TaskTimeoutError('slow')) }, 'failed', ['err']],
      'not a record',
      ['info', null, null, 42, null],
    ]);
    expect(logger.records.map((r) => [r.level, r.msg, r.fields.taskId])).toEqual([
      ['warn', 'task', 'r1#4'],
      ['info', 'setup', undefined],
      ['error', 'failed', 'r1#4'],
      ['info', undefined, undefined],
    ]);
    expect(logger.records[2]?.fields.err).toBeInstanceOf(TaskTimeoutError);
    forwardWorkerLogs(logger, 'r1', 'not a batch');
    expect(logger.records).toHaveLength(4);
  });

  it('a logger that throws is contained: the other records still go', () => {
    const logger = recordingLogger();
    logger.info.mockImplementationOnce(() => {
      throw new Error('logger bug');
    });
    expect(() => {
      forwardWorkerLogs(logger, 'r1', [
        ['info', 1, {}, 'first', null],
        ['info', 1, {}, 'second', null],
      ]);
    }).not.toThrow();
    expect(logger.info).toHaveBeenCalledTimes(2);
  });
});
