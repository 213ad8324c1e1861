import type { ShutdownReport } from '@troupe/runtime';
import { describe, expect, it } from 'vitest';
import { formatReport } from '../src/formatReport.js';

const sample: ShutdownReport = {
  nodeId: 'n-test',
  reason: 'SIGINT',
  startedAt: 1_700_000_000_000,
  durationMs: 1_234.5,
  forced: false,
  forceRequested: false,
  readinessDelayMs: 0,
  phases: {
    signaling: { durationMs: 2.4, timedOut: false },
    draining: { durationMs: 1_100.2, timedOut: false },
    closing: { durationMs: 131.9, timedOut: false },
  },
  tasks: {
    submitted: 95,
    completed: 84,
    failed: 5,
    aborted: 5,
    rejected: 1,
    inFlightAtSignal: 9,
    drained: { completed: 8, failed: 1, aborted: 0 },
  },
  resources: {
    closed: 7,
    failed: 0,
    forced: 0,
    details: [
      { id: 'metrics-sink', kind: 'user', outcome: 'closed', durationMs: 31, error: null },
      { id: 'kv-cache', kind: 'user', outcome: 'closed', durationMs: 51, error: null },
      { id: 'llm-0', kind: 'runner', outcome: 'closed', durationMs: 28, error: null },
      { id: 'llm-0/thread-1', kind: 'thread', outcome: 'closed', durationMs: 3, error: null },
      { id: 'llm-0/thread-2', kind: 'thread', outcome: 'closed', durationMs: 3, error: null },
      {
        id: 'llm-0/thread-1/channel',
        kind: 'channel',
        outcome: 'closed',
        durationMs: 1,
        error: null,
      },
      {
        id: 'llm-0/thread-2/channel',
        kind: 'channel',
        outcome: 'closed',
        durationMs: 1,
        error: null,
      },
    ],
  },
  runners: [
    { id: 'llm-0', state: 'stopped', restarts: 0, forced: false },
    { id: 'llm-flaky', state: 'failed', restarts: 3, forced: false },
  ],
  threads: { started: 11, exited: 11, leaked: 0 },
  errors: [],
};

describe('formatReport', () => {
  const text = formatReport(sample);

  it('names the node, the reason, the total duration and whether anything was forced', () => {
    expect(text.split('\n')[0]).toBe(
      'Shutdown report · node n-test · reason "SIGINT" · 1235 ms · forced: no',
    );
  });

  it('gives each phase its duration and deadline outcome', () => {
    expect(text).toMatch(/signaling\s+2 ms\s+timedOut: false\s+within deadline/);
    expect(text).toMatch(/draining\s+1100 ms\s+timedOut: false/);
    expect(text).toMatch(/closing\s+132 ms\s+timedOut: false/);
    const timedOut = formatReport({
      ...sample,
      forced: true,
      phases: { ...sample.phases, draining: { durationMs: 5_000, timedOut: true } },
    });
    expect(timedOut).toMatch(/draining\s+5000 ms\s+timedOut: true\s+missed its deadline/);
    expect(timedOut).toContain('forced: yes');
  });

  it('counts tasks and what became of those in flight at SIGNALING', () => {
    expect(text).toContain('submitted 95 · completed 84 · failed 5 · aborted 5 · rejected 1');
    expect(text).toContain(
      'in flight at SIGNALING 9 → drained: completed 8 · failed 1 · aborted 0',
    );
  });

  it('lists user and runner resources one by one and counts threads and channels', () => {
    expect(text).toContain('closed 7 · failed 0 · forced 0');
    expect(text).toMatch(/kv-cache\s+user\s+closed\s+51 ms/);
    expect(text).toMatch(/llm-0\s+runner\s+closed\s+28 ms/);
    expect(text).toContain('2 threads: closed 2');
    expect(text).toContain('2 channels: closed 2');
    expect(text).not.toContain('llm-0/thread-1');
  });

  it('shows runners, threads and errors', () => {
    expect(text).toContain('llm-0 stopped (0 restarts) · llm-flaky failed (3 restarts)');
    expect(text).toContain('started 11 · exited 11 · leaked 0');
    expect(text).toContain('none during shutdown');
    const withError = formatReport({
      ...sample,
      errors: [
        {
          _tag: 'TroupeError',
          name: 'ResourceCloseTimeoutError',
          code: 'ERR_RESOURCE_CLOSE_TIMEOUT',
          message: 'resource "kv-cache" was still closing at the closing deadline',
        },
      ],
    });
    expect(withError).toContain(
      'ERR_RESOURCE_CLOSE_TIMEOUT: resource "kv-cache" was still closing at the closing deadline',
    );
  });

  it('is plain text unless colours are asked for', () => {
    // eslint-disable-next-line no-control-regex -- looking for ANSI escapes
    expect(text).not.toMatch(/\u001b\[/);
  });
});
