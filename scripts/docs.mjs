// Writes docs/statecharts.md: the statecharts of @troupe/core drawn from the
// machines' definitions (toMermaid). Run through `npm run docs`, which builds
// @troupe/core first; packages/core/test/statechartsDoc.test.ts fails when
// the file is stale.
import { mkdirSync, writeFileSync } from 'node:fs';
import { statechartsDocument } from '@troupe/core';

const docs = new URL('../docs/', import.meta.url);
mkdirSync(docs, { recursive: true });
writeFileSync(new URL('statecharts.md', docs), statechartsDocument());
console.log('wrote docs/statecharts.md');
