/**
 * Multi-Paxos as a pure state machine: a replicated log of commands applied to
 * a key-value map. A leader runs phase 1 once for every open slot, then only
 * phase 2 (one round trip per batch of values), pipelined. Heartbeats and
 * election timeouts are tick inputs; randomness comes from a seed. No I/O.
 *
 * The Ready contract: everything in `ready().persist` must be durable before
 * any message or reply of the same Ready leaves the process.
 *
 * This class routes inputs to the part whose job they are and holds the one
 * role (role.ts), changed only by `become`. It also runs the flow that
 * crosses parts, written once here: a slot chosen (learner.ts) is applied
 * (kv-machine.ts), a stop-sign among them enters the next epoch (epochs.ts),
 * and the client waiting on it is answered (clients.ts). The other parts:
 * acceptor.ts (phase 1 and 2 answers), candidate.ts (rounds, what a winner
 * starts from), leader.ts (phase 2), snapshots.ts, durable.ts (recovery and
 * compaction records), rules.ts (what the planted bugs bend).
 */
import { Ballot, ballotEquals, ballotGreater, formatBallot } from '../ballot.js';
import { type ResolvedConfig, resolveConfig } from '../config.js';
import { isVoter, type Membership, votersProblem } from '../membership.js';
import { Outbox } from '../outbox.js';
import { Random } from '../random.js';
import { Acceptor } from './acceptor.js';
import { type Phase1, Rounds, victoryOf } from './candidate.js';
import { Clients } from './clients.js';
import type { Context } from './context.js';
import { emptyMultiState, type MultiDurableState, retainedRecords } from './durable.js';
import { Epochs } from './epochs.js';
import { KvMachine } from './kv-machine.js';
import { Leadership } from './leader.js';
import { Learner } from './learner.js';
import {
  type CommandValue,
  formatLogValue,
  type LogValue,
  type MultiMessage,
  type MultiRecord,
  type PromiseMsg,
  type RejectMsg,
} from './messages.js';
import { ballotOf, ElectionTimer, LEADERLESS, leaderOf, type Role } from './role.js';
import { type Rules, rulesOf } from './rules.js';
import type { MultiSnapshot } from './snapshot-parts.js';

export { FIRST_SLOT } from './learner.js';

import type { ConfigCommand, CoreConfig, Input, NodeId, NodeView, ProtocolCore, Ready } from '../types.js';
import { Snapshots } from './snapshots.js';

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

export class MultiPaxos implements ProtocolCore<MultiMessage, MultiRecord> {
  readonly id: NodeId;
  private readonly cfg: ResolvedConfig;
  /** Every rule a planted bug can break, consulted by name. */
  private readonly rules: Rules;
  private readonly epochs: Epochs;
  /** Set when this replica entered an epoch in which it should campaign at once (a clean hand-over); acted on in `ready()`. */
  private electionDue = false;
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
  private readonly clients: Clients;

  constructor(config: CoreConfig, recovered: MultiDurableState = emptyMultiState()) {
    this.cfg = resolveConfig(config);
    this.rules = rulesOf(this.cfg);
    this.id = this.cfg.id;
    const ctx = (this.ctx = this.context());
    this.epochs = new Epochs(ctx, recovered.membership);
    this.random = new Random(this.cfg.randomSeed);
    this.machine = new KvMachine(
      { maxSessions: this.cfg.maxSessions, horizonSlots: this.cfg.sessionHorizonSlots },
      this.rules,
    );
    this.clients = new Clients(ctx);
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
      if (this.epochs.canVote() && this.role.kind !== 'leader') this.startElection();
    }
    this.leadership()?.flush();
    if (this.earlyEpoch !== null) {
      this.enterEpoch(this.earlyEpoch.next, this.earlyEpoch.stopSlot, { appliedThrough: this.learner.commitIndex - 1 });
      this.earlyEpoch = null;
    }
    if (this.learner.commitIndex - 1 - this.learner.compactedThrough >= this.cfg.snapshotEverySlots)
      this.snapshots.take();
    // The records that survive compaction are read here, after every step of this Ready, so none of its own is left out.
    if (this.snapshots.toWrite !== null) {
      this.out.checkpoint = {
        snapshot: this.snapshots.toWrite,
        records: retainedRecords({
          round: this.rounds.round,
          promised: this.acceptor.promised,
          membership: this.epochs.membership,
          accepted: this.acceptor.accepted,
          chosen: this.learner.chosen,
          compactedThrough: this.learner.compactedThrough,
        }),
      };
      this.snapshots.toWrite = null;
    }
    return this.out.take();
  }

  private onMessage(m: MultiMessage): void {
    if (m.to !== this.id || m.from === this.id)
      throw new Error(`node ${this.id} was handed a message for ${m.to} from ${m.from}`);
    this.epochs.liveness.heard(m.from, this.nowTick);
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
        return this.clients.onForward(m);
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
    } else if (this.epochs.mayCampaign()) {
      if (this.timer.tick()) this.startElection();
    } else if (this.learner.catchupDue(2)) {
      this.learner.pollForLog();
    }
    if (this.nowTick % this.cfg.heartbeatTicks === 0) this.clients.retry();
  }

  // ---------------------------------------------------------------- epochs

  /**
   * Applies the stop-sign chosen at `stopSlot`: epoch `next` governs every
   * slot after it. Votes and values this replica holds above the stop-sign
   * belong to the ended epoch, which decides nothing there: they are dropped,
   * and an epoch record says so on disk before anything of the new epoch is sent.
   */
  private enterEpoch(
    next: Membership,
    stopSlot: number,
    o: { appliedThrough?: number; fromEpoch?: number } = {},
  ): void {
    const wasLeader = this.leadership();
    const oldLeader = leaderOf(this.role, this.id);
    if (wasLeader !== null) {
      // The old voters learn at once that the stop-sign is chosen; without it they would wait for a heartbeat that never comes.
      for (const to of this.epochs.peers) wasLeader.notifyCommit(to, stopSlot + 1);
    }
    this.epochs.enter(next);
    this.acceptor.dropAbove(stopSlot);
    this.learner.dropAbove(stopSlot);
    this.out.persist.push({ t: 'epoch', membership: this.epochs.membership });
    this.become(LEADERLESS);
    this.timer.reset();
    this.out.events.push({
      type: 'epoch',
      epoch: next.epoch,
      fromEpoch: o.fromEpoch ?? next.epoch - 1,
      voters: next.voters,
      startSlot: next.startSlot,
      appliedThrough: o.appliedThrough ?? stopSlot,
    });
    // A clean hand-over: the old leader, if it stays, campaigns at once; if it left, the lowest new voter does.
    const lowest = Math.min(...next.voters);
    if (
      isVoter(next, this.id) &&
      (wasLeader !== null || ((oldLeader === null || !isVoter(next, oldLeader)) && this.id === lowest))
    )
      this.electionDue = true;
  }

  // ------------------------------------------------------------- elections

  /** The only place the role changes. */
  private become(next: Role): void {
    this.role = next;
  }

  private leadership(): Leadership | null {
    return this.role.kind === 'leader' ? this.role.leadership : null;
  }

  /** Phase 1 for every slot this node has not seen chosen, with a ballot it has never used. */
  private startElection(): void {
    const round = this.rounds.next(this.rules.reuseBallotAfterRestart ? 0 : this.acceptor.promised.round);
    const ballot = Ballot(round, this.id);
    this.out.persist.push({ t: 'round', round });
    this.acceptor.promiseOwn(ballot);
    const fromSlot = this.learner.commitIndex;
    this.become({
      kind: 'candidate',
      phase1: {
        ballot,
        fromSlot,
        promises: new Map([[this.id, { accepted: this.acceptor.acceptedFrom(fromSlot), commitIndex: fromSlot }]]),
      },
    });
    this.timer.reset();
    this.out.events.push({ type: 'phase1', ballot });
    const epoch = this.epochs.membership.epoch;
    for (const to of this.epochs.sendTargets())
      this.out.messages.push({ type: 'prepare', from: this.id, to, epoch, ballot, fromSlot });
    // Contacts outside this replica's configuration mean the cluster may have moved on without it (its voters removed
    // and stopped, so nobody answers to say so): it also asks them for the log.
    if (this.cfg.contacts.some((c) => !this.epochs.membership.voters.includes(c)) && this.learner.catchupDue(2))
      this.learner.pollForLog();
    this.maybeWinElection();
  }

  /** A live, healthy leader other than the sender makes this node ignore a prepare (leader stickiness). */
  private hasLiveLeaderOtherThan(node: NodeId): boolean {
    if (this.role.kind === 'leader') return this.epochs.hasQuorumContact();
    const leader = leaderOf(this.role, this.id);
    return leader !== null && leader !== node && this.timer.leaderRecent();
  }

  private onPromise(m: PromiseMsg): void {
    if (this.role.kind !== 'candidate') return;
    const c = this.role.phase1;
    if (!ballotEquals(m.ballot, c.ballot)) return;
    if (m.epoch !== this.epochs.membership.epoch || !this.epochs.countsVote(m.from)) return;
    c.promises.set(m.from, { accepted: m.accepted, commitIndex: m.commitIndex });
    this.maybeWinElection();
  }

  private maybeWinElection(): void {
    if (this.role.kind !== 'candidate') return;
    const c = this.role.phase1;
    if (c.promises.size < this.epochs.quorum()) return;
    this.becomeLeader(c);
  }

  /** Phase 1 won: this replica leads from where the promises of its quorum say, re-proposing what they must. */
  private becomeLeader(c: Phase1): void {
    const v = victoryOf(c, this.rules, (value) => this.epochs.isStopSign(value));
    const commitIndex = this.learner.commitIndex;
    const leadership = new Leadership(this.ctx, {
      ballot: c.ballot,
      nextSlot: Math.max(v.maxSlot + 1, commitIndex, v.decidedFloor),
      decidedFloor: v.decidedFloor,
      learnFrom: v.decidedFloor > commitIndex ? v.decided.node : null,
      stopSlot: v.stopSlot,
    });
    this.become({ kind: 'leader', leadership });
    for (const peer of c.promises.keys()) this.epochs.liveness.heard(peer, this.nowTick);
    const epoch = this.epochs.membership.epoch;
    this.out.events.push({
      type: 'leader',
      ballot: c.ballot,
      epoch,
      fromSlot: c.fromSlot,
      quorum: [...c.promises.keys()],
    });
    leadership.learnDecided();
    leadership.repropose(v, [...c.promises.keys()]);
    this.clients.forwardAll();
  }

  private stepDown(): void {
    if (this.role.kind !== 'follower')
      this.out.events.push({ type: 'follower', leader: null, ballot: this.acceptor.promised });
    this.become(LEADERLESS);
    this.timer.reset();
  }

  private onReject(m: RejectMsg): void {
    this.rounds.note(m.promised);
    const { epoch } = this.epochs.membership;
    if (m.epoch > epoch) {
      // My epoch has ended elsewhere: stop leading in it and learn the log up to its stop-sign.
      if (this.role.kind !== 'follower') this.stepDown();
      this.epochs.behind(m.from, m.epoch);
      return;
    }
    if (m.epoch < epoch) return;
    const mine = ballotOf(this.role);
    if (mine === null || !ballotEquals(m.ballot, mine) || !ballotGreater(m.promised, mine)) return;
    this.out.events.push({ type: 'preempted', ballot: mine, by: m.promised });
    if (this.role.kind === 'leader' && this.epochs.hasQuorumContact()) {
      // A leader still in touch with a majority that meets one higher promise (typically a replica back from
      // isolation, whose failed elections ran its ballot up) prepares again above it at once, rather than
      // leaving the whole cluster leaderless until an election timeout.
      this.startElection();
      return;
    }
    this.stepDown();
  }

  // ---------------------------------------------------------------- leader

  private onSelfAcceptPersisted(ballot: Ballot, slots: readonly number[]): void {
    const l = this.leadership();
    if (l === null || !ballotEquals(ballot, l.ballot)) return;
    l.onPersisted(slots);
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
    this.stepDownIfSnapshotCoversOwnVotes(s.slot);
    if (s.membership.epoch > this.epochs.membership.epoch) this.enterEpoch(s.membership, s.slot);
    this.machine.restore(s);
    this.compactThrough(s.slot);
    this.learner.commitIndex = Math.max(this.learner.commitIndex, s.slot + 1);
  }

  /**
   * A snapshot says slots are chosen without saying which values. A leader
   * whose own votes at its ballot lie in slots it did not know chosen cannot
   * tell whether those values are the chosen ones, so its commit point would
   * no longer vouch for its followers' votes: it steps down instead.
   */
  private stepDownIfSnapshotCoversOwnVotes(snapshotSlot: number): void {
    const l = this.leadership();
    if (l === null) return;
    for (const [slot, a] of this.acceptor.accepted) {
      if (slot < this.learner.commitIndex || slot > snapshotSlot || !ballotEquals(a.ballot, l.ballot)) continue;
      this.out.events.push({
        type: 'note',
        text: `a snapshot through slot ${snapshotSlot} covers votes of ${formatBallot(l.ballot)} not known chosen; stepping down`,
      });
      this.stepDown();
      return;
    }
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
    if (c.op === 'config' && verdict.kind === 'duplicate')
      return this.clients.answerChangeRetry(value, c, verdict.slot, this.epochs.membership);
    if (c.op === 'config' && verdict.kind === 'apply') return this.applyConfig(slot, value, c, ballot);
    if (verdict.kind === 'identity-reused') {
      this.out.events.push({
        type: 'note',
        text: `slot ${slot}: command ${value.id} reuses an identity applied at slot ${verdict.slot} for a different command; refused`,
      });
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
    const m = this.epochs.membership;
    // A slot below the current epoch's stop-sign was judged under an earlier configuration when it was first applied,
    // and what that did is in the configuration chain already (a restart replays such slots): judging it again against
    // today's configuration would let one log give two histories of epochs (Stoppable Paxos: the chosen prefix alone decides).
    if (slot + 1 < m.startSlot) return this.clients.answerChangeRetry(value, c, slot, m);
    const current = c.fromEpoch === m.epoch || this.rules.twoChangesInFlight;
    const alreadyIn = c.fromEpoch + 1 === m.epoch && m.startSlot === slot + 1;
    const problem = votersProblem(c.voters);
    if (current && !alreadyIn && problem === null) {
      this.enterEpoch({ epoch: m.epoch + 1, voters: [...c.voters].sort((a, b) => a - b), startSlot: slot + 1 }, slot, {
        fromEpoch: c.fromEpoch,
      });
      this.out.events.push({
        type: 'note',
        text: `slot ${slot}: configuration change chosen; epoch ${m.epoch + 1} (${c.voters.map((v) => `node-${v}`).join(', ')}) governs from slot ${slot + 1}`,
      });
    }
    this.clients.answerChange(slot, value, c, ballot, { took: current || alreadyIn, problem, epochInForce: m.epoch });
  }

  /** What every part shares: the parts themselves, and the replica's own flow they may start. */
  private context(): Context {
    const self = this;
    return {
      id: this.id,
      cfg: this.cfg,
      rules: this.rules,
      out: this.out,
      now: () => this.nowTick,
      get learner() {
        return self.learner;
      },
      get snapshots() {
        return self.snapshots;
      },
      get machine() {
        return self.machine;
      },
      get clients() {
        return self.clients;
      },
      get epochs() {
        return self.epochs;
      },
      get acceptor() {
        return self.acceptor;
      },
      leader: () => leaderOf(this.role, this.id),
      leadership: () => this.leadership(),
      hearsLiveLeader: () => this.role.kind === 'follower' && this.role.leader !== null && this.timer.leaderRecent(),
      hasLiveLeaderOtherThan: (node) => this.hasLiveLeaderOtherThan(node),
      noteRound: (b) => this.rounds.note(b),
      promisedHigher: () => this.promisedHigher(),
      heardLeader: (ballot, from) => this.heardLeader(ballot, from),
      stepDown: () => this.stepDown(),
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
      lastAccepted: last
        ? { instance: String(lastAcceptedSlot), ballot: last.ballot, value: formatLogValue(last.value) }
        : null,
      chosenCount: this.learner.compactedThrough + this.learner.chosen.size,
      commitIndex: this.learner.commitIndex,
      membership: this.epochs.membership,
      member: this.epochs.memberKind(),
    };
  }

  /** Read-only internals for the simulator's checkers and `paxos status`. */
  inspect(): MultiInspection {
    return {
      membership: this.epochs.membership,
      round: this.rounds.round,
      promised: this.acceptor.promised,
      accepted: this.acceptor.accepted,
      chosen: this.learner.chosen,
      commitIndex: this.learner.commitIndex,
      compactedThrough: this.learner.compactedThrough,
      kv: this.machine.kv,
      pendingRequests: this.clients.size,
      sessionEntries: this.machine.sessions.size(),
    };
  }
}
