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

import { DEFAULTS } from '../core/config.js';
import { coreEventSentence } from '../core/describe.js';
import type { MultiRecord } from '../core/multi/messages.js';
import { Random } from '../core/random.js';
import type { CoreEvent, NodeId, PlantedBugs, Protocol, Ready } from '../core/types.js';
import type { InputRecorder } from '../node/input-log.js';
import { type PeerMessage, Replica } from '../node/replica.js';
import { adapterFor, type ProtocolAdapter, type SimCore, touchedInstances } from './adapter.js';
import { Administrator } from './administrator.js';
import { CHAOS_EVERY_MS, Chaos } from './chaos.js';
import { SimClients } from './clients.js';
import { type DiskFaultKind, DiskFaults } from './disk-faults.js';
import { EventQueue } from './event-queue.js';
import type { SimEvent, SimNode, World } from './events.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { SimNetwork } from './network.js';
import { CALM, describeProfile, drawProfile, type FaultProfile } from './profile.js';
import { SnapshotChecker } from './snapshot-check.js';
import { drawSwarm, type SwarmChoice, type SwarmSettings } from './swarm.js';
import { SimTracer } from './tracer.js';
import { Incarnation, SimClock, SimDisk, type SimHost, SimLinks, SimStorage } from './twins.js';

/** Bugs planted in the runtime around the core (the core's own are in PlantedBugs). */
export interface SimBugs {
  /** Restart drops the acceptor's promise records. */
  readonly forgetPromiseOnRestart?: boolean;
  /** Messages leave before the state they reflect is persisted (the Ready contract reversed). */
  readonly replyBeforePersist?: boolean;
  /** Every incarnation of a replica numbers its requests from 1 in the same session (the first wave's bug). */
  readonly restartRequestNumbering?: boolean;
  /**
   * Basic: a learner's chosen record is written lazily, never waited for, and
   * dies with the incarnation if no later write carries it (the bug regression
   * seeds 30504 and 37638 were recorded for, commit 26c43da).
   */
  readonly lazyBasicChosen?: boolean;
  /** A replica whose data directory fails its checks at a start (disk-faults.ts) starts anyway and votes. */
  readonly amnesia?: boolean;
  /** The log acknowledges a write before it is fsynced: a process crash keeps it, a power loss does not. */
  readonly ackBeforeFsync?: boolean;
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
  /**
   * Where the schedule's whole trace goes, one JSON line per call, in the
   * format of src/trace/format.ts (`paxos sim --seed S --trace FILE`). Without
   * it nothing is recorded and no trace text is built.
   */
  readonly traceSink?: (line: string) => void;
  /** Only proposals (no reads), each to a fixed node: the duelling-proposers experiments use this. */
  readonly proposers?: readonly NodeId[];
  /** Every node's ticks fire at the same instants, so only the cores' own randomness breaks ties. */
  readonly alignedTicks?: boolean;
  /** Multi: the horizon in slots of the replicas' own sessions (small values exercise expiry). */
  readonly sessionHorizonSlots?: number;
  /** Multi: registered client sessions the table holds (small values exercise eviction). */
  readonly maxSessions?: number;
  /** Multi: slots between snapshots; by default each seed draws a small number, so schedules compact often. */
  readonly snapshotEverySlots?: number;
  /**
   * Multi: an administrator adds, removes and replaces replicas during the
   * fault phase (sometimes two changes at once). By default every odd seed does.
   */
  readonly membershipChanges?: boolean;
  /** Every incarnation's core inputs and Ready digests, for `paxos replay`'s tests: the recorder each boot gets. */
  readonly inputRecorder?: (node: NodeId, incarnation: number) => InputRecorder;
  /**
   * Swarm testing (`swarm.ts`): the seed draws its configuration too (cluster
   * size when asked, horizon, snapshots, timers, batch, faults, stale traffic,
   * clients' habits). What `fixed` names is taken instead of drawn; options
   * above that say the same (profile, horizon, snapshots, membership) win.
   */
  readonly swarm?: SwarmChoice;
  /** Storage faults at crashes (disk-faults.ts); by default those the swarm drew, else none. */
  readonly diskFaults?: readonly DiskFaultKind[];
  /** Multi: whether a replica a start finds damaged is recovered (`paxos recover`) or stays out; by default drawn per seed. */
  readonly recoverDamaged?: boolean;
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
  /** The linearizability search gave up on some key: neither a pass nor a violation. */
  readonly undecided?: string;
  readonly virtualMs: number;
  /** Log compactions (Multi: each with a snapshot) and snapshots installed from a peer (Multi only). */
  readonly snapshots?: { readonly taken: number; readonly installed: number };
  /** Multi: configuration changes asked for, and those that took effect (the run's last epoch). */
  readonly membership?: { readonly asked: number; readonly epochs: number };
  readonly profile: string;
  /** Storage faults that changed a disk, by kind, and replicas a start then kept out (only when some were on). */
  readonly diskFaults?: { readonly applied: Readonly<Record<string, number>>; readonly keptOut: number };
  /** With swarm drawing: every setting the seed drew (printed as flags with a failing seed). */
  readonly swarm?: SwarmSettings;
  readonly trace: readonly string[];
}

const TICK_MS = 10;

class Stop extends Error {}

/**
 * The event loop and the replicas. The network, chaos, the administrator and
 * the clients are parts of their own (`network.ts`, `chaos.ts`,
 * `administrator.ts`, `clients.ts`), each drawing from its own random stream
 * as TigerBeetle's packet simulator and cluster do; the streams are forked
 * here in the order they always were, so every seed replays identically.
 */
export class Simulation<M extends PeerMessage> implements SimHost, World<M> {
  private readonly queue = new EventQueue<{ atMs: number; seq: number; ev: SimEvent }>();
  private seq = 0;
  private time = 0;
  /** The main stream: the fault profile, every boot's seeds and tick phases, and chaos. */
  private readonly random: Random;
  /** The network's stream, which the disks' write times draw from too. */
  private readonly netRandom: Random;
  readonly adapter: ProtocolAdapter<M>;
  readonly checker: InvariantChecker<M>;
  private readonly snapshots: SnapshotChecker | null;
  private readonly snapshotCounts = { taken: 0, installed: 0 };
  readonly nodes: SimNode[] = [];
  private currentProfile: FaultProfile;
  private readonly profileText: string;
  private afterHeal = false;
  readonly settleAtMs: number;
  private readonly trace: string[] = [];
  private readonly traceLimit: number;
  readonly tracer: SimTracer | null;
  private readonly network: SimNetwork<M>;
  private readonly chaos: Chaos<M>;
  private readonly admin: Administrator<M>;
  private readonly clients: SimClients<M>;
  /** Storage faults, when the seed has any on (their own stream: without them nothing is drawn). */
  private readonly diskFaults: DiskFaults | null;
  /** The voters each replica's configuration named when it last crashed (disk faults count damage against it). */
  private readonly lastVoters = new Map<NodeId, readonly NodeId[]>();
  /** Each replica's storage of its current incarnation: its writes in flight are what a power loss may land. */
  private readonly storages = new Map<NodeId, SimStorage>();

  readonly opts: SimOptions;
  /** The seed's drawn settings (swarm testing), or null when the caller runs the classic schedule. */
  readonly swarm: SwarmSettings | null;

  constructor(options: SimOptions) {
    this.swarm =
      options.swarm === undefined
        ? null
        : drawSwarm(options.seed, options.protocol, options.clusterSize, options.swarm);
    const opts: SimOptions =
      this.swarm === null
        ? options
        : {
            ...options,
            clusterSize: this.swarm.clusterSize,
            profile: options.profile ?? this.swarm.profile,
            ...(options.protocol === 'multi'
              ? {
                  sessionHorizonSlots: options.sessionHorizonSlots ?? this.swarm.sessionHorizonSlots,
                  maxSessions: options.maxSessions ?? this.swarm.maxSessions,
                }
              : {}),
            snapshotEverySlots: options.snapshotEverySlots ?? this.swarm.snapshotEverySlots,
            membershipChanges: options.membershipChanges ?? this.swarm.membershipChanges,
          };
    this.opts = opts;
    this.random = new Random(opts.seed);
    this.netRandom = this.random.fork();
    const clientRandom = this.random.fork();
    const crashRandom = this.random.fork();
    this.adapter = adapterFor(opts.protocol) as unknown as ProtocolAdapter<M>;
    this.checker = new InvariantChecker(this.adapter, opts.clusterSize);
    this.snapshots =
      opts.protocol === 'multi'
        ? new SnapshotChecker(this.checker.liveChosen(), {
            horizonSlots: opts.sessionHorizonSlots ?? DEFAULTS.sessionHorizonSlots,
            maxSessions: opts.maxSessions ?? DEFAULTS.maxSessions,
          })
        : null;
    this.currentProfile = opts.profile ?? drawProfile(this.random.fork());
    this.profileText = describeProfile(this.currentProfile);
    this.settleAtMs = opts.faultPhaseMs ?? 3000;
    this.traceLimit = opts.traceLines ?? 120;
    this.tracer = opts.traceSink === undefined ? null : new SimTracer(opts.protocol, opts.traceSink, () => this.time);
    this.network = new SimNetwork(this, this.netRandom, this.snapshots);
    this.chaos = new Chaos(this, this.network, this.random, crashRandom);
    this.admin = new Administrator(this, opts.seed);
    this.clients = new SimClients(this, clientRandom);
    const diskKinds = opts.diskFaults ?? this.swarm?.diskFaults ?? [];
    this.diskFaults =
      diskKinds.length === 0
        ? null
        : new DiskFaults(
            {
              possibleConfigurations: () => this.possibleConfigurations(),
              onLanded: (node, records) => this.onDurable(node, records),
              note: (line) => this.noteAndTrace(line),
            },
            {
              seed: opts.seed,
              kinds: diskKinds,
              amnesia: opts.simBugs?.amnesia === true,
              recoveryPossible: opts.protocol === 'multi' && opts.proposers === undefined,
              ...(opts.recoverDamaged !== undefined ? { recover: opts.recoverDamaged } : {}),
            },
          );
  }

  /**
   * The configurations that may still need a quorum: the latest one any
   * replica entered, each replica's own (one that has not yet learned how an
   * epoch ended still needs that epoch's voters to learn it), and every
   * change the administrator asked for that may yet be chosen.
   */
  private possibleConfigurations(): (readonly NodeId[])[] {
    const own = this.nodes
      .filter((n) => !n.retired)
      .map((n) => n.replica?.inspectCore().view().membership?.voters ?? this.lastVoters.get(n.id))
      .filter((v) => v !== undefined);
    return [this.latestVoters(), ...own, ...this.admin.pendingConfigurations()];
  }

  /** Whether a start found the replica's data directory damaged: it stays down for the rest of the run. */
  diskOut(node: NodeId): boolean {
    return this.diskFaults?.isOut(node) ?? false;
  }

  /** Whether a storage fault damaged the replica's data directory (found at its next start, or not yet). */
  diskDamaged(node: NodeId): boolean {
    return this.diskFaults?.isDamaged(node) ?? false;
  }

  /** Whether the replica lost its disk and was started again to recover (it earns its vote back by re-admission). */
  diskRecovering(node: NodeId): boolean {
    return this.diskFaults?.recovering.has(node) ?? false;
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
      ...(this.swarm !== null ? { swarm: this.swarm } : {}),
      ...(this.diskFaults !== null
        ? { diskFaults: { applied: Object.fromEntries(this.diskFaults.applied), keptOut: this.diskFaults.keptOut } }
        : {}),
      snapshots: { ...this.snapshotCounts },
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
    const id = this.nodes.length + 1;
    const node: SimNode = {
      id,
      disk: new SimDisk(),
      replica: null,
      life: new Incarnation(id, 0),
      links: null,
      incarnations: 0,
      retired: false,
    };
    this.nodes.push(node);
    this.boot(node);
    return node;
  }

  /**
   * Starts a new incarnation of the replica shell from what is on the node's
   * disk; false when the disk fails the checks of a start and the replica stays down.
   */
  private boot(node: SimNode): boolean {
    const verdict = this.diskFaults?.onStart(node.id, node.disk, node.incarnations > 0);
    if (verdict !== undefined && !verdict.ok) {
      if (this.diskFaults === null || !this.diskFaults.recovers) {
        this.noteAndTrace(`node-${node.id} STAYS DOWN: ${verdict.sentence}`);
        return false;
      }
      this.startRecovering(node, this.diskFaults, verdict.sentence);
    }
    node.incarnations++;
    const life = new Incarnation(node.id, node.incarnations);
    node.life = life;
    const forget = this.opts.simBugs?.forgetPromiseOnRestart === true && node.incarnations > 1;
    const recovered = forget ? node.disk.durable.filter((r) => !this.adapter.isPromiseRecord(r)) : node.disk.durable;
    const storage = new SimStorage(
      this,
      life,
      node.disk,
      {
        writeLatencyMs: () =>
          this.currentProfile.writeMinMs + this.netRandom.next() * this.currentProfile.writeSpreadMs,
        onDurable: (records) => this.onDurable(node.id, records),
        crashHere: (point) => this.chaos.maybeCrashAt(node, life, point),
        onSnapshotDurable: (parts, records) => this.tracer?.checkpointDurable(node.id, parts, records),
        onWritten: () => this.diskFaults?.onWritten(node.id, node.disk),
        ackBeforeFsync: this.opts.simBugs?.ackBeforeFsync === true,
      },
      recovered,
    );
    this.storages.set(node.id, storage);
    const links = new SimLinks(life, {
      send: (from, m) => this.network.send(from, m as M),
      crashBeforeSend: () => this.chaos.maybeCrashAt(node, life, 'release'),
    });
    node.links = links;
    const phaseRandom = this.random.fork();
    const clock = new SimClock(this, life, (intervalMs) =>
      this.opts.alignedTicks ? intervalMs : 1 + phaseRandom.next() * (intervalMs - 1),
    );
    node.replica = new Replica({
      id: node.id,
      clusterSize: this.opts.clusterSize,
      protocol: this.opts.protocol,
      storage: this.plantedStorage(storage),
      transport: links,
      clock,
      randomSeed: Math.floor(this.random.next() * 2 ** 32),
      tickMs: TICK_MS,
      publishEveryMs: 0,
      session: this.opts.simBugs?.restartRequestNumbering
        ? `n${node.id}`
        : `n${node.id}-${life.number}-${this.random.int(0, 2 ** 30).toString(36)}`,
      core: this.coreConfig(node),
      ...(this.opts.inputRecorder !== undefined ? { inputs: this.opts.inputRecorder(node.id, life.number) } : {}),
      probe: {
        onReady: (core, ready) =>
          this.onReady(node.id, core as unknown as SimCore<M>, ready as unknown as Ready<M, unknown>),
        // What a node has learned counts from the moment it can tell anyone: when its Ready is released.
        onRelease: (ready) => {
          // Recorded before the checks, so a trace that ends in a violation shows the value that caused it.
          if (ready.chosen.length > 0) this.tracer?.released(node.id, ready.chosen);
          this.checker.onReleasedEvents(node.id, ready.events);
          this.checker.onChosen(node.id, ready.chosen);
        },
      },
    });
    node.replica.start();
    if (node.incarnations > 1) this.checker.onRestart(node.id, node.replica.inspectCore() as unknown as SimCore<M>);
    return true;
  }

  /**
   * The operator's `paxos recover node-N`: the damaged directory goes aside
   * and the replica starts on a fresh one that says it is recovering (the
   * core's `recoverLostDisk`, on every later start too, as the fresh
   * directory's identity says). The checkers forget what it promised and
   * accepted before, and hold it to voting only in epochs opened after the loss.
   */
  private startRecovering(node: SimNode, faults: DiskFaults, sentence: string): void {
    this.noteAndTrace(`node-${node.id} RECOVERS on a fresh disk (paxos recover): ${sentence}`);
    faults.startRecovering(node.id, node.disk);
    faults.onStart(node.id, node.disk, false);
    node.lostDisk = true;
    this.checker.onDiskLost(node.id, this.checker.latestMembership().epoch);
  }

  private onDurable(node: NodeId, records: readonly unknown[]): void {
    this.tracer?.durable(node, records);
    this.checker.onDurable(node, records);
    if (this.snapshots === null) return;
    for (const r of records) {
      const a = r as MultiRecord;
      if (a.t === 'accept') this.snapshots.onDurableAccept(node, a.ballot, a.entries);
      if (a.t === 'epoch') this.snapshots.onDurableEpoch(node, a.membership.startSlot);
    }
  }

  /**
   * A seed compacts every few slots (Multi) or learned keys (Basic), 3 to 64,
   * so snapshots, their crash points and their installation run in every schedule.
   */
  private snapshotEverySlots(): number {
    return this.opts.snapshotEverySlots ?? [3, 7, 16, 64][this.opts.seed % 4]!;
  }

  private coreConfig(node: SimNode): Partial<CoreConfigInput> {
    const bugs = this.opts.bugs ?? {};
    return {
      // What an orchestrator's manifest would tell a (re)starting replica: where the cluster's voters are now.
      ...(this.membershipChanges ? { contacts: this.latestVoters() } : {}),
      snapshotEverySlots: this.snapshotEverySlots(),
      bugs: node.incarnations > 1 ? bugs : { ...bugs, reuseBallotAfterRestart: false },
      ...(node.lostDisk === true ? { recoverLostDisk: true } : {}),
      ...(this.opts.backoff === false ? { backoff: false } : {}),
      ...(this.opts.sessionHorizonSlots !== undefined ? { sessionHorizonSlots: this.opts.sessionHorizonSlots } : {}),
      ...(this.opts.maxSessions !== undefined ? { maxSessions: this.opts.maxSessions } : {}),
      ...(this.swarm !== null
        ? {
            electionTimeoutTicks: this.swarm.electionTimeoutTicks,
            heartbeatTicks: this.swarm.heartbeatTicks,
            maxBatchEntries: this.swarm.maxBatchEntries,
          }
        : {}),
    };
  }

  /** The planted bug "reply before persist": storage that says a write is durable the moment it starts. */
  private plantedStorage(storage: SimStorage): SimStorage {
    if (this.opts.simBugs?.lazyBasicChosen && this.opts.protocol === 'basic') {
      const append = storage.append.bind(storage);
      storage.append = (records, done) => {
        const chosen = records.filter((r) => (r as { t?: string }).t === 'chosen');
        const rest = records.filter((r) => (r as { t?: string }).t !== 'chosen');
        storage.appendLazy(chosen);
        if (rest.length > 0) append(rest, done);
        else done(null);
      };
    }
    if (!this.opts.simBugs?.replyBeforePersist) return storage;
    const append = storage.append.bind(storage);
    storage.append = (records, done) => {
      append(records, () => undefined);
      done(null);
    };
    return storage;
  }

  crash(node: SimNode, where = ''): void {
    if (node.replica === null) return;
    node.life.alive = false;
    if (this.diskFaults !== null) {
      const voters = node.replica.inspectCore().view().membership?.voters;
      if (voters !== undefined) this.lastVoters.set(node.id, voters);
    }
    node.replica = null;
    node.links = null;
    const inFlight = this.storages.get(node.id)?.inFlight ?? [];
    if (this.diskFaults !== null && !this.afterHeal && !node.retired)
      this.diskFaults.onCrash(node.id, node.disk, inFlight);
    else node.disk.keepPageCache();
    this.note(`node-${node.id} CRASHED${where ? ` ${where}` : ''}`);
    this.tracer?.crashed(node.id, where.replace(/^at /, ''));
  }

  private loop(): void {
    const endMs = this.settleAtMs + this.livenessBoundMs();
    for (let item = this.queue.pop(); item !== undefined; item = this.queue.pop()) {
      this.time = item.atMs;
      if (this.time > endMs) throw new Stop(this.livenessFailure());
      if (this.handle(item.ev)) return;
    }
    throw new Stop('the event queue ran dry before the run finished');
  }

  /** The time every client gets after the heal: generous, and longer when disks are slow. */
  livenessBoundMs(): number {
    return (
      this.opts.livenessBoundMs ?? 6000 + 200 * (this.currentProfile.writeMinMs + this.currentProfile.writeSpreadMs)
    );
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
      case 'restart':
        if (this.nodes[ev.node - 1]!.replica === null && !this.nodes[ev.node - 1]!.retired)
          this.restart(this.nodes[ev.node - 1]!);
        return false;
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

  private restart(node: SimNode): void {
    if (this.diskOut(node.id)) return;
    const head = node.disk.snapshot?.[0] as { slot?: number } | undefined;
    const snap = head?.slot === undefined ? '' : ` and a snapshot at slot ${head.slot}`;
    this.note(`node-${node.id} RESTARTED from ${node.disk.durable.length} records${snap}`);
    this.tracer?.restarted(node.id);
    this.boot(node);
  }

  // -------------------------------------------------------------- checking

  /** Every Ready as the core hands it out: the proposer's phases, what it learned, and its state after the step. */
  private onReady(node: NodeId, core: SimCore<M>, ready: Ready<M, unknown>): void {
    this.traceEvents(node, ready.events);
    // Events first: a snapshot taken just after a stop-sign names the epoch this Ready's event reports entering.
    this.checker.onEvents(node, core, ready.events);
    if (ready.checkpoint !== null) {
      this.snapshotCounts.taken++;
      this.snapshots?.checkSnapshot(node, ready.checkpoint.snapshot);
    }
    this.checker.afterStep(node, core, this.touchedInstances(ready));
  }

  private touchedInstances(ready: Ready<M, unknown>): Set<string> {
    return touchedInstances(this.opts.protocol, this.adapter, ready);
  }

  private traceEvents(node: NodeId, events: readonly CoreEvent[]): void {
    for (const e of events) {
      if (e.type === 'phase1')
        this.noteAndTrace(
          `node-${node} phase 1 at ${e.ballot.round}.${e.ballot.node}${e.instance ? ` for ${e.instance}` : ''}`,
        );
      else if (e.type === 'leader')
        this.noteAndTrace(`node-${node} became leader at ${e.ballot.round}.${e.ballot.node}`);
      else if (e.type === 'phase2')
        this.note(
          `node-${node} phase 2 ${e.instance}=${e.value} at ${e.ballot.round}.${e.ballot.node} (quorum ${e.quorum.join(',')}${e.adopted ? ', adopted' : ''})`,
        );
      else if (e.type === 'snapshot-installed') {
        this.snapshotCounts.installed++;
        this.note(`node-${node} ${coreEventSentence(e)}`);
      } else if (e.type === 'identity-reused' && this.swarm?.reuseIdentities !== true)
        throw new InvariantViolation(`node-${node}: ${coreEventSentence(e)} (simulated clients never reuse one)`);
    }
  }

  // ------------------------------------------------------------ the settle

  /** The end of the fault phase: heal, restart everyone, calm the network, start the liveness clock. */
  private onSettle(): void {
    this.afterHeal = true;
    this.network.healForGood();
    this.tracer?.note('settle: faults stop, every replica restarts, the liveness clock starts');
    this.currentProfile = { ...this.currentProfile, dropRate: 0, duplicateRate: 0, midReadyCrashRate: 0 };
    this.note('SETTLE: network healed, every replica restarted, liveness clock starts');
    for (const node of this.nodes) if (node.replica === null && !node.retired) this.restart(node);
    // A replica outside the latest configuration may know none of its voters any more (those it knew were removed
    // and stopped): restarted, it is told where they are, as `paxos up` tells a resumed replica from its manifest.
    const voters = this.latestVoters();
    for (const node of this.nodes) {
      if (node.retired || voters.includes(node.id) || node.replica === null) continue;
      this.crash(node, 'to restart it with the current voters as contacts');
      this.restart(node);
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
    if (views.some((v) => v === null)) return false;
    const first = views[0]!;
    return views.every(
      (v) => v!.chosenCount === first.chosenCount && v!.commitIndex === first.commitIndex && v!.chosenCount >= want,
    );
  }

  private livenessFailure(): string {
    const stuck = this.clients.stuck();
    const counts = this.nodes
      .map(
        (n) =>
          `node-${n.id}:${n.replica?.inspectCore().view().chosenCount ?? (this.diskOut(n.id) ? 'damaged' : 'down')}`,
      )
      .join(' ');
    return (
      `liveness: ${Math.round(this.livenessBoundMs())}ms after the network healed, ` +
      (stuck.length > 0 ? `${stuck.join(', ')} still waiting; ` : '') +
      `chosen ${this.checker.chosen.size} in all, learned per replica ${counts}`
    );
  }

  /** The voters of the latest configuration any replica has entered. */
  appliedCommands(): ReadonlyMap<string, number> | null {
    return this.snapshots?.appliedCommands() ?? null;
  }

  latestVoters(): NodeId[] {
    return [...this.checker.latestMembership().voters];
  }
}

type CoreConfigInput = import('../core/types.js').CoreConfig;

export function runSchedule(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}
