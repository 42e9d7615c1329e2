/**
 * The package as a user gets it: `npm pack`, then `npm install -g` of the
 * tarball into a temporary prefix (dependencies from the registry, no
 * TypeScript, no build), then the installed `paxos` runs `up`, `propose` and
 * `down` from outside the clone, and the library entry points import and
 * type-check through `exports`. The tarball is also checked for what it must
 * hold (the compiled code, declarations, templates, LICENSE) and for source
 * maps that point at files it does not ship.
 *
 * The pack runs with --ignore-scripts: the tests run from a fresh build
 * already, and `prepare` (tsc) would only rebuild the same dist/. If the
 * registry cannot be reached the install is skipped, saying why.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { isProcessAlive } from '../../src/cluster/record.js';
import { eventually } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

const INSTALL_MS = 240_000;
const COMMAND_MS = 30_000;
const NETWORK =
  /ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ECONNRESET|ENETUNREACH|EHOSTUNREACH|network|socket hang up|request to .* failed/i;

interface PackResult {
  filename: string;
  name: string;
  files: { path: string }[];
}

/** `npm pack`: the tarball holds what a user needs, no tests, and only source maps that point at shipped files. */
async function packChecked(root: string, tmp: string, pkg: { name: string }): Promise<PackResult> {
  const pack = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
    cwd: root,
    reject: false,
    timeout: 120_000,
  });
  assert.equal(pack.exitCode, 0, `npm pack failed: ${pack.stderr}`);
  const packed = (JSON.parse(pack.stdout) as PackResult[])[0];
  assert.equal(packed.name, pkg.name);
  const files = new Set(packed.files.map((f) => f.path));
  for (const f of [
    'package.json',
    'LICENSE',
    'README.md',
    'bin/paxos.js',
    'dist/src/cli/main.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/core/index.js',
    'dist/src/core/index.d.ts',
    'templates/lossy.json',
  ]) {
    assert.ok(files.has(f), `the tarball lacks ${f}`);
  }
  assert.ok(
    ![...files].some((f) => f.startsWith('dist/test/') || f.startsWith('test/')),
    'the tarball ships the tests',
  );
  // Every source map points at a file the tarball ships.
  for (const f of files) {
    if (!f.endsWith('.map')) continue;
    const map = JSON.parse(readFileSync(join(root, f), 'utf8')) as { sources: string[] };
    for (const s of map.sources) {
      const target = normalize(join(dirname(f), s));
      assert.ok(files.has(target), `${f} points at ${target}, which is not shipped`);
    }
  }
  return packed;
}

/** `npm install -g` of the tarball into `prefix`, its dependencies from the registry. */
function installGlobally(tmp: string, prefix: string, tarball: string) {
  return execa(
    'npm',
    ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel', 'error', tarball],
    {
      cwd: tmp,
      reject: false,
      timeout: INSTALL_MS,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    },
  );
}

/** The installed `paxos`, from outside the clone: --version, then up, propose and down. */
async function runInstalled(o: { paxosBin: string; tmp: string; home: string; version: string }): Promise<void> {
  const { paxosBin, tmp, home } = o;
  const paxos = async (...args: string[]) => {
    const r = await execa(paxosBin, args, {
      cwd: tmp,
      env: { ...process.env, PAXOS_HOME: home },
      reject: false,
      timeout: COMMAND_MS,
    });
    assert.equal(r.timedOut, false, `paxos ${args.join(' ')} hung`);
    assert.equal(r.exitCode, 0, `paxos ${args.join(' ')}: exit ${r.exitCode}, stderr: ${r.stderr}`);
    return r;
  };
  assert.equal((await paxos('--version')).stdout.trim(), o.version);
  let orchestratorPid: number | undefined;
  try {
    const up = JSON.parse((await paxos('up', '-n', '3', '--detach', '--json')).stdout) as { orchestratorPid: number };
    orchestratorPid = up.orchestratorPid;
    assert.match((await paxos('propose', 'x=1')).stdout, /chosen x=1/);
    await paxos('down');
    assert.ok(await eventually(() => !isProcessAlive(up.orchestratorPid), 10_000), 'the orchestrator survived down');
  } finally {
    if (orchestratorPid !== undefined && isProcessAlive(orchestratorPid)) {
      await execa(paxosBin, ['down'], {
        env: { ...process.env, PAXOS_HOME: home },
        reject: false,
        timeout: COMMAND_MS,
      });
      if (!(await eventually(() => !isProcessAlive(orchestratorPid!), 5000))) process.kill(orchestratorPid, 'SIGKILL');
    }
  }
}

/** The library, through `exports`, from a project that depends on the installed package. */
async function useLibrary(o: { root: string; tmp: string; installed: string; name: string }): Promise<void> {
  const { root, tmp, installed } = o;
  const project = join(tmp, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(installed, join(project, 'node_modules', o.name), 'dir');
  writeFileSync(join(project, 'package.json'), '{"type":"module","private":true}\n');
  writeFileSync(
    join(project, 'use.mjs'),
    `
import { runSeeds } from '${o.name}';
import { MultiPaxos, formatBallot } from '${o.name}/core';
const r = runSeeds({ protocol: 'multi', clusterSize: 3, firstSeed: 1, seeds: 2 });
let blocked = false;
try { await import('${o.name}/dist/src/cli/main.js'); } catch (e) { blocked = e.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED'; }
console.log(JSON.stringify({ schedules: r.schedules, failures: r.failures.length, core: typeof MultiPaxos, ballot: formatBallot({ round: 2, node: 1 }), blocked }));
`,
  );
  const use = await execa(process.execPath, ['use.mjs'], { cwd: project, reject: false, timeout: COMMAND_MS });
  assert.equal(use.exitCode, 0, use.stderr);
  assert.deepEqual(JSON.parse(use.stdout), {
    schedules: 2,
    failures: 0,
    core: 'function',
    ballot: '2.1',
    blocked: true,
  });

  writeFileSync(
    join(project, 'use.ts'),
    `
import { runSeeds, type SimResult } from '${o.name}';
import { type Ballot, compareBallots } from '${o.name}/core';
const b: Ballot = { round: 1, node: 2 };
const n: number = compareBallots(b, b);
const failures: readonly SimResult[] = runSeeds({ protocol: 'basic', clusterSize: 3, firstSeed: 1, seeds: 1 }).failures;
export { n, failures };
`,
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const types = await execa(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      '--typeRoots',
      join(root, 'node_modules', '@types'),
      'use.ts',
    ],
    { cwd: project, reject: false, timeout: 120_000 },
  );
  assert.equal(types.exitCode, 0, `the declarations do not type-check a consumer: ${types.stdout}${types.stderr}`);
}

test('npm pack, npm install -g into a temporary prefix, then paxos up, propose and down', {
  timeout: 600_000,
}, async (t) => {
  const root = repoRoot();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  const tmp = mkdtempSync(join(tmpdir(), 'paxos-pack-'));
  const home = join(tmp, 'home');
  const prefix = join(tmp, 'prefix');
  const paxosBin = join(prefix, 'bin', 'paxos');
  try {
    const packed = await packChecked(root, tmp, pkg);

    const install = await installGlobally(tmp, prefix, join(tmp, packed.filename));
    if (install.exitCode !== 0 && (install.timedOut || NETWORK.test(install.stderr))) {
      t.skip(
        `the npm registry could not be reached to install the dependencies: ${install.timedOut ? `no answer within ${INSTALL_MS / 1000}s` : install.stderr.split('\n').find((l) => NETWORK.test(l))}`,
      );
      return;
    }
    assert.equal(install.exitCode, 0, `npm install -g failed: ${install.stderr}`);
    const installed = join(prefix, 'lib', 'node_modules', pkg.name);
    assert.ok(existsSync(paxosBin), 'no paxos command in the prefix');
    assert.ok(
      !existsSync(join(installed, 'node_modules', 'typescript')) &&
        !existsSync(join(prefix, 'lib', 'node_modules', 'typescript')),
      'the install pulled in TypeScript',
    );

    await runInstalled({ paxosBin, tmp, home, version: pkg.version });

    await useLibrary({ root, tmp, installed, name: pkg.name });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
