/** A deadline handed out by {@link DeadlineQueue.add}; pass it to `cancel`. */
export interface Deadline {
  /** `performance.now()` at which it fires. */
  readonly at: number;
  /** Cleared by `cancel` or once fired. */
  live: boolean;
  readonly fire: () => void;
}

/** Deadlines of one duration: they expire in the order they were added. */
interface Lane {
  readonly entries: Deadline[];
  head: number;
}

/**
 * Many deadlines on one timer. Closing ten thousand resources at once arms
 * ten thousand close deadlines and cancels nearly all of them a moment
 * later; one XState delayed event each costs more than the closes
 * themselves. Deadlines of the same duration expire in the order they were
 * added, so each duration keeps a FIFO lane (as Node's own timer lists do):
 * adding and cancelling are O(1), and a single timer is armed for the
 * earliest live head. With nothing pending, no timer is left behind, and
 * the one timer is unref'd.
 */
export class DeadlineQueue {
  readonly #lanes = new Map<number, Lane>();
  #live = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = Infinity;

  /** Number of deadlines neither fired nor cancelled. */
  get size(): number {
    return this.#live;
  }

  /** Calls `fire` once `ms` have passed, unless cancelled first. */
  add(ms: number, fire: () => void): Deadline {
    const deadline: Deadline = { at: performance.now() + ms, live: true, fire };
    let lane = this.#lanes.get(ms);
    if (lane === undefined) {
      lane = { entries: [], head: 0 };
      this.#lanes.set(ms, lane);
    }
    lane.entries.push(deadline);
    this.#live += 1;
    if (deadline.at < this.#timerAt) this.#arm(deadline.at);
    return deadline;
  }

  /** Withdraws a deadline; a no-op once it fired or was cancelled. */
  cancel(deadline: Deadline): void {
    if (!deadline.live) return;
    deadline.live = false;
    this.#live -= 1;
    if (this.#live === 0) this.clear();
  }

  /** Drops every deadline without firing it and clears the timer. */
  clear(): void {
    for (const lane of this.#lanes.values()) {
      for (let i = lane.head; i < lane.entries.length; i++) {
        (lane.entries[i] as Deadline).live = false;
      }
    }
    this.#lanes.clear();
    this.#live = 0;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#onTimer();
      },
      Math.max(0, at - performance.now()),
    );
    // A deadline never keeps the process alive by itself: during a shutdown
    // the coordinator's phase deadline does, and a close abandoned at the
    // closing deadline must not hold the process for its own closeTimeoutMs.
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = performance.now();
    const due: Deadline[] = [];
    let next = Infinity;
    for (const [ms, lane] of this.#lanes) {
      const { entries } = lane;
      // Skip what fired or was cancelled, take what is due.
      while (lane.head < entries.length) {
        const entry = entries[lane.head] as Deadline;
        if (entry.live && entry.at > now) break;
        lane.head += 1;
        if (entry.live) due.push(entry);
      }
      if (lane.head === entries.length) {
        this.#lanes.delete(ms);
        continue;
      }
      if (lane.head > 1_024 && lane.head * 2 > entries.length) {
        entries.splice(0, lane.head);
        lane.head = 0;
      }
      next = Math.min(next, (entries[lane.head] as Deadline).at);
    }
    if (next !== Infinity) this.#arm(next);
    for (const entry of due) {
      entry.live = false;
      this.#live -= 1;
    }
    for (const entry of due) entry.fire();
    if (this.#live === 0) this.clear();
  }
}
