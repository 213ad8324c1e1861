/** Anything a {@link TaskQueue} can hold: it says whether it is still queued. */
export interface Queueable {
  queued: boolean;
}

/**
 * The tasks a runner accepted that wait for a thread: while every thread is
 * busy, while the pool starts or restarts. FIFO; a task leaves it when a
 * thread takes it, or earlier when it is cancelled (its signal, its
 * timeout, the drain deadline), in O(1): cancelled entries are skipped when
 * they reach the head.
 */
export class TaskQueue<T extends Queueable> {
  #items: (T | undefined)[] = [];
  #head = 0;
  #size = 0;

  /** Tasks waiting (cancelled ones not counted). */
  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    item.queued = true;
    this.#items.push(item);
    this.#size += 1;
  }

  /** The oldest waiting task, taken out of the queue. */
  shift(): T | undefined {
    const items = this.#items;
    while (this.#head < items.length) {
      const item = items[this.#head];
      items[this.#head] = undefined;
      this.#head += 1;
      if (item?.queued === true) {
        item.queued = false;
        this.#size -= 1;
        this.#compact();
        return item;
      }
    }
    this.#reset();
    return undefined;
  }

  /** The oldest waiting task, left in the queue (cancelled entries at the head are dropped). */
  peek(): T | undefined {
    const items = this.#items;
    while (this.#head < items.length) {
      const item = items[this.#head];
      if (item?.queued === true) return item;
      items[this.#head] = undefined;
      this.#head += 1;
    }
    return undefined;
  }

  /** Takes a task out wherever it is; false when it was not queued. */
  remove(item: T): boolean {
    if (!item.queued) return false;
    item.queued = false;
    this.#size -= 1;
    if (this.#size === 0) this.#reset();
    return true;
  }

  /** Takes every waiting task out, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i];
      if (item?.queued === true) {
        item.queued = false;
        out.push(item);
      }
    }
    this.#reset();
    return out;
  }

  #compact(): void {
    if (this.#size === 0) {
      this.#reset();
    } else if (this.#head > 1_024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  #reset(): void {
    this.#items = [];
    this.#head = 0;
    this.#size = 0;
  }
}
