function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A short random id for this node (process). Prefixing runner ids with it
 * keeps them unique beyond one process.
 *
 * @example
 * ```ts
 * createNodeId(); // 'n-3f9a1c2e'
 * ```
 */
export function createNodeId(): string {
  return `n-${randomHex(4)}`;
}

/**
 * A generator of ids `<prefix>-<n>` unique within its generator.
 *
 * @example
 * ```ts
 * const next = idSequence('n-3f9a1c2e/runner');
 * next(); // 'n-3f9a1c2e/runner-1'
 * ```
 */
export function idSequence(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}
