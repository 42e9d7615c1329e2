/**
 * One seeded schedule: N protocol cores in one process over a simulated
 * network that delays, reorders, drops, duplicates and partitions messages,
 * with crashes that lose everything not yet persisted, restarts from the
 * persisted records, and clients that propose and read concurrently.
 *
 * A run has two phases. During the fault phase anything goes. Then the
 * network heals, every replica restarts, and each client's next operations
 * must complete within a bound (liveness) and every replica must learn every
 * chosen value. Safety is checked at every step by `InvariantChecker`; the
 * client history is checked for linearizability at the end.
 */
import { Random } from '../core/random.js';
import { describeMessage } from '../core/describe.js';
import type { ClientReply, Command, CoreEvent, NodeId, PersistedNote, PlantedBugs, Protocol, Ready } from '../core/types.js';
import { adapterFor, ALL_INSTANCES, type ProtocolAdapter, type SimCore } from './adapter.js';
import { EventQueue } from './event-queue.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { checkKvHistory, registerModel, writeOnceModel, type KvInput, type KvOutput, type Operation } from './linearizability.js';
import { CALM, describeProfile, drawProfile, type FaultProfile } from './profile.js';

/** Bugs planted in the runtime around the core (the core's own are in PlantedBugs). */
export interface SimBugs {
  /** Restart drops the acceptor's promise records. */
  readonly forgetPromiseOnRestart?: boolean;
  /** Messages leave before the state they reflect is persisted (the Ready contract reversed). */
  readonly replyBeforePersist?: boolean;
}

export interface SimOptions {
  readonly protocol: Protocol;
  readonly clusterSize: number;
  readonly seed: number;
  /** Fixed fault settings; by default each seed draws its own. */
  readonly profile?: FaultProfile;
  readonly clients?: number;
  readonly keys?: number;
  readonly faultPhaseMs?: number;
  readonly livenessBoundMs?: number;
  readonly opsAfterHeal?: number;
  readonly bugs?: PlantedBugs;
  readonly simBugs?: SimBugs;
  readonly backoff?: boolean;
  readonly traceLines?: number;
  /** Only proposals (no reads), each to a fixed node: the duelling-proposers experiments use this. */
  readonly proposers?: readonly NodeId[];
}

export interface SimResult {
  readonly seed: number;
  readonly protocol: Protocol;
  readonly clusterSize: number;
  readonly ok: boolean;
  readonly violation?: string;
  readonly chosen: number;
  readonly messages: number;
  readonly opsCompleted: number;
  readonly opsOpen: number;
  readonly virtualMs: number;
  readonly profile: string;
  readonly trace: readonly string[];
}

const TICK_MS = 10;
const CHAOS_EVERY_MS = 100;

type SimEvent =
  | { readonly kind: 'deliver'; readonly message: { from: NodeId; to: NodeId } }
  | { readonly kind: 'tick'; readonly node: NodeId; readonly incarnation: number }
  /** The runtime reports a Ready's records durable (a leader's own votes now count). */
  | { readonly kind: 'persisted'; readonly node: NodeId; readonly incarnation: number; readonly note: PersistedNote }
  /** A client wakes up; with `requestId` it is that request's deadline. */
  | { readonly kind: 'client'; readonly client: number; readonly requestId?: string }
  | { readonly kind: 'chaos' }
  | { readonly kind: 'restart'; readonly node: NodeId }
  | { readonly kind: 'settle' }
  | { readonly kind: 'probe' };

interface SimNode<M> {
  readonly id: NodeId;
  core: SimCore<M> | null;
  readonly durable: unknown[];
  /** Lazy records not yet on "disk": they reach it with the node's next Ready, or die with it. */
  lazy: unknown[];
  incarnation: number;
}

interface ClientOp {
  readonly requestId: string;
  readonly node: NodeId;
  readonly history: Operation<KvInput, KvOutput> & { output?: KvOutput; returnTime: number };
  readonly deadlineMs: number;
}

interface SimClient {
  readonly id: number;
  issued: number;
  current: ClientOp | null;
  settleOpsLeft: number;
}

class Stop extends Error {}

export class Simulation<M extends { from: NodeId; to: NodeId }> {
  private readonly queue = new EventQueue<{ atMs: number; seq: number; ev: SimEvent }>();
  private seq = 0;
  private nowMs = 0;
  private readonly random: Random;
  private readonly netRandom: Random;
  private readonly clientRandom: Random;
  private readonly adapter: ProtocolAdapter<M>;
  private readonly checker: InvariantChecker<M>;
  private readonly nodes: SimNode<M>[] = [];
  private readonly clients: SimClient[] = [];
  private readonly history: (Operation<KvInput, KvOutput> & { output?: KvOutput; returnTime: number })[] = [];
  private readonly opsByRequest = new Map<string, { client: SimClient; op: ClientOp }>();
  private profile: FaultProfile;
  private readonly profileText: string;
  private groups: Map<NodeId, number> | null = null;
  private settled = false;
  private settleAtMs: number;
  private messages = 0;
  private readonly trace: string[] = [];
  private readonly traceLimit: number;

  constructor(private readonly opts: SimOptions) {
    this.random = new Random(opts.seed);
    this.netRandom = this.random.fork();
    this.clientRandom = this.random.fork();
    this.adapter = adapterFor(opts.protocol) as unknown as ProtocolAdapter<M>;
    this.checker = new InvariantChecker(this.adapter, opts.clusterSize);
    this.profile = opts.profile ?? drawProfile(this.random.fork());
    this.profileText = describeProfile(this.profile);
    this.settleAtMs = opts.faultPhaseMs ?? 3000;
    this.traceLimit = opts.traceLines ?? 120;
  }

  run(): SimResult {
    this.start();
    let violation: string | undefined;
    try {
      this.loop();
      this.checkHistory();
    } catch (err) {
      if (err instanceof Stop) violation = err.message;
      else if (err instanceof InvariantViolation) violation = err.message;
      else if (err instanceof Error) violation = `a core threw: ${err.message}`;
      else throw err;
    }
    return this.result(violation);
  }

  private result(violation: string | undefined): SimResult {
    const completed = this.history.filter((h) => h.returnTime !== Infinity).length;
    return {
      seed: this.opts.seed, protocol: this.opts.protocol, clusterSize: this.opts.clusterSize,
      ok: violation === undefined, ...(violation !== undefined ? { violation } : {}),
      chosen: this.checker.chosen.size, messages: this.messages, opsCompleted: completed,
      opsOpen: this.history.length - completed, virtualMs: this.nowMs, profile: this.profileText,
      trace: violation === undefined ? [] : [...this.trace],
    };
  }

  private schedule(delayMs: number, ev: SimEvent): void {
    this.queue.push({ atMs: this.nowMs + delayMs, seq: this.seq++, ev });
  }

  private note(line: string): void {
    this.trace.push(`${this.nowMs.toFixed(1).padStart(7)}ms ${line}`);
    if (this.trace.length > this.traceLimit) this.trace.shift();
  }

  // ------------------------------------------------------------- lifecycle

  private start(): void {
    for (let id = 1; id <= this.opts.clusterSize; id++) {
      const node: SimNode<M> = { id, core: null, durable: [], lazy: [], incarnation: 0 };
      this.nodes.push(node);
      this.boot(node);
    }
    const clientCount = this.opts.proposers?.length ?? this.opts.clients ?? 4;
    for (let id = 1; id <= clientCount; id++) {
      this.clients.push({ id, issued: 0, current: null, settleOpsLeft: this.opts.opsAfterHeal ?? 2 });
      this.schedule(this.clientRandom.int(0, 30), { kind: 'client', client: id });
    }
    if (this.opts.profile !== CALM) this.schedule(CHAOS_EVERY_MS, { kind: 'chaos' });
    this.schedule(this.settleAtMs, { kind: 'settle' });
  }

  private boot(node: SimNode<M>): void {
    const bugs = this.opts.bugs ?? {};
    const records = this.opts.simBugs?.forgetPromiseOnRestart
      ? node.durable.filter((r) => !this.adapter.isPromiseRecord(r))
      : node.durable;
    node.incarnation++;
    node.core = this.adapter.create({
      id: node.id, clusterSize: this.opts.clusterSize, randomSeed: Math.floor(this.random.next() * 2 ** 32),
      bugs: node.incarnation > 1 ? bugs : { ...bugs, reuseBallotAfterRestart: false },
      ...(this.opts.backoff === false ? { backoff: false } : {}),
    }, records);
    if (node.incarnation > 1) this.checker.onRestart(node.id, node.core);
    this.schedule(this.random.int(1, TICK_MS), { kind: 'tick', node: node.id, incarnation: node.incarnation });
  }

  private crash(node: SimNode<M>): void {
    if (node.core === null) return;
    node.core = null;
    node.lazy = [];
    this.note(`node-${node.id} CRASHED`);
  }

  private loop(): void {
    const endMs = this.settleAtMs + (this.opts.livenessBoundMs ?? 6000);
    for (let item = this.queue.pop(); item !== undefined; item = this.queue.pop()) {
      this.nowMs = item.atMs;
      if (this.nowMs > endMs) throw new Stop(this.livenessFailure());
      if (this.handle(item.ev)) return;
    }
    throw new Stop('the event queue ran dry before the run finished');
  }

  /** Returns true when the run is complete. */
  private handle(ev: SimEvent): boolean {
    switch (ev.kind) {
      case 'deliver':
        this.deliver(ev.message as M);
        return false;
      case 'tick':
        this.onTick(ev.node, ev.incarnation);
        return false;
      case 'persisted': {
        const node = this.nodes[ev.node - 1]!;
        if (node.core !== null && node.incarnation === ev.incarnation) this.stepNode(node, { type: 'persisted', note: ev.note });
        return false;
      }
      case 'client':
        this.onClient(this.clients[ev.client - 1]!, ev.requestId);
        return false;
      case 'chaos':
        this.onChaos();
        return false;
      case 'restart':
        if (this.nodes[ev.node - 1]!.core === null) this.restart(this.nodes[ev.node - 1]!);
        return false;
      case 'settle':
        this.onSettle();
        return false;
      case 'probe':
        return this.onProbe();
    }
  }

  private restart(node: SimNode<M>): void {
    this.note(`node-${node.id} RESTARTED from ${node.durable.length} records`);
    this.boot(node);
  }

  // -------------------------------------------------------------- stepping

  private stepNode(node: SimNode<M>, input: Parameters<SimCore<M>['step']>[0]): void {
    const core = node.core;
    if (core === null) return;
    core.step(input);
    this.processReady(node, core, core.ready() as Ready<M, unknown>);
  }

  /** Hands out one Ready the way a real replica must: persist, then send. A planted bug reverses that. */
  private processReady(node: SimNode<M>, core: SimCore<M>, ready: Ready<M, unknown>): void {
    this.traceEvents(node.id, ready.events);
    this.checker.onEvents(node.id, core, ready.events);
    const crashMidway = !this.settled && this.netRandom.chance(this.profile.midReadyCrashRate);
    // Early messages leave before the records are written, so a crash right after cannot take them back.
    for (const m of ready.earlyMessages) this.send(node.id, m);
    const sendFirst = this.opts.simBugs?.replyBeforePersist === true;
    node.durable.push(...node.lazy);
    node.lazy = [...ready.persistLazy];
    if (!sendFirst) node.durable.push(...ready.persist);
    if (crashMidway && !sendFirst) return this.crash(node);
    for (const m of ready.messages) this.send(node.id, m);
    this.checker.onChosen(node.id, ready.chosen);
    for (const r of ready.replies) this.onReply(node.id, r);
    if (crashMidway) return this.crash(node);
    if (sendFirst) node.durable.push(...ready.persist);
    if (ready.afterPersist !== null) {
      // The fsync takes a little while; other inputs may be stepped before the leader hears it finished.
      this.schedule(this.netRandom.next() * 2, { kind: 'persisted', node: node.id, incarnation: node.incarnation, note: ready.afterPersist });
    }
    this.checker.afterStep(node.id, core, this.touchedInstances(ready.messages));
  }

  private touchedInstances(messages: readonly M[]): Set<string> {
    const touched = new Set<string>();
    if (this.opts.protocol === 'multi') touched.add(ALL_INSTANCES);
    for (const m of messages) {
      const acc = this.adapter.acceptedIn(m);
      if (acc !== null) for (const i of acc.instances) touched.add(i);
      const key = (m as { key?: string }).key;
      if (key !== undefined) touched.add(key);
    }
    return touched;
  }

  private traceEvents(node: NodeId, events: readonly CoreEvent[]): void {
    for (const e of events) {
      if (e.type === 'phase1') this.note(`node-${node} phase 1 at ${e.ballot.round}.${e.ballot.node}${e.instance ? ` for ${e.instance}` : ''}`);
      else if (e.type === 'leader') this.note(`node-${node} became leader at ${e.ballot.round}.${e.ballot.node}`);
      else if (e.type === 'phase2') this.note(`node-${node} phase 2 ${e.instance}=${e.value} at ${e.ballot.round}.${e.ballot.node} (quorum ${e.quorum.join(',')}${e.adopted ? ', adopted' : ''})`);
    }
  }

  private onTick(id: NodeId, incarnation: number): void {
    const node = this.nodes[id - 1]!;
    if (node.core === null || node.incarnation !== incarnation) return;
    this.stepNode(node, { type: 'tick' });
    this.schedule(TICK_MS, { kind: 'tick', node: id, incarnation });
  }

  // --------------------------------------------------------------- network

  private cut(a: NodeId, b: NodeId): boolean {
    return this.groups !== null && this.groups.get(a) !== this.groups.get(b);
  }

  private send(from: NodeId, m: M): void {
    this.checker.onSend(from, m);
    this.messages++;
    if (this.cut(from, m.to) || this.netRandom.chance(this.profile.dropRate)) return;
    const copies = this.netRandom.chance(this.profile.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delayMs = this.profile.minDelayMs + this.netRandom.next() * this.profile.delaySpreadMs;
      this.schedule(delayMs, { kind: 'deliver', message: m });
    }
  }

  private deliver(m: M): void {
    const node = this.nodes[m.to - 1]!;
    if (node.core === null || this.cut(m.from, m.to)) return;
    this.note(describeMessage(this.opts.protocol, m as never));
    this.stepNode(node, { type: 'message', message: m });
  }

  // ---------------------------------------------------------------- faults

  private onChaos(): void {
    if (this.settled) return;
    const r = this.random;
    if (r.chance(this.profile.partitionPer100Ms)) this.togglePartition();
    if (r.chance(this.profile.crashPer100Ms)) {
      const up = this.nodes.filter((n) => n.core !== null);
      if (up.length > 0) {
        const victim = r.pick(up);
        this.crash(victim);
        this.schedule(r.int(50, 600), { kind: 'restart', node: victim.id });
      }
    }
    this.schedule(CHAOS_EVERY_MS, { kind: 'chaos' });
  }

  private togglePartition(): void {
    if (this.groups !== null) {
      this.groups = null;
      this.note('network HEALED');
      return;
    }
    const groups = new Map<NodeId, number>();
    for (const n of this.nodes) groups.set(n.id, this.random.int(0, 1));
    this.groups = groups;
    const side = (g: number) => this.nodes.filter((n) => groups.get(n.id) === g).map((n) => n.id).join(',');
    this.note(`network PARTITIONED into {${side(0)}} and {${side(1)}}`);
  }

  /** The end of the fault phase: heal, restart everyone, calm the network, start the liveness clock. */
  private onSettle(): void {
    this.settled = true;
    this.groups = null;
    this.profile = { ...this.profile, dropRate: 0, duplicateRate: 0, midReadyCrashRate: 0 };
    this.note('SETTLE: network healed, every replica restarted, liveness clock starts');
    for (const node of this.nodes) if (node.core === null) this.restart(node);
    for (const c of this.clients) {
      c.current = null;
      this.schedule(this.clientRandom.int(0, 20), { kind: 'client', client: c.id });
    }
    this.schedule(50, { kind: 'probe' });
  }

  private onProbe(): boolean {
    const clientsDone = this.clients.every((c) => c.settleOpsLeft === 0 && c.current === null);
    if (clientsDone && this.converged()) return true;
    this.schedule(50, { kind: 'probe' });
    return false;
  }

  private converged(): boolean {
    const want = this.checker.chosen.size;
    return this.nodes.every((n) => n.core !== null && n.core.view().chosenCount === want);
  }

  private livenessFailure(): string {
    const stuck = this.clients.filter((c) => c.settleOpsLeft > 0 || c.current !== null).map((c) => `client ${c.id}`);
    const counts = this.nodes.map((n) => `node-${n.id}:${n.core?.view().chosenCount ?? 'down'}`).join(' ');
    return `liveness: ${this.opts.livenessBoundMs ?? 6000}ms after the network healed, ` +
      (stuck.length > 0 ? `${stuck.join(', ')} still waiting; ` : '') +
      `chosen ${this.checker.chosen.size} in all, learned per replica ${counts}`;
  }

  // --------------------------------------------------------------- clients

  private onClient(c: SimClient, deadlineOf: string | undefined): void {
    if (deadlineOf !== undefined && c.current?.requestId !== deadlineOf) return;
    if (c.current !== null) {
      if (this.nowMs < c.current.deadlineMs) return;
      if (this.settled) throw new Stop(`liveness: client ${c.id}'s request ${c.current.requestId} to node-${c.current.node} got no answer within the bound after the network healed`);
      c.current = null; // Timed out: its outcome stays unknown (open) in the history.
    }
    if (this.settled && c.settleOpsLeft === 0) return;
    if (!this.settled && this.nowMs > this.settleAtMs - 50) return;
    if (this.settled) c.settleOpsLeft--;
    this.issue(c);
  }

  private issue(c: SimClient): void {
    c.issued++;
    const r = this.clientRandom;
    const requestId = `c${c.id}.${c.issued}`;
    const nodeId = this.opts.proposers?.[c.id - 1] ?? r.int(1, this.opts.clusterSize);
    const key = `k${r.int(1, this.opts.keys ?? (this.opts.protocol === 'basic' ? 20 : 3))}`;
    const write = this.opts.proposers !== undefined || r.chance(this.opts.protocol === 'basic' ? 0.7 : 0.6);
    const command: Command = write ? { op: 'set', key, value: `v${c.id}.${c.issued}` } : { op: 'get', key };
    // Multi-Paxos logs reads as commands too, so every request is a value that may be chosen.
    if (command.op === 'set' || this.opts.protocol === 'multi') {
      this.checker.noteProposed(key, this.adapter.commandValueId(nodeId, requestId, command.op === 'set' ? command.value : ''));
    }
    const timeoutMs = this.settled ? this.settleAtMs + (this.opts.livenessBoundMs ?? 6000) - this.nowMs : r.int(200, 800);
    const history = { clientId: c.id, input: command as KvInput, callTime: this.nowMs, returnTime: Infinity } as ClientOp['history'];
    this.history.push(history);
    const op: ClientOp = { requestId, node: nodeId, history, deadlineMs: this.nowMs + timeoutMs };
    c.current = op;
    this.opsByRequest.set(`${nodeId}/${requestId}`, { client: c, op });
    this.note(`client ${c.id} → node-${nodeId} ${command.op === 'set' ? `set ${key}=${command.value}` : `get ${key}`}`);
    this.schedule(timeoutMs, { kind: 'client', client: c.id, requestId });
    this.stepNode(this.nodes[nodeId - 1]!, { type: 'request', request: { requestId, command } });
  }

  private onReply(node: NodeId, reply: ClientReply): void {
    const entry = this.opsByRequest.get(`${node}/${reply.requestId}`);
    if (entry === undefined || entry.client.current !== entry.op) return;
    const c = entry.client;
    c.current = null;
    if (!reply.ok) {
      if (this.settled) throw new Stop(`liveness: node-${node} failed client ${c.id}'s request after the network healed: ${reply.error}`);
    } else {
      entry.op.history.output = { value: reply.value };
      entry.op.history.returnTime = this.nowMs;
      this.note(`client ${c.id} ← node-${node} ${reply.key}=${reply.value ?? 'nil'}`);
    }
    this.schedule(this.clientRandom.int(5, 60), { kind: 'client', client: c.id });
  }

  private checkHistory(): void {
    const model = this.opts.protocol === 'multi' ? registerModel : writeOnceModel;
    const result = checkKvHistory(model, this.history);
    if (result.ok === false) throw new InvariantViolation(`linearizability: ${result.reason}`);
  }
}

export function runSchedule(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}
