/**
 * A registration that fails is not recorded: a `register` naming a port
 * where no replica of the cluster answers (port 1) is refused in one
 * sentence, and the replica keeps the port it really listens on, for a
 * restart now and for the next `up`. The orchestrator's deadlines are
 * measured on a monotonic clock, so a wall clock stepped forward does not
 * end a wait at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isProcessAlive, readRecord } from '../../src/cluster/record.js';
import { type ReplicaProcess, waitForRegistration } from '../../src/cluster/replica-process.js';
import type { OperatingError } from '../../src/errors.js';
import { connectControl } from '../../src/transport/control-client.js';
import { paxos, recordedPids, succeeds } from '../support/cli.js';
import { eventually } from '../support/cluster.js';

interface StatusJson {
  readonly replicas: readonly { readonly id: number; readonly port: number; readonly up: boolean }[];
}

async function ports(home: string): Promise<number[]> {
  const s = JSON.parse((await succeeds(home, 'status', '--json')).stdout) as StatusJson;
  return s.replicas.map((r) => r.port);
}

test('a register naming a port where nothing of the cluster answers is refused and neither used nor recorded', async () => {
  const home = mkdtempSync(join(tmpdir(), 'paxos-register-'));
  try {
    await succeeds(home, 'up', '-n', '3', '--detach');
    const before = await ports(home);
    const record = readRecord(home);
    assert.ok(record !== null);
    const control = await connectControl({ socketPath: record.controlSocket, secret: record.secret, timeoutMs: 5000 });
    try {
      await assert.rejects(
        control.request({ op: 'register', node: 1, port: 1, pid: record.replicas[0]?.pid ?? 1 }, 15_000),
        (err: Error) => /node-1 registered port 1, where no replica of this cluster answers/.test(err.message),
      );
    } finally {
      control.close();
    }
    assert.deepEqual(await ports(home), before, 'status keeps the ports the replicas listen on');
    // A restart starts the replica on its recorded port, not on the one the failed registration named.
    await succeeds(home, 'kill', 'node-1');
    await succeeds(home, 'restart', 'node-1');
    assert.deepEqual(await ports(home), before);
    await succeeds(home, 'propose', 'x=1');
    await succeeds(home, 'down');
    // The next up resumes each replica on its old port.
    await succeeds(home, 'up', '--detach');
    assert.deepEqual(await ports(home), before);
  } finally {
    const pids = recordedPids(home);
    await paxos(home, 'down');
    for (const pid of pids) if (!(await eventually(() => !isProcessAlive(pid), 5000))) process.kill(pid, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
});

test('a wall clock stepped an hour forward does not end the wait for registration', async () => {
  let registered = false;
  const replica = { id: 1, registered: false, up: true, whyNotStarted: () => 'exited' };
  Object.defineProperty(replica, 'registered', { get: () => registered });
  const realNow = Date.now;
  const timer = setTimeout(() => {
    registered = true;
  }, 300);
  // Stepped after the wait began, as NTP or a person might.
  setTimeout(() => {
    Date.now = () => realNow() + 3_600_000;
  }, 50);
  try {
    await waitForRegistration(
      [replica as unknown as ReplicaProcess],
      5000,
      'exited while starting',
      () => 'node-1 did not start in time',
    );
  } catch (err) {
    assert.fail(`the wait ended early: ${(err as OperatingError).message}`);
  } finally {
    clearTimeout(timer);
    Date.now = realNow;
  }
  assert.equal(registered, true);
});
