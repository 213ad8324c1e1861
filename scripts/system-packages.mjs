// What the tests need from the system besides Node: installs each missing
// Debian package with apt-get (as root, or through sudo) and says so.
// Run by `npm test` first; a test never skips because something is absent.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian package → the file that says it is installed, and who needs it. */
const NEEDED = [
  {
    pkg: 'chromium',
    file: '/usr/bin/chromium',
    why: "the dashboard's browser test (playwright-core)",
  },
  {
    pkg: 'nats-server',
    file: '/usr/sbin/nats-server',
    why: 'the cluster tests, the cluster bench and `npm run demo:cluster`',
  },
];

const missing = NEEDED.filter(({ file }) => !existsSync(file));
if (missing.length === 0) process.exit(0);

const names = missing.map((m) => m.pkg);
for (const { pkg, why } of missing) {
  process.stdout.write(
    `system-packages: ${pkg} is missing (needed by ${why}); installing it with apt-get\n`,
  );
}
const root = typeof process.getuid === 'function' && process.getuid() === 0;
const hasSudo = spawnSync('sudo', ['-n', 'true']).status === 0;
if (!existsSync('/usr/bin/apt-get') || (!root && !hasSudo)) {
  process.stderr.write(
    `system-packages: cannot install ${names.join(', ')}: no apt-get, or not root and no sudo. Install ${names.join(', ')} yourself (Debian: apt-get install -y ${names.join(' ')}).\n`,
  );
  process.exit(1);
}
const run = (args) => {
  const [cmd, ...rest] = root ? args : ['sudo', '-n', ...args];
  execFileSync(cmd, rest, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
};
run(['apt-get', 'update', '-q']);
run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...names]);
for (const { pkg, file } of missing) {
  if (!existsSync(file)) {
    process.stderr.write(`system-packages: ${pkg} installed, yet ${file} is still missing\n`);
    process.exit(1);
  }
}
process.stdout.write(`system-packages: installed ${names.join(', ')}\n`);
