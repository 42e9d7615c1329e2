/**
 * A candidate: the rounds it campaigns with, the promises it gathers in
 * phase 1, and what the winner starts from (the values it must adopt, the
 * holes it fills with no-ops, the stop-sign it may not pass).
 */
import { type Ballot, compareBallots } from '../ballot.js';
import type { NodeId } from '../types.js';
import type { AcceptedEntry, LogValue } from './messages.js';
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
  let maxSlot = decidedFloor - 1;
  for (const p of c.promises.values()) for (const e of p.accepted) maxSlot = Math.max(maxSlot, e.slot);
  // A stop-sign of this epoch that may be chosen ends what this leader proposes: it finishes the log up to it and no further.
  const stopSlot = rules.twoChangesInFlight ? null : firstStopSign(adopted, decidedFloor, maxSlot, isStopSign);
  if (stopSlot !== null) maxSlot = stopSlot;
  return { adopted, decided, decidedFloor, maxSlot, stopSlot };
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
