/**
 * Epochs: the configuration this replica is in (its voters decide every slot
 * from the epoch's first slot on), whom phase 1 and phase 2 go to, whose
 * votes count, how many decide, and whether this replica answers or votes
 * at all. A chosen stop-sign (a configuration change naming the epoch) moves
 * it to the next epoch.
 */

import type { Ballot } from '../ballot.js';
import { PeerLiveness } from '../liveness.js';
import { bootstrapMembership, isVoter, type Membership, succeeding } from '../membership.js';
import type { NodeId } from '../types.js';
import type { Context } from './context.js';
import type { LogValue } from './messages.js';

export class Epochs {
  membership: Membership;
  /** The voters of this epoch other than this replica: whom prepares and accepts go to. */
  peers: readonly NodeId[];
  /** The voters of the epoch before: `memberKind()` tells a removed replica from a learner by them, and one planted bug still counts them. */
  private previousVoters: readonly NodeId[] = [];
  /** The latest epoch some message showed this replica is behind: it does not campaign before it gets there. */
  private laterEpochSeen = 0;
  /** The commit point when catching up last made progress, and the tick it did: a catch-up that stalls ends the wait. */
  private behindSince = { commitIndex: 0, tick: 0 };
  /** Which peers were heard from lately: a leader's contact with a majority, and the reason given to clients. */
  readonly liveness: PeerLiveness;

  constructor(
    private readonly ctx: Context,
    recovered: Membership | null,
  ) {
    this.membership = recovered ?? bootstrapMembership(ctx.cfg.voters);
    this.peers = this.membership.voters.filter((v) => v !== ctx.id);
    this.liveness = new PeerLiveness(this.peers, ctx.cfg.electionTimeoutTicks);
  }

  /**
   * A replica votes, and campaigns, only as a voter of its epoch that has
   * applied the stop-sign opening it: a new replica has caught up before it
   * counts in any quorum.
   */
  canVote(): boolean {
    const { ctx } = this;
    if (ctx.rules.voteBeforeCaughtUp) return true;
    if (ctx.rules.removedStillCounted && this.previousVoters.includes(ctx.id)) return true;
    if (ctx.recovery.withholdsVote(this.membership.epoch)) return false;
    return isVoter(this.membership, ctx.id) && ctx.learner.commitIndex >= this.membership.startSlot;
  }

  /** Whether some message showed a later epoch than this replica is in. */
  knowsLaterEpoch(): boolean {
    return this.laterEpochSeen > this.membership.epoch;
  }

  /**
   * Campaigns only as a voter that knows of no later epoch: until it has
   * caught up there, its elections could never win. Unless catching up made no
   * progress for two election timeouts: the replicas that learned the
   * stop-sign may all be gone (seed 33101: the leader that chose it lost its
   * disk), and then a phase 1 of this epoch's voters is the only way anyone
   * learns it again. Safe as any phase 1: its quorum reports the stop-sign's
   * value wherever it may have been chosen.
   */
  mayCampaign(): boolean {
    if (!this.canVote()) return false;
    if (!this.knowsLaterEpoch()) return true;
    return this.campaignsBehind();
  }

  /**
   * Whether a reject from `epoch` leaves this replica's campaign (or leadership) standing: it campaigns only because
   * catching up to that epoch stalled, so being told again of it is no news. Stepping down would hand the fetch back to
   * replicas that cannot serve it (wide-run seed 3232515: node-3 was in epoch 2 without the chosen records of #9-#11,
   * and its rejects ended every phase 1 of epoch 1's quorum, which alone could choose #9-#11 again).
   */
  campaignsPastStall(epoch: number): boolean {
    return !this.ctx.rules.yieldWhileStalled && epoch <= this.laterEpochSeen && this.campaignsBehind();
  }

  /** A voter behind a later epoch campaigns once its catch-up has stalled (seed 33101), unless planted to wait for ever. */
  private campaignsBehind(): boolean {
    return !this.ctx.rules.waitBehindForever && this.catchUpStalled();
  }

  private catchUpStalled(): boolean {
    return this.ctx.now() - this.behindSince.tick >= 2 * this.ctx.cfg.electionTimeoutTicks;
  }

  /** Each tick, before anything asks `mayCampaign()`: notes when catching up last moved the commit point on. */
  tick(): void {
    const commitIndex = this.ctx.learner.commitIndex;
    if (commitIndex > this.behindSince.commitIndex) this.behindSince = { commitIndex, tick: this.ctx.now() };
  }

  /** A message from a later epoch: this replica missed a stop-sign, and fetches the log from the sender. */
  behind(from: NodeId, epoch: number): void {
    // Until it has caught up, its elections could never win, and would only drive its promise up into the new epoch.
    if (epoch > this.laterEpochSeen) {
      this.laterEpochSeen = epoch;
      this.behindSince = { commitIndex: this.ctx.learner.commitIndex, tick: this.ctx.now() };
    }
    if (!this.ctx.learner.catchupDue(1)) return;
    this.ctx.learner.askFor(from);
  }

  /**
   * Whether this replica answers a phase 1 or phase 2 message of `epoch`
   * from `from`: only as a voter of that very epoch. A sender of an ended
   * epoch is told so (a reject carrying the current epoch), and a message
   * of a later epoch makes this replica fetch the log it missed.
   */
  answers(m: { readonly epoch: number; readonly from: NodeId; readonly ballot: Ballot }): boolean {
    const { ctx } = this;
    if (ctx.rules.voteBeforeCaughtUp && m.epoch > this.membership.epoch) return true;
    if (m.epoch < this.membership.epoch) {
      ctx.acceptor.reject(m, this.membership.epoch);
      return false;
    }
    if (m.epoch > this.membership.epoch || ctx.learner.commitIndex < this.membership.startSlot) {
      this.behind(m.from, m.epoch);
      return false;
    }
    return this.canVote();
  }

  /** Moves to epoch `next`. A snapshot from a later epoch brings its own earlier configurations; a stop-sign adds the one it ends. */
  enter(next: Membership): void {
    const { ctx } = this;
    this.previousVoters = this.membership.voters;
    this.membership = next.previous !== undefined ? next : succeeding(this.membership, next);
    this.peers = next.voters.filter((v) => v !== ctx.id);
    this.liveness.setPeers(ctx.rules.removedStillCounted ? this.withPreviousVoters() : this.peers);
  }

  /** How many promises or votes decide now. */
  quorum(): number {
    return this.ctx.rules.quorumOf(this.membership.voters.length, this.liveness.count(this.ctx.now()));
  }

  /** The quorum of the whole epoch, whoever is reachable. */
  fullQuorum(): number {
    return this.ctx.rules.quorumOf(this.membership.voters.length, this.membership.voters.length);
  }

  /** Whether this replica (a leader) still hears from a majority of its epoch. */
  hasQuorumContact(): boolean {
    return this.liveness.count(this.ctx.now()) >= this.fullQuorum();
  }

  /** Where phase 1 and phase 2 messages go: this epoch's other voters (and, under one planted bug, the removed ones too). */
  sendTargets(): readonly NodeId[] {
    if (!this.ctx.rules.removedStillCounted) return this.peers;
    return this.withPreviousVoters();
  }

  /** Whose promises and votes count: this epoch's voters. */
  countsVote(from: NodeId): boolean {
    return isVoter(this.membership, from) || (this.ctx.rules.removedStillCounted && this.previousVoters.includes(from));
  }

  /** A configuration change naming this epoch: chosen, it ends the epoch at its slot. */
  isStopSign(value: LogValue): boolean {
    return value.kind === 'cmd' && value.command.op === 'config' && value.command.fromEpoch === this.membership.epoch;
  }

  memberKind(): 'voter' | 'learner' | 'removed' {
    const { id, cfg } = this.ctx;
    if (isVoter(this.membership, id)) return 'voter';
    return this.previousVoters.includes(id) || cfg.voters.includes(id) ? 'removed' : 'learner';
  }

  private withPreviousVoters(): NodeId[] {
    return [...new Set([...this.peers, ...this.previousVoters])].filter((v) => v !== this.ctx.id);
  }
}
