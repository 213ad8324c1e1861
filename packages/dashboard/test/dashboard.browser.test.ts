// The dashboard end to end in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; never a browser download): a real troupe with
// real threads serves the page; the test reads it as an operator would.
// Screenshots go to test-artifacts/ (git-ignored).
import { existsSync, mkdirSync } from 'node:fs';
import { createTroupe, type Troupe } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../test-artifacts/', import.meta.url);

let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: npm test installs it (apt-get install -y chromium); run it, or install it yourself`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--disable-dev-shm-usage'] });
});

afterAll(async () => {
  await browser?.close();
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname, fullPage: true });
}

/** The state text the page shows for an actor. */
function stateOf(page: Page, actor: string) {
  return page.locator(`[data-actor="${actor}"] [data-testid="actor-state"]`).first();
}

describe('the dashboard in Chromium', () => {
  let troupe: Troupe;
  let page: Page;
  let url: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    troupe = createTroupe({ nodeId: 'demo-node', health: { intervalMs: 250 } });
    const work = await troupe.spawnRunner({ id: 'llm-0', worker: fixtures.sleep, threads: 2 });
    await troupe.spawnRunner({ id: 'flaky', worker: fixtures.crashMidTask, threads: 1 });
    troupe.resources.register({ id: 'db', close: () => {} });
    troupe.resources.register({ id: 'cache', close: () => {}, dependsOn: ['db'] });
    ({ url } = await troupe.listen({ dashboard: true }));
    // Some load, so the charts have something to draw.
    for (let i = 0; i < 200; i++) void work.run(5 + (i % 10));
    page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await page.close();
    await troupe.shutdown();
  });

  it('shows every actor under its readable name with its state, and the statechart of the selected one', async () => {
    await page.goto(`${url}/dashboard/`);
    await expect.poll(() => page.title()).toBe('Troupe dashboard · demo-node');
    await page.locator('[data-testid="connection"]', { hasText: 'live' }).waitFor();
    for (const actor of [
      'runner:llm-0',
      'runner:flaky',
      'resource:db',
      'resource:cache',
      'shutdown',
    ]) {
      await page.locator(`[data-actor="${actor}"]`).first().waitFor();
    }
    await expect.poll(() => stateOf(page, 'runner:llm-0').textContent()).toMatch(/^running/);
    expect(await stateOf(page, 'shutdown').textContent()).toBe('running');
    expect(await page.locator('[data-testid="phase"]').textContent()).toBe('running');
    // The statechart is laid out from the machine, its current states lit.
    await page.locator('[data-actor="runner:llm-0"]').first().click();
    const chart = page.locator('svg[data-testid="statechart"][data-actor="runner:llm-0"]');
    await chart.waitFor();
    // Laid out by elkjs once its chunk loaded (the first layout takes a second or two).
    await expect
      .poll(() => chart.locator('[data-state-node]').count(), { timeout: 20_000 })
      .toBeGreaterThan(20);
    await expect
      .poll(() => chart.locator('[data-state-node="runner.running"][data-active="true"]').count())
      .toBe(1);
    expect(
      await chart.locator('[data-state-node="runner.starting"][data-active="true"]').count(),
    ).toBe(0);
    // The runner cards draw their charts from the samples.
    const card = page.locator('[data-testid="runner-card"][data-runner="llm-0"]');
    await card.waitFor();
    for (const chartName of ['score', 'throughput', 'queue', 'latency']) {
      expect(await card.locator(`svg[data-chart="${chartName}"]`).count()).toBe(1);
    }
    await shot(page, 'dashboard-running');
    expect(pageErrors).toEqual([]);
  });

  it('a thread crashes: the error appears with its code, the runner recovers on the page', async () => {
    const flaky = troupe.runner('flaky');
    expect(flaky).toBeDefined();
    await expect(flaky!.run({ code: 3, afterMs: 10 })).rejects.toMatchObject({
      code: 'ERR_WORKER_CRASHED',
    });
    await page.locator('[data-error-code="ERR_WORKER_CRASHED"]').first().waitFor();
    const card = page.locator('[data-testid="runner-card"][data-runner="flaky"]');
    await expect.poll(() => card.locator('[data-testid="runner-crashes"]').textContent()).toBe('1');
    // Back to serving with its thread replaced.
    await expect.poll(() => flaky!.stats().threads).toBe(1);
    await expect
      .poll(() => stateOf(page, 'runner:flaky').textContent())
      .toMatch(/^running.*threads\.full/);
    await shot(page, 'dashboard-crash-recovered');
    expect(pageErrors).toEqual([]);
  });

  it('the connection drops and comes back: the page gets the whole state again, then the stream', async () => {
    await page.evaluate(() => {
      (
        window as unknown as { __troupeDashboard: { socket: WebSocket | null } }
      ).__troupeDashboard.socket?.close();
    });
    await page.locator('[data-testid="connection"]', { hasText: 'live' }).waitFor();
    await page.locator('[data-actor="runner:llm-0"]').first().waitFor();
    // The stream goes on after the reconnect.
    troupe.resources.register({ id: 'late', close: () => {} });
    await page.locator('[data-actor="resource:late"]').first().waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('a shutdown: the phases advance on the page with tasks left to drain, then the report; the page says closed', async () => {
    const work = troupe.runner('llm-0')!;
    const long = work.run(1_500);
    const report = troupe.shutdown({ reason: 'deploy' });
    await page.locator('[data-testid="phase"]', { hasText: 'draining' }).waitFor();
    await page
      .locator('[data-testid="timeline"] [data-phase="draining"][data-entered="true"]')
      .waitFor();
    expect(
      await page
        .locator('[data-testid="timeline"] [data-phase="signaling"][data-entered="true"]')
        .count(),
    ).toBe(1);
    // Readiness turned false at SIGNALING; the runner drains its task.
    await page.locator('#ready', { hasText: 'not ready' }).waitFor();
    await expect.poll(() => stateOf(page, 'runner:llm-0').textContent()).toMatch(/^draining/);
    await shot(page, 'dashboard-shutdown');
    expect(await long).toBe(1_500);
    expect((await report).forced).toBe(false);
    await page.locator('[data-testid="report"][data-forced="false"]').waitFor();
    expect(await page.locator('[data-testid="phase"]').textContent()).toBe('stopped');
    await page.locator('[data-testid="connection"]', { hasText: 'closed' }).waitFor();
    // The last states made it to the page before it was closed.
    expect(await stateOf(page, 'resource:db').textContent()).toBe('closed');
    expect(await stateOf(page, 'runner:llm-0').textContent()).toBe('stopped');
    expect(await stateOf(page, 'shutdown').textContent()).toBe('stopped');
    await shot(page, 'dashboard-stopped');
    expect(pageErrors).toEqual([]);
  });
});
