import { TaskAbortedError, ShutdownInProgressError, WorkerCrashedError } from '@troupe/runtime';
import { describe, expect, it } from 'vitest';
import { formatCloseOrder } from '../src/formatCloseOrder.js';
import { formatTally } from '../src/formatTally.js';
import { RequestTally } from '../src/RequestTally.js';

describe('RequestTally', () => {
  it('sorts outcomes the way Troupe counts them and computes lost', () => {
    const tally = new RequestTally(['a', 'b']);
    for (let i = 0; i < 5; i++) tally.submitted('a');
    tally.submitted('b');
    expect(tally.settled('a', null)).toEqual({ outcome: 'completed', code: null });
    expect(tally.settled('a', new WorkerCrashedError('boom'))).toEqual({
      outcome: 'failed',
      code: 'ERR_WORKER_CRASHED',
    });
    expect(tally.settled('a', new TaskAbortedError('hung up')).outcome).toBe('aborted');
    expect(tally.settled('a', new ShutdownInProgressError('closing')).outcome).toBe('rejected');
    expect(tally.settled('b', new Error('plain')).outcome).toBe('failed');
    tally.token('a', 'hello');

    const totals = tally.totals();
    expect(totals).toMatchObject({
      submitted: 6,
      completed: 1,
      failed: 2,
      aborted: 1,
      rejected: 1,
      inFlight: 1,
      tokens: 1,
      lost: 1,
    });
    expect(formatTally(tally)).toMatch(/^lost: 1 \(.*1 never settled\)$/m);

    tally.settled('a', null);
    expect(tally.totals().lost).toBe(0);
    expect(formatTally(tally)).toMatch(
      /^lost: 0 \(submitted 6 = completed 2 \+ failed 2 \+ aborted 1 \+ rejected 1\)$/m,
    );
    expect(formatTally(tally)).toContain('ERR_WORKER_CRASHED ×1');
  });

  it('keeps only the last tokens of each runner', () => {
    const tally = new RequestTally(['a']);
    for (let i = 0; i < 25; i++) tally.token('a', `t${i}`);
    const [a] = tally.runners;
    expect(a?.tokens).toBe(25);
    expect(a?.lastTokens).toEqual([
      't15',
      't16',
      't17',
      't18',
      't19',
      't20',
      't21',
      't22',
      't23',
      't24',
    ]);
  });
});

describe('formatCloseOrder', () => {
  it('orders by time from the start of shutdown and names what ended before it', () => {
    const text = formatCloseOrder(
      [
        { id: 'metrics-sink', at: 1_300 },
        { id: 'kv-cache', at: 1_250 },
        { id: 'llm-0', at: 1_200 },
        { id: 'llm-flaky', at: 500 },
      ],
      1_000,
    );
    expect(text).toBe(
      'llm-0 +200 ms → kv-cache +250 ms → metrics-sink +300 ms (already ended before shutdown: llm-flaky)',
    );
  });
});
