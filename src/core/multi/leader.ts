/**
 * Phase 2 of a leader: its window of slots in flight, the queue behind it,
 * batching accepts per Ready, counting votes, heartbeats and commit notices.
 * One `Leadership` lives exactly as long as the role that holds it.
 */
import { type Ballot, ballotEquals, formatBallot } from '../ballot.js';
import type { NodeId } from '../types.js';
import type { Victory } from './candidate.js';
import type { Context } from './context.js';
import { DecidedFloor } from './decided-floor.js';
import type { AcceptedMsg, AcceptMsg, CommitMsg, LogValue, SlotValue } from './messages.js';
import { Reproposal } from './reproposal.js';

interface InflightSlot {
  readonly value: LogValue;
  readonly votes: Set<NodeId>;
  sentTick: number;
}

/** Where a new leader starts, from the promises of its quorum (see `candidate.ts`). */
export interface LeaderStart {
  readonly ballot: Ballot;
  readonly nextSlot: number;
  readonly decidedFloor: number;
  readonly learnFrom: NodeId | null;
  /** The slot of a stop-sign of this epoch the promises showed may be chosen; null when there is none. */
  readonly stopSlot: number | null;
}

export class Leadership {
  readonly ballot: Ballot;
  private readonly sinceTick: number;
  private nextSlot: number;
  private readonly inflight = new Map<number, InflightSlot>();
  /** Values assigned a slot since the last `ready()`, sent together as one accept per peer. */
  private outgoing: SlotValue[] = [];
  /** Values waiting for a free slot in the in-flight window (bounded by maxPendingRequests). */
  private readonly queue: LogValue[] = [];
  /** Ids of the commands in `inflight` or `queue`: bounded by those two, emptied as they are chosen. */
  private readonly undecided = new Set<string>();
  /** Followers whose clients wait on a slot chosen since the last `ready()`. */
  private readonly commitNotify = new Set<NodeId>();
  /** Slots accepted locally since the last `ready()`, whose votes count once their records are durable. */
  private unpersistedSelf: number[] = [];
  private heartbeatDueTick: number;
  /** The chosen slots below phase 1's floor this leader has yet to learn (it never proposes there). */
  private readonly belowFloor: DecidedFloor;
  /**
   * Where this leader proposed (or found) its epoch's stop-sign: it proposes
   * nothing after it, and what arrives meanwhile waits for the next epoch.
   * Null while there is none, or once apply refused the one there.
   */
  private stopSlot: number | null;
  /** Phase 1's outcome, proposed again: at takeover, and beyond `stopSlot` if apply refuses that stop-sign. */
  private readonly reproposal: Reproposal;

  constructor(
    private readonly ctx: Context,
    start: LeaderStart,
  ) {
    this.ballot = start.ballot;
    this.sinceTick = ctx.now();
    this.nextSlot = start.nextSlot;
    this.heartbeatDueTick = ctx.now();
    this.belowFloor = new DecidedFloor(ctx, start);
    this.stopSlot = start.stopSlot;
    this.reproposal = new Reproposal(ctx, this.ballot, (slot, value) => this.proposeAt(slot, value));
  }

  /** How long this leadership has lasted. */
  ledTicks(): number {
    return this.ctx.now() - this.sinceTick;
  }

  /** Steps down when cut off from a majority, so its clients get an answer from a leader that can decide; else heartbeats. */
  tick(): void {
    const { ctx } = this;
    const inCharge = ctx.now() - this.sinceTick;
    if (inCharge >= ctx.cfg.electionTimeoutTicks && !ctx.epochs.hasQuorumContact()) {
      ctx.out.events.push({ type: 'note', text: 'lost contact with a majority; stepping down' });
      ctx.stepDown();
      return;
    }
    if (ctx.now() >= this.heartbeatDueTick) this.sendHeartbeats();
    if (this.belowFloor.gaveUp()) return;
    if (ctx.learner.catchupDue(2)) this.learnDecided();
  }

  /** A new leader behind another acceptor's commit point fetches the chosen slots it lacks. */
  learnDecided(): void {
    this.belowFloor.learn();
  }

  /** Heartbeats carry the commit point, and re-send accepts a peer has not answered (messages get lost). */
  private sendHeartbeats(): void {
    const { ctx } = this;
    const now = ctx.now();
    this.heartbeatDueTick = now + ctx.cfg.heartbeatTicks;
    const staleBefore = now - 2 * ctx.cfg.heartbeatTicks;
    // A slot re-proposed at takeover may have been learned chosen already (choose() then has nothing new to forget):
    // it needs no votes, and a peer that compacted it will never give one, so re-sending it first would hold back the
    // slots behind it for good once the only other voters are gone (found with a replica kept out by a damaged disk).
    if (!ctx.rules.resendChosenSlots)
      for (const slot of [...this.inflight.keys()]) if (ctx.learner.knowsChosen(slot)) this.forget(slot);
    for (const to of ctx.epochs.sendTargets()) {
      const resend: SlotValue[] = [];
      for (const [slot, inf] of this.inflight) {
        if (resend.length >= ctx.cfg.maxBatchEntries) break;
        if (inf.sentTick <= staleBefore && !inf.votes.has(to)) resend.push({ slot, value: inf.value });
      }
      ctx.out.messages.push(this.acceptMessage(to, resend));
    }
    for (const inf of this.inflight.values()) if (inf.sentTick <= staleBefore) inf.sentTick = now;
  }

  private acceptMessage(to: NodeId, entries: readonly SlotValue[]): AcceptMsg {
    const { ctx } = this;
    return {
      type: 'accept',
      from: ctx.id,
      to,
      epoch: ctx.epochs.membership.epoch,
      ballot: this.ballot,
      entries,
      commitIndex: ctx.learner.commitIndex,
    };
  }

  /** Phase 2 for the slots phase 1 found open (see `reproposal.ts`). */
  repropose(v: Victory, quorum: readonly NodeId[]): void {
    this.reproposal.start(v, quorum);
    this.releaseStopsRefusedBeforeWinning();
  }

  /**
   * Phase 1 may find a stop-sign at a slot this replica learned and applied
   * while it campaigned: still in the same epoch, apply refused it (applied,
   * it would have ended the campaign). `appliedAndStillLeading` runs only as a
   * slot is applied, so it would never lift that stop: this leader would queue
   * every value for good under heartbeats that keep any other replica from
   * campaigning (wide-run seed 2023133: the reused identity at #103 was learned
   * between prepare and the promises). The same release as for one refused later.
   */
  private releaseStopsRefusedBeforeWinning(): void {
    const { ctx } = this;
    if (ctx.rules.stallAtStopRefusedBeforeWinning) return;
    // Each release moves the stop to a later stop-sign phase 1 found, or lifts it.
    while (this.stopSlot !== null && this.stopSlot < ctx.learner.commitIndex && ctx.leads(this))
      this.releaseRefusedStop(this.stopSlot);
  }

  /** Assigns the next slot, or queues when the in-flight window is full. */
  propose(value: LogValue): void {
    const { cfg } = this.ctx;
    if (value.kind === 'cmd') {
      // A retried forward of a command still on its way is dropped; one already chosen goes through the
      // log again and the session table answers it as a duplicate, so nothing here grows with the log.
      if (this.undecided.has(value.id)) return;
      if (this.inflight.size >= cfg.maxInflightSlots && this.queue.length >= cfg.maxPendingRequests) return;
      this.undecided.add(value.id);
    }
    if (this.inflight.size >= cfg.maxInflightSlots || this.stopSlot !== null) {
      this.queue.push(value);
      return;
    }
    const slot = this.nextSlot++;
    this.proposeAt(slot, value);
  }

  /**
   * Phase 2 for one slot. The leader accepts its own value (a record in this
   * Ready) but counts its own vote only when the runtime reports that record
   * durable, so the accepts to followers may leave while it is being written
   * and the commit point still only ever reflects durable votes.
   */
  proposeAt(slot: number, value: LogValue): void {
    const { ctx } = this;
    const promised = ctx.acceptor.promised;
    if (!ballotEquals(promised, this.ballot))
      throw new Error(
        `leader ${ctx.id} proposing at ${this.ballot.round}.${this.ballot.node} while promised ${promised.round}.${promised.node}`,
      );
    ctx.acceptor.acceptLocally(this.ballot, [{ slot, value }]);
    const inf: InflightSlot = { value, votes: new Set(), sentTick: ctx.now() };
    this.inflight.set(slot, inf);
    this.outgoing.push({ slot, value });
    // One change at a time: after its stop-sign this epoch's leader proposes nothing, another change included.
    if (ctx.epochs.isStopSign(value) && !ctx.rules.twoChangesInFlight) this.stopSlot = slot;
    if (
      ctx.epochs.isStopSign(value) &&
      ctx.rules.applyConfigBeforeChosen &&
      value.kind === 'cmd' &&
      value.command.op === 'config'
    ) {
      ctx.enterEarly(
        {
          epoch: ctx.epochs.membership.epoch + 1,
          voters: [...value.command.voters].sort((a, b) => a - b),
          startSlot: slot + 1,
        },
        slot,
      );
    }
    if (ctx.rules.countVoteBeforeDurable) {
      inf.votes.add(ctx.id);
      this.countVotes(slot);
    } else {
      this.unpersistedSelf.push(slot);
    }
  }

  /** The runtime wrote this leader's own accept records: its own votes count now (those of an earlier ballot count nowhere). */
  onPersisted(ballot: Ballot, slots: readonly number[]): void {
    if (!ballotEquals(ballot, this.ballot)) return;
    for (const slot of slots) {
      const inf = this.inflight.get(slot);
      if (inf === undefined) continue;
      inf.votes.add(this.ctx.id);
      this.countVotes(slot);
    }
    this.drainQueue();
  }

  /** In `ready()`: the accepts of this Ready's new slots, batched, and the commit notices its chosen slots owe. */
  flush(): void {
    const { ctx } = this;
    if (this.unpersistedSelf.length > 0) {
      ctx.out.afterPersist = { ballot: this.ballot, slots: this.unpersistedSelf };
      this.unpersistedSelf = [];
    }
    if (this.outgoing.length > 0) {
      const batch = this.outgoing;
      this.outgoing = [];
      for (let i = 0; i < batch.length; i += ctx.cfg.maxBatchEntries) {
        const chunk = batch.slice(i, i + ctx.cfg.maxBatchEntries);
        for (const to of ctx.epochs.sendTargets()) ctx.out.earlyMessages.push(this.acceptMessage(to, chunk));
      }
      this.heartbeatDueTick = ctx.now() + ctx.cfg.heartbeatTicks;
      for (const to of this.commitNotify) if (to !== ctx.id) this.notifyCommit(to);
    } else {
      for (const to of this.commitNotify) this.notifyCommit(to);
    }
    this.commitNotify.clear();
  }

  /** Tells `to` the commit point at once: its client waits on a slot just chosen. */
  notifyCommit(to: NodeId, commitIndex = this.ctx.learner.commitIndex): void {
    const msg: CommitMsg = {
      type: 'commit',
      from: this.ctx.id,
      to,
      epoch: this.ctx.epochs.membership.epoch,
      ballot: this.ballot,
      commitIndex,
    };
    this.ctx.out.messages.push(msg);
  }

  onAccepted(m: AcceptedMsg): void {
    const { ctx } = this;
    if (m.epoch !== ctx.epochs.membership.epoch || !ctx.epochs.countsVote(m.from)) return;
    this.belowFloor.raise(m.commitIndex, m.from);
    if (!ballotEquals(m.ballot, this.ballot) && !ctx.rules.countVotesOfAnyBallot) return;
    for (const slot of m.slots) {
      const inf = this.inflight.get(slot);
      if (inf === undefined) continue;
      inf.votes.add(m.from);
      this.countVotes(slot);
    }
    this.drainQueue();
  }

  private countVotes(slot: number): void {
    const { ctx } = this;
    // A stop-sign chosen by an earlier vote of the same message may have ended this leadership already.
    if (!ctx.leads(this)) return;
    const inf = this.inflight.get(slot);
    if (inf === undefined || inf.votes.size < ctx.epochs.quorum()) return;
    this.inflight.delete(slot);
    if (inf.value.kind === 'cmd') this.undecided.delete(inf.value.id);
    ctx.learner.choose(slot, inf.value, this.ballot);
    if (inf.value.kind === 'cmd' && inf.value.origin !== ctx.id) this.commitNotify.add(inf.value.origin);
  }

  private drainQueue(): void {
    for (
      let next = this.queue[0];
      next !== undefined &&
      this.ctx.leads(this) &&
      this.inflight.size < this.ctx.cfg.maxInflightSlots &&
      this.stopSlot === null;
      next = this.queue[0]
    ) {
      this.queue.shift();
      this.proposeAt(this.nextSlot++, next);
    }
  }

  /**
   * The slot was applied and this leadership survived it. If it held this
   * leader's stop-sign, apply refused the change (a duplicate, an evicted session, an expired or
   * reused identity, an invalid configuration): it ends nothing, the epoch
   * goes on, and so does proposing. Had it been applied, the new epoch would
   * already have ended this leadership.
   */
  appliedAndStillLeading(slot: number): void {
    if (this.stopSlot !== slot || this.ctx.rules.stallAfterRefusedStopSign) return;
    this.releaseRefusedStop(slot);
  }

  /** The stop-sign at `slot` was refused: propose on, first what phase 1 found beyond it. */
  private releaseRefusedStop(slot: number): void {
    this.stopSlot = null;
    this.reproposeAfterRefusedStop(slot);
    this.drainQueue();
  }

  /** Proposes again what phase 1 found beyond the stop-sign apply refused, up to the next stop-sign among it. */
  private reproposeAfterRefusedStop(stopSlot: number): void {
    const next = this.reproposal.afterRefusedStop(stopSlot);
    if (next === null) return;
    // Set before proposing: a value chosen at once (a cluster of one) is applied inside proposeAt.
    if (next.stopSlot !== null) this.stopSlot = next.stopSlot;
    this.reproposal.proposeSlots(next.victory, next.quorum, next.from, next.to);
    this.nextSlot = Math.max(this.nextSlot, next.to + 1);
  }

  /**
   * A snapshot says slots are chosen without saying which values. A leader
   * whose own votes at its ballot lie in slots it did not know chosen cannot
   * tell whether those values are the chosen ones, so its commit point would
   * no longer vouch for its followers' votes: it steps down instead.
   */
  stepDownIfSnapshotCoversOwnVotes(snapshotSlot: number): void {
    const { ctx } = this;
    if (ctx.rules.staleLeaderKeepsLeading) return;
    for (const [slot, a] of ctx.acceptor.accepted) {
      if (slot < ctx.learner.commitIndex || slot > snapshotSlot || !ballotEquals(a.ballot, this.ballot)) continue;
      ctx.out.events.push({
        type: 'note',
        text: `a snapshot through slot ${snapshotSlot} covers votes of ${formatBallot(this.ballot)} not known chosen; stepping down`,
      });
      ctx.stepDown();
      return;
    }
  }

  /** A slot this leader still counts votes for was learned chosen another way: nothing is left to count. */
  forget(slot: number): void {
    const inf = this.inflight.get(slot);
    if (inf === undefined) return;
    this.inflight.delete(slot);
    if (inf.value.kind === 'cmd') this.undecided.delete(inf.value.id);
  }

  /** Every slot at or below `slot` is in a snapshot. */
  forgetThrough(slot: number): void {
    for (const s of [...this.inflight.keys()]) if (s <= slot) this.forget(s);
  }
}
