/**
 * Multi-Paxos messages and the records a Multi-Paxos replica persists.
 * Every message says who sends it to whom, in the words of the papers.
 */
import type { Ballot } from '../ballot.js';
import type { Membership } from '../membership.js';
import type { Command, CommandIdentity, NodeId } from '../types.js';
import { nodeName } from '../types.js';
import type { SnapshotPart } from './snapshot-parts.js';

/** A log entry: a client command, or a no-op that fills a hole after a leader change. */
export type LogValue =
  | { readonly kind: 'noop' }
  | {
      readonly kind: 'cmd';
      /** `<session>:<seq>`, the identity as one string: the same id chosen twice is applied once. */
      readonly id: string;
      readonly identity: CommandIdentity;
      /** The commit point its proposer saw when it made the command: the horizon of a replica's own session starts here. */
      readonly base: number;
      /** The replica whose client is waiting for this command. */
      readonly origin: NodeId;
      readonly command: Command;
    };

/** A log entry that carries a client's command. */
export type CommandValue = Extract<LogValue, { readonly kind: 'cmd' }>;

/** What tells two log values apart: the command's identity, or 'noop'. */
export function valueId(value: LogValue): string {
  return value.kind === 'noop' ? 'noop' : value.id;
}

export interface SlotValue {
  readonly slot: number;
  readonly value: LogValue;
}

export interface AcceptedEntry {
  readonly slot: number;
  readonly ballot: Ballot;
  readonly value: LogValue;
}

/** Phase 1a, candidate → every acceptor: "promise me `ballot` for every slot from `fromSlot` on". */
export interface PrepareMsg {
  readonly type: 'prepare';
  readonly from: NodeId;
  readonly to: NodeId;
  /** The configuration epoch the candidate runs in; only that epoch's voters answer. The same holds for every message below that has one. */
  readonly epoch: number;
  readonly ballot: Ballot;
  readonly fromSlot: number;
}

/**
 * Phase 1b, acceptor → candidate: the promise. Every slot below
 * `commitIndex` is chosen at this acceptor (and may be compacted away); for
 * every slot from `max(fromSlot, commitIndex)` on, `accepted` holds the value
 * it accepted there. A candidate that lacks chosen slots below another
 * acceptor's commit point learns them rather than proposing there (OmniPaxos's
 * decided index), so a promise never carries the log the candidate is missing.
 */
export interface PromiseMsg {
  readonly type: 'promise';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly epoch: number;
  readonly ballot: Ballot;
  /** The prepare's `fromSlot`, echoed so the promise can be read on its own. */
  readonly fromSlot: number;
  readonly commitIndex: number;
  readonly accepted: readonly AcceptedEntry[];
}

/**
 * Phase 2a, leader → every acceptor: accept these values at `ballot`. With no
 * entries it is the leader's heartbeat. `commitIndex` says every slot below it is chosen.
 */
export interface AcceptMsg {
  readonly type: 'accept';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly epoch: number;
  readonly ballot: Ballot;
  readonly entries: readonly SlotValue[];
  readonly commitIndex: number;
}

/**
 * Phase 2b, acceptor → leader: accepted `slots` at `ballot` (empty: the
 * answer to a heartbeat). `commitIndex` is the acceptor's commit point: a
 * leader behind it learns the slots below it instead of waiting for votes
 * that an acceptor which compacted them will never send.
 */
export interface AcceptedMsg {
  readonly type: 'accepted';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly epoch: number;
  readonly ballot: Ballot;
  readonly slots: readonly number[];
  readonly commitIndex: number;
}

/**
 * Acceptor → proposer: `ballot` is below what I promised (`promised`); try
 * higher. With an `epoch` above the proposer's, it says instead: your
 * configuration has ended; learn the log (and the stop-sign that ended it) from me.
 */
export interface RejectMsg {
  readonly type: 'reject';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly epoch: number;
  readonly ballot: Ballot;
  readonly promised: Ballot;
}

/**
 * Follower → leader: a client's command, to be proposed by the leader. A
 * learner, which hears from no leader, sends it to a voter instead, and that
 * voter relays it once (`relayed`) to the leader it follows.
 */
export interface ForwardMsg {
  readonly type: 'forward';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly value: LogValue & { kind: 'cmd' };
  readonly relayed?: boolean;
}

/** Leader → the follower whose client waits: the commit point moved, learn it now rather than at the next heartbeat. */
export interface CommitMsg {
  readonly type: 'commit';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly epoch: number;
  readonly ballot: Ballot;
  readonly commitIndex: number;
}

/**
 * Lagging learner → leader (or a new leader → the acceptor that decided
 * most): send me the chosen values from `fromSlot` on; with `snapshot`, send
 * me part `part` of the snapshot at `slot` you are streaming to me.
 */
export interface CatchupMsg {
  readonly type: 'catchup';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly fromSlot: number;
  readonly snapshot?: { readonly slot: number; readonly part: number };
}

/**
 * Replica → a learner that asked for slots it has compacted: part `index` of
 * its snapshot at `slot` (part 0 is the head, which says how many follow).
 * The learner asks for each next part, so one part is in flight at a time.
 */
export interface SnapshotMsg {
  readonly type: 'snapshot';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly slot: number;
  readonly index: number;
  readonly part: SnapshotPart;
}

/** Leader → lagging learner: chosen values, in slot order. */
export interface LearnMsg {
  readonly type: 'learn';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly entries: readonly SlotValue[];
  readonly commitIndex: number;
}

export type MultiMessage =
  | PrepareMsg
  | PromiseMsg
  | AcceptMsg
  | AcceptedMsg
  | RejectMsg
  | ForwardMsg
  | CommitMsg
  | CatchupMsg
  | LearnMsg
  | SnapshotMsg;

/** What a Multi-Paxos replica writes to its log; replayed in order on restart. */
export type MultiRecord =
  /** The proposer's highest round, so a restarted node never reuses a ballot. */
  | { readonly t: 'round'; readonly round: number }
  /** The acceptor's promise. */
  | { readonly t: 'promise'; readonly ballot: Ballot }
  /** The acceptor accepted these values at `ballot` (which also raises its promise to `ballot`). */
  | { readonly t: 'accept'; readonly ballot: Ballot; readonly entries: readonly SlotValue[] }
  /** The learner learned these slots as chosen. */
  | { readonly t: 'chosen'; readonly entries: readonly SlotValue[] }
  /**
   * The replica applied a stop-sign and entered this configuration: every
   * vote it held at or above `startSlot` belonged to the ended epoch and is
   * dropped at this point of the log (votes written after it are the new epoch's).
   */
  | { readonly t: 'epoch'; readonly membership: Membership }
  /** This replica lost its disk and started again on a fresh one: it votes in no epoch until re-admitted (recovery.ts). */
  | { readonly t: 'recovering'; readonly session: string }
  /** Its re-admission opened `epoch`: it votes from there on. */
  | { readonly t: 'readmitted'; readonly epoch: number };

export function formatLogValue(value: LogValue): string {
  if (value.kind === 'noop') return 'no-op';
  const c = value.command;
  if (c.op === 'config')
    return `config ${c.fromEpoch}→${c.fromEpoch + 1}: ${c.voters.map((v) => nodeName(v)).join(',')}`;
  if (c.op === 'register') return 'register a session';
  return c.op === 'set' ? `${c.key}=${c.value}` : `get ${c.key}`;
}
