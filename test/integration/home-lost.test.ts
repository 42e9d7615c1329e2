/**
 * An orchestrator whose PAXOS_HOME is moved away, deleted or replaced under
 * it stops its replicas and exits, saying why in one sentence, and deletes
 * nothing (home-watch.ts): before, one ran on for 80 minutes after a test
 * script removed its temporary home, unreachable by `paxos down`. Real
 * processes through the built binary; each test stops every process it
 * started (SIGKILL on the recorded pids, also on failure) and removes only
 * the directories it made.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { isProcessAlive } from '../../src/cluster/record.js';
import { bin, HANG_MS, recordedPids, succeeds } from '../support/cli.js';
import { eventually } from '../support/cluster.js';

const STOP = 'the orchestrator stops its replicas and exits, deleting nothing';
/** Far above the watch's 2 s period and a replica's grace: reaching it means the orchestrator ran on. */
const EXIT_WITHIN_MS = 20_000;

/** SIGKILL for every pid still alive: the test's last word, whatever happened before. */
function killAlive(pids: Iterable<number>): void {
  for (const pid of pids) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
}

async function allExited(pids: readonly number[]): Promise<boolean> {
  return eventually(() => pids.every((pid) => !isProcessAlive(pid)), EXIT_WITHIN_MS);
}

test('a detached cluster whose home is moved away stops: orchestrator and replica exit, the sentence is in its log, nothing is deleted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-home-lost-'));
  const moved = `${dir}-moved`;
  const pids = new Set<number>();
  try {
    await succeeds(dir, 'up', '-n', '1', '--detach');
    for (const pid of recordedPids(dir)) pids.add(pid);
    assert.equal(pids.size, 2, `the record names the orchestrator and one replica: ${[...pids].join(', ')}`);
    renameSync(dir, moved);

    assert.ok(await allExited([...pids]), `still running after the home was moved: ${[...pids].join(', ')}`);
    const log = readFileSync(join(moved, 'logs', 'orchestrator.log'), 'utf8');
    assert.ok(
      log.includes(`the paxos home ${dir} was deleted or moved away while the cluster ran; ${STOP}`),
      `no sentence in the orchestrator's log:\n${log}`,
    );
    assert.equal(existsSync(dir), false, 'the orchestrator made no new home where the old one was');
    for (const kept of ['cluster.json', join('data', 'manifest.json'), join('data', 'node-1', 'identity.json')])
      assert.ok(existsSync(join(moved, kept)), `${kept} was deleted`);
  } finally {
    killAlive(pids);
    rmSync(dir, { recursive: true, force: true });
    rmSync(moved, { recursive: true, force: true });
  }
});

test('a foreground cluster whose home is deleted exits with code 4 and says why on stderr, without making the home again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-home-lost-'));
  const pids = new Set<number>();
  const up = execa(process.execPath, [bin, 'up', '-n', '1', '--plain'], {
    env: { ...process.env, PAXOS_HOME: dir },
    reject: false,
    timeout: HANG_MS,
  });
  try {
    const started = await eventually(() => {
      for (const pid of recordedPids(dir)) pids.add(pid);
      return pids.size === 2;
    }, EXIT_WITHIN_MS);
    assert.ok(started, `the cluster did not start: ${[...pids].join(', ')}`);
    // rm -rf as a script does; retried, as rm is, when the replica's log gains a line while its folder is emptied.
    rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });

    const r = await up;
    assert.equal(r.timedOut, false, 'paxos up ran on after its home was deleted');
    assert.equal(r.exitCode, 4, `stderr: ${r.stderr}`);
    assert.equal(
      r.stderr.trim(),
      `paxos: the paxos home ${dir} was deleted or moved away while the cluster ran; ${STOP}`,
    );
    assert.ok(await allExited([...pids]), `still running after the home was deleted: ${[...pids].join(', ')}`);
    assert.equal(existsSync(dir), false, 'the orchestrator made no new home where the old one was');
  } finally {
    up.kill('SIGKILL');
    killAlive(pids);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a home replaced by another cluster's: the first orchestrator exits and leaves the second one's socket and record alone", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-home-lost-'));
  const moved = `${dir}-moved`;
  const first = new Set<number>();
  const second = new Set<number>();
  try {
    await succeeds(dir, 'up', '-n', '1', '--detach');
    for (const pid of recordedPids(dir)) first.add(pid);
    assert.equal(first.size, 2);
    renameSync(dir, moved);
    mkdirSync(dir, { mode: 0o700 });
    await succeeds(dir, 'up', '-n', '1', '--detach');
    for (const pid of recordedPids(dir)) second.add(pid);
    assert.equal(second.size, 2);

    assert.ok(await allExited([...first]), `the first cluster still runs: ${[...first].join(', ')}`);
    const log = readFileSync(join(moved, 'logs', 'orchestrator.log'), 'utf8');
    // Whether the first orchestrator looked before or after the second home was made.
    assert.match(
      log,
      new RegExp(`the paxos home ${dir} was (deleted or moved away|replaced by another) while the cluster ran`),
    );
    assert.deepEqual(new Set(recordedPids(dir)), second, "the second cluster's record is untouched");
    assert.ok(existsSync(join(dir, 'control.sock')), "the second cluster's socket is still there");
    assert.match((await succeeds(dir, 'status')).stdout, /^1 replicas, multi paxos, orchestrator pid \d+/);
    await succeeds(dir, 'down');
    assert.ok(await allExited([...second]), `the second cluster did not stop: ${[...second].join(', ')}`);
  } finally {
    killAlive([...first, ...second]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(moved, { recursive: true, force: true });
  }
});
