/**
 * What a Multi-Paxos replica shows of itself: its view (the dashboard,
 * `paxos status`) and its read-only internals (the simulator's checkers).
 * Both only read the parts; nothing here changes a replica.
 */
import type { Ballot } from '../ballot.js';
import type { Membership } from '../membership.js';
import type { NodeId, NodeView } from '../types.js';
import type { Acceptor } from './acceptor.js';
import type { Clients } from './clients.js';
import type { Epochs } from './epochs.js';
import type { KvMachine } from './kv-machine.js';
import type { Learner } from './learner.js';
import { formatLogValue, type LogValue } from './messages.js';
import { leaderOf, type Role } from './role.js';

/** What `MultiPaxos.inspect()` shows of a replica's internals. */
export interface MultiInspection {
  readonly round: number;
  readonly promised: Ballot;
  readonly accepted: ReadonlyMap<number, { ballot: Ballot; value: LogValue }>;
  readonly chosen: ReadonlyMap<number, { value: LogValue; ballot: Ballot | null }>;
  readonly commitIndex: number;
  readonly compactedThrough: number;
  readonly kv: ReadonlyMap<string, string>;
  readonly pendingRequests: number;
  readonly sessionEntries: number;
  readonly membership: Membership;
}

/** The parts of a replica that its view and its inspection read. */
export interface InspectedParts {
  readonly id: NodeId;
  readonly role: Role;
  readonly round: number;
  readonly acceptor: Acceptor;
  readonly learner: Learner;
  readonly epochs: Epochs;
  readonly machine: KvMachine;
  readonly clients: Clients;
  /** Whether it recovers a lost disk and is not yet re-admitted. */
  readonly recovering: boolean;
}

export function viewOf(p: InspectedParts): NodeView {
  const { accepted, lastAcceptedSlot } = p.acceptor;
  const last = accepted.get(lastAcceptedSlot);
  return {
    id: p.id,
    protocol: 'multi',
    role: p.role.kind,
    leader: leaderOf(p.role, p.id),
    promised: p.acceptor.promised,
    lastAccepted: last
      ? { instance: String(lastAcceptedSlot), ballot: last.ballot, value: formatLogValue(last.value) }
      : null,
    chosenCount: p.learner.compactedThrough + p.learner.chosen.size,
    commitIndex: p.learner.commitIndex,
    membership: p.epochs.membership,
    member: p.epochs.memberKind(),
    ...(p.recovering ? { recovering: true as const } : {}),
  };
}

export function inspectionOf(p: InspectedParts): MultiInspection {
  return {
    membership: p.epochs.membership,
    round: p.round,
    promised: p.acceptor.promised,
    accepted: p.acceptor.accepted,
    chosen: p.learner.chosen,
    commitIndex: p.learner.commitIndex,
    compactedThrough: p.learner.compactedThrough,
    kv: p.machine.kv,
    pendingRequests: p.clients.size,
    sessionEntries: p.machine.sessions.size(),
  };
}
