/**
 * Membership change on real processes: `paxos add`, `remove` and `replace`
 * run as a user runs them, against 3-replica Multi-Paxos clusters whose
 * orchestrator lives in this process; every test stops every process.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/cluster/manifest.js';
import { Orchestrator } from '../../src/cluster/orchestrator.js';
import { paxos, succeeds } from '../support/cli.js';
import { eventually, TestCluster } from '../support/cluster.js';

interface StatusJson {
  replicas: { id: number; up: boolean }[];
  members: { id: number; state: string }[];
  membership: { epoch: number; voters: number[]; startSlot: number; learners: number[]; removed: number[] };
}

async function statusJson(home: string): Promise<StatusJson> {
  return JSON.parse((await succeeds(home, 'status', '--json')).stdout) as StatusJson;
}

test('Basic Paxos refuses add, remove and replace in one sentence', { timeout: 60_000 }, async () => {
  const cluster = await TestCluster.start({ nodes: 1, protocol: 'basic' });
  try {
    for (const args of [['add'], ['remove', 'node-1'], ['replace', 'node-1']]) {
      const r = await paxos(cluster.home, ...args);
      assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(
        r.stderr.trim(),
        'paxos: membership change needs --protocol multi: Basic Paxos here is one write-once register per key with a fixed set of acceptors',
      );
    }
    assert.deepEqual(
      readManifest(cluster.home)!.replicas.map((r) => r.id),
      [1],
      'nothing was started',
    );
  } finally {
    await cluster.stop();
  }
});

test('the orchestrator removes a replica for good: stopped, out of the record and the peer table, never resumed, its id never reused', {
  timeout: 60_000,
}, async () => {
  const cluster = await TestCluster.start({ nodes: 3, protocol: 'multi' });
  try {
    const pid = cluster.status().replicas.find((r) => r.id === 3)!.pid!;
    await cluster.orchestrator.removeReplica(3);
    assert.throws(() => process.kill(pid, 0), 'node-3 no longer runs');
    assert.deepEqual(
      cluster.status().replicas.map((r) => r.id),
      [1, 2],
    );
    assert.deepEqual(cluster.status().members, [
      { id: 1, state: 'voter' },
      { id: 2, state: 'voter' },
      { id: 3, state: 'removed' },
    ]);
    assert.deepEqual(
      cluster.orchestrator.record().replicas.map((r) => r.id),
      [1, 2],
    );
    await assert.rejects(cluster.orchestrator.restart(3), /node-3 was removed from this cluster; ids are never reused/);
    const refused = await paxos(cluster.home, 'kill', 'node-3');
    assert.equal(refused.stderr.trim(), 'paxos: there is no node-3: this cluster has node-1, node-2');
    // The two left are a majority of the three the (bootstrap) configuration names, so values are still chosen.
    assert.equal((await cluster.proposeUntilOk({ via: () => cluster.leader(), key: 'x', value: '1' })).ok, true);
    // A learner that cannot start (here: its Node refuses an option) is stopped and marked removed, and its id stays spent.
    process.env.PAXOS_REPLICA_NODE_OPTIONS = '--no-such-node-option';
    try {
      await assert.rejects(cluster.orchestrator.addLearner(), /node-4 failed to start as a learner/);
    } finally {
      delete process.env.PAXOS_REPLICA_NODE_OPTIONS;
    }
    assert.deepEqual(
      cluster.status().members?.map((m) => [m.id, m.state]),
      [
        [1, 'voter'],
        [2, 'voter'],
        [3, 'removed'],
        [4, 'removed'],
      ],
    );
    assert.deepEqual(
      cluster.status().replicas.map((r) => r.id),
      [1, 2],
    );
    await cluster.orchestrator.down();
    const manifest = readManifest(cluster.home)!;
    assert.equal(manifest.nextId, 5);
    const resumed = await Orchestrator.start({ home: cluster.home, clusterSize: 3, protocol: 'multi' });
    try {
      assert.deepEqual(
        resumed.status().replicas.map((r) => r.id),
        [1, 2],
        'resume starts only the replicas not removed',
      );
    } finally {
      await resumed.down();
    }
  } finally {
    await cluster.stop();
  }
});

test('paxos add and paxos remove on real replicas: a learner catches up and votes, a voter leaves and stops', {
  timeout: 60_000,
}, async () => {
  const cluster = await TestCluster.start({ nodes: 3, protocol: 'multi' });
  try {
    for (let i = 1; i <= 5; i++)
      assert.equal(
        (await cluster.proposeUntilOk({ via: () => cluster.leader(), key: `k${i}`, value: String(i) })).ok,
        true,
      );

    // Add: node-4 starts as a learner, catches up, and becomes a voter.
    const added = await succeeds(cluster.home, 'add', '--timeout', '20s');
    assert.match(added.stdout, /^node-4 started as a learner$/m);
    assert.match(added.stdout, /^node-4 caught up: applied slot \d+ of \d+$/m);
    const voterLine = /^node-4 is a voter from slot (\d+) \(epoch (\d+)\)$/m.exec(added.stdout);
    assert.ok(voterLine, added.stdout);
    let s = await statusJson(cluster.home);
    assert.deepEqual(s.membership.voters, [1, 2, 3, 4]);
    assert.equal(s.membership.epoch, Number(voterLine[2]));
    assert.equal(s.membership.startSlot, Number(voterLine[1]));
    assert.deepEqual(
      s.members.find((m) => m.id === 4),
      { id: 4, state: 'voter' },
    );
    // The new voter has every value chosen before it joined, and takes part in what follows.
    assert.equal(
      (await cluster.proposeUntilOk({ via: () => cluster.leader(), key: 'after-add', value: 'yes' })).ok,
      true,
    );
    assert.ok(
      await eventually(async () => {
        const kv = await cluster.kv(4);
        return kv.some(([k, v]) => k === 'after-add' && v === 'yes') && kv.some(([k]) => k === 'k1');
      }, 10_000),
      'node-4 learned the values',
    );

    // Remove: node-1 leaves through a config command, then is stopped and marked removed.
    const removed = JSON.parse((await succeeds(cluster.home, 'remove', 'node-1', '--json')).stdout) as {
      ok: boolean;
      voters: number[];
      epoch: number;
      fromSlot: number;
    };
    assert.equal(removed.ok, true);
    assert.deepEqual(removed.voters, [2, 3, 4]);
    assert.ok(removed.epoch > Number(voterLine[2]));
    s = await statusJson(cluster.home);
    assert.deepEqual(
      s.replicas.map((r) => r.id),
      [2, 3, 4],
      'node-1 no longer runs',
    );
    assert.deepEqual(s.membership.removed, [1]);
    assert.equal(
      (await cluster.proposeUntilOk({ via: () => cluster.leader(), key: 'after-remove', value: 'yes' })).ok,
      true,
    );

    // Refusal: a replica that is not a voter any more; its id is spent.
    const notVoter = await paxos(cluster.home, 'remove', 'node-1');
    assert.equal(notVoter.exitCode, 2);
    assert.match(notVoter.stderr, /node-1 is not a voter \(it is already removed\)/);
  } finally {
    await cluster.stop();
  }
});

test('paxos replace of a replica whose disk is gone; a change without a quorum changes nothing; resume skips the removed', {
  timeout: 60_000,
}, async () => {
  const cluster = await TestCluster.start({ nodes: 3, protocol: 'multi' });
  try {
    assert.equal((await cluster.proposeUntilOk({ via: () => cluster.leader(), key: 'x', value: '1' })).ok, true);
    // node-3 loses its disk: it is removed, and a fresh replica joins as node-4 (ids are never reused).
    cluster.kill(3);
    await cluster.waitDown(3);
    rmSync(join(cluster.home, 'data', 'node-3'), { recursive: true, force: true });
    const replaced = await succeeds(cluster.home, 'replace', 'node-3', '--timeout', '20s');
    assert.match(replaced.stdout, /^replacing node-3: .* node-3 is removed and a fresh replica joins with a new id$/m);
    assert.match(
      replaced.stdout,
      /^node-3 is no longer a voter from slot \d+ \(epoch 1\); the voters are node-1, node-2$/m,
    );
    assert.match(replaced.stdout, /^node-4 is a voter from slot \d+ \(epoch 2\)$/m);
    assert.equal(
      (await cluster.proposeUntilOk({ via: () => cluster.leader(), key: 'after-replace', value: 'yes' })).ok,
      true,
    );

    // node-4 learns the change that made it a voter lazily (a commit point, a catch-up); the refusal below is about
    // quorum, so it waits until node-4's own view is epoch 2 rather than judge from a view that has not caught up.
    assert.ok(
      await eventually(async () => {
        const r = (await cluster.request(4, { op: 'status' }, 3000)) as unknown as {
          status?: { view: { membership?: { epoch: number } } };
        };
        return r.status?.view.membership?.epoch === 2;
      }, 10_000),
      'node-4 never entered epoch 2',
    );
    // Two of the three voters down: the change is refused in one sentence, before anything starts or changes.
    const before = readManifest(cluster.home);
    cluster.kill(1);
    cluster.kill(2);
    await cluster.waitDown(1);
    await cluster.waitDown(2);
    for (const args of [['remove', 'node-4'], ['add']]) {
      const noQuorum = await paxos(cluster.home, ...args);
      assert.equal(noQuorum.exitCode, 1, noQuorum.stderr);
      assert.equal(
        noQuorum.stderr.trim(),
        'paxos: no quorum: 1 of 3 voters are running, 2 needed to choose a membership change; nothing changed',
      );
    }
    assert.deepEqual(readManifest(cluster.home), before);

    // Resume starts only the replicas not removed.
    await cluster.orchestrator.down();
    const resumed = await Orchestrator.start({ home: cluster.home, clusterSize: 3, protocol: 'multi' });
    try {
      assert.deepEqual(
        resumed.status().replicas.map((r) => r.id),
        [1, 2, 4],
      );
    } finally {
      await resumed.down();
    }
  } finally {
    await cluster.stop();
  }
});

/**
 * The acceptance run: 3 replicas grow to 5 and shrink back to 3 (the
 * leader among those removed) while a client writes without pause, and no
 * acknowledged write is lost: every one is on every replica left.
 */
test('3 → 5 → 3 replicas while a client writes: nothing acknowledged is lost', { timeout: 120_000 }, async () => {
  const cluster = await TestCluster.start({ nodes: 3, protocol: 'multi' });
  const acked = new Map<string, string>();
  let writing = true;
  const writer = (async () => {
    for (let i = 1; writing && i <= 100_000; i++) {
      // One key per write: a later write that timed out but took effect cannot hide an earlier acknowledged one.
      const r = await cluster.proposeUntilOk({
        via: () => cluster.leader(10_000),
        key: `w${i}`,
        value: String(i),
        deadlineMs: 15_000,
      });
      if (r.ok) acked.set(`w${i}`, String(i));
    }
  })();
  try {
    await succeeds(cluster.home, 'add', '--timeout', '30s');
    await succeeds(cluster.home, 'add', '--timeout', '30s');
    assert.deepEqual((await statusJson(cluster.home)).membership.voters, [1, 2, 3, 4, 5]);
    const leader = await cluster.leader(10_000);
    await succeeds(cluster.home, 'remove', `node-${leader}`);
    const follower = (await statusJson(cluster.home)).membership.voters.find((v) => v !== leader && v <= 3);
    await succeeds(cluster.home, 'remove', `node-${follower}`);
    const s = await statusJson(cluster.home);
    assert.equal(s.membership.voters.length, 3);
    assert.deepEqual(s.membership.removed.sort(), [leader, follower].sort());
    const sizeBefore = acked.size;
    assert.ok(await eventually(() => acked.size > sizeBefore + 5, 15_000), 'writes go on after the changes');
  } finally {
    writing = false;
    await writer;
  }
  try {
    assert.ok(acked.size > 0, 'the client wrote throughout');
    const voters = (await statusJson(cluster.home)).membership.voters;
    const holdsAll = async (node: number) => {
      const kv = new Map(await cluster.kv(node));
      return [...acked].every(([k, v]) => kv.get(k) === v);
    };
    for (const v of voters)
      assert.ok(await eventually(() => holdsAll(v), 15_000), `node-${v} holds every acknowledged write`);
  } finally {
    await cluster.stop();
  }
});
