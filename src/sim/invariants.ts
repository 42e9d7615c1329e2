/**
 * The simulator's per-step checkers. They keep "ghost" state the cores never
 * see (every promise and accept any node ever sent, every ballot any proposer
 * ever used) and check each step against it, because end-to-end agreement
 * alone catches few bugs: most planted bugs break a local rule long before
 * two learners disagree.
 */
import type { Ballot } from '../core/ballot.js';
import { must } from '../core/must.js';
import type { ChosenValue, CoreEvent, NodeId } from '../core/types.js';
import { ALL_INSTANCES, type ProtocolAdapter, type SimCore, type ValueAt } from './adapter.js';

export class InvariantViolation extends Error {}

/*
 * The checker's own majority and ballot order, written out plainly and on
 * purpose not imported from the cores: a wrong majority or a wrong order in
 * the code under test must not blind the checks that judge it.
 */

/** The smallest number of acceptors that is more than half of the cluster. */
export function majorityOf(clusterSize: number): number {
  let need = 0;
  while (need * 2 <= clusterSize) need++;
  return need;
}

/** Ballots order by round, then by node id. */
function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return 0;
}

const nodeName = (id: NodeId) => `node-${id}`;
const formatBallot = (b: Ballot) => `${b.round}.${b.node}`;

type PerNode<T> = Map<NodeId, Map<string, T>>;

function getOrCreate<T>(map: PerNode<T>, node: NodeId): Map<string, T> {
  let inner = map.get(node);
  if (inner === undefined) {
    inner = new Map();
    map.set(node, inner);
  }
  return inner;
}

function raise(map: Map<string, Ballot>, key: string, b: Ballot): void {
  const cur = map.get(key);
  if (cur === undefined || compareBallots(b, cur) > 0) map.set(key, b);
}

const name = nodeName;
const bs = formatBallot;

/** One configuration as the replicas that entered it reported it. */
interface EpochSeen {
  readonly voters: readonly NodeId[];
  readonly startSlot: number;
  readonly reportedBy: NodeId;
}

/** The slot an instance names (Multi instances are `slot` in epoch 0 and `slot@epoch` after). */
export function slotOf(instance: string): number {
  return Number.parseInt(instance, 10);
}

/** The epoch a Multi instance belongs to (`slot@epoch`, or epoch 0). */
function epochOfInstance(instance: string): number {
  const at = instance.indexOf('@');
  return at < 0 ? 0 : Number.parseInt(instance.slice(at + 1), 10);
}

/** What the commit-point check reads of a message: its type, and the epoch a Multi leader's message carries. */
interface LeaderNotice {
  readonly type: string;
  readonly epoch?: number;
}

export class InvariantChecker<M> {
  /** Chosen value per instance, learned anywhere: agreement and stability. */
  readonly chosen = new Map<string, string>();
  private readonly proposed = new Set<string>();
  private readonly lastBallotUsed = new Map<NodeId, Ballot>();
  private readonly promiseGiven: PerNode<Ballot> = new Map();
  private readonly acceptedGiven: PerNode<Ballot> = new Map();
  private readonly promisedInMemory: PerNode<Ballot> = new Map();
  private readonly promiseContents = new Map<string, Map<string, ValueAt>>();
  private readonly valueOfBallot = new Map<string, string>();
  private readonly acceptedInMemory: PerNode<Ballot> = new Map();
  /** Ghost state of each node's disk: the highest promise it holds durably, per instance. */
  private readonly durablePromise: PerNode<Ballot> = new Map();
  /** Ghost state of each node's disk: every (ballot, value) it ever durably accepted, per instance. */
  private readonly durableAccepts = new Map<string, Map<string, Set<NodeId>>>();
  /** Instances chosen by definition: a majority durably accepted one value at one ballot (the lowest such ballot). */
  readonly chosenByDefinition = new Map<string, ValueAt>();
  private readonly commitChecked = new Map<NodeId, number>();
  /** Multi: the ballots that proposed at each instance, with their values (`ballot|instance` keys of `valueOfBallot`, by instance). */
  private readonly proposalsAt = new Map<string, Map<string, string>>();
  /**
   * Multi: per ballot (`ballot@epoch`), the lowest slot where a value it proposed lost to another one chosen there. Its
   * leader's commit point may never pass it: a commit point vouches for every vote of its ballot below it.
   */
  private readonly lostSlotOf = new Map<string, number>();
  /**
   * Multi: every configuration, by epoch, as reported by the first replica
   * that entered it (the others must agree); epoch 0 is the first one. Two
   * quorums that can decide one slot both belong to the epoch governing it,
   * so checking every quorum against its epoch's voters checks that they intersect.
   */
  private readonly epochs = new Map<number, EpochSeen>();
  /** Multi: the epoch each ballot was used in; a ballot belongs to one candidacy, so to one epoch. */
  private readonly epochOfBallot = new Map<string, number>();
  /** Ballots whose use left their node (a message sent, a Ready released): a crash can no longer undo them. */
  private readonly ballotsOut = new Set<string>();
  /** Multi: replicas that lost their disk and recover, with the latest epoch any replica had entered at the loss. */
  private readonly lostDiskInEpoch = new Map<NodeId, number>();
  /** Multi: configuration commands by value id: what each proposed change asked for. */
  private readonly configs = new Map<string, { readonly fromEpoch: number; readonly voters: readonly NodeId[] }>();

  constructor(
    private readonly adapter: ProtocolAdapter<M>,
    private readonly clusterSize: number,
  ) {
    this.epochs.set(0, { voters: Array.from({ length: clusterSize }, (_, i) => i + 1), startSlot: 1, reportedBy: 0 });
  }

  private get multi(): boolean {
    return this.adapter.protocol === 'multi';
  }

  /** A Multi instance of `epoch`: chosen values and votes of different epochs at one slot are different instances. */
  private inst(slot: number | string, epoch: number): string {
    return epoch === 0 || !this.multi ? String(slot) : `${slot}@${epoch}`;
  }

  /** The instance a Multi vote at `ballot` is for; a Basic instance is its key and stays as it is. */
  private byBallot(instance: string, ballot: Ballot): string {
    return this.multi ? this.inst(slotOf(instance), this.epochOfBallot.get(bs(ballot)) ?? 0) : instance;
  }

  /** The epoch that governs `slot` as far as any replica has reported the configurations. */
  governingEpoch(slot: number): number {
    let best = 0;
    for (const [epoch, e] of this.epochs) if (e.startSlot <= slot && epoch > best) best = epoch;
    return best;
  }

  /** The instance that decides what is applied at `slot`. */
  liveInstance(slot: number): string {
    return this.inst(slot, this.governingEpoch(slot));
  }

  /** The latest configuration any replica has entered. */
  latestMembership(): { epoch: number; voters: readonly NodeId[]; startSlot: number } {
    const epoch = Math.max(...this.epochs.keys());
    const e = must(this.epochs.get(epoch), 'the largest key of the epochs is one of them');
    return { epoch, voters: e.voters, startSlot: e.startSlot };
  }

  /** The value chosen at each slot in its governing epoch, and the configurations: what the snapshot checker replays. */
  liveChosen(): {
    get(slot: string): ValueAt | undefined;
    membershipAt(slot: number): { epoch: number; voters: readonly NodeId[]; startSlot: number };
  } {
    return {
      get: (slot) => this.chosenByDefinition.get(this.liveInstance(Number(slot))),
      membershipAt: (slot) => {
        const epoch = this.governingEpoch(slot);
        const e = must(this.epochs.get(epoch), 'the governing epoch is one of the epochs seen, 0 at least');
        return { epoch, voters: e.voters, startSlot: e.startSlot };
      },
    };
  }

  /** How many slots are chosen in the epoch that governs them (values an epoch chose after its stop-sign are not applied anywhere). */
  liveChosenCount(): number {
    let n = 0;
    for (const instance of this.chosen.keys()) if (instance === this.liveInstance(slotOf(instance))) n++;
    return n;
  }

  private votersOf(epoch: number, what: string): readonly NodeId[] {
    const e = this.epochs.get(epoch);
    if (e === undefined) this.fail(`${what} in epoch ${epoch}, which no replica has entered`);
    return e.voters;
  }

  /**
   * What a client is told must be true: a change answered ok at `slot` took
   * effect, so the replica that answered (which has applied it) reported
   * entering the epoch it opened, from the next slot, with those voters.
   */
  onChangeAcknowledged(node: NodeId, change: { fromEpoch: number; voters: readonly NodeId[] }, slot: number): void {
    const e = this.epochs.get(change.fromEpoch + 1);
    const voters = [...change.voters].sort((a, b) => a - b).join(',');
    if (e === undefined || e.startSlot !== slot + 1 || e.voters.join(',') !== voters) {
      this.fail(
        `${name(node)} told a client its change of epoch ${change.fromEpoch} to ${voters} took effect at slot ${slot}, but epoch ${change.fromEpoch + 1} is ${e === undefined ? 'unknown' : `${e.voters.join(',')} from slot ${e.startSlot}`}`,
      );
    }
  }

  /** Multi: a configuration change was proposed; its id says what it asked for. */
  noteConfigProposed(valueId: string, change: { fromEpoch: number; voters: readonly NodeId[] }): void {
    this.configs.set(valueId, change);
  }

  /**
   * `out`: the use has left the node. A use that has not (a lone voter wins in
   * the step it starts, and may crash before its round is on disk) may be
   * made again after a restart, in another epoch: only then is it replaced.
   */
  private noteBallotEpoch(ballot: Ballot, epoch: number, node: NodeId, out: boolean): void {
    const known = this.epochOfBallot.get(bs(ballot));
    const wasOut = this.ballotsOut.has(bs(ballot));
    if (out) this.ballotsOut.add(bs(ballot));
    const lostIn = ballot.node === node ? this.lostDiskInEpoch.get(node) : undefined;
    const afterLoss = lostIn !== undefined && known !== undefined && known <= lostIn && epoch > lostIn;
    if (known !== undefined && known !== epoch && wasOut && !afterLoss)
      this.fail(`${name(node)} used ballot ${bs(ballot)} in epoch ${epoch}, and it was already used in epoch ${known}`);
    this.epochOfBallot.set(bs(ballot), epoch);
  }

  /**
   * A promise or an accepted reply counts in epoch E's quorums: only a voter
   * of E may send one, and only once it has applied the stop-sign opening E
   * (a new replica catches up before it votes; a removed one never votes again).
   */
  private checkVoter(
    node: NodeId,
    m: { readonly type: string; readonly epoch: number; readonly commitIndex: number },
  ): void {
    const e = this.epochs.get(m.epoch);
    if (e === undefined) this.fail(`${name(node)} sent ${m.type} in epoch ${m.epoch}, which no replica has entered`);
    if (!e.voters.includes(node))
      this.fail(`${name(node)} sent ${m.type} in epoch ${m.epoch}, whose voters are ${e.voters.map(name).join(', ')}`);
    if (m.commitIndex < e.startSlot) {
      this.fail(
        `${name(node)} sent ${m.type} in epoch ${m.epoch} having applied only through slot ${m.commitIndex - 1}; the epoch starts at slot ${e.startSlot}`,
      );
    }
  }

  private fail(text: string): never {
    throw new InvariantViolation(text);
  }

  /** Validity: a value may be chosen only if some client proposed it (or it is a Multi-Paxos no-op). */
  noteProposed(instanceOrAny: string, valueId: string): void {
    this.proposed.add(this.adapter.protocol === 'multi' ? valueId : `${instanceOrAny}\u0000${valueId}`);
  }

  private promiseKey(node: NodeId, ballot: Ballot, instance: string): string {
    return `${node}|${bs(ballot)}|${instance}`;
  }

  /** Called for every message a node sends, before the network sees it. */
  onSend(node: NodeId, m: M): void {
    if (this.multi)
      this.onMultiSend(
        node,
        m as unknown as { type: string; epoch?: number; ballot?: Ballot; commitIndex?: number; value?: unknown },
      );
    const promise = this.adapter.promiseIn(m);
    if (promise !== null) {
      this.checkPromiseDurable(node, promise.ballot, promise.instance);
      raise(getOrCreate(this.promiseGiven, node), promise.instance, promise.ballot);
      const contents = new Map([...promise.accepted].map(([i, v]) => [this.byBallot(i, v.ballot), v] as const));
      this.promiseContents.set(this.promiseKey(node, promise.ballot, promise.instance), contents);
    }
    const accepts = this.adapter.acceptsIn(m);
    if (accepts !== null) {
      const entries = accepts.entries.map((e) => ({
        instance: this.byBallot(e.instance, accepts.ballot),
        valueId: e.valueId,
      }));
      this.checkOneValuePerBallot(node, accepts.ballot, entries);
      this.checkNoOtherValueAboveChosen(node, accepts.ballot, entries);
    }
    const accepted = this.adapter.acceptedIn(m);
    if (accepted !== null) {
      const instances = accepted.instances.map((i) => this.byBallot(i, accepted.ballot));
      this.checkAcceptedDurable(node, accepted.ballot, instances);
      this.checkAcceptedNotBelowPromise(node, accepted.ballot, instances);
    }
    const commit = this.adapter.commitPointIn(m);
    if (commit !== null) this.checkCommitPoint(node, commit.commitIndex);
    if (commit !== null && this.multi) this.checkCommitPointOfBallot(node, m as unknown as LeaderNotice, commit);
  }

  /** Multi: `ballot` proposed `valueId` at `instance`; if another value is chosen there already, that proposal lost. */
  private noteProposal(ballot: Ballot, instance: string, valueId: string): void {
    const b = bs(ballot);
    const proposals = this.proposalsAt.get(instance) ?? new Map<string, string>();
    this.proposalsAt.set(instance, proposals);
    proposals.set(b, valueId);
    const chosen = this.chosenByDefinition.get(instance);
    if (chosen !== undefined && chosen.valueId !== valueId) this.noteLost(b, instance);
  }

  private noteLost(ballot: string, instance: string): void {
    const key = `${ballot}@${epochOfInstance(instance)}`;
    const slot = slotOf(instance);
    this.lostSlotOf.set(key, Math.min(slot, this.lostSlotOf.get(key) ?? slot));
  }

  /**
   * Multi: a leader's commit point, on any path (heartbeat, accept, commit notice), says that every vote of its
   * ballot below it is chosen: a follower takes its own vote at that ballot as the chosen value. So it must never
   * pass a slot where a value of its ballot lost (issue 22, item 1: the stale leader that learned such a slot by
   * catch-up). Checked when the claim is sent, not when a follower acts on it: no follower has to be there to be misled.
   */
  private checkCommitPointOfBallot(
    node: NodeId,
    m: LeaderNotice,
    commit: { ballot: Ballot; commitIndex: number },
  ): void {
    if ((m.type !== 'accept' && m.type !== 'commit') || commit.ballot.node !== node || m.epoch === undefined) return;
    const b = bs(commit.ballot);
    const lost = this.lostSlotOf.get(`${b}@${m.epoch}`);
    if (lost === undefined || lost >= commit.commitIndex) return;
    const instance = this.inst(lost, m.epoch);
    this.fail(
      `commit point: ${nodeName(node)} at ${b} vouches for every vote of its ballot below #${commit.commitIndex}, but its ${this.valueOfBallot.get(`${b}|${instance}`)} at #${instance} lost to ${this.chosenByDefinition.get(instance)?.valueId}`,
    );
  }

  /**
   * Multi: `node` lost its disk and starts again on a fresh one. What it
   * promised and accepted before is gone on purpose, so those checks start
   * over; in exchange it may vote only in an epoch opened after the loss
   * (recovery.ts: Paxos Made Live §5.1 with Stoppable Paxos): any vote it
   * forgot belongs to an epoch at or before the latest one entered by then.
   */
  onDiskLost(node: NodeId, latestEpoch: number): void {
    this.lostDiskInEpoch.set(node, Math.max(latestEpoch, this.lostDiskInEpoch.get(node) ?? 0));
    for (const perNode of [this.promiseGiven, this.acceptedGiven, this.promisedInMemory, this.acceptedInMemory])
      perNode.delete(node);
    this.durablePromise.delete(node);
    this.commitChecked.delete(node);
    // Its ballots start over too: those it used before are on the lost disk, and belong to epochs its re-admission
    // closed. A ballot names a candidacy within one epoch (messages carry their epoch, and a voter answers only its own
    // epoch's), so using one again in an epoch opened after the loss is a new candidacy (Vertical Paxos's per-
    // configuration ballots). noteBallotEpoch still refuses one used twice in the same epoch, or again in an old one.
    this.lastBallotUsed.delete(node);
  }

  /** Multi: which epoch each ballot is used in, and who may vote in it. */
  private onMultiSend(
    node: NodeId,
    m: { type: string; epoch?: number; ballot?: Ballot; commitIndex?: number; value?: unknown },
  ): void {
    if (m.type === 'forward') this.noteRecoveryChange(node, m.value);
    if (m.epoch === undefined || m.ballot === undefined) return;
    const lostIn = this.lostDiskInEpoch.get(node);
    if ((m.type === 'promise' || m.type === 'accepted') && lostIn !== undefined && m.epoch <= lostIn)
      this.fail(
        `${name(node)} sent ${m.type} in epoch ${m.epoch} after it lost its disk while epoch ${lostIn} was the latest: it may have forgotten a vote there (it votes again only from the epoch its re-admission opens)`,
      );
    if (m.type === 'prepare' || m.type === 'accept') this.noteBallotEpoch(m.ballot, m.epoch, node, true);
    if (m.type === 'promise' || m.type === 'accepted')
      this.checkVoter(node, { type: m.type, epoch: m.epoch, commitIndex: m.commitIndex ?? 0 });
  }

  // ------------------------------------------------ what is on each disk

  /** A recovering replica proposes its own re-admission (recovery.ts), under its recovery session: validity counts it as proposed. */
  private noteRecoveryChange(node: NodeId, value: unknown): void {
    const v = value as
      | {
          kind?: string;
          id?: string;
          identity?: { session: string };
          command?: { op: string; fromEpoch?: number; voters?: NodeId[] };
        }
      | undefined;
    const c = v?.command;
    if (!this.lostDiskInEpoch.has(node) || v?.id === undefined || c?.op !== 'config') return;
    if (c.fromEpoch === undefined || c.voters === undefined) return;
    if (!v.identity?.session.startsWith(`recovery.node-${node}.`)) return;
    this.noteProposed('config', v.id);
    this.noteConfigProposed(v.id, { fromEpoch: c.fromEpoch, voters: c.voters });
  }

  /** Records that reached a node's disk: the only state that survives a crash, and the only state that makes a value chosen. */
  onDurable(node: NodeId, records: readonly unknown[]): void {
    for (const r of records) {
      const p = this.adapter.promiseRecord(r);
      if (p !== null) raise(getOrCreate(this.durablePromise, node), p.instance, p.ballot);
      const a = this.adapter.acceptRecord(r);
      if (a !== null)
        for (const e of a.entries)
          this.noteDurableAccept(node, a.ballot, this.byBallot(e.instance, a.ballot), e.valueId);
    }
  }

  private noteDurableAccept(node: NodeId, ballot: Ballot, instance: string, valueId: string): void {
    let byVote = this.durableAccepts.get(instance);
    if (byVote === undefined) {
      byVote = new Map();
      this.durableAccepts.set(instance, byVote);
    }
    const vote = `${formatBallot(ballot)}|${valueId}`;
    let voters = byVote.get(vote);
    if (voters === undefined) {
      voters = new Set();
      byVote.set(vote, voters);
    }
    voters.add(node);
    // Only the votes of the epoch's own voters make a value chosen there.
    const epoch = this.multi ? (this.epochOfBallot.get(bs(ballot)) ?? 0) : 0;
    const members = this.multi ? this.votersOf(epoch, `${name(node)} durably accepted ${instance}`) : null;
    const counted = members === null ? voters.size : [...voters].filter((v) => members.includes(v)).length;
    if (counted < majorityOf(members === null ? this.clusterSize : members.length)) return;
    const known = this.chosenByDefinition.get(instance);
    if (known !== undefined && known.valueId !== valueId) {
      this.fail(
        `agreement: a majority durably accepted ${valueId} for ${instance} at ${formatBallot(ballot)}, but ${known.valueId} was chosen there at ${formatBallot(known.ballot)}`,
      );
    }
    if (known === undefined || compareBallots(ballot, known.ballot) < 0)
      this.chosenByDefinition.set(instance, { ballot, valueId });
    if (known === undefined && this.multi)
      for (const [b, proposed] of this.proposalsAt.get(instance) ?? [])
        if (proposed !== valueId) this.noteLost(b, instance);
  }

  /** Persist before send: a promise leaves only once the promise is on the acceptor's disk. */
  private checkPromiseDurable(node: NodeId, ballot: Ballot, instance: string): void {
    const onDisk = this.durablePromise.get(node)?.get(instance);
    if (onDisk === undefined || compareBallots(onDisk, ballot) < 0) {
      this.fail(
        `${nodeName(node)} sent a promise for ${formatBallot(ballot)} (${instance}) while its disk held ${onDisk ? formatBallot(onDisk) : 'no promise'}`,
      );
    }
  }

  /** Persist before send: an accepted reply leaves only once the accepted value is on the acceptor's disk. */
  private checkAcceptedDurable(node: NodeId, ballot: Ballot, instances: readonly string[]): void {
    const b = formatBallot(ballot);
    for (const instance of instances) {
      const byVote = this.durableAccepts.get(instance);
      let found = false;
      for (const [vote, voters] of byVote ?? []) if (vote.startsWith(`${b}|`) && voters.has(node)) found = true;
      if (!found)
        this.fail(`${nodeName(node)} sent accepted for ${instance} at ${b} before that accept was on its disk`);
    }
  }

  /** Once a value is chosen at ballot b, every proposal at a higher ballot for that instance carries the same value. */
  private checkNoOtherValueAboveChosen(
    node: NodeId,
    ballot: Ballot,
    entries: readonly { instance: string; valueId: string }[],
  ): void {
    for (const e of entries) {
      const c = this.chosenByDefinition.get(e.instance);
      if (c !== undefined && compareBallots(ballot, c.ballot) > 0 && c.valueId !== e.valueId) {
        this.fail(
          `${nodeName(node)} proposed ${e.valueId} for ${e.instance} at ${formatBallot(ballot)}, above ${formatBallot(c.ballot)} where ${c.valueId} was chosen`,
        );
      }
    }
  }

  /** The definition of chosen, checked whenever a node claims a value is: a majority must hold it durably, at one ballot. */
  private checkChosenByDefinition(node: NodeId, instance: string, valueId: string): void {
    const c = this.chosenByDefinition.get(instance);
    if (c === undefined)
      this.fail(
        `${nodeName(node)} declared ${valueId} chosen for ${instance}, but no majority holds any value there durably`,
      );
    if (c.valueId !== valueId)
      this.fail(
        `${nodeName(node)} declared ${valueId} chosen for ${instance}, but a majority durably holds ${c.valueId}`,
      );
  }

  /** A leader's commit point says every slot below it is chosen: each must be, by definition. */
  private checkCommitPoint(node: NodeId, commitIndex: number): void {
    const from = this.commitChecked.get(node) ?? 1;
    for (let slot = from; slot < commitIndex; slot++) {
      if (!this.chosenByDefinition.has(this.liveInstance(slot)))
        this.fail(
          `${nodeName(node)} advertised commit point ${commitIndex}, but slot ${slot} is not chosen by any durable majority`,
        );
    }
    if (commitIndex > from) this.commitChecked.set(node, commitIndex);
  }

  private checkOneValuePerBallot(
    node: NodeId,
    ballot: Ballot,
    entries: readonly { instance: string; valueId: string }[],
  ): void {
    for (const e of entries) {
      const key = `${bs(ballot)}|${e.instance}`;
      const prior = this.valueOfBallot.get(key);
      if (prior === undefined) {
        this.valueOfBallot.set(key, e.valueId);
        if (this.multi) this.noteProposal(ballot, e.instance, e.valueId);
      } else if (prior !== e.valueId)
        this.fail(
          `one value per ballot: ${name(node)} proposed ${e.valueId} at ballot ${bs(ballot)} for ${e.instance}, which already carried ${prior}`,
        );
    }
  }

  private checkAcceptedNotBelowPromise(node: NodeId, ballot: Ballot, instances: readonly string[]): void {
    const given = getOrCreate(this.promiseGiven, node);
    const accepted = getOrCreate(this.acceptedGiven, node);
    for (const instance of instances) {
      const promised = given.get(this.adapter.protocol === 'multi' ? ALL_INSTANCES : instance);
      if (promised !== undefined && compareBallots(ballot, promised) < 0) {
        this.fail(
          `acceptor ${name(node)} accepted ${instance} at ballot ${bs(ballot)} after promising ${bs(promised)}`,
        );
      }
      raise(accepted, instance, ballot);
    }
  }

  /** Events carry the proposer's view of its own phases; each is re-checked against what acceptors really sent. */
  onEvents(node: NodeId, core: SimCore<M>, events: readonly CoreEvent[]): void {
    // A lone voter wins in the step it starts: its state then already holds votes at the new ballot, whose epoch the leader event names.
    for (const ev of events)
      if (ev.type === 'leader' && ev.epoch !== undefined) this.noteBallotEpoch(ev.ballot, ev.epoch, node, false);
    for (const ev of events) {
      if (ev.type === 'phase1') this.onPhase1(node, core, ev.ballot, ev.instance);
      else if (ev.type === 'phase2') this.onPhase2(node, ev);
      else if (ev.type === 'leader' && ev.epoch !== undefined) this.onLeader(node, ev);
      else if (ev.type === 'epoch') this.onEpoch(node, ev);
    }
  }

  /**
   * A ballot counts as used once the Ready that started it is released: before that its prepares
   * have not left, and a crash that loses its round record loses every trace of it.
   */
  onReleasedEvents(node: NodeId, events: readonly CoreEvent[]): void {
    for (const ev of events) if (ev.type === 'phase1') this.noteBallotUsed(node, ev.ballot);
    for (const ev of events)
      if (ev.type === 'leader' && ev.epoch !== undefined) this.noteBallotEpoch(ev.ballot, ev.epoch, node, true);
  }

  private noteBallotUsed(node: NodeId, ballot: Ballot): void {
    const last = this.lastBallotUsed.get(node);
    if (last !== undefined && compareBallots(ballot, last) <= 0) {
      this.fail(`ballot reused: ${name(node)} started phase 1 at ${bs(ballot)} after already using ${bs(last)}`);
    }
    if (ballot.node !== node) this.fail(`${name(node)} used ballot ${bs(ballot)} that belongs to ${name(ballot.node)}`);
    this.lastBallotUsed.set(node, ballot);
  }

  /**
   * Phase 1 covers every configuration governing an open slot: a leader's
   * open slots start at `fromSlot`, which must lie in its own epoch, and its
   * promises must come from a majority of that epoch's voters.
   */
  private onLeader(node: NodeId, ev: Extract<CoreEvent, { type: 'leader' }>): void {
    const epoch = ev.epoch ?? 0;
    this.noteBallotEpoch(ev.ballot, epoch, node, false);
    const e = this.epochs.get(epoch);
    if (e === undefined) this.fail(`${name(node)} became leader in epoch ${epoch}, which no replica has entered`);
    if ((ev.fromSlot ?? e.startSlot) < e.startSlot) {
      this.fail(
        `${name(node)} leads epoch ${epoch} from slot ${ev.fromSlot}, but the epoch starts at slot ${e.startSlot}: slots of the epoch before are open under the wrong quorums`,
      );
    }
    const quorum = new Set(ev.quorum ?? []);
    const outsiders = [...quorum].filter((q) => !e.voters.includes(q));
    if (outsiders.length > 0)
      this.fail(
        `${name(node)} counted promises from ${outsiders.map(name).join(', ')}, not voters of epoch ${epoch} (${e.voters.map(name).join(', ')})`,
      );
    if (quorum.size < majorityOf(e.voters.length))
      this.fail(
        `${name(node)} became leader of epoch ${epoch} with ${quorum.size} promises; a majority of its ${e.voters.length} voters is ${majorityOf(e.voters.length)}`,
      );
  }

  /**
   * A replica entered an epoch: by applying a chosen change that named the
   * epoch before it (one change at a time), after applying every slot up to
   * it; and every replica agrees on each epoch's voters and first slot.
   */
  private onEpoch(node: NodeId, ev: Extract<CoreEvent, { type: 'epoch' }>): void {
    if (ev.fromEpoch !== ev.epoch - 1) {
      this.fail(
        `${name(node)} entered epoch ${ev.epoch} by a change that named epoch ${ev.fromEpoch}: two changes were in flight, and the second replaced a configuration it never saw`,
      );
    }
    if (ev.appliedThrough < ev.startSlot - 1) {
      this.fail(
        `${name(node)} entered epoch ${ev.epoch} (from slot ${ev.startSlot}) having applied only through slot ${ev.appliedThrough}: the change took effect before it was chosen and applied`,
      );
    }
    const known = this.epochs.get(ev.epoch);
    if (known !== undefined) {
      const same = known.startSlot === ev.startSlot && known.voters.join(',') === ev.voters.join(',');
      if (!same) {
        this.fail(
          `configuration disagreement: ${name(node)} entered epoch ${ev.epoch} as ${ev.voters.map(name).join(', ')} from slot ${ev.startSlot}, ` +
            `${name(known.reportedBy)} as ${known.voters.map(name).join(', ')} from slot ${known.startSlot}`,
        );
      }
      return;
    }
    const before = this.epochs.get(ev.epoch - 1);
    if (before !== undefined && before.startSlot > ev.startSlot - 1)
      this.fail(
        `epoch ${ev.epoch} starts at slot ${ev.startSlot}, before epoch ${ev.epoch - 1} (from slot ${before.startSlot}) could have ended`,
      );
    this.epochs.set(ev.epoch, { voters: [...ev.voters], startSlot: ev.startSlot, reportedBy: node });
    this.checkStopSign(ev.epoch);
  }

  /** The slot before an epoch's start holds, chosen in the epoch before, the change that asked for exactly its voters. */
  private checkStopSign(epoch: number): void {
    const e = this.epochs.get(epoch);
    if (e === undefined || epoch === 0) return;
    const stop = this.chosen.get(this.inst(e.startSlot - 1, epoch - 1));
    if (stop === undefined) return; // Checked again once it is learned.
    const change = this.configs.get(stop);
    if (
      change === undefined ||
      change.voters
        .slice()
        .sort((a, b) => a - b)
        .join(',') !== e.voters.join(',')
    ) {
      this.fail(
        `epoch ${epoch} (${e.voters.map(name).join(', ')}) starts at slot ${e.startSlot}, but slot ${e.startSlot - 1} is chosen as ${stop}, not the change to those voters`,
      );
    }
  }

  private onPhase1(node: NodeId, core: SimCore<M>, ballot: Ballot, instance: string | undefined): void {
    const raw = this.adapter.acceptedSnapshot(core, instance);
    const own = new Map([...raw].map(([i, v]) => [this.byBallot(i, v.ballot), v] as const));
    this.promiseContents.set(this.promiseKey(node, ballot, instance ?? ALL_INSTANCES), own);
  }

  private onPhase2(node: NodeId, ev: Extract<CoreEvent, { type: 'phase2' }>): void {
    const epoch = ev.epoch ?? 0;
    const voters = this.multi ? this.votersOf(epoch, `${name(node)} started phase 2`) : null;
    const size = voters === null ? this.clusterSize : voters.length;
    const need = majorityOf(size);
    const members = new Set(ev.quorum);
    if (members.size < need) {
      this.fail(
        `${name(node)} started phase 2 at ${bs(ev.ballot)} with promises from ${members.size} of ${size} nodes; a majority is ${need}`,
      );
    }
    const outsiders = voters === null ? [] : [...members].filter((q) => !voters.includes(q));
    if (outsiders.length > 0)
      this.fail(
        `${name(node)} started phase 2 at ${bs(ev.ballot)} counting ${outsiders.map(name).join(', ')}, not voters of epoch ${epoch}`,
      );
    const instance = this.inst(ev.instance, epoch);
    const scope = this.adapter.protocol === 'multi' ? ALL_INSTANCES : ev.instance;
    let best: ValueAt | undefined;
    for (const q of members) {
      const contents = this.promiseContents.get(this.promiseKey(q, ev.ballot, scope));
      if (contents === undefined)
        this.fail(`${name(node)} counted a promise for ${bs(ev.ballot)} from ${name(q)}, which never sent one`);
      const a = contents.get(instance);
      if (a !== undefined && (best === undefined || compareBallots(a.ballot, best.ballot) > 0)) best = a;
    }
    if (best !== undefined && best.valueId !== ev.valueId) {
      this.fail(
        `${name(node)} proposed ${ev.valueId} for ${ev.instance} at ${bs(ev.ballot)}, but its quorum had accepted ${best.valueId} at ${bs(best.ballot)}`,
      );
    }
    if (best === undefined && ev.adopted)
      this.fail(`${name(node)} claims it adopted a value for ${ev.instance} that no promise reported`);
  }

  /** Agreement, validity and stability for everything a node learned in one step, and the definition of chosen. */
  onChosen(node: NodeId, chosen: readonly ChosenValue[]): void {
    for (const raw of chosen) {
      const instance = this.multi
        ? this.inst(raw.instance, raw.epoch ?? this.governingEpoch(slotOf(raw.instance)))
        : raw.instance;
      const c = { ...raw, instance };
      this.checkChosenByDefinition(node, c.instance, c.valueId);
      const prior = this.chosen.get(c.instance);
      if (prior !== undefined && prior !== c.valueId) {
        this.fail(`agreement: ${name(node)} learned ${c.valueId} for ${c.instance}, but ${prior} was chosen`);
      }
      if (prior === undefined) {
        const isNoop = this.adapter.protocol === 'multi' && c.valueId === 'noop';
        const key = this.adapter.protocol === 'multi' ? c.valueId : `${c.instance}\u0000${c.valueId}`;
        if (!isNoop && !this.proposed.has(key))
          this.fail(`validity: ${c.valueId} was chosen for ${c.instance} but nobody proposed it`);
        this.chosen.set(c.instance, c.valueId);
        if (this.multi)
          for (const [epoch, e] of this.epochs) if (e.startSlot - 1 === slotOf(c.instance)) this.checkStopSign(epoch);
      }
    }
  }

  /** Within one incarnation, a promise never goes down and nothing is accepted above the promise. */
  afterStep(node: NodeId, core: SimCore<M>, touched: Iterable<string>): void {
    const seen = getOrCreate(this.promisedInMemory, node);
    for (const instance of touched) {
      // A compacted instance is chosen and applied there: its promise is gone on purpose, not lost.
      if (this.adapter.isCompacted(core, instance)) continue;
      const promised = this.adapter.promisedFor(core, instance);
      const before = seen.get(instance);
      if (before !== undefined && compareBallots(promised, before) < 0) {
        this.fail(`promise went backwards at ${name(node)} for ${instance}: ${bs(before)} → ${bs(promised)}`);
      }
      seen.set(instance, promised);
      const acc = instance === ALL_INSTANCES ? undefined : this.adapter.acceptedFor(core, instance);
      if (acc === undefined) continue;
      if (compareBallots(acc.ballot, promised) > 0) {
        this.fail(
          `${name(node)} holds an accepted ballot ${bs(acc.ballot)} above its promise ${bs(promised)} for ${instance}`,
        );
      }
      const accepted = getOrCreate(this.acceptedInMemory, node);
      const was = accepted.get(instance);
      if (was !== undefined && compareBallots(acc.ballot, was) < 0) {
        this.fail(`${name(node)}'s accepted ballot for ${instance} went backwards: ${bs(was)} → ${bs(acc.ballot)}`);
      }
      accepted.set(instance, acc.ballot);
    }
  }

  /** A restarted node must have recovered at least everything its sent messages reflected. */
  onRestart(node: NodeId, core: SimCore<M>): void {
    this.promisedInMemory.delete(node);
    this.acceptedInMemory.delete(node);
    for (const [instance, b] of this.promiseGiven.get(node) ?? []) {
      if (this.adapter.isCompacted(core, instance)) continue;
      const promised = this.adapter.promisedFor(core, instance);
      if (compareBallots(promised, b) < 0)
        this.fail(`${name(node)} restarted with promise ${bs(promised)} for ${instance} after promising ${bs(b)}`);
    }
    for (const [instance, b] of this.acceptedGiven.get(node) ?? []) {
      if (this.adapter.isCompacted(core, instance)) continue;
      // A vote of an epoch this replica has left is for a slot decided (or dead) there: it may be gone.
      if (this.multi && (this.epochOfBallot.get(bs(b)) ?? 0) < this.adapter.epochOf(core)) continue;
      const acc = this.adapter.acceptedFor(core, instance);
      if (acc === undefined || compareBallots(acc.ballot, b) < 0) {
        this.fail(`${name(node)} restarted without the value it accepted for ${instance} at ${bs(b)}`);
      }
    }
  }
}
