/**
 * Issue 22, item 4, the way back on real processes: a Multi-Paxos replica
 * whose log was emptied refuses to restart, naming `paxos recover`; recovered,
 * it keeps its old data aside, learns the log, is re-admitted (a change of
 * the epoch naming the same voters) and then votes: with another replica
 * down, the cluster still decides through it. A Basic Paxos replica cannot
 * recover, in one sentence.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isProcessAlive } from '../../src/cluster/record.js';
import { paxos, recordedPids, succeeds } from '../support/cli.js';
import { eventually } from '../support/cluster.js';

async function cleanup(dir: string): Promise<void> {
  const pids = recordedPids(dir);
  await paxos(dir, 'down');
  for (const pid of pids) {
    if (!(await eventually(() => !isProcessAlive(pid), 5000))) process.kill(pid, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

interface Status {
  readonly replicas: readonly { readonly id: number; readonly up: boolean; readonly epoch?: number }[];
}

test('multi: a replica whose log was emptied recovers, is re-admitted and votes again; its old data is kept aside', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-recover-'));
  try {
    await succeeds(dir, 'up', '-n', '3', '--detach');
    await succeeds(dir, 'propose', 'x=A');
    await succeeds(dir, 'kill', 'node-2');
    writeFileSync(join(dir, 'data', 'node-2', 'wal.log'), '');
    const refused = await paxos(dir, 'restart', 'node-2');
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.stderr, /recover it with `paxos recover node-2`/);

    const recovered = await succeeds(dir, 'recover', 'node-2');
    assert.match(recovered.stdout, /^node-2 is up on a fresh data directory, recovering/);
    const aside = readdirSync(join(dir, 'data')).filter((e) => /^node-2\.lost-\d{8}T\d{6}Z$/.test(e));
    assert.equal(aside.length, 1, 'the lost data is kept aside');
    assert.ok(existsSync(join(dir, 'data', aside[0] ?? '', 'identity.json')));

    // Re-admission is a configuration change: the cluster moves to epoch 1 and node-2 says it votes again.
    assert.ok(
      await eventually(() => /re-admitted: epoch \d+ began after it lost its disk/.test(logOf(dir, 2)), 20_000),
      `node-2 was never re-admitted:\n${logOf(dir, 2).slice(-2000)}`,
    );
    // node-2's vote now counts: with node-3 down, node-1 and node-2 are the majority that decides.
    await succeeds(dir, 'kill', 'node-3');
    await succeeds(dir, 'propose', 'y=B', '--timeout', '20s');
    assert.equal((JSON.parse((await succeeds(dir, 'get', 'x', '--json')).stdout) as { value: string }).value, 'A');
    const status = JSON.parse((await succeeds(dir, 'status', '--json')).stdout) as Status;
    assert.equal(status.replicas.find((r) => r.id === 2)?.up, true);
    // `down --wipe` knows the set-aside data as paxos's own.
    await succeeds(dir, 'down', '--wipe');
    const left = existsSync(join(dir, 'data')) ? readdirSync(join(dir, 'data')) : [];
    assert.deepEqual(
      left.filter((e) => e.includes('lost')),
      [],
    );
  } finally {
    await cleanup(dir);
  }
});

test('basic: a replica cannot recover a lost disk, and says so in one sentence', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-recover-'));
  try {
    await succeeds(dir, 'up', '-n', '3', '--protocol', 'basic', '--detach');
    await succeeds(dir, 'kill', 'node-2');
    const r = await paxos(dir, 'recover', 'node-2');
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /^paxos: node-2 cannot recover in Basic Paxos: its acceptors are fixed/);
    assert.ok(existsSync(join(dir, 'data', 'node-2', 'wal.log')), 'nothing was set aside');
  } finally {
    await cleanup(dir);
  }
});

function logOf(dir: string, id: number): string {
  const file = join(dir, 'logs', `node-${id}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}
