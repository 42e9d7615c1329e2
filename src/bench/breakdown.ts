/**
 * Where one value's latency goes, from sampled values: the bench's own send
 * and receive times joined by slot with what the leader and the followers
 * noted (node/latency-sampler.ts). Every time is on the one monotonic clock
 * of the machine, so the parts of a sample follow each other along its
 * critical path and add up to exactly its latency:
 *
 *   client → leader, leader step, accept out, accept on the wire, follower
 *   step, follower write, accepted back, leader commit, reply
 *
 * "leader commit" runs from the first follower's accepted reaching the
 * leader to the leader handing the reply over; it includes waiting for the
 * second vote: the leader's own once its write is durable, or the other
 * follower's, whichever comes first (a Multi reply does not wait for the
 * leader's write when the followers made the majority, node/replica.ts).
 * "accept on the wire" starts as the leader's accepts are encoded and
 * written, so it holds that work, the write call and the follower's read.
 * The leader's write runs beside the followers' path and is given apart
 * (`leaderWriteUs`).
 */
import type { LatencySamples, TurnNote } from '../node/latency-sampler.js';

/** One sampled reply at the bench: when its request left and its reply came back. */
export interface ClientNote {
  readonly slot: number;
  readonly sentUs: number;
  readonly receivedUs: number;
}

export const PARTS = [
  'clientToLeader',
  'leaderStep',
  'acceptOut',
  'acceptWire',
  'followerStep',
  'followerWrite',
  'acceptedBack',
  'leaderCommit',
  'reply',
] as const;
export type Part = (typeof PARTS)[number];

/** Means over the samples, in microseconds (rounded down, so the parts never add up to more than the total). */
export interface Breakdown extends Mean {
  /** Sampled values that could not be followed through every replica (a note past the sampler's bound, a retransmission). */
  readonly unmatched: number;
  /** The same means over the slowest 1% of the samples (at least one): where the tail's time goes. */
  readonly slowest: Mean;
}

export interface Mean {
  readonly samples: number;
  readonly partsUs: Readonly<Record<Part, number>>;
  /** The sampled values' mean latency as the bench measured it, rounded up. */
  readonly totalUs: number;
  /** The leader's own write of the sampled slots (beside the followers' path, not one of the parts). */
  readonly leaderWriteUs: number;
}

/** Joins the bench's notes with the replicas'; null when no sample could be followed end to end. */
export function breakdown(
  client: readonly ClientNote[],
  leader: LatencySamples,
  followers: readonly LatencySamples[],
): Breakdown | null {
  const followed: Followed[] = [];
  for (const c of client) {
    const one = follow(c, leader, followers);
    if (one !== null) followed.push(one);
  }
  if (followed.length === 0) return null;
  const slowest = [...followed].sort((a, b) => b.totalUs - a.totalUs).slice(0, Math.ceil(followed.length / 100));
  return { ...mean(followed), unmatched: client.length - followed.length, slowest: mean(slowest) };
}

interface Followed {
  readonly parts: Record<Part, number>;
  readonly totalUs: number;
  readonly leaderWriteUs: number;
}

function mean(xs: readonly Followed[]): Mean {
  const n = xs.length;
  const sum = (f: (x: Followed) => number) => xs.reduce((acc, x) => acc + f(x), 0);
  return {
    samples: n,
    partsUs: Object.fromEntries(PARTS.map((p) => [p, Math.floor(sum((x) => x.parts[p]) / n)])) as Record<Part, number>,
    totalUs: Math.ceil(sum((x) => x.totalUs) / n),
    leaderWriteUs: Math.round(sum((x) => x.leaderWriteUs) / n),
  };
}

function follow(c: ClientNote, leader: LatencySamples, followers: readonly LatencySamples[]): Followed | null {
  const request = leader.requests.find((r) => r.slot === c.slot);
  const turn = leader.turns.find((t) => t.early.includes(c.slot) || t.late.includes(c.slot));
  if (request === undefined || turn === undefined) return null;
  const acceptSentUs = turn.early.includes(c.slot) ? turn.earlySentUs : turn.releasedUs;
  // The follower whose accepted reached the leader first is the one that made the majority with it.
  let best: { arrivedUs: number; turn: TurnNote; backUs: number } | null = null;
  for (const f of followers) {
    const accept = f.arrivals.find((a) => a.type === 'accept' && a.from === leader.node && a.slots.includes(c.slot));
    const fTurn = f.turns.find((t) => t.late.includes(c.slot));
    const back = leader.arrivals.find((a) => a.type === 'accepted' && a.from === f.node && a.slots.includes(c.slot));
    if (accept === undefined || fTurn === undefined || back === undefined) continue;
    if (best === null || back.atUs < best.backUs) best = { arrivedUs: accept.atUs, turn: fTurn, backUs: back.atUs };
  }
  if (best === null) return null;
  return {
    parts: {
      clientToLeader: request.arrivedUs - c.sentUs,
      leaderStep: turn.steppedUs - request.arrivedUs,
      acceptOut: acceptSentUs - turn.steppedUs,
      acceptWire: best.arrivedUs - acceptSentUs,
      followerStep: best.turn.steppedUs - best.arrivedUs,
      followerWrite: best.turn.releasedUs - best.turn.steppedUs,
      acceptedBack: best.backUs - best.turn.releasedUs,
      leaderCommit: request.repliedUs - best.backUs,
      reply: c.receivedUs - request.repliedUs,
    },
    totalUs: c.receivedUs - c.sentUs,
    leaderWriteUs: turn.releasedUs - turn.earlySentUs,
  };
}

/** The breakdown as two lines of the human output: the mean, and the slowest 1%. */
export function describeBreakdown(b: Breakdown): string {
  return `${describeMean('breakdown', b)}\n${describeMean('slowest 1%', b.slowest)}`;
}

function describeMean(title: string, b: Mean): string {
  const label: Record<Part, string> = {
    clientToLeader: 'client→leader',
    leaderStep: 'leader step',
    acceptOut: 'accept out',
    acceptWire: 'accept wire',
    followerStep: 'follower step',
    followerWrite: 'follower write',
    acceptedBack: 'accepted back',
    leaderCommit: 'leader commit',
    reply: 'reply',
  };
  const ms = (us: number) => (us / 1000).toFixed(3);
  const parts = PARTS.map((p) => `${label[p]} ${ms(b.partsUs[p])}`).join(', ');
  return `  ${title} (ms, mean of ${b.samples} sampled values of ${ms(b.totalUs)}): ${parts}; leader write ${ms(b.leaderWriteUs)} beside them`;
}
