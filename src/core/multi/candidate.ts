/**
 * A candidate: the rounds it campaigns with, the promises it gathers in
 * phase 1, what the winner starts from (the values it must adopt, the holes
 * it fills with no-ops, the stop-sign it may not pass), and a rejection
 * that overtakes the ballot it campaigns or leads with.
 */
import { Ballot, ballotEquals, ballotGreater, compareBallots } from '../ballot.js';
import type { NodeId } from '../types.js';
import type { Context } from './context.js';
import { Leadership } from './leader.js';
import type { AcceptedEntry, LogValue, PromiseMsg, RejectMsg } from './messages.js';
import { ballotOf, type ElectionTimer, type RoleSeat } from './role.js';
import type { Rules } from './rules.js';

/** One acceptor's promise as the candidate keeps it: what it accepted, and below which slot it has seen everything chosen. */
export interface Promised {
  readonly accepted: readonly AcceptedEntry[];
  readonly commitIndex: number;
}

export interface Phase1 {
  readonly ballot: Ballot;
  readonly fromSlot: number;
  readonly promises: Map<NodeId, Promised>;
}

/** The rounds this replica used (durable) and saw (volatile): each campaign goes above both, so no ballot is used twice. */
export class Rounds {
  round: number;
  private maxSeen: number;

  constructor(recoveredRound: number, promisedRound: number, rules: Rules) {
    this.round = rules.reuseBallotAfterRestart ? 0 : recoveredRound;
    this.maxSeen = rules.reuseBallotAfterRestart ? 0 : Math.max(this.round, promisedRound);
  }

  note(b: Ballot): void {
    if (b.round > this.maxSeen) this.maxSeen = b.round;
  }

  /** The round of the next campaign: above every round used, seen, or at `floor` (the promise). */
  next(floor: number): number {
    this.round = Math.max(this.round, this.maxSeen, floor) + 1;
    this.maxSeen = this.round;
    return this.round;
  }
}

/** What the winner of phase 1 starts from. */
export interface Victory {
  /** Per slot, the value some acceptor of the quorum accepted at the highest ballot: the leader must propose it. */
  readonly adopted: ReadonlyMap<number, AcceptedEntry>;
  /** The promise with the highest commit point: below it every slot is chosen, and that acceptor can tell which value. */
  readonly decided: { readonly node: NodeId; readonly commitIndex: number };
  readonly decidedFloor: number;
  /** The last slot the winner re-proposes (a no-op in every hole up to it). */
  readonly maxSlot: number;
  /** A stop-sign of this epoch among them: the leader finishes the log up to it and proposes nothing after. */
  readonly stopSlot: number | null;
  /**
   * The highest slot a promise showed a value accepted at, beyond the stop-sign too. Apply may refuse that
   * stop-sign (an expired, duplicate or reused command); then the epoch goes on, and every value accepted after
   * it may be chosen already: the leader must re-propose those, never new ones, in those slots.
   */
  readonly acceptedThrough: number;
}

/**
 * Phase 1 is done for every slot from `fromSlot` on. Each slot some acceptor
 * of the quorum accepted gets the value of the highest ballot there; every
 * hole below the highest such slot gets a no-op, so the log has no gaps.
 */
export function victoryOf(c: Phase1, rules: Rules, isStopSign: (v: LogValue) => boolean): Victory {
  const adopted = rules.ignoreAcceptedValues ? new Map<number, AcceptedEntry>() : highestAccepted(c.promises);
  const decided = mostDecided(c.promises);
  const decidedFloor = Math.max(c.fromSlot, decided.commitIndex);
  let acceptedThrough = decidedFloor - 1;
  for (const p of c.promises.values()) for (const e of p.accepted) acceptedThrough = Math.max(acceptedThrough, e.slot);
  // A stop-sign of this epoch that may be chosen ends what this leader proposes: it finishes the log up to it and no further.
  const stopSlot = rules.twoChangesInFlight ? null : firstStopSign(adopted, decidedFloor, acceptedThrough, isStopSign);
  const maxSlot = stopSlot ?? acceptedThrough;
  return { adopted, decided, decidedFloor, maxSlot, stopSlot, acceptedThrough };
}

/** The first slot in `from..to` whose highest accepted value is a stop-sign of this epoch, or null. */
function firstStopSign(
  best: ReadonlyMap<number, AcceptedEntry>,
  from: number,
  to: number,
  isStopSign: (v: LogValue) => boolean,
): number | null {
  for (let slot = from; slot <= to; slot++) {
    const e = best.get(slot);
    if (e !== undefined && isStopSign(e.value)) return slot;
  }
  return null;
}

/** The promise with the highest commit point: every slot below it is chosen, and that acceptor can tell which value. */
function mostDecided(promises: ReadonlyMap<NodeId, Promised>): { node: NodeId; commitIndex: number } {
  let best = { node: 0, commitIndex: 0 };
  for (const [node, p] of promises) if (p.commitIndex > best.commitIndex) best = { node, commitIndex: p.commitIndex };
  return best;
}

/** Per slot, the accepted entry with the highest ballot among the promises. */
function highestAccepted(promises: ReadonlyMap<NodeId, Promised>): Map<number, AcceptedEntry> {
  const best = new Map<number, AcceptedEntry>();
  for (const p of promises.values()) {
    for (const e of p.accepted) {
      const cur = best.get(e.slot);
      if (cur === undefined || compareBallots(e.ballot, cur.ballot) > 0) best.set(e.slot, e);
    }
  }
  return best;
}

/** Campaigns: phase 1 with a ballot never used, the promises it gathers, the win, and being overtaken. */
export class Candidate {
  constructor(
    private readonly ctx: Context,
    private readonly seat: RoleSeat,
    private readonly timer: ElectionTimer,
    readonly rounds: Rounds,
  ) {}

  /** Phase 1 for every slot this node has not seen chosen, with a ballot it has never used. */
  startElection(): void {
    const { ctx } = this;
    const round = this.rounds.next(ctx.rules.reuseBallotAfterRestart ? 0 : ctx.acceptor.promised.round);
    const ballot = Ballot(round, ctx.id);
    ctx.out.persist.push({ t: 'round', round });
    ctx.acceptor.promiseOwn(ballot);
    const fromSlot = ctx.learner.commitIndex;
    this.seat.become({
      kind: 'candidate',
      phase1: {
        ballot,
        fromSlot,
        promises: new Map([[ctx.id, { accepted: ctx.acceptor.acceptedFrom(fromSlot), commitIndex: fromSlot }]]),
      },
    });
    this.timer.reset();
    ctx.out.events.push({ type: 'phase1', ballot });
    const epoch = ctx.epochs.membership.epoch;
    for (const to of ctx.epochs.sendTargets())
      ctx.out.messages.push({ type: 'prepare', from: ctx.id, to, epoch, ballot, fromSlot });
    // Contacts outside this replica's configuration mean the cluster may have moved on without it (its voters removed
    // and stopped, so nobody answers to say so): it also asks them for the log.
    if (ctx.cfg.contacts.some((c) => !ctx.epochs.membership.voters.includes(c)) && ctx.learner.catchupDue(2))
      ctx.learner.pollForLog();
    this.maybeWinElection();
  }

  onPromise(m: PromiseMsg): void {
    const { role } = this.seat;
    if (role.kind !== 'candidate') return;
    const c = role.phase1;
    if (!ballotEquals(m.ballot, c.ballot)) return;
    if (m.epoch !== this.ctx.epochs.membership.epoch || !this.ctx.epochs.countsVote(m.from)) return;
    c.promises.set(m.from, { accepted: m.accepted, commitIndex: m.commitIndex });
    this.maybeWinElection();
  }

  onReject(m: RejectMsg): void {
    const { ctx } = this;
    this.rounds.note(m.promised);
    const { epoch } = ctx.epochs.membership;
    if (m.epoch > epoch) {
      // My epoch has ended elsewhere: stop leading in it and learn the log up to its stop-sign.
      if (this.seat.role.kind !== 'follower' && !ctx.epochs.campaignsPastStall(m.epoch)) ctx.stepDown();
      ctx.epochs.behind(m.from, m.epoch);
      return;
    }
    if (m.epoch < epoch) return;
    const mine = ballotOf(this.seat.role);
    if (mine === null || !ballotEquals(m.ballot, mine) || !ballotGreater(m.promised, mine)) return;
    ctx.out.events.push({ type: 'preempted', ballot: mine, by: m.promised });
    const { role } = this.seat;
    if (role.kind === 'leader' && ctx.epochs.hasQuorumContact() && this.mayPrepareAgainAtOnce(role.leadership)) {
      // A leader still in touch with a majority that meets one higher promise (typically a replica back from
      // isolation, whose failed elections ran its ballot up) prepares again above it at once, rather than
      // leaving the whole cluster leaderless until an election timeout.
      this.startElection();
      return;
    }
    ctx.stepDown();
  }

  /**
   * Only a leader that has led for an election timeout prepares again at once when preempted. Two leaders that each
   * hear from a majority would otherwise preempt each other for ever, each winning in one round trip and preparing
   * again the moment the other's prepare reached its followers (wide-run seed 2399144: node-1 and node-3 of 4 led
   * by turns every 10 ms, ballots 571 to 581 and on, for the whole 6 s after the heal). A leader preempted that soon
   * after winning steps down and follows whoever preempted it.
   */
  private mayPrepareAgainAtOnce(leadership: Leadership): boolean {
    const { ctx } = this;
    return ctx.rules.reprepareWhileNew || leadership.ledTicks() >= ctx.cfg.electionTimeoutTicks;
  }

  private maybeWinElection(): void {
    const { role } = this.seat;
    if (role.kind !== 'candidate') return;
    const c = role.phase1;
    if (c.promises.size < this.ctx.epochs.quorum()) return;
    this.becomeLeader(c);
  }

  /** Phase 1 won: this replica leads from where the promises of its quorum say, re-proposing what they must. */
  private becomeLeader(c: Phase1): void {
    const { ctx } = this;
    const v = victoryOf(c, ctx.rules, (value) => ctx.epochs.isStopSign(value));
    const commitIndex = ctx.learner.commitIndex;
    const leadership = new Leadership(ctx, {
      ballot: c.ballot,
      nextSlot: Math.max(v.maxSlot + 1, commitIndex, v.decidedFloor),
      decidedFloor: v.decidedFloor,
      learnFrom: v.decidedFloor > commitIndex ? v.decided.node : null,
      stopSlot: v.stopSlot,
    });
    this.seat.become({ kind: 'leader', leadership });
    for (const peer of c.promises.keys()) ctx.epochs.liveness.heard(peer, ctx.now());
    const epoch = ctx.epochs.membership.epoch;
    ctx.out.events.push({
      type: 'leader',
      ballot: c.ballot,
      epoch,
      fromSlot: c.fromSlot,
      quorum: [...c.promises.keys()],
    });
    leadership.learnDecided();
    leadership.repropose(v, [...c.promises.keys()]);
    ctx.clients.forwardAll();
  }
}
