/**
 * The simulator's per-step checkers. They keep "ghost" state the cores never
 * see (every promise and accept any node ever sent, every ballot any proposer
 * ever used) and check each step against it, because end-to-end agreement
 * alone catches few bugs: most planted bugs break a local rule long before
 * two learners disagree.
 */
import type { Ballot } from '../core/ballot.js';
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
  if (inner === undefined) map.set(node, (inner = new Map()));
  return inner;
}

function raise(map: Map<string, Ballot>, key: string, b: Ballot): void {
  const cur = map.get(key);
  if (cur === undefined || compareBallots(b, cur) > 0) map.set(key, b);
}

const name = nodeName;
const bs = formatBallot;

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

  constructor(
    private readonly adapter: ProtocolAdapter<M>,
    private readonly clusterSize: number,
  ) {}

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
    const promise = this.adapter.promiseIn(m);
    if (promise !== null) {
      this.checkPromiseDurable(node, promise.ballot, promise.instance);
      raise(getOrCreate(this.promiseGiven, node), promise.instance, promise.ballot);
      this.promiseContents.set(this.promiseKey(node, promise.ballot, promise.instance), promise.accepted);
    }
    const accepts = this.adapter.acceptsIn(m);
    if (accepts !== null) {
      this.checkOneValuePerBallot(node, accepts.ballot, accepts.entries);
      this.checkNoOtherValueAboveChosen(node, accepts.ballot, accepts.entries);
    }
    const accepted = this.adapter.acceptedIn(m);
    if (accepted !== null) {
      this.checkAcceptedDurable(node, accepted.ballot, accepted.instances);
      this.checkAcceptedNotBelowPromise(node, accepted.ballot, accepted.instances);
    }
    const commit = this.adapter.commitPointIn(m);
    if (commit !== null) this.checkCommitPoint(node, commit.commitIndex);
  }

  // ------------------------------------------------ what is on each disk

  /** Records that reached a node's disk: the only state that survives a crash, and the only state that makes a value chosen. */
  onDurable(node: NodeId, records: readonly unknown[]): void {
    for (const r of records) {
      const p = this.adapter.promiseRecord(r);
      if (p !== null) raise(getOrCreate(this.durablePromise, node), p.instance, p.ballot);
      const a = this.adapter.acceptRecord(r);
      if (a !== null) for (const e of a.entries) this.noteDurableAccept(node, a.ballot, e.instance, e.valueId);
    }
  }

  private noteDurableAccept(node: NodeId, ballot: Ballot, instance: string, valueId: string): void {
    let byVote = this.durableAccepts.get(instance);
    if (byVote === undefined) this.durableAccepts.set(instance, (byVote = new Map()));
    const vote = `${formatBallot(ballot)}|${valueId}`;
    let voters = byVote.get(vote);
    if (voters === undefined) byVote.set(vote, (voters = new Set()));
    voters.add(node);
    if (voters.size < majorityOf(this.clusterSize)) return;
    const known = this.chosenByDefinition.get(instance);
    if (known !== undefined && known.valueId !== valueId) {
      this.fail(`agreement: a majority durably accepted ${valueId} for ${instance} at ${formatBallot(ballot)}, but ${known.valueId} was chosen there at ${formatBallot(known.ballot)}`);
    }
    if (known === undefined || compareBallots(ballot, known.ballot) < 0) this.chosenByDefinition.set(instance, { ballot, valueId });
  }

  /** Persist before send: a promise leaves only once the promise is on the acceptor's disk. */
  private checkPromiseDurable(node: NodeId, ballot: Ballot, instance: string): void {
    const onDisk = this.durablePromise.get(node)?.get(instance);
    if (onDisk === undefined || compareBallots(onDisk, ballot) < 0) {
      this.fail(`${nodeName(node)} sent a promise for ${formatBallot(ballot)} (${instance}) while its disk held ${onDisk ? formatBallot(onDisk) : 'no promise'}`);
    }
  }

  /** Persist before send: an accepted reply leaves only once the accepted value is on the acceptor's disk. */
  private checkAcceptedDurable(node: NodeId, ballot: Ballot, instances: readonly string[]): void {
    const b = formatBallot(ballot);
    for (const instance of instances) {
      const byVote = this.durableAccepts.get(instance);
      let found = false;
      for (const [vote, voters] of byVote ?? []) if (vote.startsWith(`${b}|`) && voters.has(node)) found = true;
      if (!found) this.fail(`${nodeName(node)} sent accepted for ${instance} at ${b} before that accept was on its disk`);
    }
  }

  /** Once a value is chosen at ballot b, every proposal at a higher ballot for that instance carries the same value. */
  private checkNoOtherValueAboveChosen(node: NodeId, ballot: Ballot, entries: readonly { instance: string; valueId: string }[]): void {
    for (const e of entries) {
      const c = this.chosenByDefinition.get(e.instance);
      if (c !== undefined && compareBallots(ballot, c.ballot) > 0 && c.valueId !== e.valueId) {
        this.fail(`${nodeName(node)} proposed ${e.valueId} for ${e.instance} at ${formatBallot(ballot)}, above ${formatBallot(c.ballot)} where ${c.valueId} was chosen`);
      }
    }
  }

  /** The definition of chosen, checked whenever a node claims a value is: a majority must hold it durably, at one ballot. */
  private checkChosenByDefinition(node: NodeId, instance: string, valueId: string): void {
    const c = this.chosenByDefinition.get(instance);
    if (c === undefined) this.fail(`${nodeName(node)} declared ${valueId} chosen for ${instance}, but no majority holds any value there durably`);
    if (c.valueId !== valueId) this.fail(`${nodeName(node)} declared ${valueId} chosen for ${instance}, but a majority durably holds ${c.valueId}`);
  }

  /** A leader's commit point says every slot below it is chosen: each must be, by definition. */
  private checkCommitPoint(node: NodeId, commitIndex: number): void {
    const from = this.commitChecked.get(node) ?? 1;
    for (let slot = from; slot < commitIndex; slot++) {
      if (!this.chosenByDefinition.has(String(slot))) this.fail(`${nodeName(node)} advertised commit point ${commitIndex}, but slot ${slot} is not chosen by any durable majority`);
    }
    if (commitIndex > from) this.commitChecked.set(node, commitIndex);
  }

  private checkOneValuePerBallot(node: NodeId, ballot: Ballot, entries: readonly { instance: string; valueId: string }[]): void {
    for (const e of entries) {
      const key = `${bs(ballot)}|${e.instance}`;
      const prior = this.valueOfBallot.get(key);
      if (prior === undefined) this.valueOfBallot.set(key, e.valueId);
      else if (prior !== e.valueId) this.fail(`one value per ballot: ${name(node)} proposed ${e.valueId} at ballot ${bs(ballot)} for ${e.instance}, which already carried ${prior}`);
    }
  }

  private checkAcceptedNotBelowPromise(node: NodeId, ballot: Ballot, instances: readonly string[]): void {
    const given = getOrCreate(this.promiseGiven, node);
    const accepted = getOrCreate(this.acceptedGiven, node);
    for (const instance of instances) {
      const promised = given.get(this.adapter.protocol === 'multi' ? ALL_INSTANCES : instance);
      if (promised !== undefined && compareBallots(ballot, promised) < 0) {
        this.fail(`acceptor ${name(node)} accepted ${instance} at ballot ${bs(ballot)} after promising ${bs(promised)}`);
      }
      raise(accepted, instance, ballot);
    }
  }

  /** Events carry the proposer's view of its own phases; each is re-checked against what acceptors really sent. */
  onEvents(node: NodeId, core: SimCore<M>, events: readonly CoreEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'phase1') this.onPhase1(node, core, ev.ballot, ev.instance);
      else if (ev.type === 'phase2') this.onPhase2(node, ev);
    }
  }

  /**
   * A ballot counts as used once the Ready that started it is released: before that its prepares
   * have not left, and a crash that loses its round record loses every trace of it.
   */
  onReleasedEvents(node: NodeId, events: readonly CoreEvent[]): void {
    for (const ev of events) if (ev.type === 'phase1') this.noteBallotUsed(node, ev.ballot);
  }

  private noteBallotUsed(node: NodeId, ballot: Ballot): void {
    const last = this.lastBallotUsed.get(node);
    if (last !== undefined && compareBallots(ballot, last) <= 0) {
      this.fail(`ballot reused: ${name(node)} started phase 1 at ${bs(ballot)} after already using ${bs(last)}`);
    }
    if (ballot.node !== node) this.fail(`${name(node)} used ballot ${bs(ballot)} that belongs to ${name(ballot.node)}`);
    this.lastBallotUsed.set(node, ballot);
  }

  private onPhase1(node: NodeId, core: SimCore<M>, ballot: Ballot, instance: string | undefined): void {
    const own = this.adapter.acceptedSnapshot(core, instance);
    this.promiseContents.set(this.promiseKey(node, ballot, instance ?? ALL_INSTANCES), own);
  }

  private onPhase2(node: NodeId, ev: Extract<CoreEvent, { type: 'phase2' }>): void {
    const need = majorityOf(this.clusterSize);
    const members = new Set(ev.quorum);
    if (members.size < need) {
      this.fail(`${name(node)} started phase 2 at ${bs(ev.ballot)} with promises from ${members.size} of ${this.clusterSize} nodes; a majority is ${need}`);
    }
    const scope = this.adapter.protocol === 'multi' ? ALL_INSTANCES : ev.instance;
    let best: ValueAt | undefined;
    for (const q of members) {
      const contents = this.promiseContents.get(this.promiseKey(q, ev.ballot, scope));
      if (contents === undefined) this.fail(`${name(node)} counted a promise for ${bs(ev.ballot)} from ${name(q)}, which never sent one`);
      const a = contents.get(ev.instance);
      if (a !== undefined && (best === undefined || compareBallots(a.ballot, best.ballot) > 0)) best = a;
    }
    if (best !== undefined && best.valueId !== ev.valueId) {
      this.fail(`${name(node)} proposed ${ev.valueId} for ${ev.instance} at ${bs(ev.ballot)}, but its quorum had accepted ${best.valueId} at ${bs(best.ballot)}`);
    }
    if (best === undefined && ev.adopted) this.fail(`${name(node)} claims it adopted a value for ${ev.instance} that no promise reported`);
  }

  /** Agreement, validity and stability for everything a node learned in one step, and the definition of chosen. */
  onChosen(node: NodeId, chosen: readonly ChosenValue[]): void {
    for (const c of chosen) {
      this.checkChosenByDefinition(node, c.instance, c.valueId);
      const prior = this.chosen.get(c.instance);
      if (prior !== undefined && prior !== c.valueId) {
        this.fail(`agreement: ${name(node)} learned ${c.valueId} for ${c.instance}, but ${prior} was chosen`);
      }
      if (prior === undefined) {
        const isNoop = this.adapter.protocol === 'multi' && c.valueId === 'noop';
        const key = this.adapter.protocol === 'multi' ? c.valueId : `${c.instance}\u0000${c.valueId}`;
        if (!isNoop && !this.proposed.has(key)) this.fail(`validity: ${c.valueId} was chosen for ${c.instance} but nobody proposed it`);
        this.chosen.set(c.instance, c.valueId);
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
        this.fail(`${name(node)} holds an accepted ballot ${bs(acc.ballot)} above its promise ${bs(promised)} for ${instance}`);
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
      if (compareBallots(promised, b) < 0) this.fail(`${name(node)} restarted with promise ${bs(promised)} for ${instance} after promising ${bs(b)}`);
    }
    for (const [instance, b] of this.acceptedGiven.get(node) ?? []) {
      if (this.adapter.isCompacted(core, instance)) continue;
      const acc = this.adapter.acceptedFor(core, instance);
      if (acc === undefined || compareBallots(acc.ballot, b) < 0) {
        this.fail(`${name(node)} restarted without the value it accepted for ${instance} at ${bs(b)}`);
      }
    }
  }
}
