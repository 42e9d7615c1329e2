/**
 * A ballot (Lamport's "proposal number") is the pair (round, node). Rounds
 * order ballots first and the node id breaks ties, so two proposers can never
 * produce the same ballot: the 003 article's "counter + server id".
 */
export interface Ballot {
  readonly round: number;
  readonly node: number;
}

/** The ballot below every real ballot: what an acceptor has promised before it promised anything. */
export const ZERO_BALLOT: Ballot = Object.freeze({ round: 0, node: 0 });

export function Ballot(round: number, node: number): Ballot {
  return { round, node };
}

/** Negative if a < b, zero if equal, positive if a > b. */
export function compareBallots(a: Ballot, b: Ballot): number {
  return a.round !== b.round ? a.round - b.round : a.node - b.node;
}

export function ballotGreater(a: Ballot, b: Ballot): boolean {
  return compareBallots(a, b) > 0;
}

export function ballotAtLeast(a: Ballot, b: Ballot): boolean {
  return compareBallots(a, b) >= 0;
}

export function ballotEquals(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.node === b.node;
}

/** Shown as `round.node`, the way the dashboard and traces print it. */
export function formatBallot(b: Ballot): string {
  return `${b.round}.${b.node}`;
}
