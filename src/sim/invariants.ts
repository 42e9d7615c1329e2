/**
 * The simulator's per-step checkers. They keep "ghost" state the cores never
 * see (every promise and accept any node ever sent, every ballot any proposer
 * ever used) and check each step against it, because end-to-end agreement
 * alone catches few bugs: most planted bugs break a local rule long before
 * two learners disagree.
 */
import { compareBallots, formatBallot, type Ballot } from '../core/ballot.js';
import { nodeName, quorumSize, type ChosenValue, type CoreEvent, type NodeId } from '../core/types.js';
import { ALL_INSTANCES, type ProtocolAdapter, type SimCore, type ValueAt } from './adapter.js';

export class InvariantViolation extends Error {}

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
      raise(getOrCreate(this.promiseGiven, node), promise.instance, promise.ballot);
      this.promiseContents.set(this.promiseKey(node, promise.ballot, promise.instance), promise.accepted);
    }
    const accepts = this.adapter.acceptsIn(m);
    if (accepts !== null) this.checkOneValuePerBallot(node, accepts.ballot, accepts.entries);
    const accepted = this.adapter.acceptedIn(m);
    if (accepted !== null) this.checkAcceptedNotBelowPromise(node, accepted.ballot, accepted.instances);
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

  private onPhase1(node: NodeId, core: SimCore<M>, ballot: Ballot, instance: string | undefined): void {
    const last = this.lastBallotUsed.get(node);
    if (last !== undefined && compareBallots(ballot, last) <= 0) {
      this.fail(`ballot reused: ${name(node)} started phase 1 at ${bs(ballot)} after already using ${bs(last)}`);
    }
    if (ballot.node !== node) this.fail(`${name(node)} used ballot ${bs(ballot)} that belongs to ${name(ballot.node)}`);
    this.lastBallotUsed.set(node, ballot);
    const own = this.adapter.acceptedSnapshot(core, instance);
    this.promiseContents.set(this.promiseKey(node, ballot, instance ?? ALL_INSTANCES), own);
  }

  private onPhase2(node: NodeId, ev: Extract<CoreEvent, { type: 'phase2' }>): void {
    const need = quorumSize(this.clusterSize);
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

  /** Agreement, validity and stability for everything a node learned in one step. */
  onChosen(node: NodeId, chosen: readonly ChosenValue[]): void {
    for (const c of chosen) {
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
      const promised = this.adapter.promisedFor(core, instance);
      const before = seen.get(instance);
      if (before !== undefined && compareBallots(promised, before) < 0) {
        this.fail(`promise went backwards at ${name(node)} for ${instance}: ${bs(before)} → ${bs(promised)}`);
      }
      seen.set(instance, promised);
      const acc = instance === ALL_INSTANCES ? undefined : this.adapter.acceptedFor(core, instance);
      if (acc !== undefined && compareBallots(acc.ballot, promised) > 0) {
        this.fail(`${name(node)} holds an accepted ballot ${bs(acc.ballot)} above its promise ${bs(promised)} for ${instance}`);
      }
    }
  }

  /** A restarted node must have recovered at least everything its sent messages reflected. */
  onRestart(node: NodeId, core: SimCore<M>): void {
    this.promisedInMemory.delete(node);
    for (const [instance, b] of this.promiseGiven.get(node) ?? []) {
      const promised = this.adapter.promisedFor(core, instance);
      if (compareBallots(promised, b) < 0) this.fail(`${name(node)} restarted with promise ${bs(promised)} for ${instance} after promising ${bs(b)}`);
    }
    for (const [instance, b] of this.acceptedGiven.get(node) ?? []) {
      const acc = this.adapter.acceptedFor(core, instance);
      if (acc === undefined || compareBallots(acc.ballot, b) < 0) {
        this.fail(`${name(node)} restarted without the value it accepted for ${instance} at ${bs(b)}`);
      }
    }
  }
}
