// Every fixture URL points at a built module.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixtures } from '../src/index.js';

describe('fixtures', () => {
  it.each(Object.entries(fixtures))('%s exists in dist', (_, url) => {
    expect(url.protocol).toBe('file:');
    expect(existsSync(fileURLToPath(url).replace('/src/', '/dist/'))).toBe(true);
  });
});
