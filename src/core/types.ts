/**
 * The vocabulary shared by both protocol cores, the simulator and the real
 * replica. A core is driven by `Input`s (messages, ticks, client requests) and
 * hands back a `Ready`: state to persist, then messages and replies that may
 * only leave once that state is durable (etcd raft's Ready contract).
 */
import type { Ballot } from './ballot.js';

export type Protocol = 'multi' | 'basic';

/** Node ids start at 1: the cluster's first replicas are 1..clusterSize, replicas added later take the next free id; `node-3` in the CLI is id 3. */
export type NodeId = number;

export function nodeName(id: NodeId): string {
  return `node-${id}`;
}

/** What a client asks for. In basic mode `set` means "propose this value for a write-once key". */
export type Command =
  | { readonly op: 'set'; readonly key: string; readonly value: string }
  | { readonly op: 'get'; readonly key: string }
  /**
   * Multi: replace the configuration of epoch `fromEpoch` by these voters
   * (compare-and-set). Chosen and applied, it is the stop-sign of that epoch;
   * naming an epoch that is no longer current, it is refused and changes nothing.
   */
  | ConfigCommand
  /**
   * Multi: open a client session. Chosen in the log, it numbers the session by
   * its slot, the same at every replica; the client's later commands carry
   * that number and their own sequence numbers.
   */
  | { readonly op: 'register' };

export interface ConfigCommand {
  readonly op: 'config';
  readonly fromEpoch: number;
  readonly voters: readonly NodeId[];
}

/** The key a command reads or writes; a configuration change has none of its own, and answers under `config`. */
export function commandKey(c: Command): string {
  return c.op === 'config' ? 'config' : c.op === 'register' ? 'session' : c.key;
}

/**
 * A command's identity: a client session and a sequence number within it. A
 * session is opened by a client (or by one incarnation of a replica for the
 * clients that bring none) and is never reused, so the identity is unique
 * across clients, replicas and restarts. A retry carries the same identity,
 * and the replicated session table applies it at most once.
 */
export interface CommandIdentity {
  readonly session: string;
  readonly seq: number;
}

export interface ClientRequest {
  /** Unique per request at the replica that received it; used to match the reply. */
  readonly requestId: string;
  readonly command: Command;
  readonly identity: CommandIdentity;
  /**
   * The replica numbered it in its own incarnation's session (the client
   * brought none): only this replica ever sends it. Any other identity must
   * belong to a registered session.
   */
  readonly ownSession?: boolean;
  /** How long the client waits; the replica answers (ok, refused or unknown) before then. Default: the core's requestTimeoutTicks. */
  readonly timeoutTicks?: number;
}

export type ClientReply = ClientSuccess | ClientFailure;

export interface ClientSuccess {
  readonly requestId: string;
  readonly ok: true;
  readonly op: Command['op'];
  readonly key: string;
  /** The value now chosen for (basic) or stored under (multi) the key; null when a get found nothing. */
  readonly value: string | null;
  /** Multi mode: the log slot the command was chosen in. */
  readonly slot?: number;
  readonly ballot: Ballot;
  /** Round trips this replica spent on the request (phase 1 and phase 2 rounds, forwarding). */
  readonly roundTrips: number;
  /** Basic mode: the key had already been chosen with a value other than the one proposed. */
  readonly alreadyChosen?: boolean;
}

/** Why a command failed, for callers that act on it (never match the sentence). */
export type FailureCode =
  /** Too many requests waiting at this replica; nothing was sent. */
  | 'overloaded'
  /** Fewer than a majority of the cluster reachable. */
  | 'no-quorum'
  /** No leader known to send the command to. */
  | 'no-leader'
  /** The deadline passed with a majority reachable (duelling proposers, a slow leader). */
  | 'timeout'
  /** Numbered at or below what its session forgot: not applied now, and whether an earlier copy was can no longer be told. */
  | 'expired'
  /** The session is not held (evicted to make room, or never registered): not applied, and never will be; register again. */
  | 'session-evicted'
  /** The identity was already used for a different command: a client bug, refused rather than applied. */
  | 'identity-reused'
  /** A configuration change named an epoch that another change had already ended. */
  | 'config-changed'
  /** A configuration change the protocol or the request cannot carry (Basic Paxos, a malformed voter set). */
  | 'config-invalid'
  | 'shutting-down'
  | 'storage-failed';

export interface ClientFailure {
  readonly requestId: string;
  readonly ok: false;
  readonly outcome: 'refused' | 'unknown';
  readonly code: FailureCode;
  readonly error: string;
}

/** A value the learner at this node has just learned as chosen. */
export interface ChosenValue {
  /** Multi: the slot number as a string (`"17"`); basic: the key. */
  readonly instance: string;
  readonly value: string;
  /** Identity of the value: a command id or `noop` (multi), the value itself (basic). */
  readonly valueId: string;
  readonly ballot: Ballot | null;
  /** Multi: the configuration epoch that governs the slot. */
  readonly epoch?: number;
}

export type CoreEvent =
  | { readonly type: 'phase1'; readonly ballot: Ballot; readonly instance?: string }
  | {
      readonly type: 'phase2';
      readonly ballot: Ballot;
      readonly instance: string;
      readonly value: string;
      /** Identity of the value (a command id or `noop`), so checkers can tell equal-looking commands apart. */
      readonly valueId: string;
      /** The acceptors whose promises the proposer counted; the simulator re-checks them. */
      readonly quorum: readonly NodeId[];
      /** True when the value was adopted from a promise rather than being the proposer's own. */
      readonly adopted: boolean;
      /** Multi: the configuration epoch the proposer leads in. */
      readonly epoch?: number;
    }
  | {
      readonly type: 'leader';
      readonly ballot: Ballot;
      /** Multi: the epoch led, the first slot phase 1 covered, and the acceptors whose promises were counted. */
      readonly epoch?: number;
      readonly fromSlot?: number;
      readonly quorum?: readonly NodeId[];
    }
  /** Multi: this replica applied the stop-sign at `startSlot - 1` and entered `epoch`, having applied every slot through `appliedThrough`. */
  | {
      readonly type: 'epoch';
      readonly epoch: number;
      readonly fromEpoch: number;
      readonly voters: readonly NodeId[];
      readonly startSlot: number;
      readonly appliedThrough: number;
    }
  | { readonly type: 'follower'; readonly leader: NodeId | null; readonly ballot: Ballot }
  | { readonly type: 'preempted'; readonly ballot: Ballot; readonly by: Ballot; readonly instance?: string }
  | { readonly type: 'backoff'; readonly ticks: number; readonly instance?: string }
  /** Multi: a snapshot streamed from `from` became this replica's state, every slot through `slot` applied in it. */
  | { readonly type: 'snapshot-installed'; readonly slot: number; readonly from: NodeId; readonly keys: number }
  /**
   * Multi: the command chosen at `slot` carries the identity `id`, which the session table holds for a different
   * command applied at `appliedAt`; it is refused. Only a client that reuses identities causes it.
   */
  | { readonly type: 'identity-reused'; readonly slot: number; readonly id: string; readonly appliedAt: number }
  | { readonly type: 'note'; readonly text: string };

export type Input<M> =
  | { readonly type: 'message'; readonly message: M }
  | { readonly type: 'tick' }
  | { readonly type: 'request'; readonly request: ClientRequest }
  /** Fed back by the runtime once a Ready's records are durable, when that Ready asked for it. */
  | { readonly type: 'persisted'; readonly note: PersistedNote };

/** A leader's own phase-2 votes, which count only once its accept records are on disk. */
export interface PersistedNote {
  readonly ballot: Ballot;
  readonly slots: readonly number[];
}

export interface Ready<M, R> {
  /** Must be durable (fsynced) before any message or reply below is released. */
  readonly persist: R[];
  /**
   * Worth keeping, but nothing in this Ready depends on it (a learner noting a
   * value a majority already holds durably): written with the next batch and
   * never waited for, so it costs no fsync on the path to a reply.
   */
  readonly persistLazy: R[];
  /**
   * Messages that reflect no state of this Ready's records and may leave at
   * once, while those records are being written: a leader's phase-2a accepts.
   * The leader's disk write then overlaps its followers' (as in etcd).
   */
  readonly earlyMessages: M[];
  /** When set, step `{ type: 'persisted', note }` once this Ready's records are durable. */
  readonly afterPersist: PersistedNote | null;
  readonly messages: M[];
  readonly replies: ClientReply[];
  readonly chosen: ChosenValue[];
  readonly events: CoreEvent[];
  /**
   * When set, the log is compacted: after this Ready's records are durable,
   * the snapshot replaces the previous one and `records` replace the whole
   * log. Messages of this Ready wait for an installed one like for the
   * records; a compaction's they need not (`Checkpoint.compaction`).
   */
  readonly checkpoint: Checkpoint<R> | null;
}

/** A snapshot and the few records that, replayed on top of it, give back the core's whole durable state. */
export interface Checkpoint<R> {
  /** The snapshot in bounded parts (JSON values, one storage frame each). */
  readonly snapshot: readonly unknown[];
  readonly records: readonly R[];
  /**
   * The snapshot summarizes this replica's own log (a compaction), not a
   * peer's state (an install). A compaction's snapshot holds only what the
   * log already holds, in order, so nothing this replica writes or sends
   * after it rests on it: the log may go on growing while the snapshot is
   * written (what it gains meanwhile is carried into the new log), and the
   * Ready waits for its records only (etcd's snapshots are taken beside the
   * log likewise). Absent: an install, which later writes and this Ready wait
   * for, since what the replica does next rests on state its log never held.
   */
  readonly compaction?: true;
}

/**
 * Bugs that tests plant on purpose to prove the simulator's checkers can fail.
 * Never set outside tests; each one breaks a safety or liveness rule the
 * checkers hold the protocol to (`src/sim/planted.ts` names the plant of each).
 */
export interface PlantedBugs {
  /** Acceptor accepts a ballot lower than the one it promised. */
  readonly acceptBelowPromised?: boolean;
  /** Proposer ignores the accepted values reported in promises and proposes its own. */
  readonly ignoreAcceptedValues?: boolean;
  /** Basic: a read that joins a round whose prepares already left is answered by that round's promises, which may predate it. */
  readonly readJoinsRoundInFlight?: boolean;
  /** Quorum is a majority of the replicas heard from recently, not of the cluster size. */
  readonly quorumOfLive?: boolean;
  /** Quorum is one less than a majority. */
  readonly quorumMinusOne?: boolean;
  /** Multi: a replica answers reads from its own copy of the map without going through consensus. */
  readonly staleLocalReads?: boolean;
  /** Multi: a leader counts its own vote as soon as it accepts, before its accept record is durable. */
  readonly countVoteBeforeDurable?: boolean;
  /** Multi: a leader counts accepted replies without checking that they are for its current ballot. */
  readonly countVotesOfAnyBallot?: boolean;
  /** Quorum is half the cluster rounded up: right for odd sizes, one short for even ones. */
  readonly quorumHalf?: boolean;
  /** Multi: the session table is ignored, so a retried command is applied again. */
  readonly applyDuplicates?: boolean;
  /** Multi: a request of a session the table no longer holds opens it again and is applied, as the old slot horizon did after it forgot. */
  readonly applyEvictedSessions?: boolean;
  /** Multi: a promise says nothing was decided, while it leaves out the slots the acceptor compacted. */
  readonly promiseHidesCompacted?: boolean;
  /** Multi: a snapshot compacts every vote the replica holds, not only those of slots known chosen. */
  readonly compactUndecided?: boolean;
  /** Multi: a snapshot is labelled one slot past the last one applied in it. */
  readonly snapshotLabelledAhead?: boolean;
  /** Multi: a snapshot stream starts over whenever a first part arrives, and catch-up asks whoever it likes meanwhile. */
  readonly restartSnapshotStreams?: boolean;
  /** Multi: a replica behind its own epoch labels its snapshots with that epoch's configuration. */
  readonly snapshotAheadOfEpoch?: boolean;
  /** A restarted proposer starts counting rounds from zero again instead of above what it used and promised. */
  readonly reuseBallotAfterRestart?: boolean;
  /** Multi: a leader switches to the new configuration when it proposes the change, before the change is chosen. */
  readonly applyConfigBeforeChosen?: boolean;
  /** Multi: a replica votes in any epoch it hears of, before it has applied the stop-sign that opens it (a new replica votes before catching up). */
  readonly voteBeforeCaughtUp?: boolean;
  /** Multi: two changes in flight at once: a leader goes on proposing after a change, and a change applies even when the configuration it names is no longer current. */
  readonly twoChangesInFlight?: boolean;
  /** Multi: a removed replica still votes, and leaders still count its votes. */
  readonly removedStillCounted?: boolean;
  /** Multi: a leader that learns a slot it proposed in was chosen at a higher ballot keeps leading (its commit point then vouches for a lost value). */
  readonly staleLeaderKeepsLeading?: boolean;
  /** Multi: a restart judges the configuration changes it replays against the newest configuration, not the one in force at their slot. */
  readonly rejudgeConfigOnReplay?: boolean;
  /** Multi: a leader whose stop-sign apply refused waits for a next epoch that never comes (liveness). */
  readonly stallAfterRefusedStopSign?: boolean;
  /** Multi: a new leader whose phase 1 found a stop-sign that apply refused while it campaigned waits there for good (liveness). */
  readonly stallAtStopRefusedBeforeWinning?: boolean;
  /** Multi: a new leader waits forever to learn the slots below its floor from an acceptor that never answers. */
  readonly waitForDecidedForever?: boolean;
  /** Multi: a voter that heard of a later epoch never campaigns until it has caught up, even when nobody can teach it the log (liveness). */
  readonly waitBehindForever?: boolean;
  /** Multi: a voter campaigning because its catch-up stalled steps down at every reject from the later epoch it already knew of (liveness). */
  readonly yieldWhileStalled?: boolean;
  /** Multi: a stop-sign above an installed snapshot is applied in the Ready that installs it, so its epoch record can reach the disk without the snapshot (liveness). */
  readonly applyAboveUnwrittenSnapshot?: boolean;
  /** Multi: a replica that enters a later epoch from a snapshot it installs writes that epoch's record in the installing Ready, ahead of the snapshot's checkpoint (liveness). */
  readonly epochRecordAheadOfInstall?: boolean;
  /** Multi: a snapshot installed from a peer is checkpointed like a compaction: its Ready released, and later writes landing, before it is durable. */
  readonly installAsCompaction?: boolean;
  /** Multi: every catch-up reply that leaves a replica behind is answered with a new request, progress or not (a message storm). */
  readonly askOnEveryLearn?: boolean;
  /** Multi: a new leader whose stop-sign apply refused proposes new values in slots after it where values were accepted. */
  readonly overwriteAfterRefusedStopSign?: boolean;
  /** Multi: a replica that lost its disk votes again as soon as it has caught up, without being re-admitted (amnesia). */
  readonly recoverWithoutReadmission?: boolean;
  /** Multi: a leader keeps re-sending accepts for slots it learned chosen another way, ahead of the slots behind them. */
  readonly resendChosenSlots?: boolean;
  /** The shell writes a Ready's lazy records (what it learned chosen) after its strict ones in the same write. */
  readonly lazyAfterStrict?: boolean;
  /** Multi: a replica outside the configuration relays waiting commands on the same round-robin turn it polls for the log with. */
  readonly sharedRelayTurn?: boolean;
  /** Multi: values of a new epoch learned in the Ready that opened it go to disk before its epoch record, which drops them on replay. */
  readonly nextEpochChosenUnmarked?: boolean;
  /** Multi: a replica recovering a lost disk asks for re-admission under its recorded session after a restart too, numbering from 1 again. */
  readonly recoveryReusesSession?: boolean;
  /** Multi: a recovering replica whose re-admission reaches it inside a snapshot stays recovering and asks again. */
  readonly readmissionMissedInSnapshot?: boolean;
  /** Multi: a catch-up reply carries at most maxBatchEntries slots, so with a small accept batch a replica far behind learns a few slots per round trip (liveness). */
  readonly catchupPerAcceptBatch?: boolean;
  /** Multi: a new leader fetching the slots below its floor steps down while a snapshot of them is still arriving (liveness). */
  readonly floorIgnoresSnapshotStream?: boolean;
  /** Multi: a leader preempted right after winning prepares again at once, so two leaders can preempt each other for ever (liveness). */
  readonly reprepareWhileNew?: boolean;
  /**
   * Multi: a replica that learns through snapshots waits on its own command after the snapshots passed the horizon of
   * the commit point it was made at, re-sending it (each copy chosen and expired) until its deadline (liveness).
   */
  readonly waitOnExpiredOwnCommand?: boolean;
  /**
   * Multi: after a snapshot install, a request waiting under an identity the installed table holds is answered ok
   * without comparing its command with the one applied (issue 22, 3c: exactly-once).
   */
  readonly installedTableTrustsIdentity?: boolean;
  /**
   * Multi: the session table tells a retry from a reused identity by a 32-bit digest of the command's fields joined
   * by NUL, which keys and values holding NUL make ambiguous (issue 22, 3b: exactly-once).
   */
  readonly digestCommands?: boolean;
}

export interface CoreConfig {
  readonly id: NodeId;
  /** How many replicas the cluster was created with: its first configuration is 1..clusterSize unless `voters` says otherwise. */
  readonly clusterSize: number;
  /** Multi: the voters of the cluster's first configuration (epoch 0). */
  readonly voters?: readonly NodeId[];
  /** Multi: replicas a new learner asks for the log until its own log names the voters. */
  readonly contacts?: readonly NodeId[];
  /** Seeds the core's own deterministic generator (election timeouts, backoff). */
  readonly randomSeed: number;
  /** A follower that hears nothing from a leader for this long (randomized up to 2x) starts an election. */
  readonly electionTimeoutTicks?: number;
  /** A leader sends a heartbeat (an empty accept carrying its commit point) this often. */
  readonly heartbeatTicks?: number;
  /** Randomized backoff after a rejection; switched off only by the livelock test. */
  readonly backoff?: boolean;
  /** Upper bound of the first backoff window, doubled per failed attempt up to 8x. */
  readonly backoffTicks?: number;
  /** A proposal that makes no progress for this long is retried (basic) or failed back (multi). */
  readonly requestTimeoutTicks?: number;
  /** Most log entries one accept message carries. */
  readonly maxBatchEntries?: number;
  /** Most slots a leader keeps in phase 2 at once; more requests wait in a bounded queue. */
  readonly maxInflightSlots?: number;
  /** Most client requests queued at one replica; more are refused with a clear error. */
  readonly maxPendingRequests?: number;
  /**
   * Multi: a command of a replica's own session (one numbered by the replica
   * for a client that brought no session) is applied only if it is chosen
   * within this many slots of the commit point the replica saw when it made
   * it, and the table remembers it for this many slots: only that replica
   * ever sends it, always with that commit point, so a late copy is refused
   * (answered unknown), never applied twice.
   */
  readonly sessionHorizonSlots?: number;
  /**
   * Multi: client sessions the replicated table holds; registering one more
   * evicts the least recently used, and a request of an evicted session is
   * refused ("session evicted"), never applied.
   */
  readonly maxSessions?: number;
  /**
   * Multi: a replica snapshots its applied state and compacts its log once
   * this many slots were applied since its last snapshot.
   */
  readonly snapshotEverySlots?: number;
  /**
   * Multi: this replica lost its disk (its log was found missing, emptied, cut
   * short or rolled back, and the shell started it on a fresh one): it may
   * have promised and accepted what it no longer remembers, so it votes again
   * only from an epoch that its own re-admission opened (recovery.ts).
   */
  readonly recoverLostDisk?: boolean;
  /** Longest client deadline a request may carry. */
  readonly maxRequestTimeoutTicks?: number;
  readonly bugs?: PlantedBugs;
}

/** Small read-only snapshot for the dashboard, `paxos status` and the simulator's checks. */
export interface NodeView {
  readonly id: NodeId;
  readonly protocol: Protocol;
  readonly role: 'leader' | 'candidate' | 'follower' | 'proposer' | 'acceptor';
  readonly leader: NodeId | null;
  readonly promised: Ballot;
  readonly lastAccepted: { readonly instance: string; readonly ballot: Ballot; readonly value: string } | null;
  readonly chosenCount: number;
  /** Multi: first slot not yet known to be chosen here. */
  readonly commitIndex?: number;
  /** The configuration this replica is in: its epoch, voters and first slot (Basic: epoch 0, the fixed acceptors). */
  readonly membership?: { readonly epoch: number; readonly voters: readonly NodeId[]; readonly startSlot: number };
  /** Whether this replica votes in that configuration, only learns (it joined and is catching up), or was removed. */
  readonly member?: 'voter' | 'learner' | 'removed';
  /** Multi: set while this replica recovers a lost disk and is not yet re-admitted, so it votes in no epoch (recovery.ts). */
  readonly recovering?: true;
}

export interface ProtocolCore<M, R> {
  readonly id: NodeId;
  step(input: Input<M>): void;
  /** Drains everything produced since the last call. */
  ready(): Ready<M, R>;
  view(): NodeView;
}

export function failure(o: {
  requestId: string;
  outcome: 'refused' | 'unknown';
  code: FailureCode;
  error: string;
}): ClientFailure {
  return { requestId: o.requestId, ok: false, outcome: o.outcome, code: o.code, error: o.error };
}

export function quorumSize(clusterSize: number): number {
  return Math.floor(clusterSize / 2) + 1;
}
