/**
 * The one role a replica is in at any time, as a single tagged union: each
 * role carries exactly the state that exists in it (whom a follower follows,
 * a candidate's phase 1, a leader's leadership), so no code reaches for role
 * state that is not there. `MultiPaxos.become` is the only place it changes.
 */
import type { Ballot } from '../ballot.js';
import type { Random } from '../random.js';
import type { NodeId } from '../types.js';
import type { Phase1 } from './candidate.js';
import type { Leadership } from './leader.js';

export type Role =
  | { readonly kind: 'follower'; readonly leader: NodeId | null }
  | { readonly kind: 'candidate'; readonly phase1: Phase1 }
  | { readonly kind: 'leader'; readonly leadership: Leadership };

export const LEADERLESS: Role = Object.freeze({ kind: 'follower', leader: null });

/** The replica's role as the parts that change it see it: read it, and change it only through the replica's `become`. */
export interface RoleSeat {
  readonly role: Role;
  become(next: Role): void;
}

/** Whom this replica takes for the leader: itself when it leads, nobody while it campaigns. */
export function leaderOf(role: Role, self: NodeId): NodeId | null {
  switch (role.kind) {
    case 'follower':
      return role.leader;
    case 'candidate':
      return null;
    case 'leader':
      return self;
  }
}

/** The ballot this replica is campaigning or leading with, if any. */
export function ballotOf(role: Role): Ballot | null {
  switch (role.kind) {
    case 'follower':
      return null;
    case 'candidate':
      return role.phase1.ballot;
    case 'leader':
      return role.leadership.ballot;
  }
}

/**
 * When a replica that hears from no leader campaigns: after a random timeout
 * in [T, 2T) ticks, drawn again on every reset, so that replicas rarely
 * campaign against each other twice in a row.
 */
export class ElectionTimer {
  /** Ticks since this replica last heard from a leader (or reset the timer). */
  ticksSinceLeader = 0;
  private deadlineTicks: number;

  constructor(
    private readonly random: Random,
    private readonly timeoutTicks: number,
  ) {
    // A replica that just (re)started has heard nobody yet, often only because its peers have not
    // reconnected: one extra timeout of grace keeps it from deposing a healthy leader on arrival.
    this.deadlineTicks = this.randomTimeout() + timeoutTicks;
  }

  reset(): void {
    this.ticksSinceLeader = 0;
    this.deadlineTicks = this.randomTimeout();
  }

  /** A leader was heard: the count starts again, the deadline stays. */
  heard(): void {
    this.ticksSinceLeader = 0;
  }

  /** Counts one tick without a leader; true when it is time to campaign. */
  tick(): boolean {
    this.ticksSinceLeader++;
    return this.ticksSinceLeader >= this.deadlineTicks;
  }

  /** Whether a leader was heard within one election timeout. */
  leaderRecent(): boolean {
    return this.ticksSinceLeader < this.timeoutTicks;
  }

  private randomTimeout(): number {
    return this.random.int(this.timeoutTicks, 2 * this.timeoutTicks);
  }
}
