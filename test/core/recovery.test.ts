/**
 * Recovery of a lost disk (src/core/multi/recovery.ts): the records that make
 * a recovering replica stay one across crashes and compaction, and the rule
 * that it votes in no epoch before the one its re-admission opened.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ZERO_BALLOT } from '../../src/core/ballot.js';
import { recoverMulti, retainedRecords } from '../../src/core/multi/durable.js';
import { MultiPaxos } from '../../src/core/multi/replica.js';
import { ScenarioCluster } from './scenario.js';

test('the records say whether a replica is recovering, and from which epoch it votes again', () => {
  assert.equal(recoverMulti([]).recovery, null);
  assert.deepEqual(recoverMulti([{ t: 'recovering', session: 's1' }]).recovery, {
    session: 's1',
    votesFromEpoch: null,
  });
  assert.deepEqual(
    recoverMulti([
      { t: 'recovering', session: 's1' },
      { t: 'promise', ballot: { round: 3, node: 2 } },
      { t: 'readmitted', epoch: 4 },
    ]).recovery,
    { session: 's1', votesFromEpoch: 4 },
  );
});

test('compaction keeps the recovery records first, so a compacted recovering replica is still one', () => {
  const records = retainedRecords({
    round: 0,
    promised: ZERO_BALLOT,
    membership: { epoch: 0, voters: [1, 2, 3], startSlot: 1 },
    accepted: new Map(),
    chosen: new Map(),
    compactedThrough: 0,
    recovery: [{ t: 'recovering', session: 's1' }],
  });
  assert.deepEqual(records[0], { t: 'recovering', session: 's1' });
  assert.deepEqual(recoverMulti(records).recovery, { session: 's1', votesFromEpoch: null });
});

test('recovery starts only on an empty disk: a shell that asks for it over records is a bug', () => {
  const disk = recoverMulti([{ t: 'accept', ballot: { round: 1, node: 1 }, entries: [] }]);
  assert.throws(
    () => new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1, recoverLostDisk: true }, disk),
    /must start on an empty one/,
  );
});

test('a recovering replica that crashes before it was re-admitted is still recovering after its restart', () => {
  const c = new ScenarioCluster();
  for (const step of ['cluster multi 3', 'tick node-1 30', 'deliver-all', 'crash node-2', 'recover node-2'])
    c.run(step);
  c.run('tick node-3 30');
  // The first message it handles brings its first Ready, whose first record is `recovering`.
  assert.match(c.run('deliver node-3 node-2 prepare'), /lost its disk/);
  c.run('crash node-2');
  // Its `recovering` record, and the round of the prepare it saw (kept so its first campaign goes above it).
  assert.match(c.run('restart node-2'), /restarts from 2 records/);
  const answer = c.run('deliver node-3 node-2 prepare');
  assert.doesNotMatch(answer, /node-2 → node-3 promise/, answer);
});
