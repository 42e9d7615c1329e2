/**
 * `paxos scenario` as a user meets it: the shipped scenarios are listed, one
 * runs to the end with its narration and exits 0 (on real replicas, the
 * default, and simulated), a scenario whose expected trace is wrong exits 1
 * with a diff naming the step, a scenario that needs the scripted disk is
 * refused on real replicas, and `--trace` writes a trace `paxos trace` reads
 * and draws in both modes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { paxos, succeeds } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

const SHIPPED = [
  '000-duelling-proposers',
  '003-three-servers',
  'livelock-backoff',
  'multi-catchup',
  'multi-election',
  'multi-failover',
  'multi-hands-off',
  'multi-leader-write',
  'multi-membership',
  'multi-partition-heal',
  'multi-restart-then-propose',
];

function home(): string {
  return mkdtempSync(join(tmpdir(), 'paxos-scenario-'));
}

test('scenario list names every shipped scenario with its title, as text and as JSON', async () => {
  const dir = home();
  try {
    const text = (await succeeds(dir, 'scenario', 'list')).stdout;
    for (const name of SHIPPED) assert.match(text, new RegExp(`^${name}\\s+\\S`, 'm'), `${name} not listed`);
    const list = JSON.parse((await succeeds(dir, 'scenario', 'list', '--json')).stdout) as {
      name: string;
      title: string;
    }[];
    assert.deepEqual(
      list.map((s) => s.name),
      SHIPPED,
    );
    assert.ok(
      list.every((s) => s.title !== s.name && s.title.length > 0),
      'a shipped scenario has no title',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scenario run 000-duelling-proposers prints narration, commands and traces, and exits 0, live and simulated', async () => {
  const dir = home();
  try {
    for (const mode of [[], ['--sim']]) {
      const out = (await succeeds(dir, 'scenario', 'run', '000-duelling-proposers', ...mode)).stdout;
      assert.match(out, mode.length === 0 ? /^\(live: real replica processes/m : /^\(simulated: /m);
      assert.match(out, /^» Three replicas, each a proposer and an acceptor/m);
      assert.match(out, /^> propose node-1 x=2$/m);
      assert.match(out, /^ {2}node-3 learned x: 7$/m);
      assert.match(out, /every trace as expected/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a scenario whose expected trace is wrong exits 1 with a diff; --live is refused where only the scripted disk will do', async () => {
  const dir = home();
  try {
    const original = readFileSync(join(repoRoot(), 'templates', 'scenarios', '000-duelling-proposers.txt'), 'utf8');
    const broken = join(dir, 'broken.txt');
    writeFileSync(broken, original.replace('node-2 → node-1 promise x (1.1)', 'node-2 → node-1 promise x (9.9)'));
    const r = await paxos(dir, 'scenario', 'run', broken);
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stdout, /✗ step 4 differs/);
    assert.match(r.stdout, /^ {4}- node-2 → node-1 promise x \(9\.9\)$/m);
    assert.match(r.stdout, /^ {4}\+ node-2 → node-1 promise x \(1\.1\)$/m);
    const live = await paxos(dir, 'scenario', 'run', 'multi-leader-write', '--live');
    assert.equal(live.exitCode, 2);
    assert.match(live.stderr, /^paxos: this scenario cannot run on real replicas: it controls when writes finish/);
    const both = await paxos(dir, 'scenario', 'run', '000-duelling-proposers', '--live', '--sim');
    assert.equal(both.exitCode, 2);
    // Without a flag, a scenario that needs the scripted disk runs simulated rather than failing.
    const auto = (await succeeds(dir, 'scenario', 'run', 'multi-leader-write')).stdout;
    assert.match(auto, /^\(simulated: /m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scenario run --trace writes a trace that paxos trace reads and draws, simulated and live', async () => {
  const dir = home();
  try {
    for (const mode of ['--sim', '--live']) {
      const trace = join(dir, `t${mode}.jsonl`);
      const svg = join(dir, `t${mode}.svg`);
      await succeeds(dir, 'scenario', 'run', '000-duelling-proposers', mode, '--trace', trace);
      const summary = (await succeeds(dir, 'trace', trace)).stdout;
      assert.match(summary, /14 send, 14 deliver/, mode);
      assert.match(summary, /x: 7 at 1\.3/, mode);
      await succeeds(dir, 'trace', trace, '--svg', svg);
      const arrows = (readFileSync(svg, 'utf8').match(/class="arrow t-/g) ?? []).length;
      assert.equal(arrows, 14, `the diagram does not draw one arrow per delivered message (${mode})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("completion offers scenario's subcommands and, after run, the shipped scenarios", async () => {
  const dir = home();
  try {
    const complete = async (...words: string[]) =>
      (await succeeds(dir, '__complete', ...words)).stdout.split('\n').filter((x) => x !== '');
    assert.deepEqual(await complete('scenario', ''), ['list', 'run']);
    assert.deepEqual(await complete('scenario', 'run', 'multi-f'), ['multi-failover']);
    assert.ok((await complete('scenario', 'run', '--')).includes('--trace'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
