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
 * acceptor.ts (phase 1 and 2 answers), candidate.ts (campaigns: rounds,
 * promises, what a winner starts from), follower.ts (following and stepping
 * down), leader.ts (phase 2), snapshots.ts, durable.ts (recovery and
 * compaction records), rules.ts (what the planted bugs bend), inspection.ts
 * (what a replica shows of itself).
 */
import type { Ballot } from '../ballot.js';
import { type ResolvedConfig, resolveConfig } from '../config.js';
import { isVoter, type Membership, votersProblem } from '../membership.js';
import { Outbox } from '../outbox.js';
import { Random } from '../random.js';
import type { ConfigCommand, CoreConfig, Input, NodeId, NodeView, ProtocolCore, Ready } from '../types.js';
import { nodeName } from '../types.js';
import { Acceptor } from './acceptor.js';
import { Candidate, Rounds } from './candidate.js';
import { Clients } from './clients.js';
import type { Context } from './context.js';
import { emptyMultiState, type MultiDurableState } from './durable.js';
import { Epochs } from './epochs.js';
import { Follower } from './follower.js';
import { type InspectedParts, inspectionOf, type MultiInspection, viewOf } from './inspection.js';
import { KvMachine } from './kv-machine.js';
import type { Leadership } from './leader.js';
import { Learner } from './learner.js';
import type { CommandValue, LogValue, MultiMessage, MultiRecord } from './messages.js';
import { Recovery } from './recovery.js';
import { ElectionTimer, LEADERLESS, leaderOf, type Role, type RoleSeat } from './role.js';
import { type Rules, rulesOf } from './rules.js';
import type { MultiSnapshot } from './snapshot-parts.js';
import { Snapshots } from './snapshots.js';

export type { MultiInspection } from './inspection.js';
export { FIRST_SLOT } from './learner.js';

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
  private readonly out = new Outbox<MultiMessage, MultiRecord>();
  private nowTick = 0;

  private readonly acceptor: Acceptor;

  // Learner state: rebuilt from the chosen records on restart.
  private readonly machine: KvMachine;
  private readonly learner: Learner;
  private readonly snapshots: Snapshots;

  // Volatile roles and timers.
  private role: Role = LEADERLESS;
  private readonly timer: ElectionTimer;
  private readonly candidate: Candidate;
  private readonly follower: Follower;
  private readonly clients: Clients;
  private readonly recovery: Recovery;

  constructor(config: CoreConfig, recovered: MultiDurableState = emptyMultiState()) {
    this.cfg = resolveConfig(config);
    this.rules = rulesOf(this.cfg);
    this.id = this.cfg.id;
    const ctx = this.context();
    this.epochs = new Epochs(ctx, recovered.membership);
    this.machine = new KvMachine(
      { maxSessions: this.cfg.maxSessions, horizonSlots: this.cfg.sessionHorizonSlots },
      this.rules,
    );
    this.clients = new Clients(ctx);
    this.learner = new Learner(ctx);
    this.snapshots = new Snapshots(ctx);
    this.acceptor = new Acceptor(ctx, recovered);
    const rounds = new Rounds(recovered.round, this.acceptor.promised.round, this.rules);
    this.timer = new ElectionTimer(new Random(this.cfg.randomSeed), this.cfg.electionTimeoutTicks);
    const seat = this.seat();
    this.candidate = new Candidate(ctx, seat, this.timer, rounds);
    this.follower = new Follower(ctx, seat, this.timer);
    this.recovery = this.recoveryFrom(ctx, config, recovered);
    for (const [slot, c] of recovered.chosen) this.learner.chosen.set(slot, c);
    if (recovered.snapshot !== null) this.restoreSnapshot(recovered.snapshot);
    // The log ends before the epoch its snapshot opened (durable.ts): the boundary goes on disk before any vote of it.
    if (recovered.epochOnlyInSnapshot) this.out.persist.push({ t: 'epoch', membership: this.epochs.membership });
    this.learner.advance();
  }

  /** A replica started on a fresh disk after losing its own begins recovery; one that began it before goes on with it. */
  private recoveryFrom(ctx: Context, config: CoreConfig, recovered: MultiDurableState): Recovery {
    // Its own generator: drawing from the election timer's would move every timeout of a seed.
    const nonce = new Random(this.cfg.randomSeed).int(1, 2 ** 31 - 1);
    if (config.recoverLostDisk !== true || recovered.recovery !== null)
      return new Recovery(ctx, recovered.recovery, nonce);
    const fresh = recovered.accepted.size === 0 && recovered.chosen.size === 0 && recovered.snapshot === null;
    if (!fresh || recovered.promised.round !== 0)
      throw new Error(
        `node ${this.id}: recovery of a lost disk must start on an empty one, and this one holds records`,
      );
    return Recovery.begin(ctx, nonce);
  }

  // ---------------------------------------------------------------- inputs

  step(input: Input<MultiMessage>): void {
    this.learner.resumeAfterInstall();
    switch (input.type) {
      case 'tick':
        return this.tick();
      case 'request':
        return this.clients.onRequest(input.request);
      case 'message':
        return this.onMessage(input.message);
      case 'persisted':
        return this.leadership()?.onPersisted(input.note.ballot, input.note.slots);
    }
  }

  ready(): Ready<MultiMessage, MultiRecord> {
    if (this.electionDue) {
      this.electionDue = false;
      if (this.epochs.canVote() && this.role.kind !== 'leader') this.candidate.startElection();
    }
    this.leadership()?.flush();
    if (this.earlyEpoch !== null) {
      this.enterEpoch(this.earlyEpoch.next, this.earlyEpoch.stopSlot, { appliedThrough: this.learner.commitIndex - 1 });
      this.earlyEpoch = null;
    }
    this.snapshots.takeIfDue();
    // The records that survive compaction are read here, after every step of this Ready, so none of its own is left out.
    const checkpoint = this.snapshots.checkpoint(this.candidate.rounds.round);
    if (checkpoint !== null) this.out.checkpoint = checkpoint;
    return this.out.take();
  }

  private onMessage(m: MultiMessage): void {
    if (m.to !== this.id || m.from === this.id)
      throw new Error(`node ${this.id} was handed a message for ${m.to} from ${m.from}`);
    this.epochs.liveness.heard(m.from, this.nowTick);
    // A replica that lost its disk lost the rounds it campaigned with too, and answers nothing until re-admitted; the
    // rounds it sees meanwhile (leaders' heartbeats and commits, candidates' prepares, any promise or rejection) put its
    // first campaign after re-admission above them, so voters that promised those rounds do not refuse it. A ballot it
    // used before the loss and nobody saw may come again: it belonged to an epoch the re-admission closed, and a ballot
    // names a candidacy within one epoch (messages carry their epoch; voters answer only their own).
    if (this.recovery.recovering && 'ballot' in m) this.noteRoundRecovering(m.ballot);
    switch (m.type) {
      case 'prepare':
        return this.acceptor.onPrepare(m);
      case 'promise':
        return this.candidate.onPromise(m);
      case 'accept':
        return this.acceptor.onAccept(m);
      case 'accepted':
        return this.leadership()?.onAccepted(m);
      case 'reject':
        return this.candidate.onReject(m);
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

  /**
   * Durably, since a crash while recovering loses what is only in memory and the next incarnation may learn its
   * re-admission by catch-up alone, seeing no ballot at all: the record only ever raises the round it campaigns above.
   */
  private noteRoundRecovering(b: Ballot): void {
    const rounds = this.candidate.rounds;
    if (b.round <= rounds.round) return;
    rounds.round = b.round;
    rounds.note(b);
    this.out.persist.push({ t: 'round', round: b.round });
  }

  private tick(): void {
    this.nowTick++;
    this.epochs.tick();
    if (this.role.kind === 'leader') {
      this.role.leadership.tick();
    } else if (this.epochs.mayCampaign()) {
      if (this.timer.tick()) this.candidate.startElection();
    } else if (this.learner.catchupDue(2)) {
      this.learner.pollForLog();
    }
    if (this.nowTick % this.cfg.heartbeatTicks === 0) this.clients.retry();
    this.recovery.tick(this.epochs.membership, this.epochs.knowsLaterEpoch());
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
    o: { appliedThrough?: number; fromEpoch?: number; recordedByCheckpoint?: boolean } = {},
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
    if (o.recordedByCheckpoint !== true) this.out.persist.push({ t: 'epoch', membership: this.epochs.membership });
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

  /** The role as the parts that change it see it. */
  private seat(): RoleSeat {
    const self = this;
    return {
      get role() {
        return self.role;
      },
      become: (next) => this.become(next),
    };
  }

  private leadership(): Leadership | null {
    return this.role.kind === 'leader' ? this.role.leadership : null;
  }

  // -------------------------------------------------- snapshots and compaction

  private compactThrough(slot: number): void {
    if (slot <= this.learner.compactedThrough) return;
    this.leadership()?.forgetThrough(slot);
    this.acceptor.compactThrough(slot);
    this.learner.compactThrough(slot);
  }

  /** Takes a snapshot's state as this replica's own: the map, the session table, and the commit point after it. */
  private restoreSnapshot(s: MultiSnapshot): void {
    this.leadership()?.stepDownIfSnapshotCoversOwnVotes(s.slot);
    // The snapshot's checkpoint carries its epoch (its retained records say it too), and a Ready writes its records
    // before its checkpoint: an epoch record in this Ready could reach the disk without the snapshot whose stop-sign
    // opens the epoch. Wide-run seed 3031588 (6 replicas): node-5 installed node-4's snapshot through the stop-sign at
    // #7, crashed between the two writes, and restarted in epoch 1 unable to reach #7; node-4, the only other holder,
    // then lost its disk, and with two replicas recovering no phase 1 of epoch 0 could choose #7 again. What is sent
    // after an install waits for its checkpoint, so the new epoch is still on disk before anything of it leaves.
    if (s.membership.epoch > this.epochs.membership.epoch)
      this.enterEpoch(s.membership, s.slot, { recordedByCheckpoint: !this.rules.epochRecordAheadOfInstall });
    this.machine.restore(s);
    this.recovery.onSnapshotRestored(this.epochs.membership, this.machine.sessions.entries().applied);
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
    if (c.op === 'config' && verdict.kind === 'duplicate')
      return this.clients.answerChangeRetry(value, c, verdict.slot, this.epochs.membership);
    if (c.op === 'config' && verdict.kind === 'apply') return this.applyConfig(slot, value, c, ballot);
    if (verdict.kind === 'identity-reused') {
      this.out.events.push({ type: 'identity-reused', slot, id: value.id, appliedAt: verdict.slot });
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
    if (slot + 1 < m.startSlot && !this.rules.rejudgeConfigOnReplay)
      return this.clients.answerChangeRetry(value, c, slot, m);
    const current = c.fromEpoch === m.epoch || this.rules.twoChangesInFlight;
    const alreadyIn = c.fromEpoch + 1 === m.epoch && m.startSlot === slot + 1;
    const problem = votersProblem(c.voters);
    if (current && !alreadyIn && problem === null) {
      this.enterEpoch({ epoch: m.epoch + 1, voters: [...c.voters].sort((a, b) => a - b), startSlot: slot + 1 }, slot, {
        fromEpoch: c.fromEpoch,
      });
      this.out.events.push({
        type: 'note',
        text: `slot ${slot}: configuration change chosen; epoch ${m.epoch + 1} (${c.voters.map((v) => nodeName(v)).join(', ')}) governs from slot ${slot + 1}`,
      });
      this.recovery.onEpochOpened(value, m.epoch + 1);
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
      get recovery() {
        return self.recovery;
      },
      leader: () => leaderOf(this.role, this.id),
      leadership: () => this.leadership(),
      hearsLiveLeader: () => this.follower.hearsLiveLeader(),
      hasLiveLeaderOtherThan: (node) => this.follower.hasLiveLeaderOtherThan(node),
      noteRound: (b) => this.candidate.rounds.note(b),
      promisedHigher: () => this.follower.promisedHigher(),
      heardLeader: (ballot, from) => this.follower.heardLeader(ballot, from),
      stepDown: () => this.follower.stepDown(),
      enterEarly: (next, stopSlot) => {
        this.earlyEpoch = { next, stopSlot };
      },
      leads: (l) => this.leadership() === l,
      forgetInflight: (slot) => this.leadership()?.forget(slot),
      apply: (slot, value, ballot) => this.apply(slot, value, ballot),
      restore: (s) => this.restoreSnapshot(s),
      compactThrough: (slot) => this.compactThrough(slot),
    };
  }

  // ------------------------------------------------------------ inspection

  view(): NodeView {
    return viewOf(this.parts());
  }

  /** Read-only internals for the simulator's checkers and `paxos status`. */
  inspect(): MultiInspection {
    return inspectionOf(this.parts());
  }

  private parts(): InspectedParts {
    const { id, role, acceptor, learner, epochs, machine, clients } = this;
    const recovering = this.recovery.recovering;
    return { id, role, round: this.candidate.rounds.round, acceptor, learner, epochs, machine, clients, recovering };
  }
}
