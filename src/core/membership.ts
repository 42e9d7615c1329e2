/**
 * Who votes, and for which slots: the configuration of a Multi-Paxos cluster.
 *
 * Membership changes by stop-sign (Stoppable Paxos; OmniPaxos's StopSign).
 * Epoch `e` governs its slots until a configuration command naming `e` is
 * chosen at some slot k and applied there; that command is the stop-sign of
 * epoch e, and epoch e + 1 (its voters) governs every slot from k + 1 on. An
 * epoch's quorums are majorities of its own voters only, so two quorums that
 * can decide one slot always come from one epoch and always intersect.
 *
 * A replica enters epoch e + 1 only by applying the stop-sign, that is, once
 * every slot up to k is chosen and applied at it: a new voter has caught up
 * before it can vote, and a leader of e + 1 never has an open slot of e.
 * Values that epoch e chose after its stop-sign are dead: no replica applies them.
 */
import type { NodeId } from './types.js';

export interface Membership {
  /** 0 for the configuration the cluster was created with, then one more per change. */
  readonly epoch: number;
  /** The acceptors of this epoch, in increasing id order. */
  readonly voters: readonly NodeId[];
  /** The first slot this epoch governs: one past its predecessor's stop-sign. */
  readonly startSlot: number;
  /**
   * The configurations before it, oldest first, at most `KEPT_EPOCHS` of them:
   * what `paxos status` shows of which slots each configuration governed.
   */
  readonly previous?: readonly EpochSpan[];
}

/** One earlier configuration: its voters governed the slots from `startSlot` up to the next one's start. */
export interface EpochSpan {
  readonly epoch: number;
  readonly voters: readonly NodeId[];
  readonly startSlot: number;
}

/** Earlier configurations a replica remembers for display; older ones are forgotten (they decide nothing any more). */
export const KEPT_EPOCHS = 8;

/** `next`, remembering `current` (and what it remembered) among the earlier configurations. */
export function succeeding(current: Membership, next: Membership): Membership {
  const span: EpochSpan = { epoch: current.epoch, voters: current.voters, startSlot: current.startSlot };
  return {
    epoch: next.epoch,
    voters: next.voters,
    startSlot: next.startSlot,
    previous: [...(current.previous ?? []), span].slice(-KEPT_EPOCHS),
  };
}

/**
 * The highest node id a replica may have. Ids are never reused (a wiped
 * replica rejoins as a new member), so this bounds how many replicas a
 * cluster may ever create, and keeps every per-peer table bounded.
 */
export const MAX_NODE_ID = 64;

/** The largest configuration: beyond it every write waits on too many acceptors to be worth it. */
export const MAX_VOTERS = 15;

export function bootstrapMembership(voters: readonly NodeId[]): Membership {
  return { epoch: 0, voters: [...voters].sort((a, b) => a - b), startSlot: 1 };
}

export function isVoter(m: Membership, id: NodeId): boolean {
  return m.voters.includes(id);
}

/** Why a proposed voter set is not a configuration, or null when it is one. */
export function votersProblem(voters: readonly unknown[]): string | null {
  if (voters.length === 0) return 'a configuration needs at least one voter';
  if (voters.length > MAX_VOTERS) return `a configuration has at most ${MAX_VOTERS} voters, got ${voters.length}`;
  const seen = new Set<unknown>();
  for (const v of voters) {
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_NODE_ID)
      return `voter ids are integers from 1 to ${MAX_NODE_ID}, got ${String(v)}`;
    if (seen.has(v)) return `node-${String(v)} is named twice`;
    seen.add(v);
  }
  return null;
}

export function isMembership(x: unknown): x is Membership {
  if (!isSpan(x)) return false;
  const previous = (x as unknown as Record<string, unknown>).previous;
  return (
    previous === undefined || (Array.isArray(previous) && previous.length <= KEPT_EPOCHS && previous.every(isSpan))
  );
}

function isSpan(x: unknown): x is EpochSpan {
  if (typeof x !== 'object' || x === null) return false;
  const m = x as Record<string, unknown>;
  return (
    Number.isSafeInteger(m.epoch) &&
    (m.epoch as number) >= 0 &&
    Number.isSafeInteger(m.startSlot) &&
    (m.startSlot as number) >= 1 &&
    Array.isArray(m.voters) &&
    votersProblem(m.voters) === null
  );
}
