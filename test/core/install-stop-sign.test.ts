/**
 * A stop-sign reached through a snapshot install (src/core/multi/snapshots.ts, learner.ts): a Ready's records reach
 * the disk before its checkpoint, and a crash may come between the two writes, so the Ready that installs a snapshot
 * must not write the epoch record of a stop-sign only that snapshot makes reachable. The stop-sign is applied in the
 * next step instead, and its epoch record goes to disk behind the checkpoint (liveness seed 2026218). A snapshot that
 * itself crosses a stop-sign opens its epoch on install, and its checkpoint is that epoch's only record (seed 3031588).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapMembership, succeeding } from '../../src/core/membership.js';
import { emptyMultiState, recoverMulti } from '../../src/core/multi/durable.js';
import type { MultiRecord } from '../../src/core/multi/messages.js';
import { MultiPaxos } from '../../src/core/multi/replica.js';
import { snapshotParts } from '../../src/core/multi/snapshot-parts.js';
import type { PlantedBugs } from '../../src/core/types.js';
import { adminChange, type MultiReady, oneKeySnapshot, stepReady } from './drive.js';

/** Node-2 of three knows slots 11 and 12 chosen (12 the change 0→1) and nothing below them. */
function replicaMissingTheHead(bugs: PlantedBugs = {}): MultiPaxos {
  const change = adminChange(0, [1, 2, 3]);
  const state = emptyMultiState();
  state.chosen.set(11, { value: { kind: 'noop' }, ballot: null });
  state.chosen.set(12, { value: change, ballot: null });
  return new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1, bugs }, state);
}

/** Streams node-1's snapshot through slot 10 (two parts) into `core`; returns the Ready of the install. */
function installSnapshotThrough10(core: MultiPaxos): MultiReady {
  const parts = oneKeySnapshot({ from: 1, to: 2, slot: 10, membership: bootstrapMembership([1, 2, 3]) });
  let ready: MultiReady | undefined;
  for (const message of parts) ready = stepReady(core, { type: 'message', message });
  assert.ok(ready !== undefined);
  return ready;
}

const epochsIn = (records: readonly MultiRecord[]) =>
  records.flatMap((r) => (r.t === 'epoch' ? [`${r.membership.epoch} from #${r.membership.startSlot}`] : []));

test('the Ready that installs a snapshot writes no epoch record for a stop-sign above it; the next step does', () => {
  const core = replicaMissingTheHead();
  const install = installSnapshotThrough10(core);
  assert.ok(install.checkpoint !== null, 'the install is checkpointed');
  assert.deepEqual(epochsIn([...install.persistLazy, ...install.persist]), []);
  assert.deepEqual(epochsIn(install.checkpoint.records), ['0 from #1']);
  assert.equal(core.view().membership?.epoch ?? 0, 0);
  assert.equal(core.view().commitIndex, 12, 'slot 11 is applied, the stop-sign at 12 waits');

  const next = stepReady(core, { type: 'tick' });
  assert.equal(next.checkpoint, null);
  assert.deepEqual(epochsIn([...next.persistLazy, ...next.persist]), ['1 from #13']);
  assert.equal(core.view().membership?.epoch, 1);
  assert.equal(core.view().commitIndex, 13);
});

test('planted apply-above-unwritten-snapshot: the installing Ready writes the epoch record ahead of its checkpoint', () => {
  const install = installSnapshotThrough10(replicaMissingTheHead({ applyAboveUnwrittenSnapshot: true }));
  assert.ok(install.checkpoint !== null);
  assert.deepEqual(epochsIn([...install.persistLazy, ...install.persist]), ['1 from #13']);
});

test('an installed snapshot is checkpointed as an install, which later writes wait for; planted install-as-compaction marks it a compaction', () => {
  // The next step's epoch record lands behind the install only because storage orders writes after an install (a
  // compaction's later writes do not wait: test/storage/checkpoint.test.ts); the mark is what tells storage which.
  const install = installSnapshotThrough10(replicaMissingTheHead());
  assert.ok(install.checkpoint !== null);
  assert.equal(install.checkpoint.compaction, undefined);
  const planted = installSnapshotThrough10(replicaMissingTheHead({ installAsCompaction: true }));
  assert.ok(planted.checkpoint !== null);
  assert.equal(planted.checkpoint.compaction, true);
});

/** Streams node-1's snapshot through the stop-sign at 12 (so it carries epoch 1) into a node-2 that has nothing. */
function installSnapshotOfEpoch1(bugs: PlantedBugs = {}): { core: MultiPaxos; install: MultiReady } {
  const core = new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1, bugs }, emptyMultiState());
  const membership = succeeding(bootstrapMembership([1, 2, 3]), { epoch: 1, voters: [1, 2, 3], startSlot: 13 });
  const parts = oneKeySnapshot({ from: 1, to: 2, slot: 12, membership });
  let install: MultiReady | undefined;
  for (const message of parts) install = stepReady(core, { type: 'message', message });
  assert.ok(install !== undefined);
  return { core, install };
}

test('a snapshot that opens a later epoch is its own epoch record: the installing Ready writes none ahead of it', () => {
  // Wide-run seed 3031588: an epoch record written ahead of the checkpoint reached the disk alone, and the replica
  // restarted in an epoch whose stop-sign (inside the lost snapshot) nobody could give it again.
  const { core, install } = installSnapshotOfEpoch1();
  assert.ok(install.checkpoint !== null, 'the install is checkpointed');
  assert.equal(install.checkpoint.compaction, undefined, 'and what follows waits for it');
  assert.deepEqual(epochsIn([...install.persistLazy, ...install.persist]), []);
  assert.deepEqual(epochsIn(install.checkpoint.records), ['1 from #13']);
  assert.equal(core.view().membership?.epoch, 1);
  assert.equal(core.view().commitIndex, 13);
});

test('planted epoch-record-ahead-of-install: the installing Ready writes the epoch record ahead of its checkpoint', () => {
  const { install } = installSnapshotOfEpoch1({ epochRecordAheadOfInstall: true });
  assert.ok(install.checkpoint !== null);
  assert.deepEqual(epochsIn([...install.persistLazy, ...install.persist]), ['1 from #13']);
});

test('a crash after an install that opened an epoch, before the log was rewritten: the replay drops the ended epoch above it, and the replica records the boundary first', () => {
  // The old log: node-2 accepted at 1.1 in epoch 0, at slots 13 and 14, which the stop-sign at 12 left to epoch 1.
  const membership = succeeding(bootstrapMembership([1, 2, 3]), { epoch: 1, voters: [1, 2, 3], startSlot: 13 });
  const snapshot = snapshotParts({ slot: 12, kv: [['x', '1']], sessions: [], applied: [], membership });
  const ballot = { round: 1, node: 1 };
  const oldLog: MultiRecord[] = [
    { t: 'epoch', membership: bootstrapMembership([1, 2, 3]) },
    { t: 'accept', ballot, entries: [11, 13, 14].map((slot) => ({ slot, value: { kind: 'noop' as const } })) },
  ];
  const state = recoverMulti(oldLog, snapshot);
  assert.equal(state.epochOnlyInSnapshot, true);
  assert.equal(state.membership?.epoch, 1);
  assert.deepEqual([...state.accepted.keys()], [], 'slot 11 is in the snapshot, 13 and 14 belonged to epoch 0');
  const first = stepReady(new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1 }, state), { type: 'tick' });
  assert.deepEqual(epochsIn(first.persist), ['1 from #13'], 'votes of epoch 1 it writes next follow the boundary');
  // Restarted again from that log, with a vote of epoch 1 written after the boundary: nothing more is dropped.
  const later: MultiRecord[] = [
    ...oldLog,
    ...first.persist,
    { t: 'accept', ballot: { round: 2, node: 3 }, entries: [{ slot: 13, value: { kind: 'noop' } }] },
  ];
  const again = recoverMulti(later, snapshot);
  assert.equal(again.epochOnlyInSnapshot, false);
  assert.deepEqual([...again.accepted.keys()], [13]);
});
