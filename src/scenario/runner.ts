/**
 * A datadriven scenario runner in the style of etcd's raft testdata: a file
 * is a script of steps, each followed by `----` and the trace the step must
 * produce. Messages are held in a visible pool and only move when the script
 * says so, so a reader can follow the protocol without a debugger.
 *
 * Each node is the real replica shell (`Replica`, the one a process and the
 * simulator run) over scripted twins (`./twins.ts`): a clock
 * that ticks only on `tick`, storage whose writes finish when the script says,
 * and links whose messages land in the pool. The runner never takes a Ready
 * itself; it watches the shell through its probe, its storage and its links
 * and prints what it sees, so a trace shows what the shell really does.
 *
 * Commands:
 *   cluster <basic|multi> <n>          start n fresh replicas
 *   option show-persist <on|off>       print what every write holds (off by default)
 *   option persisted <implicit|explicit>
 *                                      who says a leader's own write finished (implicit by default)
 *   option backoff <on|off>            whether a pre-empted Basic Paxos proposer waits a random number of
 *                                      ticks before its next round (on by default); given before the cluster
 *                                      has done anything, it rebuilds the replicas with it
 *   option plant <name|none>           the replicas break one rule on purpose (a plant of `paxos sim --plant`
 *                                      that lives in the replica): a counterexample or regression file shows its
 *                                      bug; rebuilds the replicas as backoff does, so it too comes first
 *   propose <node> <key>=<value>       a client asks a node to set a key
 *   get <node> <key>                   a client asks a node to read a key
 *   join <node>                        a new replica (the next id) starts with an empty disk, as a learner
 *   reconfigure <node> <epoch> <ids>   a client asks a node to replace epoch <epoch>'s configuration by
 *                                      these voters (comma-separated ids): `paxos add` and `paxos remove`
 *   deliver <from> <to> <type>         deliver the oldest pending matching message
 *   drop <from> <to> <type>            lose the oldest pending matching message
 *   duplicate <from> <to> <type>       deliver a copy of the oldest pending matching message, which stays
 *                                      pending (the network duplicated it)
 *   deliver-all                        deliver until nothing is pending (bounded)
 *   deliver-random <seed> [count]      deliver count pending messages (all, bounded, by default), each
 *                                      drawn from the pool by a generator seeded with seed: random delays
 *                                      that the same seed reproduces
 *   partition <ids>|<ids>[|<ids>...]   split the nodes into groups (e.g. 1,2|3): a message between two
 *                                      groups is dropped when it is sent and when it would be delivered
 *   heal                               the partition ends (what it dropped stays lost)
 *   tick <node|all> [count]            advance time
 *   persisted <node>                   explicit mode: the node's oldest write in progress is now durable,
 *                                      with the writes queued behind it up to the next one the core waits on
 *   crash <node>                       the node stops, losing everything it had not written
 *   restart <node>                     the node starts again from the records it had written
 *   recover <node>                     a down node lost its disk and starts on an empty one, recovering: it learns
 *                                      the log and votes again only once its re-admission opened an epoch
 *   wipe <node>                        the same loss, restarted as a new replica would be: amnesia, the bug
 *                                      recovery prevents
 *   state <node>                       print what the node's acceptor and learner hold
 *   wait-until <text>|/<regex>/        deliver what is in flight, oldest first, and tick every running node
 *                                      once whenever nothing is, until a line of the step's trace matches (as
 *                                      `expect` matches); at most 1,000 deliveries and ticks
 *
 * Message types for deliver and drop are the message's `type`, except that a
 * Multi-Paxos accept with no entries is a `heartbeat` and an accepted with no
 * slots an `ack`, the words the trace uses for them.
 *
 * Writes are the shell's: a Ready's `persist` records are appended, and its
 * messages and replies leave only once the append is durable (a Multi reply
 * of a Ready that writes nothing leaves at once, see node/replica.ts); its
 * `persistLazy` records (a learner's "chosen") are queued in storage and go
 * in front of the next append's records, as in the file log. In implicit
 * mode every write is durable at once. In explicit mode a write the core
 * asked to hear about (a leader's own accepts: `afterPersist`) stays in
 * progress until a `persisted` step, and so does every write after it, since
 * the log is written in order; the shell holds every Ready behind it.
 * `crash` loses what storage had not made durable (writes in progress and
 * lazy records) and whatever the shell still held (its early messages had
 * already left).
 *
 * Replies are printed from `ok`, `requestId` and `value` only, with the key
 * taken from the request, so the trace does not depend on the rest of the
 * reply's shape. The shell numbers requests per incarnation, so the
 * numbering starts again at r1 when a replica restarts, as it does in a
 * replica process that keeps no counter on disk: a core must not take a new
 * request for an old one because the two share an id (multi-004 is about
 * exactly that). Each request also carries an identity whose session names
 * the replica's incarnation, unique across restarts.
 *
 * `--trace` records what the runner sees through a `TraceRecorder` whose
 * clock is the step number, so a diagram's rows follow the script's steps.
 */
import { describeMessage } from '../core/describe.js';
import { must } from '../core/must.js';
import { Random } from '../core/random.js';
import type {
  ClientReply,
  Command,
  CommandIdentity,
  CoreEvent,
  PlantedBugs,
  Protocol,
  ProtocolCore,
  Ready,
} from '../core/types.js';
import { nodeName } from '../core/types.js';
import { describeState } from '../node/describe-state.js';
import type { PeerMessage } from '../node/replica.js';
import type { TraceRecorder } from '../trace/format.js';
import { messageFields } from '../trace/messages.js';
import { describeWrite } from '../trace/records.js';
import { AgreementJudge } from './agreement.js';
import { dispatch, MAX_WAIT_MOVES, Partition, type ScenarioVerbs } from './commands.js';
import { describeEvent, describeRecords, describeReply, messageKind } from './lines.js';
import { scenarioPlant } from './plants.js';
import { expectationMet } from './script.js';
import { ScriptedNode } from './twins.js';

type Msg = PeerMessage;

/**
 * What `paxos explore` watches while it drives the cluster through this
 * runner (so its counterexamples are scenarios by construction): the same
 * moments the simulator's checkers hear of. Every hook is optional.
 */
export interface ClusterWatcher {
  /** A shell sent a message, before the partition or the pool sees it. */
  sent?(node: number, m: Msg): void;
  /** Records reached the node's disk, before the shell hears so. */
  durable?(node: number, records: readonly unknown[]): void;
  /** The shell took a Ready from its core. */
  ready?(node: number, core: ProtocolCore<Msg, unknown>, ready: Ready<Msg, unknown>): void;
  /** The shell released a Ready: its records are durable. */
  released?(node: number, ready: Ready<Msg, unknown>): void;
  /** A new incarnation started from its disk (the first one too). */
  booted?(node: number, incarnation: number, core: ProtocolCore<Msg, unknown>): void;
  /** A client's command went to a node under this identity. */
  requested?(node: number, command: Command, identity: CommandIdentity): void;
  /** ... and was answered. */
  answered?(node: number, command: Command, identity: CommandIdentity, reply: ClientReply): void;
}

/** What a watcher may read of the cluster between steps. */
export interface ClusterView {
  readonly protocol: Protocol;
  readonly nodes: readonly {
    readonly id: number;
    readonly incarnation: number;
    readonly disk: readonly unknown[];
    /** The shell while the node is up. */
    readonly replica: ScriptedNode['replica'] | null;
    /** Readies taken and not yet released. */
    readonly unreleased: number;
    /** Requests this incarnation numbered so far. */
    readonly requestSeq: number;
  }[];
  /** The messages in flight, oldest first. */
  readonly pool: readonly Msg[];
}

/** One node as the runner sees it: its shell while it is up, and the disk it leaves behind when it is not. */
interface Node {
  readonly id: number;
  shell: ScriptedNode | null;
  incarnation: number;
  /** Records on disk: what a restart recovers. */
  readonly disk: unknown[];
  /** Readies the shell has taken and not yet released, oldest first (the shell releases in order). */
  readonly unreleased: Ready<Msg, unknown>[];
  /** Requests of this incarnation already answered: a Multi reply may leave ahead of its Ready (node/replica.ts, answerAhead). */
  readonly answered: Set<string>;
  /** What a Ready being released learned, printed after its last message leaves (see `onRelease`). */
  learned: { lines: string[]; messagesLeft: number } | null;
  /** Numbers the identities of this incarnation's requests. */
  requestSeq: number;
  /**
   * Set by `recover`: the shell knows this disk was lost, and starts the node recovering on every boot (the core goes
   * on with a recovery its records show, and begins one on an empty disk, so a crash before the first write is safe).
   */
  lostDisk?: boolean;
}

export class ScenarioCluster implements ScenarioVerbs<void> {
  private nodes: Node[] = [];
  private pool: Msg[] = [];
  private protocol: Protocol = 'basic';
  private clusterSize = 0;
  /** What the current step printed; the shell's hooks add to it as things happen. */
  private trace: string[] = [];
  /** Off by default: most scripts are about messages, and a write line for nearly every step would double them. */
  private showPersist = false;
  /**
   * Implicit by default: a leader's own accept record is durable the moment
   * its write starts, as if its disk were instant. Most scripts are about
   * messages, and a `persisted` step after every proposal would bury them; a
   * script about the leader's own write (its vote counts only once durable,
   * and a crash before then loses it) switches to explicit.
   */
  private explicitPersisted = false;
  /** On by default, as in the product; `option backoff off` shows what duelling proposers do without it. */
  private backoff = true;
  /** `option plant`: the rules every replica breaks on purpose; null for the correct protocol. */
  private bugs: PlantedBugs | null = null;
  /** Two values learned for one instance are named where they happen. */
  private readonly agreement = new AgreementJudge(() => this.protocol);
  /** The partition that stands, if any: messages between two of its groups are dropped. */
  private readonly partition = new Partition();
  /** The trace ids of the messages in flight, by the message object the pool holds. */
  private readonly traceIds = new Map<Msg, number>();

  /** `recorder` is given only for `--trace`; every hook reaches it through `?.`, so a run without one records nothing. */
  constructor(
    private readonly recorder: TraceRecorder | null = null,
    private readonly watcher: ClusterWatcher = {},
  ) {}

  /** The cluster as it stands between steps, read-only: for `paxos explore`'s state hash and checks. */
  inspect(): ClusterView {
    return {
      protocol: this.protocol,
      nodes: this.nodes.map((r) => ({
        id: r.id,
        incarnation: r.incarnation,
        disk: r.disk,
        replica: r.shell?.replica ?? null,
        unreleased: r.unreleased.length,
        requestSeq: r.requestSeq,
      })),
      pool: this.pool,
    };
  }

  /** Narration for the trace's reader: a step's comments or a `narrate` line, as a note beside the diagram. */
  note(text: string): void {
    this.recorder?.note(text);
  }

  run(command: string): string {
    this.trace = [];
    this.runCommand(command);
    return this.trace.join('\n');
  }

  private runCommand(command: string): void {
    dispatch<void>(this, command, () => this.nodes.map((r) => r.id));
  }

  private print(...lines: string[]): void {
    this.trace.push(...lines);
  }

  // ------------------------------------------------------------ commands

  start(protocol: Protocol, n: number): void {
    // A script may start over with a fresh cluster; what the old one still had in flight never arrives.
    for (const m of this.pool) this.traced(m, (id) => this.recorder?.drop(id, 'the cluster was replaced'));
    if (this.nodes.length > 0) this.recorder?.note(`a fresh cluster of ${n} ${protocol} replicas replaces the old one`);
    this.protocol = protocol;
    this.clusterSize = n;
    this.pool = [];
    this.nodes = [];
    this.partition.clear();
    this.agreement.clear();
    for (let id = 1; id <= n; id++) this.addNode(id);
    this.print(`${n} ${protocol} replicas`);
  }

  /** A replica that was not in the cluster's first configuration: it learns the log from the others before anything else. */
  join(id: number): void {
    if (this.partition.standing)
      throw new Error('heal the partition before a replica joins: the new one would be in neither group');
    if (id !== this.nodes.length + 1)
      throw new Error(`the next replica to join is ${nodeName(this.nodes.length + 1)}, not ${nodeName(id)}`);
    this.addNode(id);
    this.print(`${nodeName(id)} joins as a learner`);
  }

  /** A replica with an empty disk, booted. */
  private addNode(id: number): void {
    const r: Node = {
      id,
      shell: null,
      incarnation: 0,
      disk: [],
      unreleased: [],
      answered: new Set(),
      learned: null,
      requestSeq: 0,
    };
    this.nodes.push(r);
    this.boot(r);
  }

  option(name: string, value: string): void {
    if (name === 'show-persist' && (value === 'on' || value === 'off')) this.showPersist = value === 'on';
    else if (name === 'persisted' && (value === 'implicit' || value === 'explicit'))
      this.explicitPersisted = value === 'explicit';
    else if (name === 'backoff' && (value === 'on' || value === 'off')) this.setBackoff(value === 'on');
    else if (name === 'plant' && value !== undefined) this.setPlant(scenarioPlant(value));
    else throw new Error(`unknown option: ${name} ${value}`);
    this.print(`${name} ${value}`);
  }

  /**
   * Backoff is core configuration, so the replicas are built again with it.
   * That is only the same cluster while nothing has happened in it yet:
   * nothing sent, written or crashed.
   */
  private setBackoff(on: boolean): void {
    if (this.nodes.length > 0 && this.protocol !== 'basic')
      throw new Error(
        'option backoff is for basic clusters: in Multi-Paxos only a leader proposes, and randomized election timeouts keep candidates apart',
      );
    if (this.hasDoneAnything())
      throw new Error(
        'option backoff rebuilds the replicas, so it must come before the cluster has sent, written or crashed anything',
      );
    this.backoff = on;
    this.rebuild();
  }

  /** A plant is core configuration too: the same rule as backoff, for the same reason. */
  private setPlant(bugs: PlantedBugs | null): void {
    if (this.hasDoneAnything())
      throw new Error(
        'option plant rebuilds the replicas, so it must come before the cluster has sent, written or crashed anything',
      );
    this.bugs = bugs;
    this.rebuild();
  }

  private hasDoneAnything(): boolean {
    return (
      this.pool.length > 0 ||
      this.nodes.some((r) => r.shell === null || r.incarnation !== 1 || r.disk.length > 0 || r.unreleased.length > 0)
    );
  }

  private rebuild(): void {
    for (const r of this.nodes) {
      r.shell?.crash();
      r.incarnation = 0;
      this.boot(r);
    }
  }

  /** Every broken agreement seen so far (two values learned for one instance), in the order they happened. */
  violations(): readonly string[] {
    return this.agreement.violations();
  }

  /**
   * A client's request. It brings `identity` when given (a client library's own, which a test may reuse on purpose);
   * otherwise a distinct session per incarnation: a restarted node must never reuse an identity it handed out before.
   */
  request(id: number, command: Command, own?: CommandIdentity): void {
    const r = this.node(id);
    const shell = this.up(id);
    const identity = own ?? { session: `${nodeName(id)}.${r.incarnation}`, seq: ++r.requestSeq };
    this.watcher.requested?.(id, command, identity);
    shell.request(command, identity, (reply) => {
      r.answered.add(reply.requestId);
      this.watcher.answered?.(id, command, identity, reply);
      this.print(`${nodeName(id)} ${this.describeReply(command, reply)}`);
    });
    shell.settle();
  }

  move(from: number, to: number, type: string, deliver: boolean): void {
    const i = this.pool.findIndex((m) => m.from === from && m.to === to && messageKind(m) === type);
    if (i < 0)
      throw new Error(`no pending ${type} from ${nodeName(from)} to ${nodeName(to)}; pending: ${this.pending()}`);
    const [m] = this.pool.splice(i, 1);
    if (!deliver) {
      this.traced(m, (id) => this.recorder?.drop(id, 'dropped by the script'));
      return this.print(`dropped ${describeMessage(this.protocol, m)}`);
    }
    this.deliver(m);
  }

  duplicate(from: number, to: number, type: string): void {
    const m = this.pool.find((x) => x.from === from && x.to === to && messageKind(x) === type);
    if (m === undefined)
      throw new Error(`no pending ${type} from ${nodeName(from)} to ${nodeName(to)}; pending: ${this.pending()}`);
    this.print(`duplicated ${describeMessage(this.protocol, m)}`);
    this.deliver(structuredClone(m));
  }

  /**
   * A message for a replica that is down is lost, as it would be on a real
   * network, and so is one the partition cuts off; the trace says which.
   */
  private deliver(m: Msg): void {
    const shell = this.node(m.to).shell;
    const down = shell === null;
    if (down || this.cut(m)) {
      const why = down ? `${nodeName(m.to)} is down` : this.partitionText();
      this.traced(m, (id) => this.recorder?.drop(id, why));
      return this.print(
        down
          ? `${nodeName(m.to)} is down: lost ${describeMessage(this.protocol, m)}`
          : `dropped ${describeMessage(this.protocol, m)}: ${why}`,
      );
    }
    this.traced(m, (id) => this.recorder?.deliver(id, m.to));
    shell.deliver(m);
  }

  deliverAll(): void {
    for (let rounds = 0; this.pool.length > 0; rounds++) {
      if (rounds > 10_000) throw new Error('deliver-all did not quiesce');
      this.deliverListed(this.takeOldest());
    }
  }

  /**
   * Delivers pending messages in an order a seeded generator draws: the
   * random delays of a real network, the same every run for the same seed.
   * Without a count it goes on until nothing is pending, bounded like deliver-all.
   */
  deliverRandom(seed: number, count: number): void {
    const random = new Random(seed);
    for (let n = 0; n < count && this.pool.length > 0; n++) {
      if (n > 10_000)
        throw new Error('deliver-random delivered 10000 messages and more are pending: it did not quiesce');
      const [m] = this.pool.splice(random.int(0, this.pool.length - 1), 1);
      this.deliverListed(m);
    }
  }

  /** The oldest message in flight, for the loops that take one only while some are. */
  private takeOldest(): Msg {
    return must(this.pool.shift(), 'a message is taken only while some are in flight');
  }

  /** deliver-all's and deliver-random's line for a message: in brackets, with why it went nowhere if it did. */
  private deliverListed(m: Msg): void {
    const down = this.node(m.to).shell === null;
    const why = down ? `${nodeName(m.to)} is down` : this.cut(m) ? this.partitionText() : null;
    if (why === null) {
      this.print(`[${describeMessage(this.protocol, m)}]`);
      return this.deliver(m);
    }
    this.print(`[${describeMessage(this.protocol, m)}] ${down ? 'lost' : 'dropped'}: ${why}`);
    this.traced(m, (id) => this.recorder?.drop(id, why));
  }

  split(groups: number[][]): void {
    const line = this.partition.set(groups);
    this.recorder?.partition(groups);
    this.print(line);
  }

  heal(): void {
    const line = this.partition.heal();
    this.recorder?.heal();
    this.print(line);
  }

  /** Whether the partition that stands separates the message's sender from its receiver. */
  private cut(m: Msg): boolean {
    return this.partition.cuts(m);
  }

  private partitionText(): string {
    return this.partition.text();
  }

  /** Ticks go node by node, each node's turns run to the end before the next node ticks. */
  tick(target: number | 'all', count: number): void {
    const ids = target === 'all' ? this.nodes.filter((r) => r.shell !== null).map((r) => r.id) : [target];
    for (let i = 0; i < count; i++) for (const id of ids) this.up(id).tick();
  }

  waitUntil(pattern: string): void {
    for (let moves = 0; !expectationMet(pattern, this.trace.join('\n')); moves++) {
      if (moves >= MAX_WAIT_MOVES)
        throw new Error(`wait-until ${pattern}: no such line after ${MAX_WAIT_MOVES} deliveries and ticks`);
      if (this.pool.length === 0) this.tick('all', 1);
      else this.deliverListed(this.takeOldest());
    }
  }

  /** Explicit mode: the node's oldest write in progress is durable; the shell releases what waited for it. */
  persisted(id: number): void {
    const shell = this.up(id);
    if (!shell.storage.finishWrite()) throw new Error(`${nodeName(id)} has no write in progress`);
    shell.settle();
  }

  crash(id: number): void {
    const r = this.node(id);
    const shell = this.up(id);
    const lost = shell.storage.unwritten();
    const unsent = r.unreleased.flatMap((ready) => this.heldItems(r, ready));
    shell.crash();
    r.shell = null;
    this.recorder?.crash(id);
    this.print(`${nodeName(id)} crashes`);
    if (lost.length > 0) this.print(`${nodeName(id)} loses unwritten records: ${this.describeRecords(lost)}`);
    if (unsent.length > 0) this.print(`${nodeName(id)} never sends what waited for its write: ${unsent.join(', ')}`);
  }

  restart(id: number): void {
    const r = this.node(id);
    if (r.shell !== null) throw new Error(`${nodeName(id)} is up`);
    this.boot(r);
    this.recorder?.restart(id);
    this.print(`${nodeName(id)} restarts from ${r.disk.length} records`);
    this.state(id);
  }

  /**
   * A down node's disk is lost (wiped, or found damaged and set aside) and it
   * starts again on an empty one: `recover` as the shell does for a lost
   * disk (it votes again only once re-admitted), `wipe` as a shell that
   * noticed nothing would (amnesia: what it promised and accepted is gone).
   */
  loseDisk(id: number, how: 'recover' | 'wipe'): void {
    const r = this.node(id);
    if (r.shell !== null) throw new Error(`${nodeName(id)} is up: crash it before its disk is lost`);
    const lost = r.disk.length;
    r.disk.length = 0;
    r.lostDisk = how === 'recover';
    this.boot(r);
    this.recorder?.restart(id);
    this.print(
      how === 'recover'
        ? `${nodeName(id)} lost its disk (${lost} records) and restarts on an empty one to recover`
        : `${nodeName(id)} lost its disk (${lost} records) and restarts on an empty one as if new`,
    );
    this.state(id);
  }

  state(id: number): void {
    this.print(...describeState(nodeName(id), this.up(id).replica.inspectCore()));
  }

  // ------------------------------------------- the shell, as the trace sees it

  /** Starts a new incarnation of the node's shell from its disk; everything the runner watches is wired here. */
  private boot(r: Node): void {
    r.incarnation++;
    r.requestSeq = 0;
    r.unreleased.length = 0;
    r.answered.clear();
    r.learned = null;
    r.shell = new ScriptedNode({
      id: r.id,
      clusterSize: this.clusterSize,
      protocol: this.protocol,
      incarnation: r.incarnation,
      disk: r.disk,
      electionTimeoutTicks: 10,
      heartbeatTicks: 3,
      backoff: this.backoff,
      ...(this.bugs !== null ? { bugs: this.bugs } : {}),
      ...(r.lostDisk === true ? { recoverLostDisk: true } : {}),
      ...(r.id > this.clusterSize ? { contacts: Array.from({ length: this.clusterSize }, (_, i) => i + 1) } : {}),
      send: (m) => this.onSend(r, m as Msg),
      probe: {
        onReady: (core, ready) => {
          this.watcher.ready?.(r.id, core, ready);
          this.onReady(r, ready as Ready<Msg, unknown>);
        },
        onRelease: (ready) => {
          this.watcher.released?.(r.id, ready);
          this.onRelease(r, ready as Ready<Msg, unknown>);
        },
      },
      storage: {
        writing: (records) => this.print(`${nodeName(r.id)} writing: ${this.describeRecords(records)}`),
        durable: (records) => {
          this.watcher.durable?.(r.id, records);
          if (records.length > 0) this.recorder?.persist(r.id, describeWrite(this.protocol, records));
          if (this.showPersist) this.print(`${nodeName(r.id)} persists ${this.describeRecords(records)}`);
        },
        kept: (records) => {
          if (this.showPersist)
            this.print(`${nodeName(r.id)} keeps for its next write ${this.describeRecords(records)}`);
        },
      },
    });
    this.watcher.booted?.(r.id, r.incarnation, r.shell.replica.inspectCore());
  }

  /**
   * The shell took a Ready and is about to send its early messages and write
   * its records. In explicit mode a write the core asked to hear about stays
   * in progress until the script says. Whether the Ready then had to wait is
   * seen after the shell's turn, not guessed here.
   */
  private onReady(r: Node, ready: Ready<Msg, unknown>): void {
    for (const e of ready.events) this.print(`${nodeName(r.id)} ${this.describeEvent(e)}`);
    const shell = must(r.shell, 'only a node that is up hands over a Ready');
    shell.storage.holdNextWrite = this.explicitPersisted && ready.afterPersist !== null;
    r.unreleased.push(ready);
    // Deferred work runs after the shell's current turn, so by then a Ready that was not released is held.
    shell.clock.defer(() => {
      const waiting = this.heldItems(r, ready);
      if (r.unreleased.includes(ready) && waiting.length > 0)
        this.print(`${nodeName(r.id)} holds until its write is durable: ${waiting.join(', ')}`);
    });
  }

  /**
   * The shell releases a Ready: its records are durable. The probe fires
   * before the Ready's messages are sent, but the trace has always shown what
   * a node learned after what it sent (and before its replies), so the
   * learned lines wait for the Ready's last message.
   */
  private onRelease(r: Node, ready: Ready<Msg, unknown>): void {
    r.unreleased.shift();
    for (const c of ready.chosen)
      this.recorder?.chosen({ node: r.id, instance: c.instance, value: c.value, ballot: c.ballot });
    const lines = ready.chosen.flatMap((c) => [
      `${nodeName(r.id)} learned ${this.protocol === 'multi' ? '#' : ''}${c.instance}: ${c.value}`,
      ...this.agreement.learned(r.id, c.instance, c.valueId, c.value),
    ]);
    if (ready.messages.length === 0) this.print(...lines);
    else r.learned = { lines, messagesLeft: ready.messages.length };
  }

  /** Everything the shell sends goes into the pool, where the script moves it. */
  private onSend(r: Node, m: Msg): void {
    this.watcher.sent?.(r.id, m);
    if (this.recorder !== null) this.traceIds.set(m, this.recorder.send(messageFields(this.protocol, m)));
    if (this.cut(m)) {
      // Cut off as it leaves: it never reaches the pool, so no later step can deliver it.
      this.traced(m, (id) => this.recorder?.drop(id, this.partitionText()));
      this.print(`dropped ${describeMessage(this.protocol, m)}: ${this.partitionText()}`);
    } else {
      this.pool.push(m);
      this.print(describeMessage(this.protocol, m));
    }
    if (r.learned !== null && --r.learned.messagesLeft === 0) {
      this.print(...r.learned.lines);
      r.learned = null;
    }
  }

  /** Hands `record` the message's trace id and forgets it: a message leaves the pool once. */
  private traced(m: Msg, record: (id: number) => void): void {
    const id = this.traceIds.get(m);
    if (id === undefined) return;
    this.traceIds.delete(m);
    record(id);
  }

  // ------------------------------------------------------------ describing

  private node(id: number): Node {
    const r = this.nodes[id - 1];
    if (r === undefined) throw new Error(`no ${nodeName(id)} in this cluster`);
    return r;
  }

  private up(id: number): ScriptedNode {
    const shell = this.node(id).shell;
    if (shell === null) throw new Error(`${nodeName(id)} is down`);
    return shell;
  }

  private pending(): string {
    return this.pool.map((m) => `${messageKind(m)} ${m.from}→${m.to}`).join(', ') || 'none';
  }

  /** What a held Ready will release, in short: the messages, what was learned and the replies. */
  private heldItems(r: Node, ready: Ready<Msg, unknown>): string[] {
    return [
      ...ready.messages.map((m) => describeMessage(this.protocol, m)),
      ...ready.chosen.map((c) => `learned ${this.protocol === 'multi' ? '#' : ''}${c.instance}: ${c.value}`),
      ...ready.replies
        .filter((reply) => !r.answered.has(reply.requestId))
        .map((reply) => `reply to ${reply.requestId}`),
    ];
  }

  private describeReply(command: Command, reply: ClientReply): string {
    return describeReply(this.protocol, command, reply);
  }

  private describeRecords(records: readonly unknown[]): string {
    return describeRecords(this.protocol, records);
  }

  private describeEvent(e: CoreEvent): string {
    return describeEvent(this.protocol, e);
  }
}
