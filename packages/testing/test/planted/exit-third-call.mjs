// Planted bug: a plain module whose handler calls process.exit(1) on its third call.
let calls = 0;
export default function work(n) {
  calls += 1;
  if (calls === 3) process.exit(1);
  return n * 2;
}
