// TaskQueue: the runner's own queue of accepted tasks waiting for a thread.
// FIFO, O(1) removal of a cancelled task wherever it is, drain, and the
// compaction that keeps a long-lived queue from growing (order kept).
import { describe, expect, it } from 'vitest';
import { TaskQueue, type Queueable } from '../src/admission/TaskQueue.js';

class Task implements Queueable {
  queued = false;
  constructor(readonly n: number) {}
}

function tasks(count: number, from = 0): Task[] {
  return Array.from({ length: count }, (_, i) => new Task(from + i));
}

function shiftAll(queue: TaskQueue<Task>): number[] {
  const out: number[] = [];
  for (let task = queue.shift(); task !== undefined; task = queue.shift()) out.push(task.n);
  return out;
}

describe('TaskQueue', () => {
  it('is FIFO and marks what it holds as queued', () => {
    const queue = new TaskQueue<Task>();
    const [a, b, c] = tasks(3);
    queue.push(a!);
    queue.push(b!);
    queue.push(c!);
    expect(queue.size).toBe(3);
    expect([a, b, c].map((t) => t!.queued)).toEqual([true, true, true]);
    const first = queue.shift();
    expect(first).toBe(a);
    expect(first?.queued).toBe(false);
    expect(queue.size).toBe(2);
    expect(shiftAll(queue)).toEqual([1, 2]);
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });

  it('remove() takes a task out wherever it is; shift() skips it', () => {
    const queue = new TaskQueue<Task>();
    const all = tasks(5);
    for (const t of all) queue.push(t);
    expect(queue.remove(all[2]!)).toBe(true);
    expect(all[2]!.queued).toBe(false);
    expect(queue.size).toBe(4);
    expect(queue.remove(all[0]!)).toBe(true);
    expect(queue.remove(all[4]!)).toBe(true);
    expect(queue.size).toBe(2);
    expect(shiftAll(queue)).toEqual([1, 3]);
  });

  it('remove() of a task that is not queued (any more) returns false and changes nothing', () => {
    const queue = new TaskQueue<Task>();
    const [a, b] = tasks(2);
    queue.push(a!);
    queue.push(b!);
    expect(queue.remove(a!)).toBe(true);
    expect(queue.remove(a!)).toBe(false);
    expect(queue.remove(new Task(99))).toBe(false);
    expect(queue.size).toBe(1);
    expect(queue.shift()).toBe(b);
    expect(queue.remove(b!)).toBe(false);
    expect(queue.size).toBe(0);
  });

  it('remove() is O(1): cancelling half of a 100,000-task queue takes no scan', () => {
    const queue = new TaskQueue<Task>();
    const all = tasks(100_000);
    for (const t of all) queue.push(t);
    const t0 = performance.now();
    for (let i = 1; i < all.length; i += 2) queue.remove(all[i]!);
    const elapsed = performance.now() - t0;
    expect(queue.size).toBe(50_000);
    // A scan per removal is ~2.5e9 steps (seconds); O(1) removals take a few ms.
    expect(elapsed).toBeLessThan(250);
    const left = shiftAll(queue);
    expect(left).toHaveLength(50_000);
    expect(left.every((n) => n % 2 === 0)).toBe(true);
  });

  it('drain() takes every waiting task out, oldest first, skipping removed ones', () => {
    const queue = new TaskQueue<Task>();
    const all = tasks(6);
    for (const t of all) queue.push(t);
    queue.shift();
    queue.remove(all[3]!);
    const drained = queue.drain();
    expect(drained.map((t) => t.n)).toEqual([1, 2, 4, 5]);
    expect(drained.every((t) => !t.queued)).toBe(true);
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
    expect(queue.drain()).toEqual([]);
    // usable again afterwards
    queue.push(all[0]!);
    expect(queue.shift()).toBe(all[0]);
  });

  it('removing the last task empties it; pushing again works from a clean state', () => {
    const queue = new TaskQueue<Task>();
    const [a, b] = tasks(2);
    queue.push(a!);
    queue.remove(a!);
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
    queue.push(b!);
    queue.push(a!);
    expect(shiftAll(queue)).toEqual([1, 0]);
  });

  it('compaction of a long-lived queue keeps the order (head past 1,024 and more than half consumed)', () => {
    const queue = new TaskQueue<Task>();
    let next = 0;
    const expected: number[] = [];
    const got: number[] = [];
    // About 600 of every 700 pushed stay queued and 500 are taken per round:
    // the queue is never empty (no reset), its head passes 1,024 in the third
    // round with more than half of the array consumed, so it compacts.
    for (let round = 0; round < 20; round++) {
      for (const t of tasks(700, next)) {
        queue.push(t);
        expected.push(t.n);
        // every seventh task is cancelled while queued
        if (t.n % 7 === 3) {
          queue.remove(t);
          expected.pop();
        }
      }
      next += 700;
      for (let i = 0; i < 500; i++) {
        const task = queue.shift();
        if (task !== undefined) got.push(task.n);
      }
    }
    got.push(...shiftAll(queue));
    expect(got).toEqual(expected);
    expect(queue.size).toBe(0);
  });

  it('size never counts cancelled entries, through shifts, removals and compaction', () => {
    const queue = new TaskQueue<Task>();
    const all = tasks(3_000);
    for (const t of all) queue.push(t);
    for (let i = 0; i < 2_000; i++) queue.shift();
    expect(queue.size).toBe(1_000);
    queue.remove(all[2_500]!);
    expect(queue.size).toBe(999);
    for (const t of tasks(10, 10_000)) queue.push(t);
    expect(queue.size).toBe(1_009);
    const rest = shiftAll(queue);
    expect(rest).toHaveLength(1_009);
    expect(rest[0]).toBe(2_000);
    expect(rest.includes(2_500)).toBe(false);
    expect(rest.at(-1)).toBe(10_009);
  });
});
