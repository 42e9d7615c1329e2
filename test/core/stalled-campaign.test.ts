/**
 * A voter that heard of a later epoch waits to catch up before it campaigns; when catching up stalls for two election
 * timeouts, it campaigns in its own epoch, because a phase 1 of that epoch's voters may be the only way anyone learns
 * the ended epoch's tail again (seed 33101). Wide-run seed 3232515 showed the other half: the replica in the later
 * epoch that could not serve the tail (in epoch 2 without the chosen records of #9-#11) rejected each of those
 * campaigns with its epoch, and every reject stepped the candidate down to fetch from it once more. Such a reject is no
 * news to a replica campaigning because of it. The plant yield-while-stalled steps down anyway. The seed reached that
 * state only through a flaw of the storage twin, since fixed, so this test builds it directly.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ballot } from '../../src/core/ballot.js';
import type { MultiMessage } from '../../src/core/multi/messages.js';
import { MultiPaxos } from '../../src/core/multi/replica.js';
import type { PlantedBugs } from '../../src/core/types.js';
import { type MultiReady, sent, stepReady, tickUntil } from './drive.js';

const ELECTION_TIMEOUT_TICKS = 10;

/**
 * node-1 of three (epoch 0) hears node-3 prepare in epoch 1, so it knows it is behind; nobody answers its catch-up.
 * It campaigns once that stalls, node-3 rejects the prepare with epoch 1, and node-2 promises.
 */
function campaignPastStall(bugs: PlantedBugs = {}): { afterReject: MultiReady; afterPromise: MultiReady } {
  const core = new MultiPaxos({
    id: 1,
    clusterSize: 3,
    randomSeed: 1,
    electionTimeoutTicks: ELECTION_TIMEOUT_TICKS,
    bugs,
  });
  stepReady(core, { type: 'tick' });
  const later: MultiMessage = { type: 'prepare', from: 3, to: 1, epoch: 1, ballot: Ballot(9, 3), fromSlot: 5 };
  stepReady(core, { type: 'message', message: later });
  const { ready } = tickUntil(core, (r) => sent(r).some((m) => m.type === 'prepare'), 20 * ELECTION_TIMEOUT_TICKS);
  const prepare = sent(ready).find((m) => m.type === 'prepare');
  assert.ok(prepare !== undefined && prepare.type === 'prepare');
  assert.equal(prepare.epoch, 0, 'it campaigns in its own epoch');
  const { ballot, fromSlot } = prepare;
  const reject: MultiMessage = { type: 'reject', from: 3, to: 1, epoch: 1, ballot, promised: Ballot(9, 3) };
  const afterReject = stepReady(core, { type: 'message', message: reject });
  const promise: MultiMessage = {
    type: 'promise',
    from: 2,
    to: 1,
    epoch: 0,
    ballot,
    fromSlot,
    commitIndex: 1,
    accepted: [],
  };
  return { afterReject, afterPromise: stepReady(core, { type: 'message', message: promise }) };
}

const wonLeadership = (r: MultiReady) => r.events.some((e) => e.type === 'leader');

test('a campaign started because catching up stalled outlives the later epoch rejecting it, and wins with its quorum', () => {
  const { afterReject, afterPromise } = campaignPastStall();
  assert.ok(!wonLeadership(afterReject));
  assert.ok(wonLeadership(afterPromise), 'node-1 and node-2 are a quorum of epoch 0: node-1 leads');
});

test('planted yield-while-stalled: the reject steps the candidate down, and the promise that would win it comes too late', () => {
  const { afterPromise } = campaignPastStall({ yieldWhileStalled: true });
  assert.ok(!wonLeadership(afterPromise));
});
