/**
 * A stop-sign reached through a snapshot install (src/core/multi/snapshots.ts, learner.ts): a Ready's records reach
 * the disk before its checkpoint, and a crash may come between the two writes, so the Ready that installs a snapshot
 * must not write the epoch record of a stop-sign only that snapshot makes reachable. The stop-sign is applied in the
 * next step instead, and its epoch record goes to disk behind the checkpoint (liveness seed 2026218).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapMembership } from '../../src/core/membership.js';
import { emptyMultiState } from '../../src/core/multi/durable.js';
import type { MultiMessage, MultiRecord } from '../../src/core/multi/messages.js';
import { MultiPaxos } from '../../src/core/multi/replica.js';
import type { PlantedBugs } from '../../src/core/types.js';
import { adminChange, type MultiReady, stepReady } from './drive.js';

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
  const membership = bootstrapMembership([1, 2, 3]);
  const parts: MultiMessage[] = [
    {
      type: 'snapshot',
      from: 1,
      to: 2,
      slot: 10,
      index: 0,
      part: { t: 'snapshot', slot: 10, parts: 2, kvCount: 1, sessionCount: 0, appliedCount: 0, membership },
    },
    { type: 'snapshot', from: 1, to: 2, slot: 10, index: 1, part: { t: 'kv', entries: [['x', '1']] } },
  ];
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
