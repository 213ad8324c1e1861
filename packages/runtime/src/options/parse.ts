import { InvalidConfigError } from '@troupe/core';
import type { z } from 'zod';
import { describeValue } from '../describeValue.js';

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * Parses `input` with `schema`; on failure throws `ERR_INVALID_CONFIG`
 * naming the field and the value it got (`what` says whose field).
 */
export function parseWith<TSchema extends z.ZodType>(
  schema: TSchema,
  input: unknown,
  what: string,
): z.output<TSchema> {
  const result = schema.safeParse(input === undefined ? {} : input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new InvalidConfigError(`invalid ${what}`);
  const path = issue.path.map(String).join('.');
  const field = path === '' ? what : `${what}.${path}`;
  const value = valueAt(input, issue.path);
  const more =
    result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
  throw new InvalidConfigError(
    `invalid "${field}": ${issue.message}; got ${describeValue(value)}${more}`,
    {
      context: { component: 'config', field, value: describeValue(value) },
    },
  );
}
