/** The cluster demo's settings (command-line flags). */
export interface ClusterDemoConfig {
  /** Seconds of load, from the first task to the cluster shutdown (`--seconds`, default 12). */
  readonly seconds: number;
  /** When, in seconds of load, one node is SIGKILLed (a little before half way). */
  readonly killAtSeconds: number;
  /** Tasks the driver keeps in flight (`--in-flight`, default 12). */
  readonly inFlight: number;
  /** Every node's heartbeat (`--heartbeat-ms`, default 500): silent for 3 of them is `down`. */
  readonly heartbeatMs: number;
  /** Mean delay between two streamed tokens (`--token-ms`, default 20). */
  readonly tokenMs: number;
}

const MIN_SECONDS = 3;
const MAX_SECONDS = 120;

/**
 * Reads `--seconds N`, `--in-flight N`, `--heartbeat-ms N`, `--token-ms N`
 * (or `--flag=N`); a missing or bad value falls back to its default.
 */
export function readClusterDemoConfig(argv: readonly string[]): ClusterDemoConfig {
  const flag = (name: string, fallback: number, min: number, max: number): number => {
    let raw: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] ?? '';
      if (arg === `--${name}`) raw = argv[i + 1];
      else if (arg.startsWith(`--${name}=`)) raw = arg.slice(name.length + 3);
    }
    const value = Number(raw);
    return raw !== undefined && raw.trim() !== '' && Number.isFinite(value)
      ? Math.min(max, Math.max(min, value))
      : fallback;
  };
  const seconds = flag('seconds', 12, MIN_SECONDS, MAX_SECONDS);
  return {
    seconds,
    killAtSeconds: Math.max(1.5, Math.round(seconds * 0.4 * 2) / 2),
    inFlight: Math.trunc(flag('in-flight', 12, 1, 200)),
    heartbeatMs: flag('heartbeat-ms', 500, 50, 10_000),
    tokenMs: flag('token-ms', 20, 1, 1_000),
  };
}
