// The tiny task of the throughput benchmark, for Troupe and raw piscina alike.
export default (x: unknown): unknown => x;
