/**
 * Basic Paxos messages and records. Every key is its own single-decree
 * instance, so every message names the key it is about.
 */
import type { Ballot } from './ballot.js';
import type { NodeId } from './types.js';

/** Phase 1a, proposer → every acceptor: promise me `ballot` for `key`. */
export interface BasicPrepareMsg {
  readonly type: 'prepare';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly key: string;
  readonly ballot: Ballot;
}

/** Phase 1b, acceptor → proposer: promised, and the highest (ballot, value) accepted for the key, if any. */
export interface BasicPromiseMsg {
  readonly type: 'promise';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly key: string;
  readonly ballot: Ballot;
  readonly accepted: { readonly ballot: Ballot; readonly value: string } | null;
}

/** Phase 2a, proposer → every acceptor: accept (ballot, value) for the key. */
export interface BasicAcceptMsg {
  readonly type: 'accept';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly key: string;
  readonly ballot: Ballot;
  readonly value: string;
}

/** Phase 2b, acceptor → proposer: accepted `ballot` for the key. */
export interface BasicAcceptedMsg {
  readonly type: 'accepted';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly key: string;
  readonly ballot: Ballot;
}

/** Acceptor → proposer: `ballot` is below my promise `promised` for the key. */
export interface BasicRejectMsg {
  readonly type: 'reject';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly key: string;
  readonly ballot: Ballot;
  readonly promised: Ballot;
}

/** Proposer (or any learner that knows) → others: `value` is chosen for the key. */
export interface BasicDecideMsg {
  readonly type: 'decide';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly key: string;
  readonly ballot: Ballot | null;
  readonly value: string;
}

/** Learner → a peer, periodically: send me what you learned, from position `fromIndex` of your learning order. */
export interface BasicCatchupMsg {
  readonly type: 'catchup';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly fromIndex: number;
}

/** Peer → learner: chosen values, and where to continue next time. */
export interface BasicLearnMsg {
  readonly type: 'learn';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly entries: readonly { readonly key: string; readonly value: string; readonly ballot: Ballot | null }[];
  readonly nextIndex: number;
}

export type BasicMessage =
  | BasicPrepareMsg
  | BasicPromiseMsg
  | BasicAcceptMsg
  | BasicAcceptedMsg
  | BasicRejectMsg
  | BasicDecideMsg
  | BasicCatchupMsg
  | BasicLearnMsg;

export type BasicRecord =
  /** The proposer's highest round (shared by all keys), so a ballot is never reused. */
  /**
   * The proposer's highest round; after a compaction also `promisedAtLeast`,
   * the highest promise among the chosen keys whose promises were dropped, so
   * the acceptor's highest promise never appears to go backwards.
   */
  | { readonly t: 'round'; readonly round: number; readonly promisedAtLeast?: Ballot }
  | { readonly t: 'promise'; readonly key: string; readonly ballot: Ballot }
  /** Accepting also raises the key's promise to `ballot`. */
  | { readonly t: 'accept'; readonly key: string; readonly ballot: Ballot; readonly value: string }
  | { readonly t: 'chosen'; readonly key: string; readonly value: string; readonly ballot: Ballot | null };
