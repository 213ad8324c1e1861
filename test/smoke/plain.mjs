export default (x) => x + 1;
export function double(x) { return x * 2; }
export function boom() { throw new Error('boom'); }
export function exit() { process.exit(3); }
export function sleep(ms) { return new Promise((r) => setTimeout(() => r(ms), ms)); }
