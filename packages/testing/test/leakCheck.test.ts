// The leak check must catch what it promises to catch, and stay quiet
// otherwise.
import { MessageChannel, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { checkLeaks, snapshotHandles } from '../src/index.js';

describe('checkLeaks', () => {
  it('passes when everything opened was closed', async () => {
    const baseline = snapshotHandles();
    const timer = setTimeout(() => {}, 10_000);
    const { port1, port2 } = new MessageChannel();
    port1.on('message', () => {});
    clearTimeout(timer);
    port1.close();
    port2.close();
    const report = await checkLeaks(baseline);
    expect(report).toMatchObject({ ok: true, handles: {}, threads: 0, message: 'no leaks' });
  });

  it('names a ref’d timer and a listening port left open', async () => {
    const baseline = snapshotHandles();
    const timer = setTimeout(() => {}, 10_000);
    const { port1, port2 } = new MessageChannel();
    port1.on('message', () => {});
    const report = await checkLeaks(baseline, { settleMs: 50 });
    expect(report.ok).toBe(false);
    expect(report.handles).toMatchObject({ Timeout: 1, MessagePort: 1 });
    expect(report.message).toMatch(/1 × Timeout/);
    clearTimeout(timer);
    port1.close();
    port2.close();
  });

  it('counts a worker thread that did not exit, and not one that did', async () => {
    const baseline = snapshotHandles();
    const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    await new Promise((resolve) => worker.once('online', resolve));
    const alive = await checkLeaks(baseline, { settleMs: 50 });
    expect(alive.ok).toBe(false);
    expect(alive.threads).toBeGreaterThanOrEqual(1);
    await worker.terminate();
    const gone = await checkLeaks(baseline, { settleMs: 2_000 });
    expect(gone.threads).toBe(0);
  });

  it('ignores handle types it is told to', async () => {
    const baseline = snapshotHandles();
    const timer = setTimeout(() => {}, 10_000);
    const report = await checkLeaks(baseline, { settleMs: 20, ignore: ['Timeout'] });
    expect(report.ok).toBe(true);
    clearTimeout(timer);
  });
});
