/**
 * The busy/idle edge of a runner: the only part of task traffic its
 * statechart sees. Changes are coalesced to one report per event-loop turn,
 * so a burst of tasks (or await-run-await-run) costs at most one busy and
 * one idle event, not two per task; `flush` reports at once (before any
 * lifecycle event, so the statechart's guards read the current load).
 */
export class LoadEdge {
  readonly #busy: () => boolean;
  readonly #report: (busy: boolean) => void;
  #scheduled = false;
  #reported = false;

  constructor(busy: () => boolean, report: (busy: boolean) => void) {
    this.#busy = busy;
    this.#report = report;
  }

  /** The load may have crossed zero. */
  changed(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#soon);
  }

  /** Reports the edge now if it moved. */
  flush(): void {
    const busy = this.#busy();
    if (busy === this.#reported) return;
    this.#reported = busy;
    this.#report(busy);
  }

  readonly #soon = (): void => {
    this.#scheduled = false;
    this.flush();
  };
}
