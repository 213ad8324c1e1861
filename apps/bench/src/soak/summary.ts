// Prints what the soak did and how it ended.
import type { RunnerStats, ShutdownReport } from '@troupe/runtime';
import type { SoakConfig } from './config.js';
import { EXPECTED, type FaultKind } from './FaultInjector.js';
import type { Ledger } from './Ledger.js';
import type { ResourcePlan } from './slowResources.js';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

interface Window {
  readonly rss: number;
  readonly heap: number;
  readonly n: number;
}

export interface SoakSummary {
  readonly config: SoakConfig;
  readonly loadMs: number;
  readonly injected: Readonly<Record<FaultKind, number>>;
  readonly ledger: Ledger;
  readonly stats: readonly RunnerStats[];
  readonly events: number;
  readonly alerts: number;
  readonly plan: ResourcePlan;
  readonly inFlightAtShutdown: number;
  readonly shutdownMs: number;
  readonly report: ShutdownReport | null;
  readonly rss: {
    readonly warm: Window | null;
    readonly end: Window | null;
    readonly growth: number | null;
  };
  readonly unhandled: readonly string[];
  readonly checks: readonly Check[];
}

const MiB = 1024 * 1024;
const n = (v: number): string => v.toLocaleString('en-US');

export function printSummary(out: (line: string) => void, s: SoakSummary): void {
  const { ledger, report } = s;
  out('');
  out(
    `load: ${n(ledger.submitted)} tasks in ${(s.loadMs / 1000).toFixed(1)} s ` +
      `(${n(Math.round((ledger.submitted / s.loadMs) * 1000))}/s), ${n(s.events)} events received`,
  );
  out(
    `faults injected: ` +
      Object.entries(s.injected)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ') +
      `; resources registered during the run ${s.plan.sessions} (${s.plan.slowSessions} slow to close), ` +
      `plus db, cache, stuck (never closes), broken (close throws)`,
  );
  out(
    `runners: ` +
      s.stats
        .map(
          (r) =>
            `${r.id} ${n(r.completed)} ok / ${n(r.failed)} failed / ${n(r.aborted)} aborted, ` +
            `${r.crashes} crashes, ${r.restarts} restarts counted`,
        )
        .join('; ') +
      `; alerts ${s.alerts}`,
  );
  out('outcomes by kind (expected outcome in brackets):');
  for (const kind of ledger.kinds) {
    const counts = [...ledger.outcomes(kind).entries()].map(([code, c]) => `${code} ${n(c)}`);
    out(`  ${kind.padEnd(13)} [${EXPECTED[kind]}]  ${counts.join(', ')}`);
  }
  out(
    `outcomes by code: ${[...ledger.byCode.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([code, c]) => `${code} ${n(c)}`)
      .join(', ')}`,
  );
  for (const line of ledger.unexpected) out(`  unexpected: ${line}`);
  for (const line of ledger.invalid) out(`  invalid: ${line}`);
  if (report !== null) {
    const p = report.phases;
    out(
      `shutdown: ${s.inFlightAtShutdown} tasks in flight; ${s.shutdownMs.toFixed(0)} ms ` +
        `(signaling ${p.signaling.durationMs.toFixed(0)}, draining ${p.draining.durationMs.toFixed(0)}, ` +
        `closing ${p.closing.durationMs.toFixed(0)} ms), forced ${report.forced}; ` +
        `drained ${report.tasks.drained.completed} ok / ${report.tasks.drained.failed} failed / ${report.tasks.drained.aborted} aborted; ` +
        `resources closed ${report.resources.closed}, failed ${report.resources.failed}, forced ${report.resources.forced}; ` +
        `threads started ${report.threads.started}, exited ${report.threads.exited}, leaked ${report.threads.leaked}`,
    );
  }
  const { warm, end, growth } = s.rss;
  out(
    `memory: rss after warm-up ${warm === null ? '?' : (warm.rss / MiB).toFixed(1)} MiB, ` +
      `at the end ${end === null ? '?' : (end.rss / MiB).toFixed(1)} MiB` +
      `${growth === null ? '' : ` (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%)`}; ` +
      `main heap ${warm === null ? '?' : (warm.heap / MiB).toFixed(1)} → ${end === null ? '?' : (end.heap / MiB).toFixed(1)} MiB`,
  );
  for (const line of s.unhandled) out(`  ${line}`);
  out('checks:');
  for (const c of s.checks) out(`  [${c.ok ? 'pass' : 'FAIL'}] ${c.name}: ${c.detail}`);
  const lost = ledger.pending + ledger.invalidCount;
  out(
    `RESULT: ${s.checks.every((c) => c.ok) ? 'PASS' : 'FAIL'} (seed ${s.config.seed}, lost ${lost})`,
  );
}
