/**
 * The README's console examples are a test, so the README cannot drift from
 * what paxos prints: each `$ ` block the tour and its sections show is run in
 * order, as a newcomer would type it (HOME is a fresh directory, so
 * `~/.paxos` is the default home, and `paxos` is on the PATH), and what
 * each command prints is compared with the lines under it in the README
 * after normalising what differs from run to run: numbers (so times, pids,
 * ports, slots and ballots), timestamps and the home's path. `...` in the
 * README stands for any lines. A few outputs depend on timing in ways
 * numbers do not cover (which replica leads, a log's last lines); each
 * such allowance is listed below with its reason. Blocks that take minutes
 * or need tools from outside the repository are listed as not run, with
 * the reason, and a block that is neither run nor listed fails the test, so
 * a new example is never silently untested. Stops every cluster it starts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bin } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

interface Step {
  /** The README line of the command, from 1. */
  readonly line: number;
  readonly command: string;
  readonly expected: readonly string[];
}

interface Block {
  readonly line: number;
  readonly steps: readonly Step[];
}

/** The README's blocks of `$ ` commands, each with the lines shown under each command. */
export function consoleBlocks(readme: string): Block[] {
  const blocks: Block[] = [];
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('```')) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]?.startsWith('```'); i++) body.push(lines[i] ?? '');
    if (!body.some((l) => l.startsWith('$ '))) continue;
    const steps: { line: number; command: string; expected: string[] }[] = [];
    for (const [k, l] of body.entries()) {
      const last = steps.at(-1);
      if (l.startsWith('$ ')) steps.push({ line: start + 2 + k, command: l.slice(2), expected: [] });
      else if (last !== undefined) last.expected.push(l);
    }
    blocks.push({ line: start + 2, steps: steps.map((s) => ({ ...s, expected: trimBlank(s.expected) })) });
  }
  return blocks;
}

function trimBlank(lines: readonly string[]): string[] {
  const out = [...lines];
  while (out.length > 0 && out[out.length - 1]?.trim() === '') out.pop();
  return out;
}

/** The first command of a block names it. */
const nameOf = (b: Block) => b.steps[0]?.command.replace(/\s+#.*$/, '').trim() ?? '';

/** Blocks run, by their first command, in README order; `before` prepares what the prose says is already there. */
const RUN: readonly { readonly first: string; readonly before?: string }[] = [
  { first: 'paxos up -n 5 --detach' },
  { first: 'paxos up --fresh -n 3 --protocol basic --detach' },
  { first: 'paxos propose x' },
  { first: 'paxos up --detach' },
  // The prose: "a home that is also a project folder may have a data/ of its own".
  { first: 'paxos reset', before: 'mkdir -p ~/.paxos/data/photos && echo thesis > ~/.paxos/data/thesis.txt' },
  {
    first: 'paxos kill node-2 && rm -rf ~/.paxos/data/node-2 && paxos restart node-2',
    before: 'rm -rf ~/.paxos/data/photos ~/.paxos/data/thesis.txt && paxos up -n 3 --detach >/dev/null',
  },
];

/** Blocks not run, by their first command, and why. */
const NOT_RUN: Readonly<Record<string, string>> = {
  'paxos explore --protocol basic --plant accept-below-promise --depth 8 --out found.txt':
    'a search of tens of thousands of states; test/explore runs bounded searches and a planted one through the binary',
  'paxos add': 'a membership change waits for catch-up and hand-over; covered by test/integration/membership.test.ts',
  'paxos status | head -4': 'shows the cluster after the membership block, which is not run',
  'paxos sim --seeds 2000 --from 1 --protocol multi -n 5': 'thousands of seeds take minutes',
  'paxos sim --protocol multi -n 3 --seeds 200 --from 1 --plant ignore-accepted': 'hundreds of seeds take minutes',
  'paxos trace test/trace/fixtures/walkthrough-000.jsonl --svg walk.svg': 'writes a file, nothing to compare',
  'paxos sim --seed 7 -n 3 --trace seed7.jsonl': 'writes files, nothing to compare',
  'paxos up -n 3 --detach --trace run.jsonl':
    'event counts of a live run; covered by test/integration/live-trace.test.ts',
  'paxos scenario run 000-duelling-proposers --sim --trace walkthrough-000.jsonl':
    'regenerates docs/, covered by the scenario tests',
  'paxos up -n 3 --step --detach': 'step mode by hand; covered by test/integration/step-mode.test.ts',
  'paxos duplicate 1:1': 'continues the step-mode block',
  'paxos replay run.jsonl | head -1': 'shows a divergence planted by hand',
  'paxos check -n 5 --time 60s --seed 101 --out /tmp/long-multi-101': 'a 60 s run',
  'paxos up -n 3 --snapshot-every 50 --detach && paxos kill node-3':
    '150 proposals one process each take minutes on a loaded machine',
  'SKIP_TMPFS=1 ../shared/tools/peer-etcd.sh | grep go_leader': 'needs etcd and a tool outside the repository',
  'paxos bench --soak 1000000 -n 3 --concurrency 64 --value-size 8 --interval 100000': 'a million values',
};

/**
 * Outputs that depend on timing beyond numbers, by command: which replica
 * leads after a power cut, and which lines a replica's log ends with.
 */
const LOOSE: readonly { readonly command: RegExp; readonly why: string; readonly norm: (l: string) => string }[] = [
  {
    command: /^paxos status$/,
    why: 'which replica leads after the power cut, and which slot each had last accepted when it was killed',
    norm: (l) => l.replace(/\b(leader|follower|candidate)\b/g, '<role>').replace(/#N \(N, [^)]*\)/g, '#N (N, <value>)'),
  },
  {
    command: /^paxos propose \S+ (--via node-\d )?--timeout/,
    why: 'whether the leader had sent the command before it saw the majority gone: refused (never sent) or unknown (sent), both true',
    // normalise has already made `N nodes` into `N node`.
    norm: (l) => (/no quorum: N of N node reachable, N needed/.test(l) ? '<no quorum: refused or unknown>' : l),
  },
  {
    command: /^paxos (up --fresh|down --wipe|reset)/,
    why: 'how far each log has preallocated its zero room when it is deleted (the sizes it names)',
    norm: (l) => l.replace(/\bN (B|KiB|MiB|GiB)\b/g, '<size>'),
  },
  {
    command: /^paxos logs node-2 --lines 4/,
    why: "a log's last lines depend on what the replica did last",
    norm: (l) => l.replace(/^(<time>) .*$/, '$1 ...'),
  },
];

/** What differs from run to run, made the same on both sides. */
function normalise(line: string, home: string): string {
  return line
    .split(home)
    .join('<home>')
    .replace(/\/home\/me\/\.paxos|~\/\.paxos/g, '<home>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\d+(?:[.,]\d+)*/g, 'N')
    .replace(/\bN (\w+?)s\b/g, 'N $1')
    .replace(/\bN round trips\b/g, 'N round trip')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Whether `actual` is `expected`, where a `...` line in `expected` stands for any lines. */
function matches(expected: readonly string[], actual: readonly string[]): boolean {
  if (expected.length === 0) return actual.length === 0;
  const [head, ...rest] = expected;
  if (head === '...') {
    for (let k = 0; k <= actual.length; k++) if (matches(rest, actual.slice(k))) return true;
    return false;
  }
  return actual.length > 0 && actual[0] === head && matches(rest, actual.slice(1));
}

/** Runs one block's commands in one shell, each one's output (stderr too) after a marker line. */
function runBlock(block: Block, env: NodeJS.ProcessEnv, cwd: string): string[][] {
  const marker = '@@paxos-readme-step@@';
  // `(exit $rc)` hands each command's status to the next line, so the README's `echo $?` sees it.
  const script = block.steps.map((s) => `{ ${s.command}\n} 2>&1; rc=$?; echo ${marker}; (exit $rc)`).join('\n');
  const r = spawnSync('bash', ['-c', script], { env, cwd, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.error, undefined, `block at README line ${block.line}: ${r.error?.message}`);
  const outputs = r.stdout.split(`${marker}\n`);
  outputs.pop();
  return outputs.map((o) => trimBlank(o.split('\n')));
}

test('the README console examples print what the README shows', { timeout: 180_000 }, (t) => {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const blocks = consoleBlocks(readme);
  const unaccounted = blocks.map(nameOf).filter((n) => !RUN.some((r) => r.first === n) && NOT_RUN[n] === undefined);
  assert.deepEqual(unaccounted, [], 'every README console block is either run here or listed as not run, with why');

  const root = mkdtempSync(join(tmpdir(), 'paxos-readme-'));
  const home = join(root, '.paxos');
  const binDir = join(root, 'bin');
  mkdirSync(binDir);
  writeFileSync(join(binDir, 'paxos'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
  chmodSync(join(binDir, 'paxos'), 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: root, PATH: `${binDir}:${process.env.PATH}` };
  delete env.PAXOS_HOME;
  const problems: string[] = [];
  try {
    for (const run of RUN) {
      const block = blocks.find((b) => nameOf(b) === run.first);
      assert.ok(block !== undefined, `the README has no block starting with ${run.first}`);
      if (run.before !== undefined) {
        const setup = spawnSync('bash', ['-c', run.before], { env, cwd: root, encoding: 'utf8', timeout: 60_000 });
        assert.equal(setup.status, 0, `setting up for ${run.first}: ${setup.stderr}`);
      }
      const t0 = performance.now();
      const outputs = runBlock(block, env, root);
      t.diagnostic(`${run.first}: ${Math.round(performance.now() - t0)} ms`);
      block.steps.forEach((step, i) => {
        const loose = LOOSE.filter((l) => l.command.test(step.command));
        const norm = (l: string) => loose.reduce((acc, x) => x.norm(acc), normalise(l, home));
        const expected = step.expected.map((l) => (l.trim() === '...' ? '...' : norm(l)));
        const actual = (outputs[i] ?? ['(not run: the block stopped before it)']).map(norm);
        if (!matches(expected, actual))
          problems.push(
            `README line ${step.line}, $ ${step.command}\n  README shows:\n${step.expected.map((l) => `    ${l}`).join('\n')}\n  paxos printed:\n${(outputs[i] ?? []).map((l) => `    ${l}`).join('\n')}`,
          );
      });
    }
  } finally {
    spawnSync('bash', ['-c', 'paxos down'], { env, cwd: root, timeout: 60_000 });
    rmSync(root, { recursive: true, force: true });
  }
  assert.deepEqual(problems, [], `\n${problems.join('\n\n')}`);
});
