/**
 * What the parts of a Multi-Paxos replica share: who it is, its
 * configuration and rules, its outbox and clock, the other parts, and the
 * few steps of the replica's own flow a part may start. The replica builds
 * one and hands it to each part; no part holds another part's state.
 */
import type { Ballot } from '../ballot.js';
import type { ResolvedConfig } from '../config.js';
import type { Membership } from '../membership.js';
import type { Outbox } from '../outbox.js';
import type { NodeId } from '../types.js';
import type { Acceptor } from './acceptor.js';
import type { Clients } from './clients.js';
import type { Epochs } from './epochs.js';
import type { KvMachine } from './kv-machine.js';
import type { Leadership } from './leader.js';
import type { Learner } from './learner.js';
import type { LogValue, MultiMessage, MultiRecord } from './messages.js';
import type { Recovery } from './recovery.js';
import type { Rules } from './rules.js';
import type { MultiSnapshot } from './snapshot-parts.js';
import type { Snapshots } from './snapshots.js';

export interface Context {
  readonly id: NodeId;
  readonly cfg: ResolvedConfig;
  readonly rules: Rules;
  readonly out: Outbox<MultiMessage, MultiRecord>;
  now(): number;
  readonly epochs: Epochs;
  readonly acceptor: Acceptor;
  readonly learner: Learner;
  readonly snapshots: Snapshots;
  readonly machine: KvMachine;
  readonly clients: Clients;
  /** A lost disk's way back to voting; inert for a replica that never lost one. */
  readonly recovery: Recovery;
  /** Whom this replica takes for the leader (itself when it leads). */
  leader(): NodeId | null;
  /** This replica's leadership, while it leads. */
  leadership(): Leadership | null;
  /** Whether this replica follows a leader it heard from within an election timeout. */
  hearsLiveLeader(): boolean;
  // The replica's own flow, started by a part.
  /** Leader stickiness: a live leader other than `node` makes this replica ignore a prepare. */
  hasLiveLeaderOtherThan(node: NodeId): boolean;
  /** A ballot was seen: the next campaign goes above its round. */
  noteRound(b: Ballot): void;
  /** The acceptor promised a ballot higher than any it had: the role gives way. */
  promisedHigher(): void;
  /** An accept came from the leader of `ballot`: this replica follows `from`. */
  heardLeader(ballot: Ballot, from: NodeId): void;
  stepDown(): void;
  /** Only under a planted bug: enter `next` once this Ready's accepts are out, before the change is chosen. */
  enterEarly(next: Membership, stopSlot: number): void;
  /** Whether `l` is still this replica's leadership (a stop-sign chosen meanwhile ends it). */
  leads(l: Leadership): boolean;
  /** A slot was learned chosen: a leader stops counting votes there. */
  forgetInflight(slot: number): void;
  /** The slot is next in the log: apply it, enter the next epoch at a stop-sign, answer its client. */
  apply(slot: number, value: LogValue, ballot: Ballot | null): void;
  /** A snapshot's state becomes this replica's own. */
  restore(s: MultiSnapshot): void;
  /** Drops every vote and value at or below `slot`, now in a snapshot. */
  compactThrough(slot: number): void;
}
