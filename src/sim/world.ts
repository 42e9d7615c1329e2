/**
 * One seeded schedule: N real replica shells (`src/node/replica.ts`, the code
 * a `paxos up` process runs, core included) in one process over in-memory
 * twins of the clock, the disk and the network. The network delays,
 * reorders, drops, duplicates and partitions messages; disks take a seeded
 * time per write; replicas crash at any instant, including inside a write
 * and halfway through releasing a Ready, losing everything not on disk, and
 * restart from what is. Clients open sessions, propose and read through the
 * replica's request API, and retry with the same identity elsewhere.
 *
 * A run has two phases. During the fault phase anything goes. Then the
 * network heals, every replica restarts, and each client's next operations
 * must complete within a bound (liveness) and every replica must learn every
 * chosen value. Safety is checked at every step by `InvariantChecker`; the
 * client history is checked for linearizability at the end.
 */

import { must } from '../core/must.js';
import { Random } from '../core/random.js';
import type { NodeId } from '../core/types.js';
import { nodeName } from '../core/types.js';
import type { PeerMessage } from '../node/replica.js';
import { adapterFor, type ProtocolAdapter } from './adapter.js';
import { Administrator } from './administrator.js';
import { CHAOS_EVERY_MS, Chaos } from './chaos.js';
import { SimClients } from './clients.js';
import { SimDisks } from './disks.js';
import { EventQueue } from './event-queue.js';
import type { SimEvent, SimNode, World } from './events.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { SimNetwork } from './network.js';
import { type SimOptions, type SimResult, settingsUsed, withSwarm } from './options.js';
import { CALM, describeProfile, drawProfile, type FaultProfile } from './profile.js';
import { SimReplicas } from './replicas.js';
import { drawSwarm, type SwarmSettings } from './swarm.js';
import { SimTracer } from './tracer.js';
import type { Incarnation, SimHost } from './twins.js';
import { ReplicaWatch } from './watch.js';

export type { SimBugs, SimOptions, SimResult } from './options.js';

class Stop extends Error {}

/** Events one simulated millisecond may hold: busy schedules handle hundreds (the Basic seeds with 25% duplication about 700 a millisecond on average); a storm goes past this without the clock moving. */
const MAX_EVENTS_PER_SIMULATED_MS = 100_000;

/**
 * The event loop, and the wiring of the schedule's parts: the replicas' lives
 * (`replicas.ts`), the network (`network.ts`), chaos (`chaos.ts`), the
 * administrator (`administrator.ts`), the clients (`clients.ts`), the storage
 * faults (`disks.ts`) and what the checkers see (`watch.ts`). Each draws from
 * its own random stream, as TigerBeetle's packet simulator and cluster do;
 * the streams are forked here in the order they always were, so every seed
 * replays identically.
 */
export class Simulation<M extends PeerMessage> implements SimHost, World<M> {
  private readonly queue = new EventQueue<{ atMs: number; seq: number; ev: SimEvent }>();
  private seq = 0;
  private time = 0;
  readonly adapter: ProtocolAdapter<M>;
  readonly checker: InvariantChecker<M>;
  readonly nodes: SimNode[] = [];
  private currentProfile: FaultProfile;
  private readonly profileText: string;
  /** See `livenessBoundMs`: fixed by the drawn profile, before the heal calms the network. */
  private readonly boundMs: number;
  private afterHeal = false;
  readonly settleAtMs: number;
  private readonly trace: string[] = [];
  private readonly traceLimit: number;
  readonly tracer: SimTracer | null;
  private readonly watch: ReplicaWatch<M>;
  private readonly network: SimNetwork<M>;
  private readonly chaos: Chaos<M>;
  readonly admin: Administrator<M>;
  private readonly clients: SimClients<M>;
  private readonly disks: SimDisks<M>;
  private readonly replicas: SimReplicas<M>;

  readonly opts: SimOptions;
  /** The seed's drawn settings (swarm testing), or null when the caller runs the classic schedule. */
  readonly swarm: SwarmSettings | null;

  constructor(options: SimOptions) {
    this.swarm =
      options.swarm === undefined
        ? null
        : drawSwarm(options.seed, options.protocol, options.clusterSize, options.swarm);
    const opts = withSwarm(options, this.swarm);
    this.opts = opts;
    // The main stream: the fault profile, every boot's seeds and tick phases, and chaos.
    const random = new Random(opts.seed);
    // The network's stream, which the disks' write times draw from too.
    const netRandom = random.fork();
    const clientRandom = random.fork();
    const crashRandom = random.fork();
    this.adapter = adapterFor(opts.protocol) as unknown as ProtocolAdapter<M>;
    this.checker = new InvariantChecker(this.adapter, opts.clusterSize);
    this.watch = new ReplicaWatch(this);
    this.currentProfile = opts.profile ?? drawProfile(random.fork());
    this.profileText = describeProfile(this.currentProfile);
    this.boundMs = opts.livenessBoundMs ?? boundOf(this.currentProfile);
    this.settleAtMs = opts.faultPhaseMs ?? 3000;
    this.traceLimit = opts.traceLines ?? 120;
    this.tracer = opts.traceSink === undefined ? null : new SimTracer(opts.protocol, opts.traceSink, () => this.time);
    this.network = new SimNetwork(this, netRandom, this.watch.snapshots);
    this.chaos = new Chaos(this, this.network, random, crashRandom);
    this.admin = new Administrator(this, opts.seed);
    this.clients = new SimClients(this, clientRandom);
    this.disks = new SimDisks(this, {
      kinds: opts.diskFaults ?? this.swarm?.diskFaults ?? [],
      pendingConfigurations: () => this.admin.pendingConfigurations(),
      onLanded: (node, records) => this.watch.onDurable(node, records),
    });
    this.replicas = new SimReplicas(this, this.nodes, {
      random,
      netRandom,
      chaos: this.chaos,
      network: this.network,
      disks: this.disks,
      watch: this.watch,
    });
  }

  /** Whether a start found the replica's data directory damaged: it stays down for the rest of the run. */
  diskOut(node: NodeId): boolean {
    return this.disks.isOut(node);
  }

  /** Whether a storage fault damaged the replica's data directory (found at its next start, or not yet). */
  diskDamaged(node: NodeId): boolean {
    return this.disks.isDamaged(node);
  }

  /**
   * Whether the replica was started again to recover from its disk's latest damage: still recovering, or re-admitted
   * (its record says so). A recovered replica damaged again is 'none' until it starts recovering anew: a directory
   * rolled back still holds the old re-admission record (seed 2068077 at 3 replicas).
   */
  diskRecovery(node: NodeId): 'none' | 'recovering' | 'readmitted' {
    const n = this.nodes[node - 1];
    if (n?.lostDisk !== true || this.disks.isDamagedSinceRecovery(node)) return 'none';
    return n.disk.durable.some((r) => (r as { t?: string }).t === 'readmitted') ? 'readmitted' : 'recovering';
  }

  get now(): number {
    return this.time;
  }

  get settled(): boolean {
    return this.afterHeal;
  }

  get profile(): FaultProfile {
    return this.currentProfile;
  }

  get membershipChanges(): boolean {
    if (this.opts.protocol !== 'multi' || this.opts.proposers !== undefined) return false;
    return this.opts.membershipChanges ?? this.opts.seed % 2 === 1;
  }

  run(): SimResult {
    let violation: string | undefined;
    try {
      this.start();
      this.loop();
      this.clients.checkAnswers();
      this.clients.checkHistory();
    } catch (err) {
      if (err instanceof Stop) violation = err.message;
      else if (err instanceof InvariantViolation) violation = err.message;
      else if (err instanceof Error) violation = `a replica threw: ${err.message}`;
      else throw err;
    }
    return this.result(violation);
  }

  private result(violation: string | undefined): SimResult {
    const completed = this.clients.completed;
    const undecided = this.clients.undecided;
    const diskFaults = this.disks.summary();
    return {
      seed: this.opts.seed,
      protocol: this.opts.protocol,
      clusterSize: this.opts.clusterSize,
      ok: violation === undefined,
      ...(violation !== undefined ? { violation } : {}),
      ...(undecided !== undefined ? { undecided } : {}),
      chosen: this.checker.chosen.size,
      messages: this.network.messages,
      opsCompleted: completed,
      opsOpen: this.clients.operations - completed,
      virtualMs: this.time,
      profile: this.profileText,
      ...(this.opts.livenessBoundMs !== undefined ? { livenessBoundMs: this.opts.livenessBoundMs } : {}),
      ...(this.swarm !== null ? { swarm: settingsUsed(this.swarm, this.opts, this.membershipChanges) } : {}),
      ...(diskFaults !== null ? { diskFaults } : {}),
      snapshots: { ...this.watch.snapshotCounts },
      ...(this.membershipChanges
        ? { membership: { asked: this.admin.changesAsked, epochs: this.checker.latestMembership().epoch } }
        : {}),
      trace: violation === undefined ? [] : [...this.trace],
    };
  }

  // ------------------------------------------------------------ SimHost

  nowMs(): number {
    return this.time;
  }

  at(delayMs: number, fn: () => void): void {
    this.schedule(delayMs, { kind: 'call', fn });
  }

  schedule(delayMs: number, ev: SimEvent): void {
    this.queue.push({ atMs: this.time + delayMs, seq: this.seq++, ev });
  }

  note(line: string): void {
    this.trace.push(`${this.time.toFixed(1).padStart(7)}ms ${line}`);
    if (this.trace.length > this.traceLimit) this.trace.shift();
  }

  noteAndTrace(line: string): void {
    this.note(line);
    this.tracer?.note(line);
  }

  // ------------------------------------------------------------- lifecycle

  private start(): void {
    for (let id = 1; id <= this.opts.clusterSize; id++) this.addNode();
    if (this.membershipChanges) this.admin.start();
    this.clients.start();
    if (this.opts.profile !== CALM) this.schedule(CHAOS_EVERY_MS, { kind: 'chaos' });
    this.schedule(this.settleAtMs, { kind: 'settle' });
  }

  /** A new replica with an empty disk and the next id: one of the first ones, or a learner joining later. */
  addNode(): SimNode {
    return this.replicas.add();
  }

  crash(node: SimNode, where = ''): void {
    this.replicas.crash(node, where);
  }

  private loop(): void {
    const endMs = this.settleAtMs + this.livenessBoundMs();
    // Time bounds a run only while it moves: messages that beget messages faster than the clock advances would hold
    // it at one instant for good (seed 2017865 did, before the learner's fix). A storm is a failure, not a hang.
    let windowStartMs = -Infinity;
    let inWindow = 0;
    for (let item = this.queue.pop(); item !== undefined; item = this.queue.pop()) {
      this.time = item.atMs;
      if (this.time > endMs) throw new Stop(this.livenessFailure());
      if (this.time - windowStartMs >= 1) {
        windowStartMs = this.time;
        inWindow = 0;
      }
      if (++inWindow > MAX_EVENTS_PER_SIMULATED_MS)
        throw new Stop(
          `message storm: more than ${MAX_EVENTS_PER_SIMULATED_MS} events within one simulated millisecond at ${this.time.toFixed(3)} ms (${this.queue.size} queued)`,
        );
      if (this.handle(item.ev)) return;
    }
    throw new Stop('the event queue ran dry before the run finished');
  }

  /** The time every client gets after the heal (`boundOf`). */
  livenessBoundMs(): number {
    return this.boundMs;
  }

  /** Returns true when the run is complete. */
  private handle(ev: SimEvent): boolean {
    switch (ev.kind) {
      case 'call':
        ev.fn();
        return false;
      case 'deliver':
        this.network.deliver(ev.message as M, ev.traceId);
        return false;
      case 'client':
        this.clients.onClient(ev.client, ev.op, ev.attempt);
        return false;
      case 'chaos':
        this.chaos.onChaos();
        return false;
      case 'restart': {
        const node = must(this.nodes[ev.node - 1], 'a restart is scheduled only for a node the world added');
        if (node.replica === null && !node.retired) this.replicas.restart(node);
        return false;
      }
      case 'admin':
        this.admin.onAdmin();
        return false;
      case 'settle':
        this.onSettle();
        return false;
      case 'probe':
        return this.onProbe();
    }
  }

  // ------------------------------------------------------------ the settle

  /** The end of the fault phase: heal, restart everyone, calm the network, start the liveness clock. */
  private onSettle(): void {
    this.afterHeal = true;
    this.network.healForGood();
    this.chaos.pauses?.resumeAll();
    this.tracer?.note('settle: faults stop, every replica restarts, the liveness clock starts');
    this.currentProfile = { ...this.currentProfile, dropRate: 0, duplicateRate: 0, midReadyCrashRate: 0 };
    this.note('SETTLE: network healed, every replica restarted, liveness clock starts');
    for (const node of this.nodes) if (node.replica === null && !node.retired) this.replicas.restart(node);
    // A replica outside the latest configuration may know none of its voters any more (those it knew were removed
    // and stopped): restarted, it is told where they are, as `paxos up` tells a resumed replica from its manifest.
    const voters = this.latestVoters();
    for (const node of this.nodes) {
      if (node.retired || voters.includes(node.id) || node.replica === null) continue;
      this.crash(node, 'to restart it with the current voters as contacts');
      this.replicas.restart(node);
    }
    this.clients.wakeAll();
    this.schedule(50, { kind: 'probe' });
  }

  private onProbe(): boolean {
    if (this.clients.allDone && this.converged()) return true;
    this.schedule(50, { kind: 'probe' });
    return false;
  }

  /**
   * Every replica is up and has learned the same values, at least every one
   * seen chosen. (A value learned only inside a snapshot is never released as
   * chosen on its own, so replicas may count more than the checker saw.)
   */
  private converged(): boolean {
    const want = this.checker.liveChosenCount();
    const views = this.nodes
      .filter((n) => !n.retired && !this.diskOut(n.id))
      .map((n) => n.replica?.inspectCore().view() ?? null);
    const up = views.filter((v) => v !== null);
    if (up.length < views.length) return false;
    const [first] = up;
    return (
      first === undefined ||
      up.every(
        (v) => v.chosenCount === first.chosenCount && v.commitIndex === first.commitIndex && v.chosenCount >= want,
      )
    );
  }

  private livenessFailure(): string {
    const stuck = this.clients.stuck();
    const counts = this.nodes
      .map(
        (n) =>
          `${nodeName(n.id)}:${n.replica?.inspectCore().view().chosenCount ?? (this.diskOut(n.id) ? 'damaged' : 'down')}`,
      )
      .join(' ');
    return (
      `liveness: ${Math.round(this.livenessBoundMs())}ms after the network healed, ` +
      (stuck.length > 0 ? `${stuck.join(', ')} still waiting; ` : '') +
      `chosen ${this.checker.chosen.size} in all, learned per replica ${counts}`
    );
  }

  pausedMs(life: Incarnation): number {
    return this.chaos.pauses?.pausedMs(life) ?? 0;
  }

  appliedCommands(): ReadonlyMap<string, number> | null {
    return this.watch.snapshots?.appliedCommands() ?? null;
  }

  /** The voters of the latest configuration any replica has entered. */
  latestVoters(): NodeId[] {
    return [...this.checker.latestMembership().voters];
  }
}

export function runSchedule(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}

/**
 * The time every client gets after the heal: generous, and longer when disks or the network of the drawn profile are
 * slow. The network's share is 20 round trips at the drawn worst delay, each lost at the drawn rate and sent again: a
 * replica that catches up by snapshot streams takes one round trip per part. Without it, a slow lossy network's
 * recovery was judged a stall while it still moved (seeds 3068194 and 3464223: 7 and 6 replicas, delays up to 123 ms,
 * 15-30% loss, damaged disks re-admitted, a replica catching up through streams; each passes with an 8-10 s bound).
 * Only a run that reaches the bound sees the difference: a client after the heal waits on one replica until the bound,
 * so no run that ends before it changes.
 */
function boundOf(p: FaultProfile): number {
  const roundTripMs = 2 * (p.minDelayMs + p.delaySpreadMs);
  return 6000 + 200 * (p.writeMinMs + p.writeSpreadMs) + (20 * roundTripMs) / (1 - p.dropRate);
}
