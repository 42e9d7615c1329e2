/**
 * Step mode on real replicas (`paxos up --step`), through the built binary
 * in a PAXOS_HOME of its own: nothing moves by itself; ticking node-1 makes
 * it hold prepares; delivering them and the promises elects it; a proposal
 * through node-1 waits until its accept and an accepted are delivered; a
 * dropped message is never delivered. The normal mode refuses the step
 * commands in one sentence. Every process started here is stopped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { ClusterClient } from '../../src/cluster/client.js';
import { isProcessAlive } from '../../src/cluster/record.js';
import type { HeldMessage } from '../../src/node/step.js';
import { bin, HANG_MS, paxos, succeeds } from '../support/cli.js';
import { eventually } from '../support/cluster.js';

/**
 * Each run of the binary costs a Node start (seconds on a loaded machine), so
 * the binary is run where its output is what is tested, and the many polls in
 * between go through the same client the commands use.
 */
async function held(c: ClusterClient): Promise<HeldMessage[]> {
  return [...(await c.held()).messages];
}

/** Delivery crosses a real socket and the receiver's disk, so what it causes is held a moment later: wait for it. */
async function heldEventually(
  c: ClusterClient,
  what: string,
  check: (h: HeldMessage[]) => boolean,
): Promise<HeldMessage[]> {
  let last: HeldMessage[] = [];
  const ok = await eventually(
    async () => {
      last = await held(c);
      return check(last);
    },
    10_000,
    20,
  );
  assert.ok(ok, `${what}; held: ${JSON.stringify(last)}`);
  return last;
}

function recordedOrchestratorPid(dir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { cluster?: { orchestratorPid: number } })
      .cluster?.orchestratorPid;
  } catch {
    return undefined;
  }
}

async function cleanup(dir: string, pids: ReadonlySet<number>): Promise<void> {
  const orchestrator = recordedOrchestratorPid(dir);
  if (orchestrator !== undefined && isProcessAlive(orchestrator)) {
    await execa(process.execPath, [bin, 'down'], {
      env: { ...process.env, PAXOS_HOME: dir },
      reject: false,
      timeout: HANG_MS,
    });
    if (!(await eventually(() => !isProcessAlive(orchestrator), 5000))) process.kill(orchestrator, 'SIGKILL');
  }
  // Replicas exit on their own once their orchestrator is gone (within a second); these are only waited for.
  for (const pid of pids)
    assert.ok(await eventually(() => !isProcessAlive(pid), 5000), `replica pid ${pid} outlived the test`);
  rmSync(dir, { recursive: true, force: true });
}

/** node-1's election on ticks alone, then its prepares delivered by hand: node-2 and node-3 hold their promises. */
async function tickToPromises(dir: string, c: ClusterClient): Promise<void> {
  // node-1's election timeout (15 to 30 ticks) runs out only on ticks: then it holds one prepare per peer.
  let prepares: HeldMessage[] = [];
  for (let i = 0; i < 20 && prepares.length === 0; i++) {
    const [t] = await c.tick(1, 5);
    assert.deepEqual([t!.node, t!.ticks], [1, 5]);
    prepares = (await held(c)).filter((m) => m.type === 'prepare');
  }
  assert.deepEqual(
    prepares.map((m) => [m.id, m.from, m.to, m.ballot]),
    [
      ['1:1', 1, 2, '1.1'],
      ['1:2', 1, 3, '1.1'],
    ],
  );
  const table = (await succeeds(dir, 'held')).stdout;
  assert.match(table, /^ID\s+FROM\s+TO\s+TYPE\s+BALLOT\s+SLOT\/KEY\s+VALUE$/m);
  assert.match(table, /^1:1\s+node-1\s+node-2\s+prepare\s+1\.1\b/m);

  assert.equal((await succeeds(dir, 'deliver', '1:1', '1:2')).stdout.trim(), 'delivered 2 messages: 1:1, 1:2');
  const promises = await heldEventually(
    c,
    'node-2 and node-3 hold their promises',
    (h) => h.filter((m) => m.type === 'promise').length === 2,
  );
  assert.deepEqual(
    promises.map((m) => [m.id, m.from, m.to, m.type]),
    [
      ['2:1', 2, 1, 'promise'],
      ['3:1', 3, 1, 'promise'],
    ],
  );
}

/** The promises delivered: node-1, elected, holds an accept of x=7 for each peer, and the proposal still waits. */
async function acceptsOfX7(
  c: ClusterClient,
  propose: ReturnType<typeof execa>,
): Promise<{ toTwo: HeldMessage; toThree: HeldMessage }> {
  assert.deepEqual(
    (await c.release('deliver', 'all')).map((m) => m.id),
    ['2:1', '3:1'],
  );
  const accepts = await heldEventually(
    c,
    'node-1, elected, holds an accept of x=7 for each peer',
    (h) => h.filter((m) => m.type === 'accept' && m.value === 'x=7').length === 2,
  );
  const toTwo = accepts.find((m) => m.to === 2)!;
  const toThree = accepts.find((m) => m.to === 3)!;
  assert.equal(toTwo.slot, toThree.slot);
  assert.equal(propose.exitCode, null, 'the proposal finished before its accepts were delivered');
  return { toTwo, toThree };
}

/** The accept to node-3 dropped and the one to node-2 delivered decide x=7; the dropped one is never delivered. */
async function decideWithoutNode3(
  dir: string,
  c: ClusterClient,
  o: { toTwo: HeldMessage; toThree: HeldMessage; propose: ReturnType<typeof execa> },
): Promise<void> {
  const { toTwo, toThree, propose } = o;
  // Drop the accept to node-3, deliver the one to node-2: node-2's accepted makes a majority with node-1's own vote.
  assert.match(
    (await succeeds(dir, 'drop', toThree.id)).stdout,
    new RegExp(`^dropped ${toThree.id} \\(node-1 → node-3 accept #${toThree.slot} \\(1\\.1, x=7\\)\\)$`, 'm'),
  );
  await c.release('deliver', [toTwo.id]);
  const accepted = await heldEventually(c, 'node-2 holds its accepted', (h) =>
    h.some((m) => m.type === 'accepted' && m.from === 2),
  );
  await c.release('deliver', [accepted.find((m) => m.type === 'accepted')!.id]);
  const result = await propose;
  assert.equal(result.exitCode, 0, `propose: ${String(result.stderr)}`);
  const reply = JSON.parse(String(result.stdout)) as { outcome: string; slot: number };
  assert.equal(reply.outcome, 'ok');
  assert.equal(reply.slot, toThree.slot);

  // The dropped accept is gone for good: no replica holds it, and node-3 only ever received the prepare.
  assert.ok(!(await held(c)).some((m) => m.id === toThree.id));
  const again = await paxos(dir, 'deliver', toThree.id);
  assert.equal(again.exitCode, 1);
  assert.match(String(again.stderr).trim(), new RegExp(`^paxos: no replica holds ${toThree.id} \\(see paxos held\\)$`));
  const node3In = async () => (await c.status()).replicas.find((r) => r.id === 3)?.status?.messagesIn;
  assert.ok(
    await eventually(async () => (await node3In()) === 1, 5000),
    `node-3 received ${await node3In()} messages, not only the prepare`,
  );
}

/** Every replica ticks with --all; dropping all leaves nothing held. */
async function tickAllThenDropAll(c: ClusterClient): Promise<void> {
  assert.deepEqual(
    (await c.tick('all', 2)).map((t) => [t.node, t.ticks]),
    [
      [1, 2],
      [2, 2],
      [3, 2],
    ],
  );
  await c.release('drop', 'all');
  assert.deepEqual(await held(c), []);
}

test('step mode: tick to an election, deliver prepares and promises, propose x=7 by hand, a dropped message is never delivered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-step-'));
  const pids = new Set<number>();
  let propose: ReturnType<typeof execa> | null = null;
  let c: ClusterClient | null = null;
  try {
    const up = await succeeds(dir, 'up', '-n', '3', '--step', '--detach');
    assert.match(up.stdout, /step mode/);
    c = await ClusterClient.connect(dir);
    const first = await c.status();
    for (const r of first.replicas) if (r.pid !== null) pids.add(r.pid);
    assert.equal(pids.size, 3);
    assert.equal(first.step, true, 'status says the cluster is in step mode');

    // Time stands still: nothing is sent while nobody ticks.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(await held(c), []);

    await tickToPromises(dir, c);

    // The proposal is accepted and waits (step mode's default timeout is minutes): it progresses only as messages are delivered.
    propose = execa(process.execPath, [bin, 'propose', 'x=7', '--via', 'node-1', '--json'], {
      env: { ...process.env, PAXOS_HOME: dir },
      reject: false,
      timeout: HANG_MS,
    });
    const { toTwo, toThree } = await acceptsOfX7(c, propose);

    await decideWithoutNode3(dir, c, { toTwo, toThree, propose });

    await tickAllThenDropAll(c);
    c.close();
    c = null;
    await succeeds(dir, 'down');
  } finally {
    c?.close();
    if (propose !== null && propose.exitCode === null) propose.kill('SIGKILL');
    await cleanup(dir, pids);
  }
});

test('normal mode refuses held, deliver, drop and tick in one sentence', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-step-'));
  const pids = new Set<number>();
  try {
    await succeeds(dir, 'up', '-n', '1', '--detach');
    const c = await ClusterClient.connect(dir);
    try {
      const first = await c.status();
      for (const r of first.replicas) if (r.pid !== null) pids.add(r.pid);
      assert.equal(first.step, undefined);
      const sentence = 'the cluster is not in step mode; start it with paxos up --step';
      await assert.rejects(c.held(), { message: sentence });
      await assert.rejects(c.release('deliver', 'all'), { message: sentence });
      await assert.rejects(c.release('drop', ['1:1']), { message: sentence });
      await assert.rejects(c.tick(1, 1), { message: sentence });
    } finally {
      c.close();
    }
    // And the binary says it as one sentence with exit 1.
    const r = await paxos(dir, 'tick', 'node-1');
    assert.equal(r.exitCode, 1);
    assert.equal(String(r.stderr).trim(), `paxos: the cluster is not in step mode; start it with paxos up --step`);
    await succeeds(dir, 'down');
  } finally {
    await cleanup(dir, pids);
  }
});
