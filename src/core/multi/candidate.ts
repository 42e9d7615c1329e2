/**
 * Phase 1 of a candidate: the promises it gathers for its ballot, and what
 * the winner starts from.
 */
import type { Ballot } from '../ballot.js';
import type { NodeId } from '../types.js';
import type { AcceptedEntry } from './messages.js';

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
