/**
 * The proposer of every key this replica's clients write or read: one
 * proposal per key, phase 1 with a ballot never used, phase 2 with the value
 * of the highest accepted ballot among a quorum's promises (else its own),
 * a randomized, growing backoff when a round is lost, deadlines, and every
 * reply a client gets.
 */
import { Ballot, ballotEquals, compareBallots, ZERO_BALLOT } from '../ballot.js';
import type { BasicAcceptedMsg, BasicPromiseMsg, BasicRejectMsg } from '../basic-messages.js';
import { requiredQuorum } from '../config.js';
import { must } from '../must.js';
import { type ClientRequest, type FailureCode, failure, type NodeId, nodeName } from '../types.js';
import type { BasicContext } from './context.js';
import type { Accepted, BasicDurableState } from './durable.js';

interface Waiter {
  readonly requestId: string;
  readonly op: 'set' | 'get';
  readonly value: string | null;
  readonly deadlineTick: number;
  /** Set once an accept carrying this waiter's own value left: from then on its value may be chosen. */
  sent: boolean;
  /**
   * The ballot whose prepares had already left when this waiter joined, if any: that round's promises may describe the
   * key as it was before the request arrived, so they cannot tell this read that nothing is chosen.
   */
  joinedDuring: Ballot | null;
}

/** One proposer's attempt to get a value chosen for one key. */
interface Proposal {
  readonly key: string;
  readonly waiters: Waiter[];
  phase: 'prepare' | 'accept' | 'backoff';
  ballot: Ballot;
  promises: Map<NodeId, Accepted | null>;
  value: string | null;
  accepts: Set<NodeId>;
  attempts: number;
  roundTrips: number;
  phaseStartTick: number;
  retryAtTick: number;
}

/** Basic Paxos here is one write-once register per key over fixed acceptors: a change of acceptors would need a log to order it in. */
export const BASIC_NO_MEMBERSHIP =
  'membership change needs --protocol multi: Basic Paxos here is one write-once register per key with a fixed set of acceptors';

export class Proposer {
  /** The last round this replica used (durable). */
  round: number;
  /** The highest round it used or saw (volatile): each round goes above it, so no ballot is used twice. */
  private maxSeenRound: number;
  private readonly proposals = new Map<string, Proposal>();

  constructor(
    private readonly ctx: BasicContext,
    recovered: BasicDurableState,
  ) {
    const reuse = ctx.cfg.bugs.reuseBallotAfterRestart;
    this.round = reuse ? 0 : recovered.round;
    let maxRound = Math.max(this.round, recovered.promisedAtLeast.round);
    for (const b of recovered.promised.values()) maxRound = Math.max(maxRound, b.round);
    this.maxSeenRound = reuse ? 0 : maxRound;
  }

  get size(): number {
    return this.proposals.size;
  }

  /** Whether some proposal is in phase 1 or 2 (not waiting out a backoff). */
  isActive(): boolean {
    return [...this.proposals.values()].some((p) => p.phase !== 'backoff');
  }

  noteRound(b: Ballot): void {
    if (b.round > this.maxSeenRound) this.maxSeenRound = b.round;
  }

  tick(): void {
    for (const p of [...this.proposals.values()]) this.tickProposal(p);
  }

  private tickProposal(p: Proposal): void {
    const now = this.ctx.now();
    this.expireWaiters(p);
    if (p.waiters.length === 0) {
      this.proposals.delete(p.key);
    } else if (p.phase === 'backoff') {
      if (now >= p.retryAtTick) this.startRound(p);
    } else if (now - p.phaseStartTick >= this.ctx.cfg.electionTimeoutTicks * 2 ** Math.min(p.attempts, 3)) {
      // The wait for a phase grows with each failed attempt, as the backoff does: on a network whose
      // round trip is longer than one timeout (slow disks, `paxos net --delay 10-200ms`) a fixed wait
      // would abandon every round just before its answers arrive.
      // Messages were lost or a majority is unreachable: try again with a higher ballot.
      this.retryLater(p);
    }
  }

  private expireWaiters(p: Proposal): void {
    for (let i = p.waiters.length - 1; i >= 0; i--) {
      const w = must(p.waiters[i], 'an index below the length is in the list');
      if (this.ctx.now() < w.deadlineTick) continue;
      p.waiters.splice(i, 1);
      const why = this.timeoutReason();
      // A read changes nothing, and a value that never left in an accept cannot be chosen: both are refused.
      this.ctx.out.replies.push(
        failure(
          w.sent
            ? {
                requestId: w.requestId,
                outcome: 'unknown',
                code: why.code,
                error: `${why.error}; ${w.value} was sent to the acceptors and may still be chosen`,
              }
            : {
                requestId: w.requestId,
                outcome: 'refused',
                code: why.code,
                error: `${why.error}; ${w.op === 'set' ? `${w.value} was not chosen` : 'nothing was read'}`,
              },
        ),
      );
    }
  }

  private timeoutReason(): { code: FailureCode; error: string } {
    const { cfg } = this.ctx;
    return this.ctx.liveness.timeoutReason({
      nowTick: this.ctx.now(),
      clusterSize: cfg.clusterSize,
      quorum: requiredQuorum(cfg, cfg.clusterSize),
      otherwise: { code: 'timeout', error: 'timed out: duelling proposers kept pre-empting each other' },
    });
  }

  private quorum(): number {
    return requiredQuorum(this.ctx.cfg, this.ctx.liveness.count(this.ctx.now()));
  }

  onRequest(req: ClientRequest): void {
    const { ctx } = this;
    const c = req.command;
    if (c.op === 'config') {
      ctx.out.replies.push(
        failure({ requestId: req.requestId, outcome: 'refused', code: 'config-invalid', error: BASIC_NO_MEMBERSHIP }),
      );
      return;
    }
    if (c.op === 'register') {
      // Every Basic key is its own write-once instance: a retry can only learn the chosen value, so there are no sessions.
      ctx.out.replies.push(
        failure({
          requestId: req.requestId,
          outcome: 'refused',
          code: 'config-invalid',
          error: 'Basic Paxos has no client sessions: each key is decided once, and a retry learns the chosen value',
        }),
      );
      return;
    }
    const now = ctx.now();
    const known = ctx.learner.chosen.get(c.key);
    if (known !== undefined) {
      this.replyChosen(
        {
          requestId: req.requestId,
          op: c.op,
          value: c.op === 'set' ? c.value : null,
          deadlineTick: now,
          sent: false,
          joinedDuring: null,
        },
        c.key,
        known.value,
        known.ballot ?? ZERO_BALLOT,
        0,
      );
      return;
    }
    const timeoutTicks = Math.min(req.timeoutTicks ?? ctx.cfg.requestTimeoutTicks, ctx.cfg.maxRequestTimeoutTicks);
    const waiter: Waiter = {
      requestId: req.requestId,
      op: c.op,
      value: c.op === 'set' ? c.value : null,
      deadlineTick: now + timeoutTicks,
      sent: false,
      joinedDuring: null,
    };
    const existing = this.proposals.get(c.key);
    if (existing !== undefined) {
      // Joining a round already in phase 2 with this very value: it may be chosen from now on.
      if (existing.phase === 'accept' && existing.value === waiter.value) waiter.sent = true;
      if (existing.phase === 'prepare' && !ctx.cfg.bugs.readJoinsRoundInFlight) waiter.joinedDuring = existing.ballot;
      existing.waiters.push(waiter);
      return;
    }
    if (this.proposals.size >= ctx.cfg.maxPendingRequests) {
      ctx.out.replies.push(
        failure({
          requestId: req.requestId,
          outcome: 'refused',
          code: 'overloaded',
          error: `${nodeName(ctx.id)} has ${this.proposals.size} proposals open; try again later`,
        }),
      );
      return;
    }
    const p: Proposal = {
      key: c.key,
      waiters: [waiter],
      phase: 'backoff',
      ballot: ZERO_BALLOT,
      promises: new Map(),
      value: null,
      accepts: new Set(),
      attempts: 0,
      roundTrips: 0,
      phaseStartTick: now,
      retryAtTick: now,
    };
    this.proposals.set(c.key, p);
    this.startRound(p);
  }

  /** Phase 1 with a ballot this node has never used: a round above every round it has seen. */
  private startRound(p: Proposal): void {
    const { ctx } = this;
    this.round = Math.max(this.round, this.maxSeenRound) + 1;
    this.maxSeenRound = this.round;
    ctx.out.persist.push({ t: 'round', round: this.round });
    const ballot = Ballot(this.round, ctx.id);
    Object.assign(p, {
      phase: 'prepare',
      ballot,
      promises: new Map(),
      accepts: new Set(),
      value: null,
      phaseStartTick: ctx.now(),
    });
    p.roundTrips++;
    const self = ctx.acceptor.promiseLocally(p.key, ballot);
    if (self === 'rejected') return this.preempted(p, ctx.acceptor.promisedFor(p.key));
    ctx.out.events.push({ type: 'phase1', ballot, instance: p.key });
    for (const to of ctx.peers) ctx.out.messages.push({ type: 'prepare', from: ctx.id, to, key: p.key, ballot });
    p.promises.set(ctx.id, self);
    this.maybeStartPhase2(p);
  }

  onPromise(m: BasicPromiseMsg): void {
    const p = this.proposals.get(m.key);
    if (p === undefined || p.phase !== 'prepare' || !ballotEquals(m.ballot, p.ballot)) return;
    p.promises.set(m.from, m.accepted);
    this.maybeStartPhase2(p);
  }

  /**
   * With promises from a quorum, propose the value of the highest accepted
   * ballot among them, or our own. A read that finds nothing accepted anywhere
   * in a quorum may answer "nothing chosen yet": no majority can have accepted a value.
   */
  private maybeStartPhase2(p: Proposal): void {
    const { ctx } = this;
    if (p.promises.size < this.quorum()) return;
    const best = ctx.cfg.bugs.ignoreAcceptedValues ? null : highestAccepted(p.promises);
    const own = p.waiters.find((w) => w.op === 'set')?.value ?? null;
    const value = best?.value ?? own;
    if (value === null) return this.finishRead(p);
    p.phase = 'accept';
    p.value = value;
    p.phaseStartTick = ctx.now();
    p.roundTrips++;
    ctx.out.events.push({
      type: 'phase2',
      ballot: p.ballot,
      instance: p.key,
      value,
      valueId: value,
      quorum: [...p.promises.keys()],
      adopted: best !== null,
    });
    // The proposer's own acceptor goes first: it may have promised a higher ballot since it promised this
    // one, and then it rejects like any other acceptor would. The round is already lost, so sending the
    // accepts anyway would only cost 2(n-1) messages and let the peers accept a value of a ballot its own
    // proposer has given up on.
    if (!ctx.acceptor.acceptLocally(p.key, p.ballot, value)) return this.preempted(p, ctx.acceptor.promisedFor(p.key));
    for (const to of ctx.peers)
      ctx.out.messages.push({ type: 'accept', from: ctx.id, to, key: p.key, ballot: p.ballot, value });
    for (const w of p.waiters) if (w.value === value) w.sent = true;
    p.accepts.add(ctx.id);
    this.maybeDecide(p);
  }

  /**
   * Nothing accepted in a quorum: no value is chosen, as of when those promises left. A read that arrived after this
   * round's prepares had gone may have been overtaken by a value chosen since (promises held up behind a paused
   * process or a slow link: basic seed 30264 read nil 300 ms after its own client's write of the key returned), so it
   * is answered only by a round of its own, started here.
   */
  private finishRead(p: Proposal): void {
    const late = p.waiters.filter((w) => w.joinedDuring !== null && ballotEquals(w.joinedDuring, p.ballot));
    const onTime = p.waiters.filter((w) => !late.includes(w));
    this.answerNothingChosen(p, onTime);
    if (late.length === 0) {
      this.proposals.delete(p.key);
      return;
    }
    for (const w of late) w.joinedDuring = null;
    p.waiters.splice(0, p.waiters.length, ...late);
    this.startRound(p);
  }

  private answerNothingChosen(p: Proposal, waiters: readonly Waiter[]): void {
    for (const w of waiters) {
      this.ctx.out.replies.push({
        requestId: w.requestId,
        ok: true,
        op: 'get',
        key: p.key,
        value: null,
        ballot: p.ballot,
        roundTrips: p.roundTrips,
      });
    }
  }

  onAccepted(m: BasicAcceptedMsg): void {
    const p = this.proposals.get(m.key);
    if (p === undefined || p.phase !== 'accept' || !ballotEquals(m.ballot, p.ballot)) return;
    p.accepts.add(m.from);
    this.maybeDecide(p);
  }

  private maybeDecide(p: Proposal): void {
    const { ctx } = this;
    if (p.accepts.size < this.quorum()) return;
    const value = must(p.value, 'a proposal counting votes in phase 2 has its value');
    ctx.learner.learn(p.key, value, p.ballot);
    for (const to of ctx.peers)
      ctx.out.messages.push({ type: 'decide', from: ctx.id, to, key: p.key, ballot: p.ballot, value });
  }

  onReject(m: BasicRejectMsg): void {
    if (m.promised.round > this.maxSeenRound) this.maxSeenRound = m.promised.round;
    const p = this.proposals.get(m.key);
    if (p === undefined || p.phase === 'backoff' || !ballotEquals(m.ballot, p.ballot)) return;
    this.preempted(p, m.promised);
  }

  private preempted(p: Proposal, by: Ballot): void {
    this.ctx.out.events.push({ type: 'preempted', ballot: p.ballot, by, instance: p.key });
    this.retryLater(p);
  }

  /** Randomized, growing backoff before the next round; without it duelling proposers can pre-empt each other forever. */
  private retryLater(p: Proposal): void {
    const { ctx } = this;
    p.attempts++;
    if (!ctx.cfg.backoff) return this.startRound(p);
    const windowTicks = ctx.cfg.backoffTicks * 2 ** Math.min(p.attempts - 1, 3);
    const ticks = ctx.random.int(1, windowTicks);
    p.phase = 'backoff';
    p.retryAtTick = ctx.now() + ticks;
    ctx.out.events.push({ type: 'backoff', ticks, instance: p.key });
  }

  /** `key` was learned chosen: every client waiting on it here is answered with the chosen value. */
  onChosen(key: string, value: string, ballot: Ballot | null): void {
    const p = this.proposals.get(key);
    if (p === undefined) return;
    this.proposals.delete(key);
    for (const w of p.waiters) this.replyChosen(w, key, value, ballot ?? p.ballot, p.roundTrips);
  }

  private replyChosen(w: Waiter, key: string, chosen: string, ballot: Ballot, roundTrips: number): void {
    this.ctx.out.replies.push({
      requestId: w.requestId,
      ok: true,
      op: w.op,
      key,
      value: chosen,
      ballot,
      roundTrips,
      ...(w.op === 'set' ? { alreadyChosen: w.value !== chosen } : {}),
    });
  }
}

function highestAccepted(promises: ReadonlyMap<NodeId, Accepted | null>): Accepted | null {
  let best: Accepted | null = null;
  for (const a of promises.values())
    if (a !== null && (best === null || compareBallots(a.ballot, best.ballot) > 0)) best = a;
  return best;
}
