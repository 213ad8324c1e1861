import { DataCloneError, InvalidConfigError, type TroupeError } from '@troupe/core';
import { describeValue } from '../describeValue.js';

const KNOWN: ReadonlySet<string> = new Set([
  'handler',
  'signal',
  'transfer',
  'timeoutMs',
  'onEvent',
  'retries',
  'idempotent',
  'retryBackoff',
]);

function bad(
  runnerId: string,
  field: string,
  expected: string,
  value: unknown,
): InvalidConfigError {
  return new InvalidConfigError(
    `invalid "run options.${field}": expected ${expected}; got ${describeValue(value)}`,
    { context: { runnerId, field, operation: 'admit' } },
  );
}

function isPositiveMs(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** A zero-length buffer that cannot even be sliced was transferred away already. */
function isDetached(buffer: ArrayBuffer): boolean {
  if (buffer.byteLength !== 0) return false;
  try {
    buffer.slice(0);
    return false;
  } catch {
    return true;
  }
}

function checkTransfer(runnerId: string, transfer: readonly unknown[]): TroupeError | null {
  for (const [i, item] of transfer.entries()) {
    if (item instanceof SharedArrayBuffer) {
      return new DataCloneError(
        `run options.transfer[${i}] is a SharedArrayBuffer: it is shared, not transferred (pass it in the payload)`,
        { context: { runnerId, field: `transfer[${i}]`, operation: 'admit' } },
      );
    }
    if (item instanceof ArrayBuffer && isDetached(item)) {
      return new DataCloneError(
        `run options.transfer[${i}] is an ArrayBuffer that was already transferred (detached)`,
        { context: { runnerId, field: `transfer[${i}]`, operation: 'admit' } },
      );
    }
  }
  return null;
}

/**
 * Checks the options of one `run()` call: the caller's mistakes reject the
 * task at once (`ERR_INVALID_CONFIG`, `ERR_DATA_CLONE` for a transfer list
 * that cannot work), naming the field. A key that is not an option (a typo)
 * is a mistake too. Returns null when the options are fine.
 */
export function checkRunOptions(runnerId: string, options: unknown): TroupeError | null {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return new InvalidConfigError(
      `invalid "run options": expected an object; got ${describeValue(options)}`,
      { context: { runnerId, field: 'options', operation: 'admit' } },
    );
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      return new InvalidConfigError(
        `invalid "run options": unknown option "${key}" (options are: ${[...KNOWN].join(', ')})`,
        { context: { runnerId, field: key, operation: 'admit' } },
      );
    }
  }
  const o = options as Record<string, unknown>;
  if (o.handler !== undefined && (typeof o.handler !== 'string' || o.handler.length === 0)) {
    return bad(runnerId, 'handler', 'a non-empty string', o.handler);
  }
  if (o.timeoutMs !== undefined && !isPositiveMs(o.timeoutMs)) {
    return bad(runnerId, 'timeoutMs', 'a positive number of ms', o.timeoutMs);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    return bad(runnerId, 'signal', 'an AbortSignal', o.signal);
  }
  if (o.onEvent !== undefined && typeof o.onEvent !== 'function') {
    return bad(runnerId, 'onEvent', 'a function', o.onEvent);
  }
  if (o.transfer !== undefined) {
    if (!Array.isArray(o.transfer)) {
      return bad(runnerId, 'transfer', 'an array of transferables', o.transfer);
    }
    const clone = checkTransfer(runnerId, o.transfer);
    if (clone !== null) return clone;
  }
  if (o.retries !== undefined) {
    if (typeof o.retries !== 'number' || !Number.isInteger(o.retries) || o.retries < 0) {
      return bad(runnerId, 'retries', 'a whole number >= 0', o.retries);
    }
    if (o.idempotent !== true) {
      return new InvalidConfigError(
        'invalid "run options.retries": retries need `idempotent: true` (a retried task may run more than once)',
        { context: { runnerId, field: 'idempotent', operation: 'admit' } },
      );
    }
  }
  if (o.idempotent !== undefined && typeof o.idempotent !== 'boolean') {
    return bad(runnerId, 'idempotent', 'a boolean', o.idempotent);
  }
  if (o.retryBackoff !== undefined) {
    const b = o.retryBackoff as Record<string, unknown> | null;
    if (
      typeof b !== 'object' ||
      b === null ||
      !isPositiveMs(b.baseMs) ||
      !isPositiveMs(b.capMs) ||
      (b.baseMs as number) > (b.capMs as number)
    ) {
      return bad(runnerId, 'retryBackoff', '{ baseMs, capMs } with 0 < baseMs <= capMs', b);
    }
  }
  return null;
}
