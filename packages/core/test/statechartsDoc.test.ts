/*
 * docs/statecharts.md is generated (`npm run docs`) from the machines'
 * definitions: it must be what statechartsDocument() gives now.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { statechartsDocument, toMermaid, runnerMachine } from '../src/index.js';

const file = fileURLToPath(new URL('../../../docs/statecharts.md', import.meta.url));

describe('docs/statecharts.md', () => {
  it('is up to date with the machines', () => {
    const written = existsSync(file) ? readFileSync(file, 'utf8') : '';
    expect(written, 'docs/statecharts.md is stale: run npm run docs').toBe(statechartsDocument());
  });

  it('holds a Mermaid diagram per machine, as toMermaid draws it', () => {
    const document = statechartsDocument();
    for (const name of ['runner', 'shutdown', 'resource', 'channel', 'supervisor', 'retry']) {
      expect(document).toContain(`\n## ${name}\n`);
    }
    expect(document.match(/^```mermaid$/gm)).toHaveLength(6);
    expect(document).toContain(`\`\`\`mermaid\n${toMermaid(runnerMachine)}\`\`\`\n`);
  });
});
