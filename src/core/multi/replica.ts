/**
 * Multi-Paxos as a pure state machine: a replicated log of commands applied to
 * a key-value map. A leader runs phase 1 once for every open slot, then only
 * phase 2 (one round trip per batch of values), pipelined. Heartbeats and
 * election timeouts are tick inputs; randomness comes from a seed. No I/O.
 *
 * The Ready contract: everything in `ready().persist` must be durable before
 * any message or reply of the same Ready leaves the process.
 */
import { Ballot, ballotEquals, ballotGreater, compareBallots } from '../ballot.js';
import { resolveConfig, type ResolvedConfig } from '../config.js';
import { bootstrapMembership, isVoter, succeeding, votersProblem, type Membership } from '../membership.js';
import {
  formatLogValue,
  type AcceptMsg,
  type AcceptedEntry,
  type AcceptedMsg,
  type CommandValue,
  type CommitMsg,
  type ForwardMsg,
  type LogValue,
  type MultiMessage,
  type MultiRecord,
  type PromiseMsg,
  type RejectMsg,
  type SlotValue,
  valueId,
} from './messages.js';
import type { MultiSnapshot } from './snapshot-parts.js';
import { emptyMultiState, retainedRecords, type MultiDurableState } from './durable.js';
import { PeerLiveness } from '../liveness.js';
import type { Phase1, Promised } from './candidate.js';
import type { Leadership } from './leader.js';
import { ElectionTimer, LEADERLESS, ballotOf, leaderOf, type Role } from './role.js';
import { Outbox } from '../outbox.js';
import { Random } from '../random.js';
import { rulesOf, type Rules } from './rules.js';
import { Clients, type ClientsHost } from './clients.js';
import { KvMachine } from './kv-machine.js';
import { Acceptor } from './acceptor.js';
import type { Context } from './context.js';
import { Learner } from './learner.js';

export { FIRST_SLOT } from './learner.js';

import { Snapshots } from './snapshots.js';
import { type ConfigCommand, type CoreConfig, type FailureCode, type Input, type NodeId, type NodeView, type ProtocolCore, type Ready } from '../types.js';

const NOOP: LogValue = Object.freeze({ kind: 'noop' });

export class MultiPaxos implements ProtocolCore<MultiMessage, MultiRecord> {
  readonly id: NodeId;
  private readonly cfg: ResolvedConfig;
  /** Every rule a planted bug can break, consulted by name. */
  private readonly rules: Rules;
  /** The configuration this replica is in: its epoch's voters decide every slot from its start on. */
  private membership: Membership;
  /** The voters of this epoch other than this replica: whom prepares and accepts go to. */
  private peers: readonly NodeId[] = [];
  /** The voters of the epoch before: `view()` tells a removed replica from a learner by them, and one planted bug still counts them. */
  private previousVoters: readonly NodeId[] = [];
  /** Set when this replica entered an epoch in which it should campaign at once (a clean hand-over); acted on in `ready()`. */
  private electionDue = false;
  /** The latest epoch some message showed this replica is behind: it does not campaign before it gets there. */
  private laterEpochSeen = 0;
  /** Only under the planted bug that applies a change before it is chosen: the epoch to enter once this Ready's accepts are out. */
  private earlyEpoch: { readonly next: Membership; readonly stopSlot: number } | null = null;
  private readonly random: Random;
  private readonly out = new Outbox<MultiMessage, MultiRecord>();
  private nowTick = 0;

  // Proposer state that survives restarts (mirrored in the log).
  private round: number;
  private readonly acceptor: Acceptor;

  // Learner state: rebuilt from the chosen records on restart.
  private readonly machine: KvMachine;
  private readonly learner: Learner;
  private readonly snapshots: Snapshots;

  // Volatile roles and timers.
  private role: Role = LEADERLESS;
  private readonly timer: ElectionTimer;
  private maxSeenRound = 0;
  private readonly liveness: PeerLiveness;
  private readonly clients: Clients;

  constructor(config: CoreConfig, recovered: MultiDurableState = emptyMultiState()) {
    this.cfg = resolveConfig(config);
    this.rules = rulesOf(this.cfg);
    this.id = this.cfg.id;
    this.membership = recovered.membership ?? bootstrapMembership(this.cfg.voters);
    this.peers = this.membership.voters.filter((v) => v !== this.id);
    this.liveness = new PeerLiveness(this.peers, this.cfg.electionTimeoutTicks);
    this.random = new Random(this.cfg.randomSeed);
    this.machine = new KvMachine(this.cfg.sessionHorizonSlots, this.rules);
    this.clients = new Clients(this.clientsHost(), this.cfg, this.rules, this.out);
    const ctx = this.context();
    this.learner = new Learner(ctx);
    this.snapshots = new Snapshots(ctx);
    this.round = this.rules.reuseBallotAfterRestart ? 0 : recovered.round;
    this.acceptor = new Acceptor(ctx, recovered);
    this.maxSeenRound = this.rules.reuseBallotAfterRestart ? 0 : Math.max(this.round, this.acceptor.promised.round);
    this.timer = new ElectionTimer(this.random, this.cfg.electionTimeoutTicks);
    for (const [slot, c] of recovered.chosen) this.learner.chosen.set(slot, c);
    if (recovered.snapshot !== null) this.restoreSnapshot(recovered.snapshot);
    this.learner.advance();
  }

  // ---------------------------------------------------------------- inputs

  step(input: Input<MultiMessage>): void {
    switch (input.type) {
      case 'tick':
        return this.tick();
      case 'request':
        return this.clients.onRequest(input.request);
      case 'message':
        return this.onMessage(input.message);
      case 'persisted':
        return this.onSelfAcceptPersisted(input.note.ballot, input.note.slots);
    }
  }

  ready(): Ready<MultiMessage, MultiRecord> {
    if (this.electionDue) {
      this.electionDue = false;
      if (this.canVote() && this.role.kind !== 'leader') this.startElection();
    }
    this.flushLeaderOutgoing();
    if (this.earlyEpoch !== null) {
      this.enterEpoch(this.earlyEpoch.next, this.earlyEpoch.stopSlot, { appliedThrough: this.learner.commitIndex - 1 });
      this.earlyEpoch = null;
    }
    if (this.learner.commitIndex - 1 - this.learner.compactedThrough >= this.cfg.snapshotEverySlots) this.snapshots.take();
    // The records that survive compaction are read here, after every step of this Ready, so none of its own is left out.
    if (this.snapshots.toWrite !== null) {
      this.out.checkpoint = {
        snapshot: this.snapshots.toWrite,
        records: retainedRecords({ round: this.round, promised: this.acceptor.promised, membership: this.membership, accepted: this.acceptor.accepted, chosen: this.learner.chosen, compactedThrough: this.learner.compactedThrough }),
      };
      this.snapshots.toWrite = null;
    }
    return this.out.take();
  }

  private onMessage(m: MultiMessage): void {
    if (m.to !== this.id || m.from === this.id) throw new Error(`node ${this.id} was handed a message for ${m.to} from ${m.from}`);
    this.liveness.heard(m.from, this.nowTick);
    switch (m.type) {
      case 'prepare':
        return this.acceptor.onPrepare(m);
      case 'promise':
        return this.onPromise(m);
      case 'accept':
        return this.acceptor.onAccept(m);
      case 'accepted':
        return this.onAccepted(m);
      case 'reject':
        return this.onReject(m);
      case 'forward':
        return this.onForward(m);
      case 'commit':
        return this.learner.onCommit(m);
      case 'catchup':
        return this.learner.onCatchup(m);
      case 'learn':
        return this.learner.onLearn(m);
      case 'snapshot':
        return this.snapshots.onSnapshot(m);
    }
  }

  private tick(): void {
    this.nowTick++;
    if (this.role.kind === 'leader') {
      this.leaderTick(this.role.leadership);
    } else if (this.canVote() && this.laterEpochSeen <= this.membership.epoch) {
      if (this.timer.tick()) this.startElection();
    } else if (this.learner.catchupDue(2)) {
      this.learner.pollForLog();
    }
    if (this.nowTick % this.cfg.heartbeatTicks === 0) this.clients.retry();
  }

  // ------------------------------------------------------------ membership

  /**
   * A replica votes, and campaigns, only as a voter of its epoch that has
   * applied the stop-sign opening it: a new replica has caught up before it
   * counts in any quorum.
   */
  private canVote(): boolean {
    if (this.rules.voteBeforeCaughtUp) return true;
    if (this.rules.removedStillCounted && this.previousVoters.includes(this.id)) return true;
    return isVoter(this.membership, this.id) && this.learner.commitIndex >= this.membership.startSlot;
  }

  /** A message from a later epoch: this replica missed a stop-sign, and fetches the log from the sender. */
  private behindEpoch(from: NodeId, epoch: number): void {
    // Until it has caught up, its elections could never win, and would only drive its promise up into the new epoch.
    if (epoch > this.laterEpochSeen) this.laterEpochSeen = epoch;
    if (!this.learner.catchupDue(1)) return;
    this.learner.askFor(from);
  }

  /**
   * Applies the stop-sign chosen at `stopSlot`: epoch `next` governs every
   * slot after it. Votes and values this replica holds above the stop-sign
   * belong to the ended epoch, which decides nothing there: they are dropped,
   * and an epoch record says so on disk before anything of the new epoch is sent.
   */
  private enterEpoch(next: Membership, stopSlot: number, o: { appliedThrough?: number; fromEpoch?: number } = {}): void {
    const wasLeader = this.leadership();
    const oldLeader = leaderOf(this.role, this.id);
    if (wasLeader !== null) {
      // The old voters learn at once that the stop-sign is chosen; without it they would wait for a heartbeat that never comes.
      for (const to of this.peers) this.out.messages.push({ type: 'commit', from: this.id, to, epoch: this.membership.epoch, ballot: wasLeader.ballot, commitIndex: stopSlot + 1 });
    }
    this.previousVoters = this.membership.voters;
    // A snapshot from a later epoch brings its own earlier configurations; a stop-sign adds the one it ends.
    this.membership = next.previous !== undefined ? next : succeeding(this.membership, next);
    this.peers = next.voters.filter((v) => v !== this.id);
    this.liveness.setPeers(this.rules.removedStillCounted ? [...new Set([...this.peers, ...this.previousVoters])].filter((v) => v !== this.id) : this.peers);
    this.acceptor.dropAbove(stopSlot);
    for (const slot of [...this.learner.chosen.keys()]) if (slot > stopSlot) this.learner.chosen.delete(slot);
    this.out.persist.push({ t: 'epoch', membership: this.membership });
    this.become(LEADERLESS);
    this.timer.reset();
    this.out.events.push({
      type: 'epoch', epoch: next.epoch, fromEpoch: o.fromEpoch ?? next.epoch - 1, voters: next.voters, startSlot: next.startSlot, appliedThrough: o.appliedThrough ?? stopSlot,
    });
    // A clean hand-over: the old leader, if it stays, campaigns at once; if it left, the lowest new voter does.
    const lowest = Math.min(...next.voters);
    if (isVoter(next, this.id) && (wasLeader !== null || ((oldLeader === null || !isVoter(next, oldLeader)) && this.id === lowest))) this.electionDue = true;
  }

  // ------------------------------------------------------------- elections

  /** The only place the role changes. */
  private become(next: Role): void {
    this.role = next;
  }

  private leadership(): Leadership | null {
    return this.role.kind === 'leader' ? this.role.leadership : null;
  }

  private quorum(): number {
    return this.rules.quorumOf(this.membership.voters.length, this.liveness.count(this.nowTick));
  }

  /** Where phase 1 and phase 2 messages go: this epoch's other voters (and, under one planted bug, the removed ones too). */
  private sendTargets(): readonly NodeId[] {
    if (!this.rules.removedStillCounted) return this.peers;
    return [...new Set([...this.peers, ...this.previousVoters])].filter((v) => v !== this.id);
  }

  /** Whose promises and votes count: this epoch's voters. */
  private countsVote(from: NodeId): boolean {
    return isVoter(this.membership, from) || (this.rules.removedStillCounted && this.previousVoters.includes(from));
  }

  /** Phase 1 for every slot this node has not seen chosen, with a ballot it has never used. */
  private startElection(): void {
    const floor = this.rules.reuseBallotAfterRestart ? 0 : this.acceptor.promised.round;
    this.round = Math.max(this.round, this.maxSeenRound, floor) + 1;
    this.maxSeenRound = this.round;
    const ballot = Ballot(this.round, this.id);
    this.out.persist.push({ t: 'round', round: this.round });
    this.acceptor.promiseOwn(ballot);
    const fromSlot = this.learner.commitIndex;
    this.become({ kind: 'candidate', phase1: { ballot, fromSlot, promises: new Map([[this.id, { accepted: this.acceptor.acceptedFrom(fromSlot), commitIndex: fromSlot }]]) } });
    this.timer.reset();
    this.out.events.push({ type: 'phase1', ballot });
    const epoch = this.membership.epoch;
    for (const to of this.sendTargets()) this.out.messages.push({ type: 'prepare', from: this.id, to, epoch, ballot, fromSlot });
    // Contacts outside this replica's configuration mean the cluster may have moved on without it (its voters removed
    // and stopped, so nobody answers to say so): it also asks them for the log.
    if (this.cfg.contacts.some((c) => !this.membership.voters.includes(c)) && this.learner.catchupDue(2)) this.learner.pollForLog();
    this.maybeWinElection();
  }

  /** A live, healthy leader other than the sender makes this node ignore a prepare (leader stickiness). */
  private hasLiveLeaderOtherThan(node: NodeId): boolean {
    if (this.role.kind === 'leader') return this.leaderHasQuorumContact();
    const leader = leaderOf(this.role, this.id);
    return leader !== null && leader !== node && this.timer.leaderRecent();
  }

  /**
   * Whether this replica answers a phase 1 or phase 2 message of `epoch`
   * from `from`: only as a voter of that very epoch. A sender of an ended
   * epoch is told so (a reject carrying the current epoch), and a message
   * of a later epoch makes this replica fetch the log it missed.
   */
  private answersEpoch(m: { readonly epoch: number; readonly from: NodeId; readonly ballot: Ballot }): boolean {
    if (this.rules.voteBeforeCaughtUp && m.epoch > this.membership.epoch) return true;
    if (m.epoch < this.membership.epoch) {
      this.acceptor.reject(m, this.membership.epoch);
      return false;
    }
    if (m.epoch > this.membership.epoch || this.learner.commitIndex < this.membership.startSlot) {
      this.behindEpoch(m.from, m.epoch);
      return false;
    }
    return this.canVote();
  }

  private onPromise(m: PromiseMsg): void {
    if (this.role.kind !== 'candidate') return;
    const c = this.role.phase1;
    if (!ballotEquals(m.ballot, c.ballot)) return;
    if (m.epoch !== this.membership.epoch || !this.countsVote(m.from)) return;
    c.promises.set(m.from, { accepted: m.accepted, commitIndex: m.commitIndex });
    this.maybeWinElection();
  }

  private maybeWinElection(): void {
    if (this.role.kind !== 'candidate') return;
    const c = this.role.phase1;
    if (c.promises.size < this.quorum()) return;
    this.becomeLeader(c);
  }

  /**
   * Phase 1 is done for every slot from `fromSlot` on. Each slot some acceptor
   * of the quorum accepted gets the value of the highest ballot there; every
   * hole below the highest such slot gets a no-op, so the log has no gaps.
   */
  private becomeLeader(c: Phase1): void {
    const best = this.rules.ignoreAcceptedValues ? new Map<number, AcceptedEntry>() : highestAccepted(c.promises);
    const decided = mostDecided(c.promises);
    const decidedFloor = Math.max(c.fromSlot, decided.commitIndex);
    let maxSlot = decidedFloor - 1;
    for (const p of c.promises.values()) for (const e of p.accepted) maxSlot = Math.max(maxSlot, e.slot);
    // A stop-sign of this epoch that may be chosen ends what this leader proposes: it finishes the log up to it and no further.
    const stopSlot = this.rules.twoChangesInFlight ? null : this.firstStopSign(best, decidedFloor, maxSlot);
    if (stopSlot !== null) maxSlot = stopSlot;
    const leadership: Leadership = {
      ballot: c.ballot,
      sinceTick: this.nowTick,
      nextSlot: Math.max(maxSlot + 1, this.learner.commitIndex, decidedFloor),
      inflight: new Map(),
      outgoing: [],
      queue: [],
      undecided: new Set(),
      commitNotify: new Set(),
      unpersistedSelf: [],
      heartbeatDueTick: this.nowTick,
      decidedFloor,
      learnFrom: decidedFloor > this.learner.commitIndex ? decided.node : null,
      stopped: stopSlot !== null,
    };
    this.become({ kind: 'leader', leadership });
    for (const peer of c.promises.keys()) this.liveness.heard(peer, this.nowTick);
    const epoch = this.membership.epoch;
    this.out.events.push({ type: 'leader', ballot: c.ballot, epoch, fromSlot: c.fromSlot, quorum: [...c.promises.keys()] });
    this.learnDecided(leadership);
    const quorum = [...c.promises.keys()];
    for (let slot = decidedFloor; slot <= maxSlot; slot++) {
      const found = best.get(slot);
      const value = found ? found.value : NOOP;
      this.out.events.push({
        type: 'phase2', ballot: c.ballot, instance: String(slot), value: formatLogValue(value),
        valueId: valueId(value), quorum, adopted: found !== undefined, epoch,
      });
      this.proposeAt(leadership, slot, value);
    }
    this.clients.forwardAll();
  }

  /** The first slot in `from..to` whose highest accepted value is a stop-sign of this epoch, or null. */
  private firstStopSign(best: ReadonlyMap<number, AcceptedEntry>, from: number, to: number): number | null {
    for (let slot = from; slot <= to; slot++) {
      const e = best.get(slot);
      if (e !== undefined && this.isStopSign(e.value)) return slot;
    }
    return null;
  }

  /** A configuration change naming this epoch: chosen, it ends the epoch at its slot. */
  private isStopSign(value: LogValue): boolean {
    return value.kind === 'cmd' && value.command.op === 'config' && value.command.fromEpoch === this.membership.epoch;
  }

  private stepDown(): void {
    if (this.role.kind !== 'follower') this.out.events.push({ type: 'follower', leader: null, ballot: this.acceptor.promised });
    this.become(LEADERLESS);
    this.timer.reset();
  }

  private noteRound(b: Ballot): void {
    if (b.round > this.maxSeenRound) this.maxSeenRound = b.round;
  }

  private onReject(m: RejectMsg): void {
    this.noteRound(m.promised);
    if (m.epoch > this.membership.epoch) {
      // My epoch has ended elsewhere: stop leading in it and learn the log up to its stop-sign.
      if (this.role.kind !== 'follower') this.stepDown();
      this.behindEpoch(m.from, m.epoch);
      return;
    }
    if (m.epoch < this.membership.epoch) return;
    const mine = ballotOf(this.role);
    if (mine === null || !ballotEquals(m.ballot, mine) || !ballotGreater(m.promised, mine)) return;
    this.out.events.push({ type: 'preempted', ballot: mine, by: m.promised });
    if (this.role.kind === 'leader' && this.leaderHasQuorumContact()) {
      // A leader still in touch with a majority that meets one higher promise (typically a replica back from
      // isolation, whose failed elections ran its ballot up) prepares again above it at once, rather than
      // leaving the whole cluster leaderless until an election timeout.
      this.startElection();
      return;
    }
    this.stepDown();
  }

  // ---------------------------------------------------------------- leader

  private leaderTick(l: Leadership): void {
    const inCharge = this.nowTick - l.sinceTick;
    if (inCharge >= this.cfg.electionTimeoutTicks && !this.leaderHasQuorumContact()) {
      // A leader cut off from a majority steps down, so its clients get an answer from a leader that can decide.
      this.out.events.push({ type: 'note', text: 'lost contact with a majority; stepping down' });
      this.stepDown();
      return;
    }
    if (this.nowTick >= l.heartbeatDueTick) this.sendHeartbeats(l);
    if (this.learner.catchupDue(2)) this.learnDecided(l);
  }

  /** A new leader behind another acceptor's commit point fetches the chosen slots it lacks. */
  private learnDecided(l: Leadership): void {
    if (l.learnFrom === null || this.learner.commitIndex >= l.decidedFloor) return;
    this.learner.askFor(l.learnFrom);
  }

  private leaderHasQuorumContact(): boolean {
    return this.liveness.count(this.nowTick) >= this.rules.quorumOf(this.membership.voters.length, this.membership.voters.length);
  }

  /** Heartbeats carry the commit point, and re-send accepts a peer has not answered (messages get lost). */
  private sendHeartbeats(l: Leadership): void {
    l.heartbeatDueTick = this.nowTick + this.cfg.heartbeatTicks;
    const staleBefore = this.nowTick - 2 * this.cfg.heartbeatTicks;
    for (const to of this.sendTargets()) {
      const resend: SlotValue[] = [];
      for (const [slot, inf] of l.inflight) {
        if (resend.length >= this.cfg.maxBatchEntries) break;
        if (inf.sentTick <= staleBefore && !inf.votes.has(to)) resend.push({ slot, value: inf.value });
      }
      this.sendAccept(l, to, resend);
    }
    for (const inf of l.inflight.values()) if (inf.sentTick <= staleBefore) inf.sentTick = this.nowTick;
  }

  private sendAccept(l: Leadership, to: NodeId, entries: readonly SlotValue[]): void {
    this.out.messages.push(this.acceptMessage(l, to, entries));
  }

  private acceptMessage(l: Leadership, to: NodeId, entries: readonly SlotValue[]): AcceptMsg {
    return { type: 'accept', from: this.id, to, epoch: this.membership.epoch, ballot: l.ballot, entries, commitIndex: this.learner.commitIndex };
  }

  /** Assigns the next slot, or queues when the in-flight window is full. */
  private leaderPropose(l: Leadership, value: LogValue): void {
    if (value.kind === 'cmd') {
      // A retried forward of a command still on its way is dropped; one already chosen goes through the
      // log again and the session table answers it as a duplicate, so nothing here grows with the log.
      if (l.undecided.has(value.id)) return;
      if (l.inflight.size >= this.cfg.maxInflightSlots && l.queue.length >= this.cfg.maxPendingRequests) return;
      l.undecided.add(value.id);
    }
    if (l.inflight.size >= this.cfg.maxInflightSlots || l.stopped) {
      l.queue.push(value);
      return;
    }
    const slot = l.nextSlot++;
    this.proposeAt(l, slot, value);
  }

  /**
   * Phase 2 for one slot. The leader accepts its own value (a record in this
   * Ready) but counts its own vote only when the runtime reports that record
   * durable, so the accepts to followers may leave while it is being written
   * and the commit point still only ever reflects durable votes.
   */
  private proposeAt(l: Leadership, slot: number, value: LogValue): void {
    const promised = this.acceptor.promised;
    if (!ballotEquals(promised, l.ballot)) throw new Error(`leader ${this.id} proposing at ${l.ballot.round}.${l.ballot.node} while promised ${promised.round}.${promised.node}`);
    this.acceptor.acceptLocally(l.ballot, [{ slot, value }]);
    l.inflight.set(slot, { value, votes: new Set(), sentTick: this.nowTick });
    l.outgoing.push({ slot, value });
    // One change at a time: after its stop-sign this epoch's leader proposes nothing, another change included.
    if (this.isStopSign(value) && !this.rules.twoChangesInFlight) l.stopped = true;
    if (this.isStopSign(value) && this.rules.applyConfigBeforeChosen && value.kind === 'cmd' && value.command.op === 'config') {
      this.earlyEpoch = { next: { epoch: this.membership.epoch + 1, voters: [...value.command.voters].sort((a, b) => a - b), startSlot: slot + 1 }, stopSlot: slot };
    }
    if (this.rules.countVoteBeforeDurable) {
      l.inflight.get(slot)!.votes.add(this.id);
      this.countVotes(slot);
    } else {
      l.unpersistedSelf.push(slot);
    }
  }

  private onSelfAcceptPersisted(ballot: Ballot, slots: readonly number[]): void {
    const l = this.leadership();
    if (l === null || !ballotEquals(ballot, l.ballot)) return;
    for (const slot of slots) {
      const inf = l.inflight.get(slot);
      if (inf === undefined) continue;
      inf.votes.add(this.id);
      this.countVotes(slot);
    }
    this.drainQueue(l);
  }

  private flushLeaderOutgoing(): void {
    const l = this.leadership();
    if (l === null) return;
    if (l.unpersistedSelf.length > 0) {
      this.out.afterPersist = { ballot: l.ballot, slots: l.unpersistedSelf };
      l.unpersistedSelf = [];
    }
    if (l.outgoing.length > 0) {
      const batch = l.outgoing;
      l.outgoing = [];
      for (let i = 0; i < batch.length; i += this.cfg.maxBatchEntries) {
        const chunk = batch.slice(i, i + this.cfg.maxBatchEntries);
        for (const to of this.sendTargets()) this.out.earlyMessages.push(this.acceptMessage(l, to, chunk));
      }
      l.heartbeatDueTick = this.nowTick + this.cfg.heartbeatTicks;
      for (const to of l.commitNotify) if (to !== this.id) this.notifyCommit(l, to);
    } else {
      for (const to of l.commitNotify) this.notifyCommit(l, to);
    }
    l.commitNotify.clear();
  }

  private notifyCommit(l: Leadership, to: NodeId): void {
    const msg: CommitMsg = { type: 'commit', from: this.id, to, epoch: this.membership.epoch, ballot: l.ballot, commitIndex: this.learner.commitIndex };
    this.out.messages.push(msg);
  }

  private onAccepted(m: AcceptedMsg): void {
    const l = this.leadership();
    if (l === null) return;
    if (m.epoch !== this.membership.epoch || !this.countsVote(m.from)) return;
    if (m.commitIndex > Math.max(this.learner.commitIndex, l.decidedFloor)) {
      // This acceptor has seen more chosen than this leader (and may have compacted it, so it will never vote
      // there again): learn those slots from it rather than wait for votes.
      l.decidedFloor = m.commitIndex;
      l.learnFrom = m.from;
      this.learnDecided(l);
    }
    if (!ballotEquals(m.ballot, l.ballot) && !this.rules.countVotesOfAnyBallot) return;
    for (const slot of m.slots) {
      const inf = l.inflight.get(slot);
      if (inf === undefined) continue;
      inf.votes.add(m.from);
      this.countVotes(slot);
    }
    this.drainQueue(l);
  }

  private countVotes(slot: number): void {
    // A stop-sign chosen by an earlier vote of the same message may have ended this leadership already.
    const l = this.leadership();
    if (l === null) return;
    const inf = l.inflight.get(slot);
    if (inf === undefined || inf.votes.size < this.quorum()) return;
    l.inflight.delete(slot);
    if (inf.value.kind === 'cmd') l.undecided.delete(inf.value.id);
    this.learner.choose(slot, inf.value, l.ballot);
    if (inf.value.kind === 'cmd' && inf.value.origin !== this.id) l.commitNotify.add(inf.value.origin);
  }

  private drainQueue(l: Leadership): void {
    while (this.leadership() === l && l.queue.length > 0 && l.inflight.size < this.cfg.maxInflightSlots && !l.stopped) {
      this.proposeAt(l, l.nextSlot++, l.queue.shift()!);
    }
  }

  private onForward(m: ForwardMsg): void {
    if (this.role.kind === 'leader') return this.leaderPropose(this.role.leadership, m.value);
    // A follower relays a learner's command once to the leader it follows; otherwise it drops it, and the origin re-forwards.
    const leader = leaderOf(this.role, this.id);
    if (!m.relayed && leader !== null && leader !== this.id && leader !== m.from) {
      this.out.messages.push({ type: 'forward', from: this.id, to: leader, value: m.value, relayed: true });
    }
  }

  // -------------------------------------------------------------- acceptor

  /** This acceptor promised a higher ballot than anyone it followed or led with: it follows nobody until a leader of that ballot speaks. */
  private promisedHigher(): void {
    if (this.role.kind !== 'follower') this.stepDown();
    this.become(LEADERLESS);
    this.timer.reset();
  }

  /** An accept came from the leader of `ballot`: this replica follows it. */
  private heardLeader(ballot: Ballot, from: NodeId): void {
    if (this.role.kind !== 'follower' && !this.isMyBallot(ballot)) this.stepDown();
    this.followLeader(from);
  }

  private isMyBallot(b: Ballot): boolean {
    return b.node === this.id && ballotOf(this.role)?.round === b.round;
  }

  private followLeader(leader: NodeId): void {
    const changed = leaderOf(this.role, this.id) !== leader;
    // Only a follower gets here: an accept at this replica's own ballot could only come from itself, and never does.
    if (this.role.kind === 'follower') this.become({ kind: 'follower', leader });
    this.timer.heard();
    if (changed) {
      this.out.events.push({ type: 'follower', leader, ballot: this.acceptor.promised });
      this.clients.forwardAll();
    }
  }

  // -------------------------------------------------- snapshots and compaction

  /** A slot this leader still counts votes for was learned chosen another way: nothing is left to count. */
  private forgetInflight(slot: number): void {
    const l = this.leadership();
    const inf = l?.inflight.get(slot);
    if (l === null || inf === undefined) return;
    l.inflight.delete(slot);
    if (inf.value.kind === 'cmd') l.undecided.delete(inf.value.id);
  }

  private compactThrough(slot: number): void {
    if (slot <= this.learner.compactedThrough) return;
    const l = this.leadership();
    if (l !== null) for (const s of [...l.inflight.keys()]) if (s <= slot) this.forgetInflight(s);
    this.acceptor.compactThrough(slot);
    this.learner.compactThrough(slot);
  }

  /** Takes a snapshot's state as this replica's own: the map, the session table, and the commit point after it. */
  private restoreSnapshot(s: MultiSnapshot): void {
    if (s.membership.epoch > this.membership.epoch) this.enterEpoch(s.membership, s.slot);
    this.machine.restore(s);
    this.compactThrough(s.slot);
    this.learner.commitIndex = Math.max(this.learner.commitIndex, s.slot + 1);
  }

  /**
   * Applies a chosen command to the key-value map as the session table rules
   * (once per identity, never after its horizon) and answers the client
   * waiting here, if any, with what that decision means for it.
   */
  private apply(slot: number, value: LogValue, ballot: Ballot | null): void {
    if (value.kind === 'noop') return;
    const verdict = this.machine.apply(slot, value);
    const c = value.command;
    if (c.op === 'config' && verdict.kind === 'duplicate') return this.clients.answerChangeRetry(value, c, verdict.slot, this.membership);
    if (c.op === 'config' && verdict.kind === 'apply') return this.applyConfig(slot, value, c, ballot);
    if (verdict.kind === 'identity-reused') {
      this.out.events.push({ type: 'note', text: `slot ${slot}: command ${value.id} reuses an identity applied at slot ${verdict.slot} for a different command; refused` });
    }
    this.clients.answerApplied(slot, value, verdict, ballot);
  }

  /**
   * A configuration change reached its slot. Naming the current epoch, it is
   * the epoch's stop-sign and the next epoch starts after it; naming an
   * earlier one it is refused (compare-and-set), unless it is the very change
   * this replica already entered by its epoch record before a restart.
   */
  private applyConfig(slot: number, value: CommandValue, c: ConfigCommand, ballot: Ballot | null): void {
    const m = this.membership;
    const current = c.fromEpoch === m.epoch || this.rules.twoChangesInFlight;
    const alreadyIn = c.fromEpoch + 1 === m.epoch && m.startSlot === slot + 1;
    const problem = votersProblem(c.voters);
    if (current && !alreadyIn && problem === null) {
      this.enterEpoch({ epoch: m.epoch + 1, voters: [...c.voters].sort((a, b) => a - b), startSlot: slot + 1 }, slot, { fromEpoch: c.fromEpoch });
      this.out.events.push({ type: 'note', text: `slot ${slot}: configuration change chosen; epoch ${m.epoch + 1} (${c.voters.map((v) => `node-${v}`).join(', ')}) governs from slot ${slot + 1}` });
    }
    this.clients.answerChange(slot, value, c, ballot, { took: current || alreadyIn, problem, epochInForce: m.epoch });
  }

  /** What every part shares: the parts themselves, and the replica's own flow they may start. */
  private context(): Context {
    const self = this;
    return {
      id: this.id, cfg: this.cfg, rules: this.rules, out: this.out,
      now: () => this.nowTick,
      get learner() { return self.learner; },
      get snapshots() { return self.snapshots; },
      get machine() { return self.machine; },
      get clients() { return self.clients; },
      membership: () => this.membership,
      get acceptor() { return self.acceptor; },
      leader: () => leaderOf(this.role, this.id),
      behindEpoch: (from, epoch) => this.behindEpoch(from, epoch),
      answersEpoch: (m) => this.answersEpoch(m),
      hasLiveLeaderOtherThan: (node) => this.hasLiveLeaderOtherThan(node),
      noteRound: (b) => this.noteRound(b),
      promisedHigher: () => this.promisedHigher(),
      heardLeader: (ballot, from) => this.heardLeader(ballot, from),
      forgetInflight: (slot) => this.forgetInflight(slot),
      apply: (slot, value, ballot) => this.apply(slot, value, ballot),
      restore: (s) => this.restoreSnapshot(s),
      compactThrough: (slot) => this.compactThrough(slot),
    };
  }

  /** What the clients part asks of the rest of the replica. */
  private clientsHost(): ClientsHost {
    return {
      id: this.id,
      now: () => this.nowTick,
      commitIndex: () => this.learner.commitIndex,
      promised: () => this.acceptor.promised,
      leads: () => this.role.kind === 'leader',
      routeOf: () => this.routeOf(),
      propose: (value) => {
        if (this.role.kind === 'leader') this.leaderPropose(this.role.leadership, value);
      },
      read: (key) => this.machine.read(key),
      timeoutReason: () => this.timeoutReason(),
    };
  }

  /** Where a client's command goes: proposed here when this replica leads, else to the leader it follows; a learner asks a voter in turn. */
  private routeOf(): 'here' | NodeId | null {
    if (this.role.kind === 'leader') return 'here';
    const leader = leaderOf(this.role, this.id);
    if (leader !== null && leader !== this.id) return leader;
    // A learner, or a replica removed from the configuration, hears from no leader: a voter relays the command.
    if (isVoter(this.membership, this.id)) return null;
    return this.learner.nextOf(this.membership.voters);
  }

  private timeoutReason(): { code: FailureCode; error: string } {
    // A follower hears only from the leader, so its own count says nothing about a majority:
    // while it hears a live leader, the leader is what it waited for, not a missing quorum.
    const leader = leaderOf(this.role, this.id);
    const waitedForLeader = { code: 'timeout' as const, error: `timed out waiting for node-${leader} to decide` };
    if (this.role.kind === 'follower' && leader !== null && this.timer.leaderRecent()) return waitedForLeader;
    return this.liveness.timeoutReason({
      nowTick: this.nowTick, clusterSize: this.membership.voters.length, quorum: this.rules.quorumOf(this.membership.voters.length, this.membership.voters.length),
      otherwise: leader === null ? { code: 'no-leader', error: 'timed out: no leader elected yet' } : waitedForLeader,
    });
  }

  // ------------------------------------------------------------ inspection

  view(): NodeView {
    const { accepted, lastAcceptedSlot } = this.acceptor;
    const last = accepted.get(lastAcceptedSlot);
    return {
      id: this.id,
      protocol: 'multi',
      role: this.role.kind,
      leader: leaderOf(this.role, this.id),
      promised: this.acceptor.promised,
      lastAccepted: last ? { instance: String(lastAcceptedSlot), ballot: last.ballot, value: formatLogValue(last.value) } : null,
      chosenCount: this.learner.compactedThrough + this.learner.chosen.size,
      commitIndex: this.learner.commitIndex,
      membership: this.membership,
      member: this.memberKind(),
    };
  }

  private memberKind(): 'voter' | 'learner' | 'removed' {
    if (isVoter(this.membership, this.id)) return 'voter';
    return this.previousVoters.includes(this.id) || this.cfg.voters.includes(this.id) ? 'removed' : 'learner';
  }

  /** Read-only internals for the simulator's checkers and `paxos status`. */
  inspect(): {
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
  } {
    return {
      membership: this.membership,
      round: this.round, promised: this.acceptor.promised, accepted: this.acceptor.accepted, chosen: this.learner.chosen,
      commitIndex: this.learner.commitIndex, compactedThrough: this.learner.compactedThrough, kv: this.machine.kv, pendingRequests: this.clients.size, sessionEntries: this.machine.sessions.size(),
    };
  }
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
