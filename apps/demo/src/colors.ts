import pc from 'picocolors';

/** picocolors' formatters (all no-ops when colour is off). */
export type Colors = ReturnType<typeof pc.createColors>;

/** Colours for a TTY that supports them; plain text otherwise (pipes, CI, tests). */
export function makeColors(enabled: boolean): Colors {
  return pc.createColors(enabled && pc.isColorSupported);
}
