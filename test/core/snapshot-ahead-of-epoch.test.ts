/**
 * A replica behind its own epoch (an epoch record durable, the chosen prefix up to its stop-sign not) serves no
 * snapshot: it can only label one with the epoch it is in, and an installer would enter that epoch without the
 * stop-sign that opens it. The plant snapshot-ahead-of-epoch serves one anyway. The default seeds reached this state
 * through an install whose epoch record landed without its snapshot (seed 447, then 9864, then 12563); since an
 * install that opens an epoch writes no epoch record of its own (replica.ts, restoreSnapshot), none of seeds 1-30000
 * with those settings does, so this test builds the state directly.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapMembership, succeeding } from '../../src/core/membership.js';
import { recoverMulti } from '../../src/core/multi/durable.js';
import type { MultiRecord } from '../../src/core/multi/messages.js';
import { MultiPaxos } from '../../src/core/multi/replica.js';
import { snapshotParts } from '../../src/core/multi/snapshot-parts.js';
import type { PlantedBugs } from '../../src/core/types.js';
import { stepReady } from './drive.js';

/** node-2 of three restarted from a snapshot through slot 4 (epoch 0) and a log that entered epoch 1 from #13; node-3 asks it for the log from #1. */
function askBehindItsEpoch(bugs: PlantedBugs = {}) {
  const epoch0 = bootstrapMembership([1, 2, 3]);
  const epoch1 = succeeding(epoch0, { epoch: 1, voters: [1, 2, 3], startSlot: 13 });
  const snapshot = snapshotParts({ slot: 4, kv: [['x', '1']], sessions: [], applied: [], membership: epoch0 });
  const log: MultiRecord[] = [{ t: 'epoch', membership: epoch1 }];
  const core = new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1, bugs }, recoverMulti(log, snapshot));
  stepReady(core, { type: 'tick' });
  return stepReady(core, { type: 'message', message: { type: 'catchup', from: 3, to: 2, fromSlot: 1 } });
}

test('a replica behind its own epoch serves no snapshot: it cannot say which epoch governs what it applied', () => {
  assert.deepEqual(
    askBehindItsEpoch().messages.filter((m) => m.type === 'snapshot'),
    [],
  );
});

test('planted snapshot-ahead-of-epoch: it serves its snapshot through slot 4 labelled epoch 1', () => {
  const sent = askBehindItsEpoch({ snapshotAheadOfEpoch: true }).messages.filter((m) => m.type === 'snapshot');
  assert.equal(sent.length, 1);
  const head = sent[0]?.part as { t: string; slot: number; membership: { epoch: number } };
  assert.equal(head.t, 'snapshot');
  assert.equal(head.slot, 4);
  assert.equal(head.membership.epoch, 1, 'an installer would enter epoch 1 having applied only through slot 4');
});
