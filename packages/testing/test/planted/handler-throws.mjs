// Planted bug: the handler throws on some payloads (here: every one above 1).
export default function work(n) {
  if (n > 1) throw new TypeError(`planted: cannot handle ${n}`);
  return n * 2;
}
