/**
 * Following: whom this replica follows, the leader stickiness that makes it
 * ignore a prepare while that leader is live, and stepping down (as a
 * candidate or a leader) when a higher ballot or a lost majority says so.
 * The role itself changes only through the replica's `become`.
 */
import type { Ballot } from '../ballot.js';
import type { NodeId } from '../types.js';
import type { Context } from './context.js';
import { ballotOf, type ElectionTimer, LEADERLESS, leaderOf, type RoleSeat } from './role.js';

export class Follower {
  constructor(
    private readonly ctx: Context,
    private readonly seat: RoleSeat,
    private readonly timer: ElectionTimer,
  ) {}

  stepDown(): void {
    if (this.seat.role.kind !== 'follower')
      this.ctx.out.events.push({ type: 'follower', leader: null, ballot: this.ctx.acceptor.promised });
    this.seat.become(LEADERLESS);
    this.timer.reset();
  }

  /** This acceptor promised a higher ballot than anyone it followed or led with: it follows nobody until a leader of that ballot speaks. */
  promisedHigher(): void {
    if (this.seat.role.kind !== 'follower') this.stepDown();
    this.seat.become(LEADERLESS);
    this.timer.reset();
  }

  /** An accept came from the leader of `ballot`: this replica follows it. */
  heardLeader(ballot: Ballot, from: NodeId): void {
    if (this.seat.role.kind !== 'follower' && !this.isMyBallot(ballot)) this.stepDown();
    this.followLeader(from);
  }

  /** A live, healthy leader other than the sender makes this node ignore a prepare (leader stickiness). */
  hasLiveLeaderOtherThan(node: NodeId): boolean {
    const { role } = this.seat;
    if (role.kind === 'leader') return this.ctx.epochs.hasQuorumContact();
    const leader = leaderOf(role, this.ctx.id);
    return leader !== null && leader !== node && this.timer.leaderRecent();
  }

  /** Whether this replica follows a leader it heard from within an election timeout. */
  hearsLiveLeader(): boolean {
    const { role } = this.seat;
    return role.kind === 'follower' && role.leader !== null && this.timer.leaderRecent();
  }

  private isMyBallot(b: Ballot): boolean {
    return b.node === this.ctx.id && ballotOf(this.seat.role)?.round === b.round;
  }

  private followLeader(leader: NodeId): void {
    const changed = leaderOf(this.seat.role, this.ctx.id) !== leader;
    // Only a follower gets here: an accept at this replica's own ballot could only come from itself, and never does.
    if (this.seat.role.kind === 'follower') this.seat.become({ kind: 'follower', leader });
    this.timer.heard();
    if (changed) {
      this.ctx.out.events.push({ type: 'follower', leader, ballot: this.ctx.acceptor.promised });
      this.ctx.clients.forwardAll();
    }
  }
}
