/**
 * Issue 22, item 4, on real processes: a replica whose data was emptied,
 * rolled back or deleted never votes on what it may have forgotten.
 * - `../shared/repro/amnesia-basic.sh` step by step: x=A is chosen by node-1
 *   and node-2 alone, node-2's log is emptied (its identity kept), and it
 *   refuses to restart, in one sentence; node-3's x=B then learns x=A. A
 *   `paxos up` of the whole cluster starts the healthy two and names node-2.
 * - Multi-Paxos: a data directory put back from an earlier copy is refused
 *   (the witness beside it remembers how far the log reached) and the
 *   replica replaced as its sentence says; a directory deleted under a
 *   running replica stops it; `up` starts beside one damaged replica and
 *   refuses when two of three are.
 * Each test in a PAXOS_HOME of its own, stopped and deleted at the end.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { isProcessAlive } from '../../src/cluster/record.js';
import { bin, paxos, recordedPids, succeeds } from '../support/cli.js';
import { eventually } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

/** `paxos down`, then SIGKILL for anything recorded that is still alive; the home is deleted. */
async function cleanup(dir: string): Promise<void> {
  const pids = recordedPids(dir);
  await paxos(dir, 'down');
  for (const pid of pids) {
    if (!(await eventually(() => !isProcessAlive(pid), 5000))) process.kill(pid, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

/** A proposal left running in the background, as the script's `&`. */
function proposeInBackground(dir: string, value: string, via: string) {
  return execa(process.execPath, [bin, 'propose', value, '--via', via, '--timeout', '20s'], {
    cwd: repoRoot(),
    env: { ...process.env, PAXOS_HOME: dir },
    reject: false,
    timeout: 40_000,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('amnesia-basic.sh: node-2 with its log emptied refuses to restart, and x has one value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-amnesia-'));
  try {
    await succeeds(dir, 'up', '-n', '3', '--protocol', 'basic', '--step', '--detach');
    const a = proposeInBackground(dir, 'x=A', 'node-1');
    await sleep(1000);
    await succeeds(dir, 'drop', '1:2');
    await succeeds(dir, 'deliver', '1:1'); // node-1's prepare reaches node-2 only
    await succeeds(dir, 'deliver', '--all'); // node-2's promise
    await succeeds(dir, 'drop', '1:4');
    await succeeds(dir, 'deliver', '1:3'); // node-1's accept reaches node-2 only
    await succeeds(dir, 'deliver', '2:2'); // node-2's accepted: x=A is chosen by {node-1, node-2}
    const first = await a;
    assert.match(first.stdout, /^chosen x=A /m, first.stderr);
    await succeeds(dir, 'drop', '--all'); // nobody else learns it
    await succeeds(dir, 'kill', 'node-2');
    const wal = join(dir, 'data', 'node-2', 'wal.log');
    writeFileSync(wal, ''); // node-2's log is emptied; identity.json stays

    const restart = await paxos(dir, 'restart', 'node-2');
    assert.notEqual(restart.exitCode, 0);
    assert.equal(
      restart.stderr.trim(),
      `paxos: node-2 does not start: ${wal} is empty (not even its header record is left; it was emptied or cut off): ` +
        'the replica may have forgotten promises it made and values it accepted, so it must not vote from this data; ' +
        'a Basic Paxos cluster cannot replace a replica, so leave it down (the others decide while they are a majority), or start over with `paxos up --fresh`',
    );

    // node-3 proposes x=B; with node-2 refused, its prepare can only make a majority with node-1, which reports x=A.
    const b = proposeInBackground(dir, 'x=B', 'node-3');
    let done = false;
    void b.finally(() => {
      done = true;
    });
    for (let i = 0; i < 60 && !done; i++) {
      await sleep(250);
      await paxos(dir, 'deliver', '--all');
    }
    const second = await b;
    assert.doesNotMatch(second.stdout, /chosen x=B/);
    // Known not chosen: refused (exit 1), with the chosen value named.
    assert.equal(second.exitCode, 1, `${second.stdout}${second.stderr}`);
    assert.match(second.stderr, /x was already chosen as A, so B was not chosen/, `${second.stdout}${second.stderr}`);

    // The whole cluster again: the healthy majority starts and names node-2, which stays down.
    await succeeds(dir, 'down');
    const up = await succeeds(dir, 'up', '--detach');
    assert.match(up.stdout, /^node-2 does not start: .*wal\.log is empty/m);
    assert.match(
      up.stdout,
      /^started without node-2, which refused its data; the other 2 of 3 voters are a majority$/m,
    );
    const s = JSON.parse((await succeeds(dir, 'status', '--json')).stdout) as {
      replicas: { id: number; up: boolean }[];
    };
    assert.deepEqual(
      s.replicas.map((r) => r.up),
      [true, false, true],
    );
    const third = await paxos(dir, 'propose', 'x=C', '--via', 'node-3');
    assert.equal(third.exitCode, 1, `${third.stdout}${third.stderr}`);
    assert.match(third.stderr, /x was already chosen as A, so C was not chosen/);
  } finally {
    await cleanup(dir);
  }
});

test('multi: a directory put back from an earlier copy is refused and replaced; one deleted under a running replica stops it; up starts beside a damaged minority and refuses a damaged majority', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-amnesia-'));
  try {
    await succeeds(dir, 'up', '-n', '3', '--detach');
    await succeeds(dir, 'propose', 'x=1');
    const node2 = join(dir, 'data', 'node-2');
    const copy = join(dir, 'node-2-copy');
    cpSync(node2, copy, { recursive: true, filter: (src) => !src.endsWith('LOCK') });
    for (let i = 2; i <= 6; i++) await succeeds(dir, 'propose', `x=${i}`);
    await sleep(600); // the high-water mark follows the log within 200 ms
    await succeeds(dir, 'kill', 'node-2');
    rmSync(node2, { recursive: true });
    cpSync(copy, node2, { recursive: true });
    const restart = await paxos(dir, 'restart', 'node-2');
    assert.notEqual(restart.exitCode, 0);
    assert.match(
      restart.stderr,
      /^paxos: node-2 does not start: .*node-2\/wal\.log reaches only record \d+, but its high-water mark says it had reached record \d+: it was truncated, or rolled back to an earlier copy: .*; recover it with `paxos recover node-2` .* or replace it with `paxos replace node-2` while the others run, or start over with `paxos up --fresh`$/,
    );

    // The way back the sentence names: node-2 is replaced by a new member (node-4), which catches up.
    const replaced = await succeeds(dir, 'replace', 'node-2');
    assert.match(replaced.stdout, /node-4/);
    await succeeds(dir, 'propose', 'x=7', '--via', 'node-4');

    // node-3's directory deleted while it runs: it stops within a second rather than vote on.
    rmSync(join(dir, 'data', 'node-3'), { recursive: true });
    assert.ok(
      await eventually(async () => {
        const s = JSON.parse((await succeeds(dir, 'status', '--json')).stdout) as {
          replicas: { id: number; up: boolean }[];
        };
        return s.replicas.find((r) => r.id === 3)?.up === false;
      }, 10_000),
      'node-3 still runs without its data directory',
    );
    assert.match(
      readFileSync(join(dir, 'logs', 'node-3.log'), 'utf8'),
      /node-3's data directory .* was deleted while it ran; node-3 stops so it does not vote on what it may not remember/,
    );

    // One of three damaged: `up` starts the other two and names node-3.
    await succeeds(dir, 'down');
    const up = await succeeds(dir, 'up', '--detach');
    assert.match(up.stdout, /^node-3's data directory .* is missing: it would rejoin having forgotten its promises/m);
    assert.match(
      up.stdout,
      /^started without node-3, which refused its data; the other 2 of 3 voters are a majority$/m,
    );
    assert.equal((JSON.parse((await succeeds(dir, 'get', 'x', '--json')).stdout) as { value: string }).value, '7');

    // Two of three damaged (node-4's log deleted too): `up` refuses in one sentence.
    await succeeds(dir, 'down');
    rmSync(join(dir, 'data', 'node-4', 'wal.log'));
    const refused = await paxos(dir, 'up', '--detach');
    assert.notEqual(refused.exitCode, 0);
    assert.match(
      refused.stderr,
      /node-3, node-4 refused their data \(.*\), leaving 1 of 3 voters, not a majority, so the cluster could decide nothing safely; put back the data directories they had, or start over with `paxos up --fresh`/,
    );
  } finally {
    await cleanup(dir);
  }
});
