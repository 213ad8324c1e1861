// `npm run bench`: runs every scenario (or `--only a,b`), `--rounds N`
// measured rounds each, prints a table and writes bench-results/bench-<date>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from './machine.js';
import type { Row } from './scenario.js';
import { scenarios } from './scenarios/index.js';
import { renderTable } from './table.js';

const RESULTS_DIR = fileURLToPath(new URL('../bench-results/', import.meta.url));

function parse(): { only: string[] | null; rounds: number; out: string | null } {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      rounds: { type: 'string', default: '5' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      `usage: node dist/main.js [--only ${scenarios.map((s) => s.name).join(',')}] [--rounds N] [--out file.json]\n` +
        '  --rounds: measured rounds per scenario (default 5; a scenario never runs fewer than its floor)\n',
    );
    process.exit(0);
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds: expected a whole number >= 1, got ${values.rounds}`);
  const only = values.only === undefined ? null : values.only.split(',').map((s) => s.trim());
  for (const name of only ?? []) {
    if (!scenarios.some((s) => s.name === name)) {
      throw new Error(
        `--only: unknown scenario "${name}" (have: ${scenarios.map((s) => s.name).join(', ')})`,
      );
    }
  }
  return { only, rounds, out: values.out ?? null };
}

async function main(): Promise<void> {
  const { only, rounds, out } = parse();
  const selected = scenarios.filter((s) => only === null || only.includes(s.name));
  const machine = machineInfo();
  const started = new Date();
  process.stderr.write(
    `troupe bench: ${machine.cores} cores (${machine.cpu}), node ${machine.node}, ${rounds} rounds, ${started.toISOString()}\n`,
  );
  const rows: Row[] = [];
  const errors: { scenario: string; error: string }[] = [];
  for (const scenario of selected) {
    process.stderr.write(`\n== ${scenario.name}: ${scenario.title}\n`);
    const t0 = performance.now();
    try {
      rows.push(
        ...(await scenario.run({
          rounds,
          log: (message) => process.stderr.write(`   ${message}\n`),
        })),
      );
    } catch (error) {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      errors.push({ scenario: scenario.name, error: text });
      process.stderr.write(`   FAILED: ${text}\n`);
    }
    process.stderr.write(`   (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  process.stdout.write(`\n${renderTable(rows)}\n`);
  const missed = rows.filter((r) => r.met === false);
  process.stdout.write(
    `\ntargets: ${rows.filter((r) => r.met === true).length} met, ${missed.length} missed` +
      (errors.length > 0 ? `, ${errors.length} scenario(s) failed` : '') +
      '\n',
  );
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const file = out ?? `${RESULTS_DIR}bench-${stamp}.json`;
  if (out === null) mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: started.toISOString(),
        machine,
        rounds,
        scenarios: selected.map((s) => s.name),
        rows,
        errors,
      },
      null,
      2,
    ) + '\n',
  );
  process.stdout.write(`results: ${file}\n`);
  if (errors.length > 0) process.exitCode = 1;
}

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`unhandled rejection: ${String(reason)}\n`);
  process.exitCode = 1;
});

await main();
