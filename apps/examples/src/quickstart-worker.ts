// A plain worker module: piscina-style, no Troupe imports needed.
export default function square(n: number): number {
  return n * n;
}

export function add({ a, b }: { a: number; b: number }): number {
  return a + b;
}
