// Loaded in each worker thread around the user's worker module by
// `testRunnerLifecycle` (see WorkerInstrument): its URL carries the name of
// a BroadcastChannel (`?channel=`) over which it gets the control block.
// It plans how the thread loads, can make an idle thread exit, holds task
// starts until released, and reports the handles the user's module left
// that would keep the thread alive. It changes nothing else: the user's
// setup, handlers and teardown run as written.
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { defineRunner, isRunnerDefinition, type AnyHandler } from '@troupe/runtime/worker';
import { LoadPlan, Slot, type InstrumentMessage } from './instrumentSlots.js';

const name = new URL(import.meta.url).searchParams.get('channel');
if (name === null) throw new Error('testRunnerLifecycle instrument: no ?channel= in its URL');

const channel = new BroadcastChannel(name);
// Never what keeps the thread alive.
channel.unref();

/** Resources that keep the event loop alive, as Node names them (MessagePorts are the runtime's). */
function refHandles(): string[] {
  return process.getActiveResourcesInfo().filter((type) => type !== 'MessagePort');
}

/** What `now` holds beyond `before` (multisets). */
function beyond(before: readonly string[], now: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const type of before) left.set(type, (left.get(type) ?? 0) + 1);
  const extra: string[] = [];
  for (const type of now) {
    const n = left.get(type) ?? 0;
    if (n > 0) left.set(type, n - 1);
    else extra.push(type);
  }
  return extra;
}

let baseline: string[] = [];

function post(message: InstrumentMessage): void {
  channel.postMessage(message);
}

function reportHandles(when: 'teardown' | 'idle'): void {
  post({ type: 'handles', threadId, when, left: beyond(baseline, refHandles()) });
}

const control = await new Promise<Int32Array>((resolve) => {
  channel.onmessage = (event: unknown) => {
    const message = (event as { data: InstrumentMessage }).data;
    if (message.type === 'control') resolve(new Int32Array(message.control));
    else if (message.type === 'checkHandles') reportHandles('idle');
  };
  post({ type: 'hello', threadId });
});

/** The thread exits as soon as `exitNow` is set (an idle thread sees it at once). */
function watchExitNow(): void {
  const check = (): void => {
    const code = Atomics.exchange(control, Slot.exitNow, 0);
    if (code > 0) process.exit(code - 1);
    const wait = Atomics.waitAsync(control, Slot.exitNow, 0, 1_000);
    if (wait.async) void wait.value.then(check);
    else check();
  };
  check();
}

/** Takes one held start from the budget, if any is left. */
function takeHold(): boolean {
  for (;;) {
    const budget = Atomics.load(control, Slot.holdBudget);
    if (budget <= 0) return false;
    if (Atomics.compareExchange(control, Slot.holdBudget, budget, budget - 1) === budget) {
      return true;
    }
  }
}

/** Resolves once the release counter moved past `since`. */
function released(since: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (Atomics.load(control, Slot.release) !== since) {
        resolve();
        return;
      }
      const wait = Atomics.waitAsync(control, Slot.release, since, 1_000);
      if (wait.async) void wait.value.then(check);
      else check();
    };
    check();
  });
}

function held(): Promise<void> | null {
  if (!takeHold()) return null;
  const since = Atomics.load(control, Slot.release);
  Atomics.add(control, Slot.held, 1);
  Atomics.notify(control, Slot.held);
  return released(since);
}

/** The user's handler, its start held while the driver holds tasks. */
function gated<F extends (...args: never[]) => unknown>(fn: F): F {
  return ((...args: Parameters<F>) => {
    const wait = held();
    if (wait === null) return fn(...args);
    return wait.then(() => fn(...args));
  }) as F;
}

/** Plans this load, before the user's module is evaluated. */
async function load(): Promise<void> {
  const index = Atomics.add(control, Slot.loads, 1);
  Atomics.notify(control, Slot.loads);
  const plan = index < Slot.planSize ? Atomics.load(control, Slot.plan + index) : LoadPlan.ok;
  if (plan === LoadPlan.throw) {
    throw new Error(`testRunnerLifecycle: thread load #${index} made to fail (a broken pool)`);
  }
  if (plan === LoadPlan.hang) {
    // Never finishes (a ref'd timer: Node would end an unsettled wait itself).
    await new Promise<void>(() => {
      setInterval(() => {}, 1 << 30);
    });
  }
  watchExitNow();
  baseline = refHandles();
}

/** Resolves once the thread may load the user's module. */
export const ready: Promise<void> = load();

/** The user's default export, instrumented. */
export function wrapDefault(value: unknown): unknown {
  if (isRunnerDefinition(value)) {
    const handlers: Record<string, AnyHandler> = {};
    for (const [key, handler] of Object.entries(value.handlers)) handlers[key] = gated(handler);
    const { setup, teardown } = value;
    return defineRunner({
      ...(setup === undefined ? {} : { setup }),
      teardown: async (ctx) => {
        try {
          await teardown?.(ctx);
        } finally {
          // After the user's teardown: what is left would keep the thread alive.
          reportHandles('teardown');
        }
      },
      handlers,
    });
  }
  return typeof value === 'function' ? wrapFn(value as (...args: never[]) => unknown) : value;
}

/** A plain module's named handler, instrumented. */
export function wrapFn<F extends (...args: never[]) => unknown>(fn: F): F {
  return typeof fn === 'function' ? gated(fn) : fn;
}
