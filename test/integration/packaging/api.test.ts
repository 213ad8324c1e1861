// The public API, as reviewed: api/<package>.api.md must match what the
// built declarations export (`npm run api` rewrites it), every export has a
// doc comment, and the API reference (TypeDoc, `npm run docs:api`) builds
// from those comments with no broken link.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function exitOf(command: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: ROOT, timeout: 120_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    return { code: code ?? 1, output: `${stdout ?? ''}${stderr ?? ''}` };
  }
}

describe('the public API', () => {
  it('api/*.api.md are up to date and every export has a doc comment', async () => {
    const { code, output } = await exitOf(process.execPath, ['scripts/api-report.mjs', '--check']);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 60_000);

  it('the API reference builds from the doc comments (TypeDoc, links checked)', async () => {
    const { code, output } = await exitOf(process.execPath, [
      'node_modules/typedoc/bin/typedoc',
      '--emit',
      'none',
    ]);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 120_000);
});
