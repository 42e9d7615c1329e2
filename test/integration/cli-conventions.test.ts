/**
 * The conventions a user of etcdctl, kubectl or git expects, checked on the
 * binary (`node bin/paxos.js`, each test in its own PAXOS_HOME, loopback
 * only): commander's own errors and choice typos as one `paxos:` sentence,
 * `down` with nothing running is not an error, `--json` on every command
 * whose output is data or an outcome, an environment variable for every
 * flag, examples and plain defaults in `--help`, and shell completion. Every
 * test stops what it started.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { isProcessAlive } from '../../src/cluster/record.js';
import { eventually } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

const bin = join(repoRoot(), 'bin', 'paxos.js');
const HANG_MS = 30_000;

function home(): string {
  return mkdtempSync(join(tmpdir(), 'paxos-conv-'));
}

async function paxos(dir: string, args: string[], env: Record<string, string | undefined> = {}) {
  const r = await execa(process.execPath, [bin, ...args], {
    cwd: repoRoot(),
    env: { ...process.env, PAXOS_HOME: dir, ...env },
    extendEnv: false,
    reject: false,
    timeout: HANG_MS,
  });
  assert.equal(r.timedOut, false, `paxos ${args.join(' ')} hung`);
  return r;
}

async function succeeds(dir: string, ...args: string[]) {
  const r = await paxos(dir, args);
  assert.equal(r.exitCode, 0, `paxos ${args.join(' ')}: exit ${r.exitCode}, stderr: ${r.stderr}`);
  return r;
}

async function json(dir: string, ...args: string[]): Promise<unknown> {
  const r = await succeeds(dir, ...args, '--json');
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch {
    assert.fail(`paxos ${args.join(' ')} --json printed no JSON: ${r.stdout}`);
  }
}

/** One sentence on one line of stderr, starting `paxos: `, and exit 2. */
async function usageError(
  dir: string,
  args: string[],
  pattern: RegExp,
  env: Record<string, string | undefined> = {},
): Promise<void> {
  const r = await paxos(dir, args, env);
  const what = `paxos ${args.join(' ')}`;
  assert.equal(r.exitCode, 2, `${what}: exit ${r.exitCode}, stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one sentence, not a page: ${r.stderr}`);
  assert.match(lines[0], /^paxos: \S.*\S$/, what);
  assert.doesNotMatch(lines[0], /error:|internal error/, what);
  assert.match(lines[0], pattern, what);
}

function recordPid(dir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { cluster?: { orchestratorPid: number } })
      .cluster?.orchestratorPid;
  } catch {
    return undefined;
  }
}

async function cleanup(dir: string): Promise<void> {
  const pid = recordPid(dir);
  if (pid !== undefined && isProcessAlive(pid)) {
    await execa(process.execPath, [bin, 'down'], {
      env: { ...process.env, PAXOS_HOME: dir },
      reject: false,
      timeout: HANG_MS,
    });
    if (!(await eventually(() => !isProcessAlive(pid), 5000))) process.kill(pid, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

test('commander errors, typos and an empty PAXOS_HOME are one paxos: sentence; down with nothing running succeeds', async () => {
  const dir = home();
  try {
    await usageError(dir, ['up', '--bogus'], /^paxos: unknown option '--bogus'; see `paxos up --help`$/);
    await usageError(dir, ['stauts'], /unknown command 'stauts' \(did you mean status\?\)/);
    await usageError(dir, ['heal', 'extra'], /too many arguments for 'heal'/);
    await usageError(dir, ['logs'], /missing required argument 'node'; see `paxos logs --help`/);
    await usageError(dir, ['logs', 'node-1', '--lines'], /option '--lines <count>' argument missing/);
    await usageError(
      dir,
      ['up', '--protocol', 'mutli'],
      /--protocol must be "multi" or "basic", got "mutli" \(did you mean "multi"\?\)/,
    );
    await usageError(dir, ['sim', '--protocol', 'basci'], /did you mean "basic"\?/);
    await usageError(dir, ['bench', '--protocol', 'bot'], /did you mean "both"\?/);
    await usageError(dir, ['up', '--template', 'lossi'], /there is no template "lossi".*did you mean "lossy"\?/);
    await usageError(dir, ['completion', 'zhs'], /did you mean "zsh"\?/);
    await usageError(dir, ['up', '--json'], /up --json needs --detach/);
    await usageError(dir, ['status'], /PAXOS_HOME is set but empty/, { PAXOS_HOME: '' });
    await usageError(dir, ['down'], /PAXOS_HOME is set but empty/, { PAXOS_HOME: '' });

    const down = await succeeds(dir, 'down');
    assert.match(down.stdout, /no cluster is running; nothing to stop/);
    assert.equal(down.stderr, '');
    assert.deepEqual(await json(dir, 'down'), { stopped: false, clusterSize: null });

    const version = (await succeeds(dir, '--version')).stdout.trim();
    assert.equal(
      version,
      (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version,
    );
  } finally {
    await cleanup(dir);
  }
});

test('--help: an example per command, defaults as values, the environment variable of every flag', async () => {
  const dir = home();
  try {
    const top = (await succeeds(dir, '--help')).stdout;
    const commands = [...top.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    assert.ok(commands.includes('up') && commands.includes('completion'), `commands in --help: ${commands.join(' ')}`);
    for (const c of commands) {
      const help = (await succeeds(dir, c, '--help')).stdout;
      assert.match(help, /\nExamples?:\n {2}\$ paxos /, `paxos ${c} --help has no example`);
      assert.doesNotMatch(help, /default: \[|default: "/, `paxos ${c} --help shows a default as JSON`);
      const flags = [...help.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)]
        .map((m) => m[1])
        // --fresh and --wipe delete data: a stale `export` must not do that, so they have no variable (like --all and --plant).
        .filter((f) => !['--help', '--all', '--plant', '--fresh', '--wipe'].includes(f));
      for (const f of flags) {
        const env = `PAXOS_${f.slice(2).replace(/-/g, '_').toUpperCase()}`;
        assert.ok(help.replace(/\s+/g, ' ').includes(`env: ${env}`), `paxos ${c} --help does not name ${env} for ${f}`);
      }
    }
    const bench = (await succeeds(dir, 'bench', '--help')).stdout.replace(/\s+/g, ' ');
    assert.match(bench, /default: 1,16,64/);
    assert.match(bench, /default: multi/);
    assert.match(
      (await succeeds(dir, 'check', '--help')).stdout.replace(/\s+/g, ' '),
      /--time <duration> .*default: 1m,/,
    );
    assert.match((await succeeds(dir, 'propose', '--help')).stdout.replace(/\s+/g, ' '), /default: 5s,/);

    // A flag taken from the environment, and checked like one typed.
    await usageError(dir, ['up', '--detach'], /-n must be an integer from 1 to 15, got "99"/, { PAXOS_NODES: '99' });
    await usageError(dir, ['sim', '--seeds', '1'], /--protocol must be/, { PAXOS_PROTOCOL: 'mutli' });
    const sim = await paxos(dir, ['sim', '--seeds', '2', '--from', '1', '-n', '3'], { PAXOS_JSON: '1' });
    assert.equal(sim.exitCode, 0, sim.stderr);
    assert.doesNotThrow(() => JSON.parse(sim.stdout), 'PAXOS_JSON=1 did not turn --json on');
    const plain = await paxos(dir, ['sim', '--seeds', '2', '--from', '1', '-n', '3'], { PAXOS_JSON: '0' });
    assert.equal(plain.exitCode, 0, plain.stderr);
    assert.throws(() => JSON.parse(plain.stdout), 'PAXOS_JSON=0 turned --json on');
  } finally {
    await cleanup(dir);
  }
});

test('--json on up --detach, kill, restart, partition, heal, net, logs and down; completion of live replica names', async () => {
  const dir = home();
  try {
    const up = (await json(dir, 'up', '-n', '3', '--detach')) as {
      clusterSize: number;
      protocol: string;
      orchestratorPid: number;
      replicas: { id: number; pid: number }[];
    };
    assert.equal(up.clusterSize, 3);
    assert.equal(up.protocol, 'multi');
    assert.ok(isProcessAlive(up.orchestratorPid));
    assert.deepEqual(
      up.replicas.map((r) => r.id),
      [1, 2, 3],
    );
    assert.ok(!('secret' in up), 'the control secret must not be printed');

    assert.deepEqual(await json(dir, 'kill', 'node-2'), { node: 2, up: false });
    assert.deepEqual(await json(dir, 'restart', 'node-2'), { node: 2, up: true });
    assert.deepEqual(await json(dir, 'kill', '--all'), [
      { node: 1, up: false },
      { node: 2, up: false },
      { node: 3, up: false },
    ]);
    assert.deepEqual(await json(dir, 'restart', '--all'), [
      { node: 1, up: true },
      { node: 2, up: true },
      { node: 3, up: true },
    ]);
    assert.deepEqual(await json(dir, 'partition', 'node-1'), { partition: [[1], [2, 3]] });
    assert.deepEqual(await json(dir, 'heal'), { partition: null });
    assert.deepEqual(await json(dir, 'net', '--delay', '1-5ms', '--drop', '1%'), {
      delayMs: { min: 1, max: 5 },
      dropRate: 0.01,
      partition: null,
    });
    assert.deepEqual(await json(dir, 'net', '--delay', '0', '--drop', '0'), {
      delayMs: null,
      dropRate: 0,
      partition: null,
    });
    const logLines = (await succeeds(dir, 'logs', 'node-1', '--lines', '3', '--json')).stdout.trim().split('\n');
    assert.ok(logLines.length >= 1);
    for (const l of logLines) {
      const o = JSON.parse(l) as { node: number; time: string | null; text: string };
      assert.equal(o.node, 1);
      assert.match(o.time ?? '', /^\d{4}-\d\d-\d\dT/);
      assert.equal(typeof o.text, 'string');
    }

    const complete = async (...words: string[]) =>
      (await succeeds(dir, '__complete', ...words)).stdout.split('\n').filter((x) => x !== '');
    assert.deepEqual(await complete('kill', ''), ['node-1', 'node-2', 'node-3']);
    assert.deepEqual(await complete('logs', 'node-'), ['node-1', 'node-2', 'node-3']);
    assert.deepEqual(await complete('propose', '--via', 'node-3'), ['node-3']);
    assert.deepEqual(await complete('partition', 'node-1,node-'), ['node-1,node-1', 'node-1,node-2', 'node-1,node-3']);

    // The bash script, driven as bash would drive it, with `paxos` on the PATH.
    const binDir = mkdtempSync(join(tmpdir(), 'paxos-conv-bin-'));
    try {
      writeFileSync(join(binDir, 'paxos'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`, { mode: 0o755 });
      const script = (await succeeds(dir, 'completion', 'bash')).stdout;
      const out = execFileSync(
        'bash',
        [
          '-c',
          `${script}\nCOMP_WORDS=(paxos restart no); COMP_CWORD=2; _paxos_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        {
          env: { ...process.env, PAXOS_HOME: dir, PATH: `${binDir}:${process.env.PATH ?? ''}` },
          encoding: 'utf8',
          timeout: HANG_MS,
        },
      );
      assert.deepEqual(out.trim().split('\n'), ['node-1', 'node-2', 'node-3']);
    } finally {
      rmSync(binDir, { recursive: true, force: true });
    }

    const down = (await json(dir, 'down')) as { stopped: boolean; clusterSize: number };
    assert.deepEqual([down.stopped, down.clusterSize], [true, 3]);
    assert.ok(await eventually(() => !isProcessAlive(up.orchestratorPid), 10_000), 'the orchestrator survived down');
    for (const r of up.replicas)
      assert.ok(await eventually(() => !isProcessAlive(r.pid), 10_000), `node-${r.id} survived down`);
  } finally {
    await cleanup(dir);
  }
});

test('completion: scripts for bash, zsh and fish, and candidates for commands, flags, templates and fault kinds', async () => {
  const dir = home();
  try {
    assert.match((await succeeds(dir, 'completion', 'bash')).stdout, /complete -o default -F _paxos_complete paxos/);
    assert.match((await succeeds(dir, 'completion', 'zsh')).stdout, /^#compdef paxos/);
    assert.match((await succeeds(dir, 'completion', 'fish')).stdout, /complete -c paxos -f -a '\(__paxos_complete\)'/);
    const complete = async (...words: string[]) =>
      (await succeeds(dir, '__complete', ...words)).stdout.split('\n').filter((x) => x !== '');
    const commands = await complete('');
    for (const c of ['up', 'propose', 'kill', 'sim', 'check', 'completion'])
      assert.ok(commands.includes(c), `${c} not completed`);
    assert.deepEqual(await complete('st'), ['status']);
    assert.ok((await complete('up', '--')).includes('--template'));
    assert.deepEqual(await complete('up', '--protocol', ''), ['multi', 'basic']);
    assert.deepEqual(await complete('bench', '--protocol', 'b'), ['basic', 'both']);
    assert.deepEqual(await complete('up', '--template', ''), ['classroom', 'duelling', 'lossy']);
    assert.ok((await complete('sim', '--plant', '')).includes('forget-promise'));
    assert.deepEqual(await complete('check', '--nemesis', 'kill,p'), ['kill,pause', 'kill,partition']);
    assert.deepEqual(await complete('completion', ''), ['bash', 'zsh', 'fish']);
    assert.deepEqual(await complete('kill', ''), [], 'no cluster, no replica names');
  } finally {
    await cleanup(dir);
  }
});
