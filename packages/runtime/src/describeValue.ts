/**
 * A short, readable rendering of any value for an error message: JSON where
 * possible, the type otherwise, truncated to 80 characters.
 */
export function describeValue(value: unknown): string {
  let text: string | undefined;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value instanceof URL) return value.href;
  try {
    text = JSON.stringify(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  text ??= typeof value;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
