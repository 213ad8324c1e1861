import type { ErrorData } from '@troupe/core';

/** Crash notes kept: one per recently crashed thread. */
const NOTES_KEPT = 64;

/**
 * What a runner knows about its threads, from the two sides that report
 * them: piscina (the thread takes tasks) and the thread itself (its hello,
 * its crash note). A thread is up once both said so.
 */
export class ThreadRoster {
  readonly #ready = new Set<number>();
  readonly #hello = new Set<number>();
  readonly #up = new Set<number>();
  readonly #notes = new Map<number, ErrorData>();

  /** Threads up (said hello and piscina takes tasks to them). */
  get up(): ReadonlySet<number> {
    return this.#up;
  }

  /** piscina takes tasks to it: true when that made it up. */
  ready(threadId: number): boolean {
    this.#ready.add(threadId);
    return this.#becameUp(threadId);
  }

  /** It loaded the module and said hello: true when that made it up. */
  hello(threadId: number): boolean {
    this.#hello.add(threadId);
    return this.#becameUp(threadId);
  }

  /** It said hello (and has not exited). */
  loaded(threadId: number): boolean {
    return this.#hello.has(threadId);
  }

  /** Its own account of what killed it, posted before it died. */
  note(threadId: number, error: ErrorData): void {
    this.#notes.set(threadId, error);
    if (this.#notes.size > NOTES_KEPT) {
      const oldest = this.#notes.keys().next();
      if (oldest.done !== true) this.#notes.delete(oldest.value);
    }
  }

  noteOf(threadId: number): ErrorData | undefined {
    return this.#notes.get(threadId);
  }

  /** It exited (its note is kept for the tasks that still map their errors). */
  exited(threadId: number): void {
    this.#ready.delete(threadId);
    this.#hello.delete(threadId);
    this.#up.delete(threadId);
  }

  /** The pool was destroyed. */
  clear(): void {
    this.#ready.clear();
    this.#hello.clear();
    this.#up.clear();
  }

  #becameUp(threadId: number): boolean {
    if (!this.#hello.has(threadId) || !this.#ready.has(threadId) || this.#up.has(threadId)) {
      return false;
    }
    this.#up.add(threadId);
    return true;
  }
}
