import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NodeEnv, NodeLine } from './NodeLine.js';

/** How a node process ended. */
export interface NodeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * A node process of the demo (`node.ts`, compiled next to this file),
 * started in a process group of its own (a Ctrl-C in the terminal reaches
 * the driver only: the driver decides what the nodes do) with a pipe on its
 * stdin that closes if the driver dies. Its stdout is read as
 * {@link NodeLine}s; its stderr goes to the driver's.
 */
export class NodeProcess {
  readonly id: string;
  readonly #child: ChildProcess;
  readonly #lines: NodeLine[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #exited: Promise<NodeExit>;
  #exit: NodeExit | null = null;

  private constructor(id: string, child: ChildProcess) {
    this.id = id;
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
        this.#wake();
      });
    });
    let buffer = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let at: number;
      while ((at = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        try {
          this.#lines.push(JSON.parse(text) as NodeLine);
        } catch {
          process.stderr.write(`${id}: ${text}\n`);
        }
      }
      this.#wake();
    });
  }

  /** Starts `node node.js` for node `id`. */
  static start(id: string, env: Omit<NodeEnv, 'NODE_ID'>): NodeProcess {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./node.js', import.meta.url))], {
      detached: true,
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ...env, NODE_ID: id },
    });
    // A failed spawn shows as an exit (code null); the driver's wait for `up` reports it.
    child.once('error', (error) => {
      process.stderr.write(`${id}: ${error.message}\n`);
    });
    return new NodeProcess(id, child);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Still running. */
  get alive(): boolean {
    return this.#exit === null;
  }

  /** Resolves with its exit, once it exited. */
  exited(): Promise<NodeExit> {
    return this.#exited;
  }

  /**
   * Resolves with the first line `test` accepts (at once if one came
   * already); rejects if the process exits first.
   */
  line<T extends NodeLine>(test: (line: NodeLine) => line is T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const found = this.#lines.find(test);
        if (found !== undefined) {
          this.#waiters.delete(check);
          resolve(found);
        } else if (this.#exit !== null) {
          this.#waiters.delete(check);
          reject(
            new Error(
              `${this.id} exited (${this.#exit.signal ?? String(this.#exit.code)}) before the line it was waited for`,
            ),
          );
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends `signal` if it still runs. */
  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.#child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it exited. */
  async stop(graceMs: number): Promise<NodeExit> {
    this.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      this.#exited,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (exit !== null) return exit;
    this.kill('SIGKILL');
    return this.#exited;
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
