/**
 * Multi-Paxos as a pure state machine: a replicated log of commands applied to
 * a key-value map. A leader runs phase 1 once for every open slot, then only
 * phase 2 (one round trip per batch of values), pipelined. Heartbeats and
 * election timeouts are tick inputs; randomness comes from a seed. No I/O.
 *
 * The Ready contract: everything in `ready().persist` must be durable before
 * any message or reply of the same Ready leaves the process.
 */
import { Ballot, ballotEquals, ballotGreater } from '../ballot.js';
import { resolveConfig, type ResolvedConfig } from '../config.js';
import { bootstrapMembership, isVoter, succeeding, votersProblem, type Membership } from '../membership.js';
import {
  formatLogValue,
  type CommandValue,
  type ForwardMsg,
  type LogValue,
  type MultiMessage,
  type MultiRecord,
  type PromiseMsg,
  type RejectMsg,
  valueId,
} from './messages.js';
import type { MultiSnapshot } from './snapshot-parts.js';
import { emptyMultiState, retainedRecords, type MultiDurableState } from './durable.js';
import { PeerLiveness } from '../liveness.js';
import { Rounds, victoryOf, type Phase1 } from './candidate.js';
import { Leadership } from './leader.js';
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

  private readonly rounds: Rounds;
  /** What the parts share; built once. */
  private readonly ctx: Context;
  private readonly acceptor: Acceptor;

  // Learner state: rebuilt from the chosen records on restart.
  private readonly machine: KvMachine;
  private readonly learner: Learner;
  private readonly snapshots: Snapshots;

  // Volatile roles and timers.
  private role: Role = LEADERLESS;
  private readonly timer: ElectionTimer;
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
    const ctx = (this.ctx = this.context());
    this.learner = new Learner(ctx);
    this.snapshots = new Snapshots(ctx);
    this.acceptor = new Acceptor(ctx, recovered);
    this.rounds = new Rounds(recovered.round, this.acceptor.promised.round, this.rules);
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
    this.leadership()?.flush();
    if (this.earlyEpoch !== null) {
      this.enterEpoch(this.earlyEpoch.next, this.earlyEpoch.stopSlot, { appliedThrough: this.learner.commitIndex - 1 });
      this.earlyEpoch = null;
    }
    if (this.learner.commitIndex - 1 - this.learner.compactedThrough >= this.cfg.snapshotEverySlots) this.snapshots.take();
    // The records that survive compaction are read here, after every step of this Ready, so none of its own is left out.
    if (this.snapshots.toWrite !== null) {
      this.out.checkpoint = {
        snapshot: this.snapshots.toWrite,
        records: retainedRecords({ round: this.rounds.round, promised: this.acceptor.promised, membership: this.membership, accepted: this.acceptor.accepted, chosen: this.learner.chosen, compactedThrough: this.learner.compactedThrough }),
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
        return this.leadership()?.onAccepted(m);
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
      this.role.leadership.tick();
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
      for (const to of this.peers) wasLeader.notifyCommit(to, stopSlot + 1);
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
    const round = this.rounds.next(this.rules.reuseBallotAfterRestart ? 0 : this.acceptor.promised.round);
    const ballot = Ballot(round, this.id);
    this.out.persist.push({ t: 'round', round });
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

  /** Phase 1 won: this replica leads from where the promises of its quorum say, re-proposing what they must. */
  private becomeLeader(c: Phase1): void {
    const v = victoryOf(c, this.rules, (value) => this.isStopSign(value));
    const commitIndex = this.learner.commitIndex;
    const leadership = new Leadership(this.ctx, {
      ballot: c.ballot,
      nextSlot: Math.max(v.maxSlot + 1, commitIndex, v.decidedFloor),
      decidedFloor: v.decidedFloor,
      learnFrom: v.decidedFloor > commitIndex ? v.decided.node : null,
      stopped: v.stopSlot !== null,
    });
    this.become({ kind: 'leader', leadership });
    for (const peer of c.promises.keys()) this.liveness.heard(peer, this.nowTick);
    const epoch = this.membership.epoch;
    this.out.events.push({ type: 'leader', ballot: c.ballot, epoch, fromSlot: c.fromSlot, quorum: [...c.promises.keys()] });
    leadership.learnDecided();
    const quorum = [...c.promises.keys()];
    for (let slot = v.decidedFloor; slot <= v.maxSlot; slot++) {
      const found = v.adopted.get(slot);
      const value = found ? found.value : NOOP;
      this.out.events.push({
        type: 'phase2', ballot: c.ballot, instance: String(slot), value: formatLogValue(value),
        valueId: valueId(value), quorum, adopted: found !== undefined, epoch,
      });
      leadership.proposeAt(slot, value);
    }
    this.clients.forwardAll();
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

  private onReject(m: RejectMsg): void {
    this.rounds.note(m.promised);
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

  private leaderHasQuorumContact(): boolean {
    return this.liveness.count(this.nowTick) >= this.rules.quorumOf(this.membership.voters.length, this.membership.voters.length);
  }

  private onSelfAcceptPersisted(ballot: Ballot, slots: readonly number[]): void {
    const l = this.leadership();
    if (l === null || !ballotEquals(ballot, l.ballot)) return;
    l.onPersisted(slots);
  }

  private onForward(m: ForwardMsg): void {
    if (this.role.kind === 'leader') return this.role.leadership.propose(m.value);
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
    this.leadership()?.forget(slot);
  }

  private compactThrough(slot: number): void {
    if (slot <= this.learner.compactedThrough) return;
    this.leadership()?.forgetThrough(slot);
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
      noteRound: (b) => this.rounds.note(b),
      promisedHigher: () => this.promisedHigher(),
      heardLeader: (ballot, from) => this.heardLeader(ballot, from),
      hasQuorumContact: () => this.leaderHasQuorumContact(),
      stepDown: () => this.stepDown(),
      sendTargets: () => this.sendTargets(),
      countsVote: (from) => this.countsVote(from),
      quorum: () => this.quorum(),
      isStopSign: (value) => this.isStopSign(value),
      enterEarly: (next, stopSlot) => {
        this.earlyEpoch = { next, stopSlot };
      },
      leads: (l) => this.leadership() === l,
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
        if (this.role.kind === 'leader') this.role.leadership.propose(value);
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
      round: this.rounds.round, promised: this.acceptor.promised, accepted: this.acceptor.accepted, chosen: this.learner.chosen,
      commitIndex: this.learner.commitIndex, compactedThrough: this.learner.compactedThrough, kv: this.machine.kv, pendingRequests: this.clients.size, sessionEntries: this.machine.sessions.size(),
    };
  }
}
