/**
 * `paxos explore` through the binary: exit 0 with nothing found, 1 with a
 * counterexample written to --out that `paxos scenario run --sim` passes, 2
 * for bad usage; --interactive reads its choices from a pipe. Every file
 * goes to a scratch directory the test creates and deletes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/paths.js';

const bin = join(repoRoot(), 'bin', 'paxos.js');

function paxos(args: string[], input = '') {
  const r = spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.error, undefined, `paxos ${args.join(' ')}: ${r.error?.message}`);
  return r;
}

test('exit 0 within the bounds, 1 with a counterexample that the scenario runner passes, 2 for bad usage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-explore-'));
  try {
    const clean = paxos(['explore', '--depth', '2', '--json']);
    assert.equal(clean.status, 0, clean.stderr);
    const summary = JSON.parse(clean.stdout) as { explored: number; limit: string; violation: null };
    assert.equal(summary.violation, null);
    assert.equal(summary.limit, 'depth');
    assert.ok(summary.explored > 0);

    const file = join(dir, 'found.txt');
    const found = paxos(['explore', '--plant', 'quorum-minus-one', '--out', file]);
    assert.equal(found.status, 1, found.stderr);
    assert.match(found.stdout, /VIOLATION: node-1 started phase 2 at 1\.1 with promises from 1 of 3 nodes/);
    assert.match(found.stdout, /the scenario runner reproduces it/);
    assert.match(readFileSync(file, 'utf8'), /^option plant quorum-minus-one$/m);
    const rerun = paxos(['scenario', 'run', '--sim', file]);
    assert.equal(rerun.status, 0, rerun.stdout + rerun.stderr);

    for (const [args, pattern] of [
      [
        ['--faults', 'dup'],
        /--faults must be none or a list of drop, duplicate, crash, disk, got "dup" \(did you mean "duplicate"\?\)/,
      ],
      [['--plant', 'forget-promise'], /breaks the simulator's world, not a replica's rules/],
      [['--changes', '1'], /--changes needs --protocol multi/],
      [['--protocol', 'multi', '--change-kinds', 'remove'], /--change-kinds shapes the changes --changes asks for/],
      [['--protocol', 'multi', '--changes', '1', '--change-kinds', 'remov'], /did you mean "remove"/],
    ] as const) {
      const bad = paxos(['explore', ...args]);
      assert.equal(bad.status, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr.trim(), pattern);
    }
    const missing = paxos(['explore', '--from', join(dir, 'none.txt')]);
    assert.equal(missing.status, 1, missing.stderr);
    assert.match(missing.stderr, /cannot read .*none\.txt/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--changes: a stop-sign plant found with one change comes back as a scenario that paxos scenario run --sim passes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-explore-'));
  try {
    const file = join(dir, 'change.txt');
    const args = ['explore', '--protocol', 'multi', '--changes', '1', '--proposals', '0', '--depth', '4'];
    const found = paxos([...args, '--plant', 'config-before-chosen', '--out', file]);
    assert.equal(found.status, 1, found.stderr);
    assert.match(found.stdout, /changes remove/);
    assert.match(found.stdout, /VIOLATION: node-1 entered epoch 1 .* before it was chosen and applied/);
    assert.match(readFileSync(file, 'utf8'), /^reconfigure 1 0 1,2$/m);
    const rerun = paxos(['scenario', 'run', '--sim', file]);
    assert.equal(rerun.status, 0, rerun.stdout + rerun.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--interactive takes numbered choices from a pipe', () => {
  const r = paxos(['explore', '--interactive', '--plant', 'quorum-minus-one'], '4\n');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^> propose 1 x=1$/m);
  assert.match(r.stdout, /^VIOLATION: /m);
});
