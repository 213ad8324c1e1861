/** How long a runner stays reported busy after its load fell to zero, while it runs normally. */
export const IDLE_AFTER_MS = 5;

/**
 * The busy/idle edge of a runner: the only part of task traffic its
 * statechart sees. Changes are coalesced to one report per event-loop turn,
 * so a burst of tasks (or await-run-await-run) costs at most one busy and
 * one idle event, not two per task. The idle edge also waits `idleAfterMs`
 * while the runner runs normally (not `urgent`): tasks that arrive one at
 * a time, each in its own turn (a server's requests, a cluster's tasks),
 * keep the runner busy instead of costing two statechart events each
 * (measured: 50-90 µs a task on this machine). While it drains, closes or
 * restarts (`urgent`), the idle edge is reported on the next turn, so a
 * drain ends as soon as its last task does. `flush` reports at once
 * (before any lifecycle event, so the statechart's guards read the current
 * load).
 */
export class LoadEdge {
  readonly #busy: () => boolean;
  readonly #report: (busy: boolean) => void;
  readonly #urgent: () => boolean;
  readonly #idleAfterMs: number;
  #scheduled = false;
  #reported = false;
  #idleTimer: ReturnType<typeof setTimeout> | null = null;
  #idleSince = 0;

  constructor(
    busy: () => boolean,
    report: (busy: boolean) => void,
    options: { urgent?: () => boolean; idleAfterMs?: number } = {},
  ) {
    this.#busy = busy;
    this.#report = report;
    this.#urgent = options.urgent ?? (() => true);
    this.#idleAfterMs = options.idleAfterMs ?? IDLE_AFTER_MS;
  }

  /** The load may have crossed zero. */
  changed(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#soon);
  }

  /** Reports the edge now if it moved. */
  flush(): void {
    if (this.#idleTimer !== null) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    const busy = this.#busy();
    if (busy === this.#reported) return;
    this.#reported = busy;
    this.#report(busy);
  }

  /** Stops the idle timer (the runner is gone). */
  stop(): void {
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  readonly #soon = (): void => {
    this.#scheduled = false;
    const busy = this.#busy();
    if (busy || !this.#reported || this.#idleAfterMs <= 0 || this.#urgent()) {
      this.flush();
      return;
    }
    // Going idle while running normally: only once it stays idle a while.
    this.#idleSince = performance.now();
    if (this.#idleTimer === null) {
      this.#idleTimer = setTimeout(this.#idleCheck, this.#idleAfterMs);
      this.#idleTimer.unref();
    }
  };

  readonly #idleCheck = (): void => {
    this.#idleTimer = null;
    if (this.#busy() || !this.#reported) return;
    const left = this.#idleAfterMs - (performance.now() - this.#idleSince);
    if (left > 0.5 && !this.#urgent()) {
      this.#idleTimer = setTimeout(this.#idleCheck, left);
      this.#idleTimer.unref();
      return;
    }
    this.flush();
  };
}
