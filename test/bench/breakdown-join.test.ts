/**
 * The breakdown's join when a slot is voted on more than once: a change of
 * leader leaves a follower's notes with turns that answered another leader's
 * accept, and the leader's with proposals no follower answered. Every part
 * must be a non-negative interval of one proposal's path through one
 * follower. Synthetic notes with made-up times (no measurement). The first
 * two are the interleaving behind "follower step -0.919 ms" in a 5-replica
 * bench: only an accept (core/multi/acceptor.ts) makes a follower send an
 * accepted, so a follower's turn for the slot before this leader's accept
 * came answered another leader's, and the old join, taking each kind of note
 * first for the slot, subtracted the one from the other.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Breakdown, breakdown, PARTS } from '../../src/bench/breakdown.js';
import type { ArrivalNote, LatencySamples, TurnNote } from '../../src/node/latency-sampler.js';

const SLOT = 64;

function notes(node: number, turns: TurnNote[], arrivals: ArrivalNote[], replied?: [number, number]): LatencySamples {
  const requests = replied === undefined ? [] : [{ slot: SLOT, arrivedUs: replied[0], repliedUs: replied[1] }];
  return { node, every: 64, turns, arrivals, requests };
}
/** A turn that answered accepts for the slot (a follower's accepted, sent once its write is durable). */
const answered = (steppedUs: number, releasedUs: number): TurnNote => ({
  early: [],
  late: [SLOT],
  steppedUs,
  earlySentUs: steppedUs,
  releasedUs,
});
/** A turn that proposed the slot (a leader's accepts, sent before its own write). */
const proposed = (steppedUs: number, earlySentUs: number, releasedUs: number): TurnNote => ({
  early: [SLOT, SLOT, SLOT, SLOT],
  late: [],
  steppedUs,
  earlySentUs,
  releasedUs,
});
const accept = (from: number, atUs: number): ArrivalNote => ({ type: 'accept', from, slots: [SLOT], atUs });
const accepted = (from: number, atUs: number): ArrivalNote => ({ type: 'accepted', from, slots: [SLOT], atUs });

/** Whatever the notes, a followed value's parts are non-negative and add up to its latency. */
function assertWellFormed(b: Breakdown): void {
  for (const p of PARTS) assert.ok(b.partsUs[p] >= 0, `${p} is ${b.partsUs[p]} µs`);
  assert.equal(
    PARTS.reduce((n, p) => n + b.partsUs[p], 0),
    b.totalUs,
  );
}

test('2 followers: a follower that answered the interim leader first is followed through its answer to this leader', () => {
  // Replica 1 took the request at 300 while replica 3 led; replica 3 proposed the slot, replica 2 and replica 1
  // (then a follower) answered it; replica 1 took the lead back and proposed the slot again at 1020.
  const leader = notes(
    1,
    [answered(420, 460), proposed(1020, 1030, 1200)],
    [accept(3, 412), accepted(2, 1100), accepted(3, 1150)],
    [300, 1210],
  );
  const f2 = notes(2, [answered(415, 450), answered(1045, 1090)], [accept(3, 410), accept(1, 1040)]);
  const f3 = notes(3, [proposed(400, 402, 470), answered(1055, 1140)], [accept(1, 1050)]);
  const b = breakdown([{ slot: SLOT, sentUs: 290, receivedUs: 1220 }], leader, [f2, f3]);
  assert.ok(b !== null);
  assert.equal(b.unmatched, 0);
  assert.deepEqual(b.partsUs, {
    clientToLeader: 10,
    leaderStep: 720,
    acceptOut: 10,
    acceptWire: 10,
    followerStep: 5,
    followerWrite: 45,
    acceptedBack: 10,
    leaderCommit: 110,
    reply: 10,
  });
  assert.equal(b.leaderWriteUs, 170);
  assertWellFormed(b);
});

test('4 followers: the first proposal no follower answered is passed over, and no path mixes two rounds', () => {
  // Replica 1 proposed the slot at 110; replicas 3, 4 and 5 refused it (replica 3 was taking the lead), replica 2
  // never got it. Replica 3 proposed the slot; 2 and 4 answered. Replica 1 took the lead back and proposed it at 1020.
  const leader = notes(
    1,
    [proposed(110, 115, 300), answered(420, 460), proposed(1020, 1030, 1200)],
    [accept(3, 412), accepted(2, 1100), accepted(4, 1105), accepted(5, 1130), accepted(3, 1150)],
    [100, 1210],
  );
  const f2 = notes(2, [answered(408, 440), answered(1045, 1090)], [accept(3, 405), accept(1, 1040)]);
  const f3 = notes(3, [proposed(400, 402, 470), answered(1055, 1140)], [accept(1, 128), accept(1, 1050)]);
  const f4 = notes(4, [answered(415, 450), answered(1047, 1095)], [accept(1, 130), accept(3, 410), accept(1, 1042)]);
  const f5 = notes(5, [answered(1046, 1120)], [accept(1, 140), accept(1, 1041)]);
  const b = breakdown([{ slot: SLOT, sentUs: 90, receivedUs: 1220 }], leader, [f2, f3, f4, f5]);
  assert.ok(b !== null);
  assert.deepEqual(b.partsUs, {
    clientToLeader: 10,
    leaderStep: 920,
    acceptOut: 10,
    acceptWire: 10,
    followerStep: 5,
    followerWrite: 45,
    acceptedBack: 10,
    leaderCommit: 110,
    reply: 10,
  });
  assertWellFormed(b);
});

test('4 followers: a turn that may have answered another accept for the slot is not followed', () => {
  // Replica 5's accepted came back first, but the interim leader's delayed accept reached it before the turn
  // stepped: that turn's accepted may answer either. Replica 2's path is followed.
  const leader = notes(
    1,
    [proposed(1020, 1030, 1200)],
    [accepted(5, 1090), accepted(2, 1100), accepted(4, 1105), accepted(3, 1150)],
    [1000, 1210],
  );
  const f2 = notes(2, [answered(1045, 1090)], [accept(1, 1040)]);
  const f3 = notes(3, [answered(1055, 1140)], [accept(1, 1050)]);
  const f4 = notes(4, [answered(1047, 1095)], [accept(1, 1042)]);
  const f5 = notes(5, [answered(1046, 1080)], [accept(1, 1041), accept(3, 1043)]);
  const b = breakdown([{ slot: SLOT, sentUs: 990, receivedUs: 1220 }], leader, [f2, f3, f4, f5]);
  assert.ok(b !== null);
  assert.equal(b.partsUs.followerStep, 5);
  assert.equal(b.partsUs.acceptedBack, 10);
  assert.equal(b.partsUs.leaderCommit, 110);
  assertWellFormed(b);
});

test('a value whose only accepted came back after its reply is not followed', () => {
  // The reply went at 1210 (the slot was learned chosen from another leader); the only accepted here came after.
  const leader = notes(1, [proposed(1020, 1030, 1200)], [accepted(2, 1300)], [1000, 1210]);
  const f2 = notes(2, [answered(1045, 1290)], [accept(1, 1040)]);
  const f3 = notes(3, [], []);
  assert.equal(breakdown([{ slot: SLOT, sentUs: 990, receivedUs: 1220 }], leader, [f2, f3]), null);
});
