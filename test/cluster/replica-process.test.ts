/**
 * One replica's process and its phase, on a real child process that only
 * sleeps (no replica, no network): starting → running on registration,
 * paused and continued back to where it was, dying on SIGKILL and down once
 * reaped, with the exit reported once and as killed; and the refusals that
 * the phase makes, each in its sentence.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RotatingLogs } from '../../src/cluster/log-files.js';
import { ReplicaProcess, waitForRegistration } from '../../src/cluster/replica-process.js';
import { ReplicaLink } from '../../src/cluster/replica-rpc.js';
import type { ControlClient } from '../../src/transport/ws-transport.js';

const SLEEPER = ['-e', 'setInterval(() => {}, 1000)'];

/** Read through a function: `assert.equal` on the field itself would narrow it for the rest of the test. */
function phaseOf(r: ReplicaProcess): string {
  return r.phase.kind;
}

function fakeLink(node: number): { link: ReplicaLink; closed: () => boolean } {
  let closed = false;
  const control: ControlClient = {
    request: async () => ({ ok: true }),
    onEvent: () => undefined,
    onClose: () => undefined,
    close: () => {
      closed = true;
    },
  };
  return { link: new ReplicaLink(node, control), closed: () => closed };
}

test('a replica process goes through its phases, and each phase refuses what it cannot do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-replica-process-'));
  const logs = new RotatingLogs();
  const exits: { how: string; killedByUs: boolean }[] = [];
  try {
    const r = new ReplicaProcess(1, 0, false, join(dir, 'data'), join(dir, 'node-1.log'), (_p, how, killedByUs) =>
      exits.push({ how, killedByUs }),
    );
    assert.equal(phaseOf(r), 'down');
    assert.throws(() => r.kill(), /node-1 is already down/);
    assert.throws(() => r.pause(), /node-1 is down; only a running replica can be paused/);

    r.spawn(SLEEPER, {}, logs.open(r.logFile));
    assert.equal(phaseOf(r), 'starting');
    assert.ok(r.up && !r.registered && r.expectData && r.pid !== null);

    // Paused before it registered: continued, it is starting again.
    r.pause();
    assert.equal(phaseOf(r), 'paused');
    assert.throws(() => r.pause(), /node-1 is already paused/);
    r.continue();
    assert.equal(phaseOf(r), 'starting');

    const first = fakeLink(1);
    r.attach(first.link, r.pid);
    assert.equal(phaseOf(r), 'running');
    await waitForRegistration([r], 1000, 'failed', () => 'late');
    // A second registration replaces the link and closes the first.
    const second = fakeLink(1);
    r.attach(second.link, r.pid);
    assert.ok(first.closed() && !second.closed() && r.link === second.link);

    r.pause();
    assert.equal(phaseOf(r), 'paused');
    assert.equal(r.link, second.link, 'a paused replica keeps its link');
    // SIGKILL ends a stopped process: no SIGCONT first.
    r.kill();
    assert.equal(phaseOf(r), 'dying');
    assert.throws(() => r.pause(), /node-1 is down/);
    await r.waitUntilGone();
    assert.equal(phaseOf(r), 'down');
    assert.ok(second.closed(), 'the link closes with the process');
    assert.deepEqual(exits, [{ how: 'SIGKILL', killedByUs: true }]);

    // A registration completed after its process exited is refused, and its link closed.
    const late = fakeLink(1);
    assert.throws(() => r.attach(late.link, 1), /node-1 exited before its registration completed/);
    assert.ok(late.closed());

    // A process that exits on its own is down, not killed, and its exit code kept for the sentence that explains it.
    r.spawn(['-e', 'console.log("no data here"); process.exit(3)'], {}, logs.open(r.logFile));
    await assert.rejects(
      waitForRegistration([r], 5000, 'failed to start from its data', () => 'late'),
      /node-1 failed to start from its data: no data here/,
    );
    assert.equal(r.lastExitCode, 3);
    assert.deepEqual(exits.at(-1), { how: 'exit code 3', killedByUs: false });
  } finally {
    await logs.closeAll();
    rmSync(dir, { recursive: true, force: true });
  }
});
