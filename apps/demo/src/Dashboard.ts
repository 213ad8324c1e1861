import type {
  ErrorRecord,
  Runner,
  RunnerState,
  RunnerStateEvent,
  ShutdownPhase,
  ShutdownPhaseEvent,
} from '@troupe/runtime';
import { createLogUpdate } from 'log-update';
import type { Colors } from './colors.js';
import type { RequestTally } from './RequestTally.js';

/** What a {@link Dashboard} shows and where. */
export interface DashboardOptions {
  readonly nodeId: string;
  /** Rows, in order (runners appear before they are spawned, as `starting`). */
  readonly runnerIds: readonly string[];
  readonly tally: RequestTally;
  readonly durationMs: number;
  readonly colors: Colors;
  /** Redraw in place (a TTY) or print a plain line every second. */
  readonly live: boolean;
  readonly stream?: NodeJS.WriteStream;
}

const LIVE_FRAME_MS = 200;
const PLAIN_LINE_MS = 1_000;
const RATE_WINDOW_MS = 2_000;
const EVENT_LINES = 6;

/**
 * The live terminal view of the demo: runner states (from `runner:state`),
 * request counts, tokens/s, crashes, the tail of each runner's stream and the
 * last notable events. On a TTY it redraws a compact frame a few times per
 * second with log-update; otherwise it prints one plain line per second and
 * each notable event as it happens.
 */
export class Dashboard {
  readonly #o: DashboardOptions;
  readonly #c: Colors;
  readonly #stream: NodeJS.WriteStream;
  readonly #states = new Map<string, RunnerState>();
  readonly #runners = new Map<string, Runner>();
  readonly #events: string[] = [];
  readonly #samples: { at: number; tokens: number }[] = [];
  readonly #startedAt = performance.now();
  readonly #log: ReturnType<typeof createLogUpdate> | null;
  #phase: ShutdownPhase = 'running';
  #timer: NodeJS.Timeout | null = null;

  constructor(options: DashboardOptions) {
    this.#o = options;
    this.#c = options.colors;
    this.#stream = options.stream ?? process.stdout;
    this.#log = options.live ? createLogUpdate(this.#stream) : null;
    for (const id of options.runnerIds) this.#states.set(id, 'starting');
  }

  /** Starts redrawing. */
  start(): void {
    if (this.#timer !== null) return;
    const every = this.#log === null ? PLAIN_LINE_MS : LIVE_FRAME_MS;
    this.#timer = setInterval(() => {
      this.#render();
    }, every);
    this.#render();
  }

  /** Draws a last frame (or line) and stops; what is printed next goes below it. */
  stop(): void {
    if (this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
    this.#render();
    this.#log?.done();
  }

  /** Shows a spawned runner's live figures (threads, crashes, restarts). */
  attach(runner: Runner): void {
    this.#runners.set(runner.id, runner);
  }

  /** `troupe.on('runner:state')`. */
  runnerState(event: RunnerStateEvent): void {
    this.#states.set(event.runnerId, event.state);
    // ready ⇄ busy flips all the time; everything else is worth a line.
    const quiet = new Set<RunnerState>(['ready', 'busy']);
    if (quiet.has(event.state) && (event.previous === null || quiet.has(event.previous))) return;
    if (event.previous === 'starting' && event.state === 'ready') {
      this.note(`${event.runnerId} ready: model loaded in every thread`);
      return;
    }
    if (event.previous === null) return;
    const to = this.#stateColor(event.state)(event.state);
    let why = '';
    if (event.state === 'failed') {
      // The runner escalated (e.g. past its restart limit): say why, once.
      const failure = this.#runners.get(event.runnerId)?.actor.getSnapshot().context.failure;
      const code = failure?.code ?? 'ERR_RUNNER_STOPPED';
      why = ` ${this.#c.red(code)}${failure === undefined || failure === null ? '' : `: ${failure.message}`}`;
      if (this.#phase === 'running') why += this.#c.dim(' — the other runners keep serving');
    }
    this.note(`${event.runnerId}: ${event.previous} → ${to}${why}`);
  }

  /** `troupe.on('shutdown:phase')`. */
  phase(event: ShutdownPhaseEvent): void {
    this.#phase = event.phase;
    const c = this.#c;
    const what =
      event.phase === 'signaling'
        ? 'admission closed, runners told'
        : event.phase === 'draining'
          ? 'in-flight requests finish'
          : event.phase === 'closing'
            ? 'teardown, resources close in dependency order'
            : 'every thread exited, every port closed';
    this.note(
      `${c.bold('shutdown phase:')} ${c.magenta(event.phase)} ${c.dim(`(${what}; reason: ${event.reason})`)}`,
    );
  }

  /** `troupe.on('error')`: crashes and restart limits are worth a line. */
  error(record: ErrorRecord): void {
    if (record.code !== 'ERR_WORKER_CRASHED' && record.code !== 'ERR_RESTART_LIMIT') {
      return;
    }
    // A crash mid-task is reported twice: the thread's exit, and its task's
    // failure (operation 'run'). One line per crash: the thread's.
    if (record.code === 'ERR_WORKER_CRASHED' && record.context.operation === 'run') return;
    const c = this.#c;
    const tail =
      record.code === 'ERR_WORKER_CRASHED'
        ? 'the task it ran fails; the thread is replaced (a crash, and one restart of the budget)'
        : '';
    this.note(`${c.red(record.code)} ${record.message}${tail === '' ? '' : c.dim(` — ${tail}`)}`);
  }

  /** Adds a line to the event log (printed at once when not live). */
  note(text: string): void {
    const line = `${this.#c.dim(this.#clock())} ${text}`;
    if (this.#log === null) {
      this.#stream.write(`${line}\n`);
      return;
    }
    this.#events.push(line);
    if (this.#events.length > EVENT_LINES) this.#events.shift();
  }

  // ---- rendering ------------------------------------------------------------

  #render(): void {
    const now = performance.now();
    const totals = this.#o.tally.totals();
    this.#samples.push({ at: now, tokens: totals.tokens });
    while (this.#samples.length > 2 && (this.#samples[0]?.at ?? now) < now - RATE_WINDOW_MS) {
      this.#samples.shift();
    }
    if (this.#log === null) this.#stream.write(`${this.#plainLine()}\n`);
    else this.#log(this.#frame());
  }

  #rate(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (first === undefined || last === undefined || last.at - first.at < 1) return 0;
    return ((last.tokens - first.tokens) * 1_000) / (last.at - first.at);
  }

  #crashes(): number {
    let n = 0;
    for (const runner of this.#runners.values()) n += runner.stats().crashes;
    return n;
  }

  #clock(): string {
    const s = (performance.now() - this.#startedAt) / 1_000;
    return `[${s.toFixed(1).padStart(5)}s]`;
  }

  #plainLine(): string {
    const t = this.#o.tally.totals();
    const runners = this.#o.tally.runners
      .map((r) => {
        const stats = this.#runners.get(r.runnerId)?.stats();
        return `${r.runnerId} ${this.#states.get(r.runnerId) ?? '?'}: done ${r.completed}, failed ${r.failed}, crashes ${stats?.crashes ?? 0}, restarts ${stats?.restarts ?? 0}`;
      })
      .join(' | ');
    return [
      this.#clock(),
      this.#phase,
      `in-flight ${t.inFlight}`,
      `done ${t.completed}`,
      `failed ${t.failed}`,
      `aborted ${t.aborted}`,
      `rejected ${t.rejected}`,
      `${Math.round(this.#rate())} tok/s`,
      `crashes ${this.#crashes()}`,
      `| ${runners}`,
    ].join('  ');
  }

  #frame(): string {
    const c = this.#c;
    const t = this.#o.tally.totals();
    const width = Math.max(60, this.#stream.columns);
    const elapsed = (performance.now() - this.#startedAt) / 1_000;
    const phase = this.#phase === 'running' ? c.green(this.#phase) : c.magenta(c.bold(this.#phase));
    const header = [
      `${c.bold('Troupe demo')} ${c.dim('· simulated LLM inference node ·')} ${c.cyan(this.#o.nodeId)}`,
      [
        `phase ${phase}`,
        this.#phase === 'running'
          ? `${elapsed.toFixed(1)} s / ${(this.#o.durationMs / 1_000).toFixed(1)} s`
          : `${elapsed.toFixed(1)} s`,
        `in flight ${c.bold(t.inFlight)}`,
        `done ${c.green(t.completed)}`,
        `failed ${t.failed > 0 ? c.red(t.failed) : '0'}`,
        `aborted ${t.aborted}`,
        `rejected ${t.rejected}`,
        `${c.bold(Math.round(this.#rate()))} tok/s`,
        `crashes ${this.#crashes()}`,
      ].join(c.dim(' · ')),
    ];
    const columns = ['runner', 'state', 'threads', 'done', 'fail', 'abrt', 'tokens', 'crash'];
    const widths = [10, 10, 7, 5, 5, 5, 7, 5];
    const head = columns.map((h, i) => cell(h, widths[i] ?? 6, i < 2)).join(' ');
    const used = widths.reduce((a, b) => a + b + 1, 0);
    const rows = this.#o.tally.runners.map((r) => {
      const state = this.#states.get(r.runnerId) ?? 'starting';
      const stats = this.#runners.get(r.runnerId)?.stats();
      const cells = [
        cell(r.runnerId, widths[0] ?? 10, true),
        this.#stateColor(state)(cell(state, widths[1] ?? 10, true)),
        cell(stats === undefined ? '-' : `${stats.threads}`, widths[2] ?? 7),
        cell(r.completed, widths[3] ?? 5),
        cell(r.failed, widths[4] ?? 5),
        cell(r.aborted, widths[5] ?? 5),
        cell(r.tokens, widths[6] ?? 7),
        cell(stats?.crashes ?? 0, widths[7] ?? 5),
      ];
      const tail = r.lastTokens.join(' ');
      const room = Math.max(0, width - used - 3);
      const streamed = tail.length > room ? '…' + tail.slice(tail.length - room + 1) : tail;
      return `${cells.join(' ')}  ${c.dim(streamed)}`;
    });
    const events = this.#events.length === 0 ? [c.dim('  (none yet)')] : this.#events;
    return [
      ...header,
      '',
      c.dim(`${head}  stream`),
      ...rows,
      '',
      c.dim('events'),
      ...events.map((e) => `  ${truncate(e, width - 2)}`),
      c.dim(
        this.#phase === 'running'
          ? 'Ctrl-C: graceful shutdown now'
          : this.#phase === 'stopped'
            ? 'stopped'
            : 'shutting down…',
      ),
    ].join('\n');
  }

  #stateColor(state: RunnerState): (text: string) => string {
    const c = this.#c;
    switch (state) {
      case 'ready':
        return c.green;
      case 'busy':
        return c.cyan;
      case 'starting':
      case 'restarting':
        return c.yellow;
      case 'draining':
      case 'closing':
        return c.magenta;
      case 'stopped':
        return c.dim;
      case 'failed':
        return c.red;
    }
  }
}

function cell(value: string | number, width: number, left = false): string {
  const text = String(value);
  return left ? text.padEnd(width) : text.padStart(width);
}

/** Cuts a line that may hold colour codes, counting visible characters only. */
function truncate(line: string, width: number): string {
  // eslint-disable-next-line no-control-regex -- ANSI colour sequences
  const visible = line.replace(/\u001b\[[0-9;]*m/g, '');
  if (visible.length <= width) return line;
  return visible.slice(0, Math.max(0, width - 1)) + '…';
}
