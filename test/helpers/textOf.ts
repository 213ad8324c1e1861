/** Everything an error says about itself: message, then its causes' messages. */
export function textOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current !== undefined && current !== null; depth++) {
    if (typeof current === 'object') {
      const { message, code } = current as { message?: unknown; code?: unknown };
      const text = typeof message === 'string' ? message : JSON.stringify(message);
      parts.push(`${typeof code === 'string' ? code + ' ' : ''}${text}`);
      current = (current as { cause?: unknown }).cause;
    } else {
      parts.push(typeof current === 'string' ? current : `${typeof current} value`);
      break;
    }
  }
  return parts.join(' <- ');
}
