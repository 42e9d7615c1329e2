/**
 * Exit codes and answers that are true. Bad usage is exit 2 before anything
 * is sent: a --timeout the replica would refuse, an empty or white-space key.
 * On a real Basic Paxos cluster: proposing a second value for a chosen key is
 * `refused` (exit 1, the chosen value in the JSON); `partition node-1` echoes
 * both groups; `heal` does not claim full reachability while a `net` rule is
 * in force; `net --json` alone prints the rules.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { paxos, succeeds } from '../support/cli.js';

test('bad usage is exit 2 with one sentence, before any cluster is asked', async () => {
  const home = mkdtempSync(join(tmpdir(), 'paxos-usage-'));
  try {
    const cases: [string[], RegExp][] = [
      [
        ['propose', 'x=1', '--timeout', '0'],
        /^paxos: --timeout must be above 0 and at most 10m, the longest a replica waits, got "0"$/,
      ],
      [
        ['propose', 'x=1', '--timeout', '11m'],
        /^paxos: --timeout must be above 0 and at most 10m, the longest a replica waits, got "11m"$/,
      ],
      [['get', 'x', '--timeout', '0'], /--timeout must be above 0/],
      [['get', ''], /^paxos: get needs a key, like `paxos get x`$/],
      [['propose', '=1'], /^paxos: a key is needed before "=", like x=7$/],
      [['propose', ' x=1'], /^paxos: a key cannot contain spaces or other white space \(got " x"\)$/],
      [['propose', 'x\t=1'], /white space \(got "x\\t"\)/],
      [['get', 'x y'], /white space \(got "x y"\)/],
    ];
    for (const [args, sentence] of cases) {
      const r = await paxos(home, ...args);
      assert.equal(r.exitCode, 2, `paxos ${args.join(' ')}: exit ${r.exitCode}, ${r.stderr}`);
      assert.match(r.stderr.trim(), sentence, `paxos ${args.join(' ')}`);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('Basic Paxos: a second value for a chosen key is refused with the chosen value; partition, heal and net say what is true', async () => {
  const home = mkdtempSync(join(tmpdir(), 'paxos-answers-'));
  try {
    await succeeds(home, 'up', '-n', '3', '--protocol', 'basic', '--detach');
    await succeeds(home, 'propose', 'x=2');

    const refused = await paxos(home, 'propose', 'x=7');
    assert.equal(refused.exitCode, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /^paxos: x was already chosen as 2, so 7 was not chosen \(at ballot \S+, \d+ round trips?, [\d.]+ ms via node-\d\)$/,
    );
    const json = await paxos(home, 'propose', 'x=7', '--json');
    assert.equal(json.exitCode, 1);
    const body = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(body.outcome, 'refused');
    assert.equal(body.code, 'already-chosen');
    assert.equal(body.chosen, '2');
    assert.equal(body.key, 'x');
    // Proposing the value that is chosen is not refused: it is chosen.
    assert.match((await succeeds(home, 'propose', 'x=2')).stdout, /^chosen x=2 /);

    assert.equal(
      (await succeeds(home, 'partition', 'node-1')).stdout.trim(),
      'partitioned: {node-1} | {node-2,node-3}',
    );
    assert.deepEqual(JSON.parse((await succeeds(home, 'partition', 'node-1', '--json')).stdout), {
      partition: [[1], [2, 3]],
    });
    assert.equal(
      (await succeeds(home, 'net', '--delay', '10-20ms', '--drop', '5%')).stdout.trim(),
      'network: delay 10-20ms drop 5%',
    );
    assert.deepEqual(JSON.parse((await succeeds(home, 'net', '--json')).stdout), {
      delayMs: { min: 10, max: 20 },
      dropRate: 0.05,
      partition: [[1], [2, 3]],
    });
    assert.equal(
      (await succeeds(home, 'heal')).stdout.trim(),
      'healed the partition; the network still has delay 10-20ms drop 5% (`paxos net --delay 0 --drop 0` removes it)',
    );
    assert.deepEqual(
      JSON.parse((await succeeds(home, 'net', '--json')).stdout),
      { delayMs: { min: 10, max: 20 }, dropRate: 0.05, partition: null },
      'net --json alone changed the rules',
    );
    await succeeds(home, 'net', '--delay', '0', '--drop', '0');
    assert.equal((await succeeds(home, 'heal')).stdout.trim(), 'healed: every replica can reach every other');
  } finally {
    await paxos(home, 'down');
    rmSync(home, { recursive: true, force: true });
  }
});
