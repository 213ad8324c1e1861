// Regressions of issue 9 about the resource manager (bugs 10, 25).
import { describe, expect, it, vi } from 'vitest';
import { makeTroupe } from '../../helpers/troupe.js';
import { deferred, turns } from '../../helpers/wait.js';

describe('regressions: resources', () => {
  it('bug 10: an open() that resolves after release does not open the re-registered resource', async () => {
    const troupe = makeTroupe();
    const resources = troupe.resources;
    const firstOpen = deferred();
    resources.register({ id: 'x', open: () => firstOpen.promise, close: () => {} });
    await resources.release('x');
    resources.register({ id: 'x', open: () => new Promise(() => {}), close: () => {} });
    firstOpen.resolve();
    await firstOpen.promise;
    await turns(5);
    expect(resources.state('x')).toBe('registered');
  });

  it("bug 25: a resource registered from another's close() is refused or closed", async () => {
    const troupe = makeTroupe();
    const lateClose = vi.fn();
    let registerError: unknown = null;
    troupe.resources.register({
      id: 'a',
      close: () => {
        try {
          troupe.resources.register({ id: 'late', close: lateClose });
        } catch (error) {
          registerError = error;
        }
      },
    });
    const report = await troupe.shutdown();
    if (registerError !== null) {
      expect(registerError).toMatchObject({ code: 'ERR_SHUTDOWN_IN_PROGRESS' });
    } else {
      expect(lateClose).toHaveBeenCalledTimes(1);
      expect(report.resources.details.map((d) => d.id)).toContain('late');
    }
  });
});
