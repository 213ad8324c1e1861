// Planted bug: a plain module that starts a polling timer at load and never stops it.
let polled = 0;
setInterval(() => {
  polled += 1;
}, 1_000);
export default function work(n) {
  return n * 2 + polled * 0;
}
