/**
 * The latency breakdown's join: a sampled value followed from the bench
 * through the leader and the follower that answered first, its parts in
 * order along its path. Synthetic notes with made-up times (no measurement).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { breakdown, describeBreakdown, PARTS } from '../../src/bench/breakdown.js';
import type { LatencySamples } from '../../src/node/latency-sampler.js';

const leader: LatencySamples = {
  node: 1,
  every: 64,
  turns: [{ early: [64], late: [], steppedUs: 1020, earlySentUs: 1030, releasedUs: 1200 }],
  arrivals: [
    { type: 'accepted', from: 3, slots: [64], atUs: 1150 },
    { type: 'accepted', from: 2, slots: [64], atUs: 1100 },
  ],
  requests: [{ slot: 64, arrivedUs: 1010, repliedUs: 1210 }],
};
const follower = (node: number, at: number): LatencySamples => ({
  node,
  every: 64,
  turns: [{ early: [], late: [64], steppedUs: at + 5, earlySentUs: at + 5, releasedUs: at + 50 }],
  arrivals: [{ type: 'accept', from: 1, slots: [64], atUs: at }],
  requests: [],
});

test('a sampled value is followed through the follower whose accepted came back first', () => {
  const b = breakdown(
    [
      { slot: 64, sentUs: 1000, receivedUs: 1220 },
      { slot: 128, sentUs: 2000, receivedUs: 2300 },
    ],
    leader,
    [follower(2, 1040), follower(3, 1045)],
  );
  assert.ok(b !== null);
  assert.equal(b.samples, 1);
  assert.equal(b.unmatched, 1);
  assert.deepEqual(b.partsUs, {
    clientToLeader: 10,
    leaderStep: 10,
    acceptOut: 10,
    acceptWire: 10,
    followerStep: 5,
    followerWrite: 45,
    acceptedBack: 10,
    leaderCommit: 110,
    reply: 10,
  });
  assert.equal(
    PARTS.reduce((n, p) => n + b.partsUs[p], 0),
    b.totalUs,
  );
  assert.equal(b.leaderWriteUs, 170);
  assert.match(describeBreakdown(b), /leader commit 0\.110.*leader write 0\.170 beside them/);
  // One followed sample: it is its own slowest 1%.
  assert.deepEqual(b.slowest.partsUs, b.partsUs);
  assert.match(describeBreakdown(b), /\n {2}slowest 1% \(ms, mean of 1 sampled values of 0\.220\)/);
});

test('no breakdown when no sample reaches a follower', () => {
  assert.equal(breakdown([{ slot: 64, sentUs: 1000, receivedUs: 1220 }], leader, []), null);
});
