/**
 * Membership change without processes: how the manifest records replicas
 * joining and leaving (ids never reused, removed ones never resumed), and
 * the refusals a membership command gives before it starts anything.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as v from 'valibot';
import { describeMembership, membershipSummary } from '../../src/cli/commands/status.js';
import { parseNodeName } from '../../src/cli/parse.js';
import {
  liveMembers,
  type Manifest,
  manifestFileOf,
  newManifest,
  nextIdOf,
  readManifest,
  votersOf,
  withLearner,
  withState,
  writeManifest,
} from '../../src/cluster/manifest.js';
import {
  checkQuorum,
  currentMembership,
  membershipOf,
  refuseBasic,
  votersWith,
  votersWithout,
} from '../../src/cluster/membership-changes.js';
import type { ClusterStatus } from '../../src/cluster/orchestrator.js';
import { OrchestratorRequestSchema } from '../../src/cluster/schemas.js';
import { MAX_NODE_ID } from '../../src/core/membership.js';
import type { NodeView } from '../../src/core/types.js';
import { validateMessage } from '../../src/core/validate.js';
import { OperatingError, UsageError } from '../../src/errors.js';
import { ControlError, parseControlRequest } from '../../src/node/control.js';
import type { ReplicaStatus } from '../../src/node/events.js';

function withHome(f: (home: string) => void): void {
  const home = mkdtempSync(join(tmpdir(), 'paxos-membership-'));
  mkdirSync(join(home, 'data'));
  try {
    f(home);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

test('a new manifest has voters 1..n and the next id n+1; a learner takes it, and ids are never reused', () => {
  const m0 = newManifest(3, 'multi');
  assert.deepEqual(votersOf(m0), [1, 2, 3]);
  assert.equal(nextIdOf(m0), 4);
  const { manifest: m1, id } = withLearner(m0);
  assert.equal(id, 4);
  assert.deepEqual(
    m1.replicas.find((r) => r.id === 4),
    { id: 4, port: null, state: 'learner' },
  );
  assert.deepEqual(votersOf(m1), [1, 2, 3], 'a learner is no voter until its config command is chosen');
  const m2 = withState(m1, 4, 'voter');
  assert.deepEqual(votersOf(m2), [1, 2, 3, 4]);
  // node-3 is removed, and the next replica to join is node-5, not node-3 again.
  const m3 = withState(m2, 3, 'removed');
  assert.deepEqual(
    liveMembers(m3).map((r) => r.id),
    [1, 2, 4],
    'resume starts only the replicas not removed',
  );
  assert.equal(withLearner(m3).id, 5);
  // A failed add leaves its id spent too.
  const failed = withState(withLearner(m3).manifest, 5, 'removed');
  assert.equal(withLearner(failed).id, 6);
  assert.throws(
    () => withState(m3, 3, 'voter'),
    (err) => err instanceof OperatingError && /node-3 was removed; ids are never reused/.test(err.message),
  );
  assert.throws(
    () => withState(m3, 9, 'voter'),
    (err) => err instanceof OperatingError && /no node-9/.test(err.message),
  );
});

test('ids run out at MAX_NODE_ID with one sentence, not a replica the transport would refuse', () => {
  const full: Manifest = { ...newManifest(3, 'multi'), nextId: MAX_NODE_ID + 1 };
  assert.throws(
    () => withLearner(full),
    (err) =>
      err instanceof OperatingError && err.message.includes(`node-${MAX_NODE_ID}`) && !err.message.includes('\n'),
  );
});

test('the manifest round-trips its members; one written before membership change reads as all voters', () => {
  withHome((home) => {
    const m = withState(withLearner(newManifest(3, 'multi')).manifest, 2, 'removed');
    writeManifest(home, m);
    assert.deepEqual(readManifest(home), m);
    // An older manifest: no state, no nextId.
    const old = {
      version: 1,
      clusterId: '0123456789abcdef',
      protocol: 'multi',
      clusterSize: 2,
      createdAtMs: 1,
      replicas: [
        { id: 1, port: 4001 },
        { id: 2, port: null },
      ],
    };
    writeFileSync(manifestFileOf(home), JSON.stringify(old));
    const read = readManifest(home)!;
    assert.deepEqual(
      read.replicas.map((r) => r.state),
      ['voter', 'voter'],
    );
    assert.equal(nextIdOf(read), 3);
  });
});

test('a manifest whose members contradict themselves is one sentence naming the file', () => {
  const base = newManifest(3, 'multi');
  const bad: [unknown, RegExp][] = [
    [{ ...base, replicas: [...base.replicas, { id: 2, port: null, state: 'learner' }] }, /each replica once/],
    [{ ...base, nextId: 3 }, /nextId above every replica id/],
    [{ ...base, replicas: base.replicas.slice(0, 2) }, /bootstrap member/],
    [{ ...base, replicas: [...base.replicas, { id: 4, port: null, state: 'zombie' }] }, /state is invalid/],
  ];
  for (const [raw, why] of bad) {
    withHome((home) => {
      writeFileSync(manifestFileOf(home), JSON.stringify(raw));
      assert.throws(
        () => readManifest(home),
        (err) => err instanceof OperatingError && why.test(err.message) && err.message.includes('manifest.json'),
      );
    });
  }
});

test('the orchestrator takes add-learner, remove-replica and mark-voter, with ids bounded by MAX_NODE_ID', () => {
  assert.equal(v.safeParse(OrchestratorRequestSchema, { op: 'add-learner' }).success, true);
  assert.equal(v.safeParse(OrchestratorRequestSchema, { op: 'remove-replica', node: 7 }).success, true);
  assert.equal(v.safeParse(OrchestratorRequestSchema, { op: 'mark-voter', node: 4 }).success, true);
  assert.equal(v.safeParse(OrchestratorRequestSchema, { op: 'remove-replica' }).success, false);
  assert.equal(v.safeParse(OrchestratorRequestSchema, { op: 'mark-voter', node: MAX_NODE_ID + 1 }).success, false);
});

const m3 = { epoch: 2, voters: [1, 2, 3], startSlot: 40 };

test('remove refuses a replica that is not a voter, and the last voter, in one sentence', () => {
  assert.deepEqual(votersWithout(m3, 2), [1, 3]);
  assert.throws(
    () => votersWithout(m3, 4, 'learner'),
    (err) =>
      err instanceof UsageError &&
      err.message === 'node-4 is not a voter (it is a learner); the voters are node-1, node-2, node-3',
  );
  assert.throws(
    () => votersWithout(m3, 5, 'removed'),
    (err) => err instanceof UsageError && /node-5 is not a voter \(it is already removed\)/.test(err.message),
  );
  assert.throws(
    () => votersWithout(m3, 9),
    (err) => err instanceof UsageError && /not a member of this cluster/.test(err.message),
  );
  assert.throws(
    () => votersWithout({ epoch: 5, voters: [4], startSlot: 9 }, 4),
    (err) => err instanceof UsageError && /node-4 is the last voter/.test(err.message),
  );
  assert.deepEqual(votersWith(m3, 5), [1, 2, 3, 5]);
  assert.deepEqual(votersWith(m3, 2), [1, 2, 3]);
});

test('Basic Paxos is refused for membership change in one sentence', () => {
  assert.doesNotThrow(() => refuseBasic('multi'));
  assert.throws(
    () => refuseBasic('basic'),
    (err) =>
      err instanceof UsageError &&
      err.message ===
        'membership change needs --protocol multi: Basic Paxos here is one write-once register per key with a fixed set of acceptors',
  );
});

function replicaStatus(id: number, membership?: NodeView['membership']): ReplicaStatus {
  const view: NodeView = {
    id,
    protocol: 'multi',
    role: 'follower',
    leader: null,
    promised: { round: 0, node: 0 } as NodeView['promised'],
    lastAccepted: null,
    chosenCount: 0,
    ...(membership !== undefined ? { membership, member: membership.voters.includes(id) ? 'voter' : 'learner' } : {}),
  };
  return { node: id, pid: 1, port: 1, view, messagesIn: 0, messagesOut: 0, fsyncs: 0, rssBytes: 0, uptimeMs: 0 };
}

function clusterStatus(
  up: number[],
  members: { id: number; state: 'voter' | 'learner' | 'removed' }[],
  statuses: (ReplicaStatus | null)[] = [],
): ClusterStatus {
  return {
    protocol: 'multi',
    clusterSize: 3,
    orchestratorPid: 1,
    faults: {},
    members,
    replicas: members
      .filter((m) => m.state !== 'removed')
      .map((m) => ({
        id: m.id,
        port: 1,
        pid: up.includes(m.id) ? 1 : null,
        up: up.includes(m.id),
        isolated: false,
        status: statuses.find((s) => s?.node === m.id) ?? null,
        paused: false,
      })),
  };
}

test('the current configuration is the newest epoch a replica reports; without one it is the bootstrap configuration', () => {
  assert.deepEqual(membershipOf(undefined, 3), { epoch: 0, voters: [1, 2, 3], startSlot: 1 });
  const newer = { epoch: 3, voters: [2, 3, 4], startSlot: 81 };
  assert.deepEqual(
    currentMembership([replicaStatus(2, m3), null, replicaStatus(4, newer), replicaStatus(3, m3)], 3),
    newer,
  );
  assert.deepEqual(currentMembership([null, replicaStatus(1)], 3).voters, [1, 2, 3]);
});

test('a change is refused up front when fewer than a majority of the voters run', () => {
  const members = [
    { id: 1, state: 'voter' as const },
    { id: 2, state: 'voter' as const },
    { id: 3, state: 'voter' as const },
  ];
  assert.doesNotThrow(() => checkQuorum(clusterStatus([1, 2], members), m3));
  assert.throws(
    () => checkQuorum(clusterStatus([3], members), m3),
    (err) =>
      err instanceof OperatingError &&
      err.message === 'no quorum: 1 of 3 voters are running, 2 needed to choose a membership change; nothing changed',
  );
});

test('status names the epoch, the voters and the slot they govern from, the learners and the removed', () => {
  const m = {
    epoch: 2,
    voters: [2, 3, 4],
    startSlot: 57,
    previous: [
      { epoch: 0, voters: [1, 2, 3], startSlot: 1 },
      { epoch: 1, voters: [1, 2, 3, 4], startSlot: 31 },
    ],
  };
  const s = clusterStatus(
    [2, 3, 4, 5],
    [
      { id: 1, state: 'removed' },
      { id: 2, state: 'voter' },
      { id: 3, state: 'voter' },
      { id: 4, state: 'voter' },
      { id: 5, state: 'learner' },
    ],
    [replicaStatus(2, m), replicaStatus(3, m), replicaStatus(4, m), replicaStatus(5, m)],
  );
  const summary = membershipSummary(s);
  assert.deepEqual(summary, {
    epoch: 2,
    voters: [2, 3, 4],
    startSlot: 57,
    learners: [5],
    removed: [1],
    earlier: [
      { epoch: 0, voters: [1, 2, 3], fromSlot: 1, toSlot: 30 },
      { epoch: 1, voters: [1, 2, 3, 4], fromSlot: 31, toSlot: 56 },
    ],
  });
  assert.equal(
    describeMembership(summary),
    [
      'membership: epoch 2, voters node-2, node-3, node-4 (governing from slot 57); learners node-5; removed node-1',
      '  epoch 0: node-1, node-2, node-3 governed slots 1–30',
      '  epoch 1: node-1, node-2, node-3, node-4 governed slots 31–56',
    ].join('\n'),
  );
});

test('replica names are checked against the members, joined ones included', () => {
  assert.equal(parseNodeName('node-4', [1, 2, 4]), 4);
  assert.throws(
    () => parseNodeName('node-3', [1, 2, 4]),
    (err) => err instanceof UsageError && err.message === 'there is no node-3: this cluster has node-1, node-2, node-4',
  );
  assert.throws(
    () => parseNodeName('node-9', 3),
    (err) => err instanceof UsageError && err.message === 'there is no node-9: this cluster has node-1 to node-3',
  );
});

test('messages from a replica that joined (an id beyond the bootstrap size) pass validation, up to MAX_NODE_ID', () => {
  const commit = (from: number, to: number) => ({
    type: 'commit',
    from,
    to,
    epoch: 0,
    ballot: { round: 1, node: 1 },
    commitIndex: 3,
  });
  assert.notEqual(validateMessage('multi', 3, commit(9, 1)), null);
  assert.notEqual(validateMessage('multi', 3, commit(1, MAX_NODE_ID)), null);
  assert.equal(validateMessage('multi', 3, commit(MAX_NODE_ID + 1, 1)), null);
  assert.equal(validateMessage('multi', 3, commit(0, 1)), null);
  const forward = (command: unknown) => ({
    type: 'forward',
    from: 2,
    to: 1,
    value: { kind: 'cmd', id: 's:1', identity: { session: 's', seq: 1 }, base: 0, origin: 2, command },
  });
  assert.notEqual(validateMessage('multi', 3, forward({ op: 'config', fromEpoch: 0, voters: [1, 2, 3, 4] })), null);
  for (const bad of [
    { op: 'config', fromEpoch: -1, voters: [1] },
    { op: 'config', fromEpoch: 0, voters: [] },
    { op: 'config', fromEpoch: 0, voters: [1, 1] },
    { op: 'config', fromEpoch: 0, voters: [MAX_NODE_ID + 1] },
  ]) {
    assert.equal(validateMessage('multi', 3, forward(bad)), null, JSON.stringify(bad));
  }
});

test('the replica control op reconfigure is checked before it runs', () => {
  assert.deepEqual(parseControlRequest({ op: 'reconfigure', fromEpoch: 1, voters: [1, 2, 4], timeoutMs: 500 }), {
    op: 'reconfigure',
    fromEpoch: 1,
    voters: [1, 2, 4],
    timeoutMs: 500,
  });
  for (const bad of [
    { op: 'reconfigure', voters: [1] },
    { op: 'reconfigure', fromEpoch: 0, voters: [] },
    { op: 'reconfigure', fromEpoch: 0, voters: [2, 2] },
    { op: 'reconfigure', fromEpoch: 0.5, voters: [1] },
  ]) {
    assert.throws(() => parseControlRequest(bad), ControlError, JSON.stringify(bad));
  }
});
