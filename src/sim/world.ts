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
import { Random } from '../core/random.js';
import { DEFAULTS } from '../core/config.js';
import type { MultiMessage, MultiRecord } from '../core/multi/messages.js';
import { describeMessage } from '../core/describe.js';
import { commandKey, type ClientReply, type Command, type CommandIdentity, type CoreEvent, type NodeId, type PlantedBugs, type Protocol, type Ready } from '../core/types.js';
import { Replica, type PeerMessage } from '../node/replica.js';
import { adapterFor, ALL_INSTANCES, type ProtocolAdapter, type SimCore } from './adapter.js';
import { Incarnation, SimClock, SimDisk, SimLinks, SimStorage, type SimHost } from './twins.js';
import { EventQueue } from './event-queue.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { SnapshotChecker } from './snapshot-check.js';
import { checkKvHistory, registerModel, writeOnceModel, type KvInput, type KvOutput, type Operation } from './linearizability.js';
import { CALM, describeProfile, drawProfile, type FaultProfile } from './profile.js';
import { SimTracer } from './tracer.js';
import type { InputRecorder } from '../replay/recording.js';

/** Bugs planted in the runtime around the core (the core's own are in PlantedBugs). */
export interface SimBugs {
  /** Restart drops the acceptor's promise records. */
  readonly forgetPromiseOnRestart?: boolean;
  /** Messages leave before the state they reflect is persisted (the Ready contract reversed). */
  readonly replyBeforePersist?: boolean;
  /** Every incarnation of a replica numbers its requests from 1 in the same session (the first wave's bug). */
  readonly restartRequestNumbering?: boolean;
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
  /** Multi: the session table's horizon in slots (small values exercise expiry). */
  readonly sessionHorizonSlots?: number;
  /** Multi: slots between snapshots; by default each seed draws a small number, so schedules compact often. */
  readonly snapshotEverySlots?: number;
  /**
   * Multi: an administrator adds, removes and replaces replicas during the
   * fault phase (sometimes two changes at once). By default every odd seed does.
   */
  readonly membershipChanges?: boolean;
  /** Every incarnation's core inputs and Ready digests, for `paxos replay`'s tests: the recorder each boot gets. */
  readonly inputRecorder?: (node: NodeId, incarnation: number) => InputRecorder;
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
  readonly trace: readonly string[];
}

const TICK_MS = 10;
const CHAOS_EVERY_MS = 100;

type SimEvent =
  | { readonly kind: 'call'; readonly fn: () => void }
  /** `traceId` names the message's send in the trace; 0 when nothing is recorded. */
  | { readonly kind: 'deliver'; readonly message: PeerMessage; readonly traceId: number }
  /** A client wakes up; with `op` it is that operation's attempt deadline. */
  | { readonly kind: 'client'; readonly client: number; readonly op?: ClientOp; readonly attempt?: number }
  | { readonly kind: 'chaos' }
  | { readonly kind: 'restart'; readonly node: NodeId }
  | { readonly kind: 'settle' }
  | { readonly kind: 'probe' }
  | { readonly kind: 'admin' };

interface SimNode {
  readonly id: NodeId;
  readonly disk: SimDisk;
  replica: Replica | null;
  life: Incarnation;
  links: SimLinks | null;
  incarnations: number;
  /** Removed from the configuration and stopped for good, as `paxos remove` does (its disk counts as gone). */
  retired: boolean;
}

type HistoryOp = Operation<KvInput, KvOutput> & { output?: KvOutput; returnTime: number };

/** One logical operation of a client: one identity, however many attempts it takes. */
interface ClientOp {
  readonly identity: CommandIdentity | null;
  readonly command: Command;
  readonly history: HistoryOp;
  attempts: number;
  /** Some attempt may have taken effect (sent and not answered, or answered "unknown"): a refusal no longer settles it. */
  maybeApplied: boolean;
  done: boolean;
}

interface SimClient {
  readonly id: number;
  /**
   * A client with its own session retries with the same identity, elsewhere
   * (as `paxos check` does); one without (null) is like `paxos propose`: the
   * replica it asks numbers the command in that replica's own session, and it
   * does not retry.
   */
  readonly session: string | null;
  issued: number;
  current: ClientOp | null;
  settleOpsLeft: number;
}

class Stop extends Error {}

/** Attempts of one operation before the client gives up on it (its outcome then stays unknown). */
const MAX_ATTEMPTS = 4;

export class Simulation<M extends PeerMessage> implements SimHost {
  private readonly queue = new EventQueue<{ atMs: number; seq: number; ev: SimEvent }>();
  private seq = 0;
  private now = 0;
  private readonly random: Random;
  private readonly netRandom: Random;
  private readonly clientRandom: Random;
  private readonly crashRandom: Random;
  private readonly adapter: ProtocolAdapter<M>;
  private readonly checker: InvariantChecker<M>;
  private readonly snapshots: SnapshotChecker | null;
  private readonly snapshotCounts = { taken: 0, installed: 0 };
  private readonly nodes: SimNode[] = [];
  private readonly clients: SimClient[] = [];
  private readonly history: HistoryOp[] = [];
  private profile: FaultProfile;
  private readonly profileText: string;
  private groups: Map<NodeId, number> | null = null;
  private settled = false;
  private settleAtMs: number;
  private messages = 0;
  private readonly trace: string[] = [];
  private readonly traceLimit: number;
  private undecided: string | undefined;
  private readonly tracer: SimTracer | null;
  /** Its own generator, so schedules without membership changes draw exactly what they drew before. */
  private readonly adminRandom: Random;
  private adminSeq = 0;
  private adminBusy = false;
  private readonly adminSession: string;
  private changesAsked = 0;

  constructor(private readonly opts: SimOptions) {
    this.random = new Random(opts.seed);
    this.netRandom = this.random.fork();
    this.clientRandom = this.random.fork();
    this.crashRandom = this.random.fork();
    this.adapter = adapterFor(opts.protocol) as unknown as ProtocolAdapter<M>;
    this.checker = new InvariantChecker(this.adapter, opts.clusterSize);
    this.snapshots = opts.protocol === 'multi' ? new SnapshotChecker(this.checker.liveChosen(), opts.sessionHorizonSlots ?? DEFAULTS.sessionHorizonSlots) : null;
    this.profile = opts.profile ?? drawProfile(this.random.fork());
    this.profileText = describeProfile(this.profile);
    this.settleAtMs = opts.faultPhaseMs ?? 3000;
    this.traceLimit = opts.traceLines ?? 120;
    this.tracer = opts.traceSink === undefined ? null : new SimTracer(opts.protocol, opts.traceSink, () => this.now);
    this.adminRandom = new Random((opts.seed ^ 0x5eed5) >>> 0);
    this.adminSession = `admin-${this.adminRandom.int(0, 2 ** 30).toString(36)}`;
  }

  private get membershipChanges(): boolean {
    if (this.opts.protocol !== 'multi' || this.opts.proposers !== undefined) return false;
    return this.opts.membershipChanges ?? this.opts.seed % 2 === 1;
  }

  run(): SimResult {
    let violation: string | undefined;
    try {
      this.start();
      this.loop();
      this.checkHistory();
    } catch (err) {
      if (err instanceof Stop) violation = err.message;
      else if (err instanceof InvariantViolation) violation = err.message;
      else if (err instanceof Error) violation = `a replica threw: ${err.message}`;
      else throw err;
    }
    return this.result(violation);
  }

  private result(violation: string | undefined): SimResult {
    const completed = this.history.filter((h) => h.returnTime !== Infinity).length;
    return {
      seed: this.opts.seed, protocol: this.opts.protocol, clusterSize: this.opts.clusterSize,
      ok: violation === undefined, ...(violation !== undefined ? { violation } : {}),
      ...(this.undecided !== undefined ? { undecided: this.undecided } : {}),
      chosen: this.checker.chosen.size, messages: this.messages, opsCompleted: completed,
      opsOpen: this.history.length - completed, virtualMs: this.now, profile: this.profileText,
      snapshots: { ...this.snapshotCounts },
      ...(this.membershipChanges ? { membership: { asked: this.changesAsked, epochs: this.checker.latestMembership().epoch } } : {}),
      trace: violation === undefined ? [] : [...this.trace],
    };
  }

  // ------------------------------------------------------------ SimHost

  nowMs(): number {
    return this.now;
  }

  at(delayMs: number, fn: () => void): void {
    this.schedule(delayMs, { kind: 'call', fn });
  }

  private schedule(delayMs: number, ev: SimEvent): void {
    this.queue.push({ atMs: this.now + delayMs, seq: this.seq++, ev });
  }

  private note(line: string): void {
    this.trace.push(`${this.now.toFixed(1).padStart(7)}ms ${line}`);
    if (this.trace.length > this.traceLimit) this.trace.shift();
  }

  /** A line the failure trace builds anyway, also narrated in the recorded trace when there is one. */
  private noteAndTrace(line: string): void {
    this.note(line);
    this.tracer?.note(line);
  }

  // ------------------------------------------------------------- lifecycle

  private start(): void {
    for (let id = 1; id <= this.opts.clusterSize; id++) this.addNode();
    if (this.membershipChanges) this.schedule(this.adminRandom.int(100, 500), { kind: 'admin' });
    const clientCount = this.opts.proposers?.length ?? this.opts.clients ?? 4;
    for (let id = 1; id <= clientCount; id++) {
      const session = id % 2 === 1 || this.opts.proposers !== undefined ? `c${id}-${this.clientRandom.int(0, 2 ** 30).toString(36)}` : null;
      this.clients.push({ id, session, issued: 0, current: null, settleOpsLeft: this.opts.opsAfterHeal ?? 2 });
      this.schedule(this.clientRandom.int(0, 30), { kind: 'client', client: id });
    }
    if (this.opts.profile !== CALM) this.schedule(CHAOS_EVERY_MS, { kind: 'chaos' });
    this.schedule(this.settleAtMs, { kind: 'settle' });
  }

  /** A new replica with an empty disk and the next id: one of the first ones, or a learner joining later. */
  private addNode(): SimNode {
    const id = this.nodes.length + 1;
    const node: SimNode = { id, disk: new SimDisk(), replica: null, life: new Incarnation(id, 0), links: null, incarnations: 0, retired: false };
    this.nodes.push(node);
    this.boot(node);
    return node;
  }

  /** Starts a new incarnation of the replica shell from what is on the node's disk. */
  private boot(node: SimNode): void {
    node.incarnations++;
    const life = new Incarnation(node.id, node.incarnations);
    node.life = life;
    const forget = this.opts.simBugs?.forgetPromiseOnRestart === true && node.incarnations > 1;
    const recovered = forget ? node.disk.durable.filter((r) => !this.adapter.isPromiseRecord(r)) : node.disk.durable;
    const storage = new SimStorage(this, life, node.disk, {
      writeLatencyMs: () => this.profile.writeMinMs + this.netRandom.next() * this.profile.writeSpreadMs,
      onDurable: (records) => this.onDurable(node.id, records),
      crashHere: (point) => this.maybeCrashAt(node, life, point),
      onSnapshotDurable: (parts, records) => this.tracer?.checkpointDurable(node.id, parts, records),
    }, recovered);
    const links = new SimLinks(life, {
      send: (from, m) => this.send(from, m as M),
      crashBeforeSend: () => this.maybeCrashAt(node, life, 'release'),
    });
    node.links = links;
    const phaseRandom = this.random.fork();
    const clock = new SimClock(this, life, (intervalMs) => this.opts.alignedTicks ? intervalMs : 1 + phaseRandom.next() * (intervalMs - 1));
    node.replica = new Replica({
      id: node.id, clusterSize: this.opts.clusterSize, protocol: this.opts.protocol, storage: this.plantedStorage(storage), transport: links,
      clock, randomSeed: Math.floor(this.random.next() * 2 ** 32), tickMs: TICK_MS, publishEveryMs: 0,
      session: this.opts.simBugs?.restartRequestNumbering ? `n${node.id}` : `n${node.id}-${life.number}-${this.random.int(0, 2 ** 30).toString(36)}`,
      core: this.coreConfig(node),
      ...(this.opts.inputRecorder !== undefined ? { inputs: this.opts.inputRecorder(node.id, life.number) } : {}),
      probe: {
        onReady: (core, ready) => this.onReady(node.id, core as unknown as SimCore<M>, ready as unknown as Ready<M, unknown>),
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
      ...(this.opts.backoff === false ? { backoff: false } : {}),
      ...(this.opts.sessionHorizonSlots !== undefined ? { sessionHorizonSlots: this.opts.sessionHorizonSlots } : {}),
    };
  }

  /** The planted bug "reply before persist": storage that says a write is durable the moment it starts. */
  private plantedStorage(storage: SimStorage): SimStorage {
    if (!this.opts.simBugs?.replyBeforePersist) return storage;
    const append = storage.append.bind(storage);
    storage.append = (records, done) => {
      append(records, () => undefined);
      done(null);
    };
    return storage;
  }

  /** A crash point inside Ready processing: with the profile's rate, the node dies right here. */
  private maybeCrashAt(node: SimNode, life: Incarnation, point: string): boolean {
    if (this.settled || !life.alive || !this.crashRandom.chance(this.profile.midReadyCrashRate)) return false;
    this.crash(node, `at ${point}`);
    this.schedule(this.crashRandom.int(50, 600), { kind: 'restart', node: node.id });
    return true;
  }

  private crash(node: SimNode, where = ''): void {
    if (node.replica === null) return;
    node.life.alive = false;
    node.replica = null;
    node.links = null;
    this.note(`node-${node.id} CRASHED${where ? ` ${where}` : ''}`);
    this.tracer?.crashed(node.id, where.replace(/^at /, ''));
  }

  private loop(): void {
    const endMs = this.settleAtMs + this.livenessBoundMs();
    for (let item = this.queue.pop(); item !== undefined; item = this.queue.pop()) {
      this.now = item.atMs;
      if (this.now > endMs) throw new Stop(this.livenessFailure());
      if (this.handle(item.ev)) return;
    }
    throw new Stop('the event queue ran dry before the run finished');
  }

  /** The time every client gets after the heal: generous, and longer when disks are slow. */
  private livenessBoundMs(): number {
    return this.opts.livenessBoundMs ?? 6000 + 200 * (this.profile.writeMinMs + this.profile.writeSpreadMs);
  }

  /** Returns true when the run is complete. */
  private handle(ev: SimEvent): boolean {
    switch (ev.kind) {
      case 'call':
        ev.fn();
        return false;
      case 'deliver':
        this.deliver(ev.message as M, ev.traceId);
        return false;
      case 'client':
        this.onClient(this.clients[ev.client - 1]!, ev.op, ev.attempt);
        return false;
      case 'chaos':
        this.onChaos();
        return false;
      case 'restart':
        if (this.nodes[ev.node - 1]!.replica === null && !this.nodes[ev.node - 1]!.retired) this.restart(this.nodes[ev.node - 1]!);
        return false;
      case 'admin':
        this.onAdmin();
        return false;
      case 'settle':
        this.onSettle();
        return false;
      case 'probe':
        return this.onProbe();
    }
  }

  private restart(node: SimNode): void {
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
    const touched = new Set<string>();
    if (this.opts.protocol === 'multi') touched.add(ALL_INSTANCES);
    for (const m of [...ready.messages, ...ready.earlyMessages]) {
      const acc = this.adapter.acceptedIn(m);
      if (acc !== null) for (const i of acc.instances) touched.add(i);
      const key = (m as { key?: string }).key;
      if (key !== undefined) touched.add(key);
    }
    for (const r of ready.persist) {
      const a = this.adapter.acceptRecord(r);
      if (a !== null) for (const e of a.entries) touched.add(e.instance);
    }
    return touched;
  }

  private traceEvents(node: NodeId, events: readonly CoreEvent[]): void {
    for (const e of events) {
      if (e.type === 'phase1') this.noteAndTrace(`node-${node} phase 1 at ${e.ballot.round}.${e.ballot.node}${e.instance ? ` for ${e.instance}` : ''}`);
      else if (e.type === 'leader') this.noteAndTrace(`node-${node} became leader at ${e.ballot.round}.${e.ballot.node}`);
      else if (e.type === 'phase2') this.note(`node-${node} phase 2 ${e.instance}=${e.value} at ${e.ballot.round}.${e.ballot.node} (quorum ${e.quorum.join(',')}${e.adopted ? ', adopted' : ''})`);
      else if (e.type === 'note' && e.text.startsWith('installed a snapshot')) {
        this.snapshotCounts.installed++;
        this.note(`node-${node} ${e.text}`);
      } else if (e.type === 'note' && e.text.includes('reuses an identity')) throw new InvariantViolation(`node-${node}: ${e.text} (simulated clients never reuse one)`);
    }
  }

  // --------------------------------------------------------------- network

  private cut(a: NodeId, b: NodeId): boolean {
    return this.groups !== null && this.groups.get(a) !== this.groups.get(b);
  }

  private send(from: NodeId, m: M): void {
    this.checker.onSend(from, m);
    this.snapshots?.onSend(m as MultiMessage);
    this.messages++;
    const traceId = this.tracer?.sent(m) ?? 0;
    // Two tests rather than one `||`, each as before: a cut message draws no loss, so the seed's draws are unchanged.
    if (this.cut(from, m.to)) return this.tracer?.dropped(traceId, 'partition', m.to);
    if (this.netRandom.chance(this.profile.dropRate)) return this.tracer?.dropped(traceId, 'loss', m.to);
    const copies = this.netRandom.chance(this.profile.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delayMs = this.profile.minDelayMs + this.netRandom.next() * this.profile.delaySpreadMs;
      this.schedule(delayMs, { kind: 'deliver', message: m, traceId });
    }
  }

  private deliver(m: M, traceId: number): void {
    const node = this.nodes[m.to - 1]!;
    if (node.links === null) return this.tracer?.dropped(traceId, 'down', m.to);
    if (this.cut(m.from, m.to)) return this.tracer?.dropped(traceId, 'partition', m.to);
    this.tracer?.delivered(traceId, m.to);
    this.note(describeMessage(this.opts.protocol, m as never));
    node.links.deliver(m);
  }

  // ---------------------------------------------------------------- faults

  private onChaos(): void {
    if (this.settled) return;
    const r = this.random;
    if (r.chance(this.profile.partitionPer100Ms)) this.togglePartition();
    if (r.chance(this.profile.crashPer100Ms)) {
      const up = this.nodes.filter((n) => n.replica !== null);
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
      this.tracer?.healed();
      return;
    }
    const groups = new Map<NodeId, number>();
    for (const n of this.nodes) groups.set(n.id, this.random.int(0, 1));
    this.groups = groups;
    this.tracer?.partitioned(groups);
    const side = (g: number) => this.nodes.filter((n) => groups.get(n.id) === g).map((n) => n.id).join(',');
    this.note(`network PARTITIONED into {${side(0)}} and {${side(1)}}`);
  }

  /** The end of the fault phase: heal, restart everyone, calm the network, start the liveness clock. */
  private onSettle(): void {
    this.settled = true;
    if (this.groups !== null) this.tracer?.healed();
    this.tracer?.note('settle: faults stop, every replica restarts, the liveness clock starts');
    this.groups = null;
    this.profile = { ...this.profile, dropRate: 0, duplicateRate: 0, midReadyCrashRate: 0 };
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
    for (const c of this.clients) this.schedule(this.clientRandom.int(0, 20), { kind: 'client', client: c.id });
    this.schedule(50, { kind: 'probe' });
  }

  private onProbe(): boolean {
    const clientsDone = this.clients.every((c) => c.settleOpsLeft === 0 && c.current === null);
    if (clientsDone && this.converged()) return true;
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
    const views = this.nodes.filter((n) => !n.retired).map((n) => n.replica?.inspectCore().view() ?? null);
    if (views.some((v) => v === null)) return false;
    const first = views[0]!;
    return views.every((v) => v!.chosenCount === first.chosenCount && v!.commitIndex === first.commitIndex && v!.chosenCount >= want);
  }

  private livenessFailure(): string {
    const stuck = this.clients.filter((c) => c.settleOpsLeft > 0 || c.current !== null).map((c) => `client ${c.id}`);
    const counts = this.nodes.map((n) => `node-${n.id}:${n.replica?.inspectCore().view().chosenCount ?? 'down'}`).join(' ');
    return `liveness: ${Math.round(this.livenessBoundMs())}ms after the network healed, ` +
      (stuck.length > 0 ? `${stuck.join(', ')} still waiting; ` : '') +
      `chosen ${this.checker.chosen.size} in all, learned per replica ${counts}`;
  }

  // ------------------------------------------------------------ membership

  /** The voters of the latest configuration any replica has entered. */
  private latestVoters(): NodeId[] {
    return [...this.checker.latestMembership().voters];
  }

  /** Clients ask the latest configuration's voters (a removed or joining replica would leave them waiting on nobody). */
  private clientTargets(): NodeId[] {
    const voters = this.latestVoters().filter((id) => !this.nodes[id - 1]!.retired);
    return voters.length > 0 ? voters : this.nodes.filter((n) => !n.retired).map((n) => n.id);
  }

  /**
   * The administrator's turn: add a replica (it joins as a learner, and is
   * made a voter a moment later, caught up or not), remove one, replace one,
   * or ask for two changes at once; each change names the epoch it replaces.
   */
  private onAdmin(): void {
    if (this.settled || this.now > this.settleAtMs - 400) return;
    this.schedule(this.adminRandom.int(150, 600), { kind: 'admin' });
    if (this.adminBusy) return;
    const r = this.adminRandom;
    const m = this.checker.latestMembership();
    const roll = r.next();
    const canAdd = this.nodes.length < this.opts.clusterSize + 3 && m.voters.length < 7;
    if (roll < 0.4 && canAdd) return this.adminAdd();
    if (roll < 0.65 && m.voters.length > 1) return this.adminRemove(m, r.pick(m.voters), false);
    if (roll < 0.8 && canAdd && m.voters.length > 1) return this.adminRemove(m, r.pick(m.voters), true);
    if (roll < 0.9 && canAdd && m.voters.length > 1) {
      // Two changes from one view of the configuration: compare-and-set lets at most one of them through.
      const joiner = this.addNode();
      const victim = r.pick(m.voters);
      this.askChange({ fromEpoch: m.epoch, voters: [...m.voters, joiner.id] }, () => undefined);
      return this.askChange({ fromEpoch: m.epoch, voters: m.voters.filter((v) => v !== victim) }, () => undefined);
    }
  }

  /** A new replica joins as a learner; the change that makes it a voter names the configuration current a moment later. */
  private adminAdd(): void {
    const joiner = this.addNode();
    this.noteAndTrace(`admin: node-${joiner.id} starts as a learner`);
    this.adminBusy = true;
    this.schedule(this.adminRandom.int(0, 400), { kind: 'call', fn: () => {
      const now = this.checker.latestMembership();
      this.askChange({ fromEpoch: now.epoch, voters: [...now.voters, joiner.id] }, () => { this.adminBusy = false; });
    } });
  }

  /** Removes `victim`; once that is chosen the replica is stopped for good, and with `replace` a fresh one joins in its place. */
  private adminRemove(m: { epoch: number; voters: readonly NodeId[] }, victim: NodeId, replace: boolean): void {
    this.adminBusy = true;
    const voters = m.voters.filter((v) => v !== victim);
    this.askChange({ fromEpoch: m.epoch, voters }, (ok) => {
      this.adminBusy = false;
      if (!ok) return;
      if (this.adminRandom.chance(0.6)) this.retireWhenHandedOver(this.nodes[victim - 1]!, m.epoch + 1, voters);
      if (replace && !this.settled) this.adminAdd();
    });
  }

  /**
   * Stops a removed replica for good, as `paxos remove` does, but only once a
   * majority of the new configuration has entered it: until then the removed
   * replica may be the only one that knows its stop-sign is chosen.
   */
  private retireWhenHandedOver(node: SimNode, epoch: number, voters: readonly NodeId[]): void {
    // After the heal every replica must be up (and clients may be waiting on this one), so it stays, as a learner.
    if (this.settled) return;
    const entered = voters.filter((id) => (this.nodes[id - 1]!.replica?.inspectCore().view().membership?.epoch ?? -1) >= epoch).length;
    if (entered * 2 <= voters.length) return this.schedule(50, { kind: 'call', fn: () => this.retireWhenHandedOver(node, epoch, voters) });
    node.retired = true;
    this.crash(node, 'for good: removed from the configuration');
  }

  /** Sends one configuration change to a live voter, as `paxos add` and `paxos remove` send theirs to the leader. */
  private askChange(change: { fromEpoch: number; voters: readonly NodeId[] }, whenDone: (ok: boolean) => void): void {
    let answered = false;
    const done = (ok: boolean) => {
      if (answered) return;
      answered = true;
      whenDone(ok);
    };
    // A replica that crashes with the request never answers: the administrator stops waiting after the deadline.
    this.schedule(1700, { kind: 'call', fn: () => done(false) });
    const live = change.voters.concat(this.latestVoters()).filter((id) => this.nodes[id - 1]?.replica != null);
    if (live.length === 0) return done(false);
    const node = this.nodes[this.adminRandom.pick(live) - 1]!;
    const identity = { session: this.adminSession, seq: ++this.adminSeq };
    const command: Command = { op: 'config', fromEpoch: change.fromEpoch, voters: [...change.voters] };
    this.changesAsked++;
    this.checker.noteProposed('config', `${identity.session}:${identity.seq}`);
    this.checker.noteConfigProposed(`${identity.session}:${identity.seq}`, change);
    this.noteAndTrace(`admin → node-${node.id} ${describeCommand(command)}`);
    const life = node.life;
    node.replica!.request(command, { identity, timeoutMs: 1500 }, (reply) => {
      if (!life.alive) return done(false);
      this.noteAndTrace(`admin ← node-${node.id} ${reply.ok ? `ok at slot ${reply.slot}` : `${reply.outcome} (${reply.code})`}`);
      if (reply.ok) this.checker.onChangeAcknowledged(node.id, change, reply.slot ?? 0);
      done(reply.ok);
    });
  }

  // --------------------------------------------------------------- clients

  /** A client wakes: to start its next operation, or (with `op`) because an attempt's deadline passed. */
  private onClient(c: SimClient, op: ClientOp | undefined, attempt: number | undefined): void {
    if (op !== undefined) {
      // An attempt that got no answer in time may still take effect: retry with the same identity.
      if (op.done || c.current !== op || op.attempts !== attempt) return;
      op.maybeApplied = true;
      return this.retryOrGiveUp(c, op);
    }
    if (c.current !== null) return;
    if (this.settled && c.settleOpsLeft === 0) return;
    if (!this.settled && this.now > this.settleAtMs - 50) return;
    if (this.settled) c.settleOpsLeft--;
    this.issue(c);
  }

  private issue(c: SimClient): void {
    c.issued++;
    const r = this.clientRandom;
    const key = `k${r.int(1, this.opts.keys ?? (this.opts.protocol === 'basic' ? 20 : 3))}`;
    const write = this.opts.proposers !== undefined || r.chance(this.opts.protocol === 'basic' ? 0.7 : 0.6);
    const command: Command = write ? { op: 'set', key, value: `v${c.id}.${c.issued}` } : { op: 'get', key };
    const identity = c.session === null ? null : { session: c.session, seq: c.issued };
    const history = { clientId: c.id, input: command as KvInput, callTime: this.now, returnTime: Infinity } as HistoryOp;
    this.history.push(history);
    const op: ClientOp = { identity, command, history, attempts: 0, maybeApplied: false, done: false };
    c.current = op;
    this.attempt(c, op);
  }

  /** Sends the operation to a node: the fixed proposer, else a random one (a retry prefers another). */
  private attempt(c: SimClient, op: ClientOp): void {
    op.attempts++;
    const r = this.clientRandom;
    const nodeId = this.opts.proposers?.[c.id - 1] ?? (this.membershipChanges ? r.pick(this.clientTargets()) : r.int(1, this.opts.clusterSize));
    const timeoutMs = this.settled ? this.settleAtMs + this.livenessBoundMs() - this.now : r.int(200, 800);
    const cmd = op.command;
    const as = op.identity === null ? '' : ` as ${op.identity.session}:${op.identity.seq}`;
    this.noteAndTrace(`client ${c.id} → node-${nodeId} ${describeCommand(cmd)}${as}${op.attempts > 1 ? ` (attempt ${op.attempts})` : ''}`);
    this.schedule(timeoutMs + 50, { kind: 'client', client: c.id, op, attempt: op.attempts });
    const node = this.nodes[nodeId - 1]!;
    if (node.replica === null) { // The connection fails: no answer, and the deadline will retry.
      this.tracer?.note(`client ${c.id} cannot reach node-${nodeId}: it is down`);
      return;
    }
    const life = node.life;
    // The identity the command travels under: the client's own, or the next one of the replica's session.
    const identity = op.identity ?? node.replica.nextIdentity();
    if (cmd.op === 'set' || this.opts.protocol === 'multi') {
      // Multi-Paxos logs reads as commands too, so every request is a value that may be chosen.
      this.checker.noteProposed(commandKey(cmd), this.adapter.commandValueId(identity, cmd.op === 'set' ? cmd.value : ''));
    }
    node.replica.request(cmd, { identity, timeoutMs }, (reply) => {
      if (life.alive) this.onReply(c, op, nodeId, reply);
    });
  }

  private onReply(c: SimClient, op: ClientOp, node: NodeId, reply: ClientReply): void {
    if (op.done) return;
    if (reply.ok) {
      op.done = true;
      op.history.output = { value: reply.value };
      op.history.returnTime = this.now;
      this.noteAndTrace(`client ${c.id} ← node-${node} ${reply.key}=${reply.value ?? 'nil'}`);
      return this.next(c, op);
    }
    this.noteAndTrace(`client ${c.id} ← node-${node} ${reply.outcome} (${reply.code})`);
    if (reply.outcome === 'unknown') op.maybeApplied = true;
    if (c.current !== op) return;
    if (reply.outcome === 'refused' && !op.maybeApplied && !this.settled) {
      // Known not to have happened, by any attempt: it leaves the history.
      op.done = true;
      this.history.splice(this.history.indexOf(op.history), 1);
      return this.next(c, op);
    }
    this.retryOrGiveUp(c, op);
  }

  private retryOrGiveUp(c: SimClient, op: ClientOp): void {
    // A client with its own session retries under the same identity; a plain one only after the heal,
    // with a new one (a new command, as a user typing it again would), while the old stays open.
    if (op.identity !== null && (this.settled || op.attempts < MAX_ATTEMPTS)) return this.attempt(c, op);
    if (op.identity === null && this.settled) {
      op.done = true;
      c.current = null;
      return this.issue(c);
    }
    op.done = true; // Its outcome stays unknown: the op stays open in the history forever.
    this.next(c, op);
  }

  private next(c: SimClient, op: ClientOp): void {
    if (c.current !== op) return;
    c.current = null;
    this.schedule(this.clientRandom.int(5, 60), { kind: 'client', client: c.id });
  }

  private checkHistory(): void {
    const model = this.opts.protocol === 'multi' ? registerModel : writeOnceModel;
    const result = checkKvHistory(model, this.history);
    if (result.ok === false) throw new InvariantViolation(`linearizability: ${result.reason}`);
    if (result.ok === 'unknown') this.undecided = result.reason;
  }
}

type CoreConfigInput = import('../core/types.js').CoreConfig;

export function runSchedule(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}

function describeCommand(c: Command): string {
  if (c.op === 'config') return `change epoch ${c.fromEpoch} to voters ${c.voters.join(',')}`;
  return c.op === 'set' ? `set ${c.key}=${c.value}` : `get ${c.key}`;
}
