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
 * rest of the majority: the leader's own vote once its write is durable and
 * other followers' (a Multi reply does not wait for the leader's write when
 * the followers made the majority, node/replica.ts).
 * A slot proposed again after a change of leader is followed through the
 * leader's first proposal of it that the notes show answered, before the
 * reply, by a follower; an earlier one counts in "leader step", a later
 * round in "leader commit". Every note joined is the first of its kind after
 * the one before it on that path (see `followerPath`), so no part is
 * negative and none subtracts the times of two rounds.
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
  if (request === undefined || request.arrivedUs < c.sentUs || request.repliedUs > c.receivedUs) return null;
  // The leader's proposals of the slot (its accepts, sent early) after the request came: more than one when the
  // leader lost the lead and took it back. A turn with the slot among its late messages only is no proposal: the
  // accepted this replica sent as a follower of another leader, or an accept re-sent to a peer that did not answer.
  const proposals = leader.turns
    .filter((t) => t.early.includes(c.slot) && t.steppedUs >= request.arrivedUs && t.earlySentUs <= request.repliedUs)
    .sort((a, b) => a.steppedUs - b.steppedUs);
  for (const [i, turn] of proposals.entries()) {
    // An accept that came after the next proposal left may be that one's: it is not followed as this one's.
    const window = { fromUs: turn.earlySentUs, toUs: proposals[i + 1]?.earlySentUs ?? Number.POSITIVE_INFINITY };
    // The follower whose accepted reached the leader first is the one that made the majority with it.
    let best: FollowerPath | null = null;
    for (const f of followers) {
      const path = followerPath({ slot: c.slot, leader, follower: f, acceptWindow: window });
      if (path !== null && path.backUs <= request.repliedUs && (best === null || path.backUs < best.backUs))
        best = path;
    }
    if (best === null) continue;
    return {
      parts: {
        clientToLeader: request.arrivedUs - c.sentUs,
        leaderStep: turn.steppedUs - request.arrivedUs,
        acceptOut: turn.earlySentUs - turn.steppedUs,
        acceptWire: best.arrivedUs - turn.earlySentUs,
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
  return null;
}

/** One follower's part of a value's path: the leader's accept arriving, the turn that answered it, its accepted back at the leader. */
interface FollowerPath {
  readonly arrivedUs: number;
  readonly turn: TurnNote;
  readonly backUs: number;
}

/**
 * The path of one proposal's accept for `slot` through one follower: the
 * accept arriving from the leader within `acceptWindow` (after the proposal
 * left, before the next one did), the first turn that answered the slot after
 * it and before any other accept for the slot came, and the first accepted
 * from this follower for the slot at the leader after that turn's write. Null
 * when the follower's notes do not show such a path. A follower's turns and
 * the leader's accepteds do not say whose accept they answer, and a slot is
 * voted on again after a change of leader: the first notes of each kind for
 * the slot may belong to different rounds (a turn that answered another
 * leader's accept, before this leader's came, gave "follower step" a negative
 * time).
 */
function followerPath(o: {
  slot: number;
  leader: LatencySamples;
  follower: LatencySamples;
  acceptWindow: { readonly fromUs: number; readonly toUs: number };
}): FollowerPath | null {
  const { slot, leader, follower, acceptWindow } = o;
  const accepts = follower.arrivals.filter((a) => a.type === 'accept' && a.slots.includes(slot));
  const accept = accepts.find(
    (a) => a.from === leader.node && a.atUs >= acceptWindow.fromUs && a.atUs < acceptWindow.toUs,
  );
  if (accept === undefined) return null;
  const turn = follower.turns.find((t) => t.late.includes(slot) && t.steppedUs >= accept.atUs);
  if (turn === undefined) return null;
  // Another accept for the slot (another leader's, or this one's again) came before the turn stepped: it may answer that one.
  if (accepts.some((a) => a !== accept && a.atUs >= accept.atUs && a.atUs <= turn.steppedUs)) return null;
  const back = leader.arrivals.find(
    (a) => a.type === 'accepted' && a.from === follower.node && a.atUs >= turn.releasedUs && a.slots.includes(slot),
  );
  return back === undefined ? null : { arrivedUs: accept.atUs, turn, backUs: back.atUs };
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
