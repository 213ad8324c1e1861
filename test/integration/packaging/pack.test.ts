// The packages as a user gets them: `npm pack` of every publishable package,
// the tarballs installed into an empty folder outside the workspace with
// `npm install --offline` (nothing but the tarballs and npm's cache), and
// there the quickstarts of packages/runtime/README.md, run as written: as
// JavaScript, and as TypeScript type-checked by tsc (moduleResolution
// nodenext) with a worker written in TypeScript.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGES = ['core', 'runtime', 'testing', 'inspect', 'dashboard', 'cluster'] as const;

interface Packed {
  readonly name: string;
  readonly filename: string;
  readonly files: readonly string[];
  readonly size: number;
}

const packed = new Map<string, Packed>();
let dir = '';

interface LockEntry {
  readonly version?: string;
  readonly resolved?: string;
  readonly link?: boolean;
  readonly optional?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
}

/**
 * Every third-party package our packages need, with the exact tarball the
 * workspace's lockfile resolved: pinned by URL at the top of the user's
 * app, they come from npm's cache with no registry metadata, so the
 * install runs with --offline on a machine that only ran `npm ci` (which
 * caches tarballs, not metadata). Optional ones only where installed here
 * (this platform's binaries). Plus what the TypeScript check needs.
 */
function thirdParty(): Record<string, string> {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const entries = lock.packages;
  const ours = new Set(PACKAGES.map((name) => `packages/${name}`));
  const resolve = (name: string, from: string): string | null => {
    let at = from;
    for (;;) {
      const key = at === '' ? `node_modules/${name}` : `${at}/node_modules/${name}`;
      if (key in entries) return key;
      if (at === '') return null;
      const cut = at.lastIndexOf('/node_modules/');
      at = cut < 0 ? '' : at.slice(0, cut);
    }
  };
  const pinned: Record<string, string> = {};
  const stack: [string, string][] = [];
  const push = (entry: LockEntry | undefined, from: string): void => {
    for (const dep of [
      ...Object.keys(entry?.dependencies ?? {}),
      ...Object.keys(entry?.optionalDependencies ?? {}),
    ]) {
      stack.push([dep, from]);
    }
  };
  for (const dir of ours) push(entries[dir], dir);
  for (const dep of ['typescript', '@types/node']) stack.push([dep, '']);
  const seen = new Set<string>();
  while (stack.length > 0) {
    const [name, from] = stack.pop()!;
    if (name.startsWith('@troupe/')) continue;
    const key = resolve(name, from);
    if (key === null || seen.has(key)) continue;
    seen.add(key);
    const entry = entries[key]!;
    if (entry.link === true || entry.version === undefined) continue;
    if (entry.optional === true && !existsSync(join(ROOT, key))) continue;
    if (key.split('node_modules/').length > 2) {
      throw new Error(`${key}: a nested copy; pinning at the top would not place it`);
    }
    // The lockfile leaves out registry URLs (.npmrc): the registry's tarball URL.
    pinned[name] =
      entry.resolved ??
      `https://registry.npmjs.org/${name}/-/${name.split('/').pop() ?? name}-${entry.version}.tgz`;
    push(entry, key);
  }
  return pinned;
}

/** The fenced blocks of a README whose first line names their file: `// quickstart/main.mjs`. */
function quickstartFiles(readme: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const match of readme.matchAll(
    /```(?:js|ts|json)\n\/\/ (quickstart[^\n]*)\n([\s\S]*?)```/g,
  )) {
    const [, path, body] = match;
    if (path !== undefined && body !== undefined) files.set(path.trim(), body);
  }
  return files;
}

/** The expected output of a command block: its `# ` lines after `command`. */
function expectedOutput(readme: string, command: string): string[] {
  const at = readme.indexOf(`${command}\n`);
  if (at < 0) throw new Error(`no "${command}" in the README`);
  const block = readme.slice(at + command.length + 1, readme.indexOf('```', at));
  return block
    .split('\n')
    .filter((line) => line.startsWith('# '))
    .map((line) => line.slice(2));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'troupe-pack-'));
  const tarballs = join(dir, 'tarballs');
  mkdirSync(tarballs);
  for (const name of PACKAGES) {
    const { stdout } = await run(
      'npm',
      ['pack', '--json', '--pack-destination', tarballs, '--ignore-scripts'],
      { cwd: join(ROOT, 'packages', name) },
    );
    const [info] = JSON.parse(stdout) as {
      name: string;
      filename: string;
      size: number;
      files: { path: string }[];
    }[];
    if (info === undefined) throw new Error(`npm pack of ${name} said nothing`);
    packed.set(name, {
      name: info.name,
      filename: join(tarballs, info.filename),
      files: info.files.map((f) => f.path),
      size: info.size,
    });
  }
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'troupe-user-app',
        private: true,
        type: 'module',
        dependencies: {
          ...thirdParty(),
          ...Object.fromEntries([...packed.values()].map((p) => [p.name, `file:${p.filename}`])),
        },
      },
      null,
      2,
    ),
  );
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: app,
    env: { ...process.env, npm_config_workspaces: 'false' },
  });
  const readme = readFileSync(join(ROOT, 'packages/runtime/README.md'), 'utf8');
  for (const [path, body] of quickstartFiles(readme)) {
    const file = join(app, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body);
  }
}, 180_000);

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('the packages from their tarballs', () => {
  it('ship dist, README, CHANGELOG and LICENSE, and nothing of the workspace (sources, tests, build info)', () => {
    for (const name of PACKAGES) {
      const { files } = packed.get(name)!;
      expect(files, name).toEqual(
        expect.arrayContaining([
          'package.json',
          'README.md',
          'CHANGELOG.md',
          'LICENSE',
          'dist/index.js',
          'dist/index.d.ts',
        ]),
      );
      const stray = files.filter(
        (f) =>
          f.startsWith('src/') ||
          f.startsWith('test/') ||
          f.startsWith('page/') ||
          f.includes('scratch') ||
          f.endsWith('.tsbuildinfo') ||
          f.startsWith('node_modules/') ||
          /(^|\/)(tsconfig[^/]*|vitest\.config\.ts|vite\.config\.ts|turbo\.json)$/.test(f),
      );
      expect(stray, name).toEqual([]);
    }
    expect(packed.get('runtime')!.files).toContain('dist/worker/entry.bundle.js');
    expect(packed.get('dashboard')!.files).toContain('dist/page/index.html');
    // What the closing note lists.
    process.stdout.write(
      `${[...packed.values()].map((p) => `${p.name}: ${p.files.length} files, ${Math.round(p.size / 1024)} KiB packed`).join('\n')}\n`,
    );
  });

  it('declare no workspace-only dependency: every @troupe dependency is a version the tarballs provide', () => {
    const versions = new Map(
      PACKAGES.map((name) => {
        const manifest = JSON.parse(
          readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8'),
        ) as { name: string; version: string };
        return [manifest.name, manifest.version];
      }),
    );
    for (const name of PACKAGES) {
      const manifest = JSON.parse(
        readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8'),
      ) as Record<string, unknown>;
      for (const field of ['dependencies', 'peerDependencies']) {
        for (const [dep, spec] of Object.entries(
          (manifest[field] ?? {}) as Record<string, string>,
        )) {
          expect(spec, `${name} ${field} ${dep}`).not.toMatch(/^(workspace:|file:|link:|\*)/);
          if (dep.startsWith('@troupe/')) expect(spec, `${name} → ${dep}`).toBe(versions.get(dep));
        }
      }
      expect(manifest.engines, name).toEqual({ node: '>=20.19' });
      expect(manifest.license, name).toBe('MIT');
    }
  });

  it('share one version, released together (changesets, one fixed group of every publishable package)', () => {
    const config = JSON.parse(readFileSync(join(ROOT, '.changeset/config.json'), 'utf8')) as {
      fixed: string[][];
      access: string;
    };
    const names = PACKAGES.map((name) => packed.get(name)!.name);
    expect(config.fixed).toHaveLength(1);
    expect([...(config.fixed[0] ?? [])].sort()).toEqual([...names].sort());
    expect(config.access).toBe('public');
    const versions = new Set(
      PACKAGES.map(
        (name) =>
          (
            JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8')) as {
              version: string;
            }
          ).version,
      ),
    );
    expect(versions.size).toBe(1);
  });

  it('run the JavaScript quickstart of the runtime README as written', async () => {
    const readme = readFileSync(join(ROOT, 'packages/runtime/README.md'), 'utf8');
    const { stdout, stderr } = await run(process.execPath, ['quickstart/main.mjs'], {
      cwd: join(dir, 'app'),
      timeout: 60_000,
    });
    expect(stderr).toBe('');
    expect(stdout.trim().split('\n')).toEqual(expectedOutput(readme, 'node main.mjs'));
  }, 60_000);

  it('type-check the TypeScript quickstart with tsc (nodenext), then run it: a worker in TypeScript', async () => {
    const readme = readFileSync(join(ROOT, 'packages/runtime/README.md'), 'utf8');
    const cwd = join(dir, 'app', 'quickstart-ts');
    // Our .d.ts leak no `any` into what a user touches.
    writeFileSync(
      join(cwd, 'src', 'probe.ts'),
      [
        "import { createTroupe, type Runner, type ShutdownReport, type HealthReport } from '@troupe/runtime';",
        "import { defineRunner, type TaskContext } from '@troupe/runtime/worker';",
        "import { runnerMachine, type TroupeError } from '@troupe/core';",
        "import { testRunnerLifecycle, fixtures } from '@troupe/testing';",
        "import { createDashboard } from '@troupe/dashboard';",
        "import { serveInspector } from '@troupe/inspect';",
        "import { joinCluster, type Cluster } from '@troupe/cluster';",
        'type IsAny<T> = 0 extends 1 & T ? true : false;',
        'type No<T extends false> = T;',
        'const troupe = createTroupe();',
        'export type Checks = [',
        '  No<IsAny<typeof troupe>>, No<IsAny<Runner>>, No<IsAny<ShutdownReport>>, No<IsAny<HealthReport>>,',
        '  No<IsAny<ReturnType<typeof troupe.health>>>, No<IsAny<Awaited<ReturnType<typeof troupe.shutdown>>>>,',
        '  No<IsAny<Awaited<ReturnType<typeof troupe.spawnRunner>>>>, No<IsAny<ReturnType<Runner["stats"]>>>,',
        '  No<IsAny<TaskContext>>, No<IsAny<typeof defineRunner>>, No<IsAny<typeof runnerMachine>>, No<IsAny<TroupeError>>,',
        '  No<IsAny<typeof testRunnerLifecycle>>, No<IsAny<typeof fixtures>>, No<IsAny<typeof createDashboard>>,',
        '  No<IsAny<typeof serveInspector>>, No<IsAny<typeof troupe.metrics>>,',
        '  No<IsAny<typeof joinCluster>>, No<IsAny<Cluster>>, No<IsAny<ReturnType<Cluster["health"]>>>,',
        '];',
      ].join('\n'),
    );
    try {
      await run(join(dir, 'app', 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], {
        cwd,
        timeout: 120_000,
      });
    } catch (error) {
      const { stdout } = error as { stdout?: string };
      throw new Error(`tsc failed:\n${stdout ?? String(error)}`);
    }
    const { stdout, stderr } = await run(process.execPath, ['dist/main.js'], {
      cwd,
      timeout: 60_000,
    });
    expect(stderr).toBe('');
    expect(stdout.trim().split('\n')).toEqual(
      expectedOutput(readme, 'npx tsc && node dist/main.js'),
    );
  }, 180_000);
});
