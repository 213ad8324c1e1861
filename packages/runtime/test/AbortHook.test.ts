// AbortHook honours the contract piscina 5.3.2 relies on for a task's
// signal: it reads `aborted`/`reason`, and wires a listener with
// addEventListener('abort', fn, { once: true }) / removeEventListener.
import { describe, expect, it, vi } from 'vitest';
import { AbortHook } from '../src/task/AbortHook.js';
import { PiscinaAbortError, PiscinaTaskInfo, piscinaOnAbort } from './piscinaInternals.js';

describe('AbortHook', () => {
  it('starts not aborted, without a reason', () => {
    const hook = new AbortHook();
    expect(hook.aborted).toBe(false);
    expect(hook.reason).toBeUndefined();
  });

  it('fire(reason) sets aborted/reason and calls the listener once', () => {
    const hook = new AbortHook();
    const listener = vi.fn();
    hook.addEventListener('abort', listener);
    expect(listener).not.toHaveBeenCalled();
    const reason = new Error('deadline');
    hook.fire(reason);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(hook.aborted).toBe(true);
    expect(hook.reason).toBe(reason);
  });

  it('a second fire is a no-op: no second call, the first reason stays', () => {
    const hook = new AbortHook();
    const listener = vi.fn();
    hook.addEventListener('abort', listener);
    hook.fire('first');
    hook.fire('second');
    expect(listener).toHaveBeenCalledTimes(1);
    expect(hook.reason).toBe('first');
  });

  it('removeEventListener prevents the call; fire still marks it aborted', () => {
    const hook = new AbortHook();
    const listener = vi.fn();
    hook.addEventListener('abort', listener);
    hook.removeEventListener();
    hook.fire('late');
    expect(listener).not.toHaveBeenCalled();
    expect(hook.aborted).toBe(true);
    expect(hook.reason).toBe('late');
  });

  it("works with piscina's own onabort(): fire calls the listener, the remover detaches it", () => {
    const fired = new AbortHook();
    const listener = vi.fn();
    piscinaOnAbort(fired, listener);
    fired.fire('stop');
    expect(listener).toHaveBeenCalledTimes(1);

    const removed = new AbortHook();
    const other = vi.fn();
    const remove = piscinaOnAbort(removed, other);
    remove();
    removed.fire('stop');
    expect(other).not.toHaveBeenCalled();
  });

  it("drives piscina's TaskInfo: fire aborts the task; after done() it no longer reaches it", () => {
    const init = (hook: AbortHook) => ({
      task: 1,
      transferList: [],
      filename: 'worker.js',
      name: 'default',
      abortSignal: hook,
      triggerAsyncId: 0,
    });
    const hook = new AbortHook();
    const info = new PiscinaTaskInfo(init(hook), () => {});
    const onAbort = vi.fn(() => new PiscinaAbortError(hook.reason));
    info.onAbort(onAbort);
    info.setAbortListener(hook);
    hook.fire('drain deadline');
    expect(info.aborted).toBe(true);
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect((onAbort.mock.results[0]?.value as Error).cause).toBe('drain deadline');

    const finished = new AbortHook();
    const done = vi.fn();
    const task = new PiscinaTaskInfo(init(finished), done);
    const lateAbort = vi.fn();
    task.onAbort(lateAbort);
    task.setAbortListener(finished);
    task.done(null, 42);
    expect(done).toHaveBeenCalledWith(null, 42);
    finished.fire('too late');
    expect(lateAbort).not.toHaveBeenCalled();
    expect(task.aborted).toBe(false);
  });
});
