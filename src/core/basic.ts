/**
 * Basic Paxos as a pure state machine: every key is its own single-decree
 * instance and every replica is proposer, acceptor and learner (as in the 003
 * article). Once a key is chosen it never changes; a later proposal for it
 * learns and reports the chosen value. Rejected rounds retry with a higher
 * ballot after a randomized backoff, so duelling proposers do not livelock.
 */
import { Ballot, ballotAtLeast, ballotEquals, ballotGreater, compareBallots, ZERO_BALLOT } from './ballot.js';
import type {
  BasicAcceptedMsg,
  BasicAcceptMsg,
  BasicCatchupMsg,
  BasicDecideMsg,
  BasicLearnMsg,
  BasicMessage,
  BasicPrepareMsg,
  BasicPromiseMsg,
  BasicRecord,
  BasicRejectMsg,
} from './basic-messages.js';
import { peersOf, type ResolvedConfig, requiredQuorum, resolveConfig } from './config.js';
import { PeerLiveness } from './liveness.js';
import { Outbox } from './outbox.js';
import { Random } from './random.js';
import {
  type ClientRequest,
  type CoreConfig,
  type FailureCode,
  failure,
  type Input,
  type NodeId,
  type NodeView,
  type ProtocolCore,
  type Ready,
} from './types.js';

type Accepted = { readonly ballot: Ballot; readonly value: string };

export interface BasicDurableState {
  round: number;
  promised: Map<string, Ballot>;
  accepted: Map<string, Accepted>;
  /** Insertion order is the order this node learned keys in; peers page through it when catching up. */
  chosen: Map<string, { value: string; ballot: Ballot | null }>;
  /** The highest promise of a chosen key whose promise was compacted away. */
  promisedAtLeast: Ballot;
}

export function emptyBasicState(): BasicDurableState {
  return { round: 0, promised: new Map(), accepted: new Map(), chosen: new Map(), promisedAtLeast: ZERO_BALLOT };
}

export function recoverBasic(records: Iterable<BasicRecord>): BasicDurableState {
  const state = emptyBasicState();
  for (const r of records) applyBasicRecord(state, r);
  return state;
}

export function applyBasicRecord(state: BasicDurableState, r: BasicRecord): void {
  switch (r.t) {
    case 'round':
      state.round = Math.max(state.round, r.round);
      if (r.promisedAtLeast !== undefined && ballotGreater(r.promisedAtLeast, state.promisedAtLeast))
        state.promisedAtLeast = r.promisedAtLeast;
      return;
    case 'promise':
      raisePromise(state.promised, r.key, r.ballot);
      return;
    case 'accept':
      raisePromise(state.promised, r.key, r.ballot);
      state.accepted.set(r.key, { ballot: r.ballot, value: r.value });
      return;
    case 'chosen':
      if (!state.chosen.has(r.key)) state.chosen.set(r.key, { value: r.value, ballot: r.ballot });
      return;
  }
}

function raisePromise(promised: Map<string, Ballot>, key: string, ballot: Ballot): void {
  const cur = promised.get(key);
  if (cur === undefined || ballotGreater(ballot, cur)) promised.set(key, ballot);
}

interface Waiter {
  readonly requestId: string;
  readonly op: 'set' | 'get';
  readonly value: string | null;
  readonly deadlineTick: number;
  /** Set once an accept carrying this waiter's own value left: from then on its value may be chosen. */
  sent: boolean;
}

/** One proposer's attempt to get a value chosen for one key. */
interface Proposal {
  readonly key: string;
  readonly waiters: Waiter[];
  phase: 'prepare' | 'accept' | 'backoff';
  ballot: Ballot;
  promises: Map<NodeId, Accepted | null>;
  value: string | null;
  accepts: Set<NodeId>;
  attempts: number;
  roundTrips: number;
  phaseStartTick: number;
  retryAtTick: number;
}

/** Basic Paxos here is one write-once register per key over fixed acceptors: a change of acceptors would need a log to order it in. */
export const BASIC_NO_MEMBERSHIP =
  'membership change needs --protocol multi: Basic Paxos here is one write-once register per key with a fixed set of acceptors';

export class BasicPaxos implements ProtocolCore<BasicMessage, BasicRecord> {
  readonly id: NodeId;
  private readonly cfg: ResolvedConfig;
  private readonly peers: readonly NodeId[];
  private readonly random: Random;
  private readonly out = new Outbox<BasicMessage, BasicRecord>();
  private nowTick = 0;
  private round: number;
  private maxSeenRound: number;
  private readonly promised: Map<string, Ballot>;
  private readonly accepted: Map<string, Accepted>;
  private readonly chosen: Map<string, { value: string; ballot: Ballot | null }>;
  private readonly chosenOrder: string[] = [];
  private lastAccepted: { key: string; ballot: Ballot; value: string } | null = null;
  private readonly proposals = new Map<string, Proposal>();
  /** The highest promise over all keys, kept as promises are made: what `view()` shows. */
  private highestPromised: Ballot = ZERO_BALLOT;
  /** The highest promise among chosen keys whose promises a compaction dropped: part of what `view()` shows. */
  private promisedAtLeast: Ballot = ZERO_BALLOT;
  private readonly catchupCursor = new Map<NodeId, number>();
  /** Keys learned since the log was last compacted; at `snapshotEverySlots` the log is rewritten. */
  private learnedSinceCompaction = 0;
  private readonly liveness: PeerLiveness;

  constructor(config: CoreConfig, recovered: BasicDurableState = emptyBasicState()) {
    this.cfg = resolveConfig(config);
    this.id = this.cfg.id;
    this.peers = peersOf(this.cfg);
    this.liveness = new PeerLiveness(this.peers, this.cfg.electionTimeoutTicks);
    this.random = new Random(this.cfg.randomSeed);
    this.round = this.cfg.bugs.reuseBallotAfterRestart ? 0 : recovered.round;
    this.promised = recovered.promised;
    this.accepted = recovered.accepted;
    this.chosen = recovered.chosen;
    this.chosenOrder.push(...this.chosen.keys());
    this.promisedAtLeast = recovered.promisedAtLeast;
    this.highestPromised = recovered.promisedAtLeast;
    let maxRound = Math.max(this.round, this.promisedAtLeast.round);
    for (const b of this.promised.values()) maxRound = Math.max(maxRound, b.round);
    this.maxSeenRound = this.cfg.bugs.reuseBallotAfterRestart ? 0 : maxRound;
    for (const b of this.promised.values()) if (ballotGreater(b, this.highestPromised)) this.highestPromised = b;
  }

  step(input: Input<BasicMessage>): void {
    switch (input.type) {
      case 'tick':
        return this.tick();
      case 'request':
        return this.onRequest(input.request);
      case 'message':
        return this.onMessage(input.message);
      case 'persisted':
        return; // Basic Paxos never asks for it: its proposer waits for its own acceptor like any other.
    }
  }

  ready(): Ready<BasicMessage, BasicRecord> {
    if (this.learnedSinceCompaction >= this.cfg.snapshotEverySlots) this.compact();
    return this.out.take();
  }

  /**
   * Rewrites the log to what the state needs: the round, each open key's
   * promise and accepted value, each chosen key's value. Read after every
   * step of this Ready, so none of its records is left out. Basic Paxos has
   * no separate snapshot: its chosen records are the state.
   */
  private compact(): void {
    this.learnedSinceCompaction = 0;
    // A chosen key's promise and vote are of no use any more: tellChosen answers every later prepare and accept.
    // The highest of those promises is kept, so the acceptor's highest promise never appears to go down.
    for (const key of this.chosen.keys()) {
      const b = this.promised.get(key);
      if (b !== undefined && ballotGreater(b, this.promisedAtLeast)) this.promisedAtLeast = b;
      this.promised.delete(key);
      this.accepted.delete(key);
    }
    const records: BasicRecord[] = [{ t: 'round', round: this.round, promisedAtLeast: this.promisedAtLeast }];
    for (const [key, ballot] of this.promised) records.push({ t: 'promise', key, ballot });
    for (const [key, a] of this.accepted) records.push({ t: 'accept', key, ballot: a.ballot, value: a.value });
    for (const key of this.chosenOrder) {
      const c = this.chosen.get(key)!;
      records.push({ t: 'chosen', key, value: c.value, ballot: c.ballot });
    }
    this.out.checkpoint = { snapshot: [], records };
    this.out.events.push({
      type: 'note',
      text: `log compacted: ${this.chosen.size} chosen keys, ${this.promised.size} open`,
    });
  }

  private onMessage(m: BasicMessage): void {
    if (m.to !== this.id || m.from === this.id)
      throw new Error(`node ${this.id} was handed a message for ${m.to} from ${m.from}`);
    this.liveness.heard(m.from, this.nowTick);
    switch (m.type) {
      case 'prepare':
        return this.onPrepare(m);
      case 'promise':
        return this.onPromise(m);
      case 'accept':
        return this.onAccept(m);
      case 'accepted':
        return this.onAccepted(m);
      case 'reject':
        return this.onReject(m);
      case 'decide':
        return this.onDecide(m);
      case 'catchup':
        return this.onCatchup(m);
      case 'learn':
        return this.onLearn(m);
    }
  }

  private tick(): void {
    this.nowTick++;
    for (const p of [...this.proposals.values()]) this.tickProposal(p);
    if (this.nowTick % (2 * this.cfg.heartbeatTicks) === 0 && this.peers.length > 0) this.askPeerForChosen();
  }

  private tickProposal(p: Proposal): void {
    this.expireWaiters(p);
    if (p.waiters.length === 0) {
      this.proposals.delete(p.key);
    } else if (p.phase === 'backoff') {
      if (this.nowTick >= p.retryAtTick) this.startRound(p);
    } else if (this.nowTick - p.phaseStartTick >= this.cfg.electionTimeoutTicks * 2 ** Math.min(p.attempts, 3)) {
      // The wait for a phase grows with each failed attempt, as the backoff does: on a network whose
      // round trip is longer than one timeout (slow disks, `paxos net --delay 10-200ms`) a fixed wait
      // would abandon every round just before its answers arrive.
      // Messages were lost or a majority is unreachable: try again with a higher ballot.
      this.retryLater(p);
    }
  }

  private expireWaiters(p: Proposal): void {
    for (let i = p.waiters.length - 1; i >= 0; i--) {
      const w = p.waiters[i]!;
      if (this.nowTick < w.deadlineTick) continue;
      p.waiters.splice(i, 1);
      const why = this.timeoutReason();
      // A read changes nothing, and a value that never left in an accept cannot be chosen: both are refused.
      this.out.replies.push(
        failure(
          w.sent
            ? {
                requestId: w.requestId,
                outcome: 'unknown',
                code: why.code,
                error: `${why.error}; ${w.value} was sent to the acceptors and may still be chosen`,
              }
            : {
                requestId: w.requestId,
                outcome: 'refused',
                code: why.code,
                error: `${why.error}; ${w.op === 'set' ? `${w.value} was not chosen` : 'nothing was read'}`,
              },
        ),
      );
    }
  }

  private timeoutReason(): { code: FailureCode; error: string } {
    return this.liveness.timeoutReason({
      nowTick: this.nowTick,
      clusterSize: this.cfg.clusterSize,
      quorum: requiredQuorum(this.cfg, this.cfg.clusterSize),
      otherwise: { code: 'timeout', error: 'timed out: duelling proposers kept pre-empting each other' },
    });
  }

  private quorum(): number {
    return requiredQuorum(this.cfg, this.liveness.count(this.nowTick));
  }

  // -------------------------------------------------------------- proposer

  private onRequest(req: ClientRequest): void {
    const c = req.command;
    if (c.op === 'config') {
      this.out.replies.push(
        failure({ requestId: req.requestId, outcome: 'refused', code: 'config-invalid', error: BASIC_NO_MEMBERSHIP }),
      );
      return;
    }
    if (c.op === 'register') {
      // Every Basic key is its own write-once instance: a retry can only learn the chosen value, so there are no sessions.
      this.out.replies.push(
        failure({
          requestId: req.requestId,
          outcome: 'refused',
          code: 'config-invalid',
          error: 'Basic Paxos has no client sessions: each key is decided once, and a retry learns the chosen value',
        }),
      );
      return;
    }
    const known = this.chosen.get(c.key);
    if (known !== undefined) {
      this.replyChosen(
        {
          requestId: req.requestId,
          op: c.op,
          value: c.op === 'set' ? c.value : null,
          deadlineTick: this.nowTick,
          sent: false,
        },
        c.key,
        known.value,
        known.ballot ?? ZERO_BALLOT,
        0,
      );
      return;
    }
    const timeoutTicks = Math.min(req.timeoutTicks ?? this.cfg.requestTimeoutTicks, this.cfg.maxRequestTimeoutTicks);
    const waiter: Waiter = {
      requestId: req.requestId,
      op: c.op,
      value: c.op === 'set' ? c.value : null,
      deadlineTick: this.nowTick + timeoutTicks,
      sent: false,
    };
    const existing = this.proposals.get(c.key);
    if (existing !== undefined) {
      // Joining a round already in phase 2 with this very value: it may be chosen from now on.
      if (existing.phase === 'accept' && existing.value === waiter.value) waiter.sent = true;
      existing.waiters.push(waiter);
      return;
    }
    if (this.proposals.size >= this.cfg.maxPendingRequests) {
      this.out.replies.push(
        failure({
          requestId: req.requestId,
          outcome: 'refused',
          code: 'overloaded',
          error: `node-${this.id} has ${this.proposals.size} proposals open; try again later`,
        }),
      );
      return;
    }
    const p: Proposal = {
      key: c.key,
      waiters: [waiter],
      phase: 'backoff',
      ballot: ZERO_BALLOT,
      promises: new Map(),
      value: null,
      accepts: new Set(),
      attempts: 0,
      roundTrips: 0,
      phaseStartTick: this.nowTick,
      retryAtTick: this.nowTick,
    };
    this.proposals.set(c.key, p);
    this.startRound(p);
  }

  /** Phase 1 with a ballot this node has never used: a round above every round it has seen. */
  private startRound(p: Proposal): void {
    this.round = Math.max(this.round, this.maxSeenRound) + 1;
    this.maxSeenRound = this.round;
    this.out.persist.push({ t: 'round', round: this.round });
    const ballot = Ballot(this.round, this.id);
    Object.assign(p, {
      phase: 'prepare',
      ballot,
      promises: new Map(),
      accepts: new Set(),
      value: null,
      phaseStartTick: this.nowTick,
    });
    p.roundTrips++;
    const self = this.promiseLocally(p.key, ballot);
    if (self === 'rejected') return this.preempted(p, this.promised.get(p.key) ?? ZERO_BALLOT);
    this.out.events.push({ type: 'phase1', ballot, instance: p.key });
    for (const to of this.peers) this.out.messages.push({ type: 'prepare', from: this.id, to, key: p.key, ballot });
    p.promises.set(this.id, self);
    this.maybeStartPhase2(p);
  }

  /** The proposer's own acceptor answers its prepare like any other, persisted in the same Ready. */
  private promiseLocally(key: string, ballot: Ballot): Accepted | null | 'rejected' {
    const promised = this.promised.get(key) ?? ZERO_BALLOT;
    if (!ballotAtLeast(ballot, promised)) return 'rejected';
    if (ballotGreater(ballot, promised)) {
      this.promised.set(key, ballot);
      this.notePromise(ballot);
      this.out.persist.push({ t: 'promise', key, ballot });
    }
    return this.accepted.get(key) ?? null;
  }

  private onPromise(m: BasicPromiseMsg): void {
    const p = this.proposals.get(m.key);
    if (p === undefined || p.phase !== 'prepare' || !ballotEquals(m.ballot, p.ballot)) return;
    p.promises.set(m.from, m.accepted);
    this.maybeStartPhase2(p);
  }

  /**
   * With promises from a quorum, propose the value of the highest accepted
   * ballot among them, or our own. A read that finds nothing accepted anywhere
   * in a quorum may answer "nothing chosen yet": no majority can have accepted a value.
   */
  private maybeStartPhase2(p: Proposal): void {
    if (p.promises.size < this.quorum()) return;
    const best = this.cfg.bugs.ignoreAcceptedValues ? null : highestAccepted(p.promises);
    const own = p.waiters.find((w) => w.op === 'set')?.value ?? null;
    const value = best?.value ?? own;
    if (value === null) return this.finishRead(p);
    p.phase = 'accept';
    p.value = value;
    p.phaseStartTick = this.nowTick;
    p.roundTrips++;
    this.out.events.push({
      type: 'phase2',
      ballot: p.ballot,
      instance: p.key,
      value,
      valueId: value,
      quorum: [...p.promises.keys()],
      adopted: best !== null,
    });
    // The proposer's own acceptor goes first: it may have promised a higher ballot since it promised this
    // one, and then it rejects like any other acceptor would. The round is already lost, so sending the
    // accepts anyway would only cost 2(n-1) messages and let the peers accept a value of a ballot its own
    // proposer has given up on.
    if (!this.acceptLocally(p.key, p.ballot, value)) return this.preempted(p, this.promised.get(p.key) ?? ZERO_BALLOT);
    for (const to of this.peers)
      this.out.messages.push({ type: 'accept', from: this.id, to, key: p.key, ballot: p.ballot, value });
    for (const w of p.waiters) if (w.value === value) w.sent = true;
    p.accepts.add(this.id);
    this.maybeDecide(p);
  }

  private finishRead(p: Proposal): void {
    this.proposals.delete(p.key);
    for (const w of p.waiters) {
      this.out.replies.push({
        requestId: w.requestId,
        ok: true,
        op: 'get',
        key: p.key,
        value: null,
        ballot: p.ballot,
        roundTrips: p.roundTrips,
      });
    }
  }

  private onAccepted(m: BasicAcceptedMsg): void {
    const p = this.proposals.get(m.key);
    if (p === undefined || p.phase !== 'accept' || !ballotEquals(m.ballot, p.ballot)) return;
    p.accepts.add(m.from);
    this.maybeDecide(p);
  }

  private maybeDecide(p: Proposal): void {
    if (p.accepts.size < this.quorum()) return;
    const value = p.value!;
    this.learn(p.key, value, p.ballot);
    for (const to of this.peers)
      this.out.messages.push({ type: 'decide', from: this.id, to, key: p.key, ballot: p.ballot, value });
  }

  private onReject(m: BasicRejectMsg): void {
    if (m.promised.round > this.maxSeenRound) this.maxSeenRound = m.promised.round;
    const p = this.proposals.get(m.key);
    if (p === undefined || p.phase === 'backoff' || !ballotEquals(m.ballot, p.ballot)) return;
    this.preempted(p, m.promised);
  }

  private preempted(p: Proposal, by: Ballot): void {
    this.out.events.push({ type: 'preempted', ballot: p.ballot, by, instance: p.key });
    this.retryLater(p);
  }

  /** Randomized, growing backoff before the next round; without it duelling proposers can pre-empt each other forever. */
  private retryLater(p: Proposal): void {
    p.attempts++;
    if (!this.cfg.backoff) return this.startRound(p);
    const windowTicks = this.cfg.backoffTicks * 2 ** Math.min(p.attempts - 1, 3);
    const ticks = this.random.int(1, windowTicks);
    p.phase = 'backoff';
    p.retryAtTick = this.nowTick + ticks;
    this.out.events.push({ type: 'backoff', ticks, instance: p.key });
  }

  // -------------------------------------------------------------- acceptor

  private onPrepare(m: BasicPrepareMsg): void {
    if (this.tellChosen(m.key, m.from)) return;
    const promised = this.promised.get(m.key) ?? ZERO_BALLOT;
    if (!ballotAtLeast(m.ballot, promised)) return this.reject(m.from, m.key, m.ballot, promised);
    this.noteRound(m.ballot);
    const accepted = this.promiseLocally(m.key, m.ballot) as Accepted | null;
    const reply: BasicPromiseMsg = {
      type: 'promise',
      from: this.id,
      to: m.from,
      key: m.key,
      ballot: m.ballot,
      accepted,
    };
    this.out.messages.push(reply);
  }

  private onAccept(m: BasicAcceptMsg): void {
    if (this.tellChosen(m.key, m.from)) return;
    this.noteRound(m.ballot);
    if (!this.acceptLocally(m.key, m.ballot, m.value)) {
      return this.reject(m.from, m.key, m.ballot, this.promised.get(m.key) ?? ZERO_BALLOT);
    }
    const reply: BasicAcceptedMsg = { type: 'accepted', from: this.id, to: m.from, key: m.key, ballot: m.ballot };
    this.out.messages.push(reply);
  }

  /** Accept iff the ballot is at least the promise (Lamport), raising the promise to it. */
  private acceptLocally(key: string, ballot: Ballot, value: string): boolean {
    const promised = this.promised.get(key) ?? ZERO_BALLOT;
    if (!ballotAtLeast(ballot, promised) && !this.cfg.bugs.acceptBelowPromised) return false;
    if (ballotGreater(ballot, promised)) {
      this.promised.set(key, ballot);
      this.notePromise(ballot);
    }
    this.accepted.set(key, { ballot, value });
    this.lastAccepted = { key, ballot, value };
    this.out.persist.push({ t: 'accept', key, ballot, value });
    return true;
  }

  private notePromise(ballot: Ballot): void {
    if (ballotGreater(ballot, this.highestPromised)) this.highestPromised = ballot;
  }

  private reject(to: NodeId, key: string, ballot: Ballot, promised: Ballot): void {
    const msg: BasicRejectMsg = { type: 'reject', from: this.id, to, key, ballot, promised };
    this.out.messages.push(msg);
  }

  /** An acceptor that already knows the outcome answers with it, so a late proposer learns in one round trip. */
  private tellChosen(key: string, to: NodeId): boolean {
    const c = this.chosen.get(key);
    if (c === undefined) return false;
    const msg: BasicDecideMsg = { type: 'decide', from: this.id, to, key, ballot: c.ballot, value: c.value };
    this.out.messages.push(msg);
    return true;
  }

  private noteRound(b: Ballot): void {
    if (b.round > this.maxSeenRound) this.maxSeenRound = b.round;
  }

  // --------------------------------------------------------------- learner

  private onDecide(m: BasicDecideMsg): void {
    this.learn(m.key, m.value, m.ballot);
  }

  /** Learns a chosen value and answers every client waiting on the key. A second, different value is a safety bug. */
  private learn(key: string, value: string, ballot: Ballot | null): void {
    const known = this.chosen.get(key);
    if (known !== undefined && known.value !== value) {
      throw new Error(`agreement broken at node ${this.id}: key ${key} chosen as ${known.value} and ${value}`);
    }
    if (known === undefined) {
      this.chosen.set(key, { value, ballot });
      this.chosenOrder.push(key);
      this.learnedSinceCompaction++;
      // Strict, unlike Multi-Paxos: no leader re-proposes a forgotten key, so if the only learner
      // lost this record nobody would learn the outcome until someone asked (the simulator found it).
      this.out.persist.push({ t: 'chosen', key, value, ballot });
      this.out.chosen.push({ instance: key, value, valueId: value, ballot });
    }
    const p = this.proposals.get(key);
    if (p === undefined) return;
    this.proposals.delete(key);
    for (const w of p.waiters) this.replyChosen(w, key, value, ballot ?? p.ballot, p.roundTrips);
  }

  private replyChosen(w: Waiter, key: string, chosen: string, ballot: Ballot, roundTrips: number): void {
    this.out.replies.push({
      requestId: w.requestId,
      ok: true,
      op: w.op,
      key,
      value: chosen,
      ballot,
      roundTrips,
      ...(w.op === 'set' ? { alreadyChosen: w.value !== chosen } : {}),
    });
  }

  /** Anti-entropy: replicas that were down or missed a decide learn from a random peer, a page at a time. */
  private askPeerForChosen(): void {
    const to = this.random.pick(this.peers);
    const msg: BasicCatchupMsg = { type: 'catchup', from: this.id, to, fromIndex: this.catchupCursor.get(to) ?? 0 };
    this.out.messages.push(msg);
  }

  private onCatchup(m: BasicCatchupMsg): void {
    if (m.fromIndex >= this.chosenOrder.length) return;
    const keys = this.chosenOrder.slice(m.fromIndex, m.fromIndex + this.cfg.maxBatchEntries);
    const entries = keys.map((key) => ({
      key,
      value: this.chosen.get(key)!.value,
      ballot: this.chosen.get(key)!.ballot,
    }));
    const reply: BasicLearnMsg = {
      type: 'learn',
      from: this.id,
      to: m.from,
      entries,
      nextIndex: m.fromIndex + entries.length,
    };
    this.out.messages.push(reply);
  }

  private onLearn(m: BasicLearnMsg): void {
    for (const e of m.entries) this.learn(e.key, e.value, e.ballot);
    this.catchupCursor.set(m.from, Math.max(this.catchupCursor.get(m.from) ?? 0, m.nextIndex));
    if (m.entries.length >= this.cfg.maxBatchEntries) {
      this.out.messages.push({ type: 'catchup', from: this.id, to: m.from, fromIndex: m.nextIndex });
    }
  }

  // ------------------------------------------------------------ inspection

  view(): NodeView {
    const promised = this.highestPromised;
    const active = [...this.proposals.values()].some((p) => p.phase !== 'backoff');
    return {
      id: this.id,
      protocol: 'basic',
      role: active ? 'proposer' : 'acceptor',
      leader: null,
      promised,
      lastAccepted: this.lastAccepted
        ? { instance: this.lastAccepted.key, ballot: this.lastAccepted.ballot, value: this.lastAccepted.value }
        : null,
      chosenCount: this.chosen.size,
    };
  }

  inspect(): {
    readonly round: number;
    readonly promised: ReadonlyMap<string, Ballot>;
    readonly accepted: ReadonlyMap<string, Accepted>;
    readonly chosen: ReadonlyMap<string, { value: string; ballot: Ballot | null }>;
    readonly openProposals: number;
  } {
    return {
      round: this.round,
      promised: this.promised,
      accepted: this.accepted,
      chosen: this.chosen,
      openProposals: this.proposals.size,
    };
  }
}

function highestAccepted(promises: ReadonlyMap<NodeId, Accepted | null>): Accepted | null {
  let best: Accepted | null = null;
  for (const a of promises.values())
    if (a !== null && (best === null || compareBallots(a.ballot, best.ballot) > 0)) best = a;
  return best;
}
