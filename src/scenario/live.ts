/**
 * A scenario on real replicas (`paxos scenario run NAME --live`): the same
 * script and the same expected trace as the scripted runner (`runner.ts`),
 * played on a cluster of real processes with real storage and real WebSocket
 * links, started in step mode in a scratch home.
 *
 * This driver is the network and the clock. Every message a replica sends is
 * held at its sender (step mode) and enters the driver's pool; `deliver`
 * asks the sender to hand it to its real link, `drop` to forget it. Time
 * moves only on `tick`, one tick at a time. After every action the driver
 * waits until every replica is at rest (nothing queued, stepped or being
 * written, and every delivered message taken in) and reads what each one
 * did from its step journal: the core's events, the messages it held, what
 * it learned, its replies and its writes. It prints them in the scripted
 * runner's words, so one expected trace judges both runs.
 *
 * Two things a held-at-sender network cannot do by itself, the driver does:
 * a message whose sender was killed since it was sent is still on the wire
 * in the script, so it is injected at its receiver (a real network would
 * still carry it); and a partition is the driver's, as in the scripted
 * runner (messages between groups are dropped when sent and when they would
 * be delivered), and is also set on the cluster so `paxos status` shows it.
 *
 * Explicit write completion (`option persisted explicit`, `persisted`) needs
 * a disk the script controls; real disks finish when they finish, so a live
 * run refuses it in one sentence.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Orchestrator } from '../cluster/orchestrator.js';
import { describeMessage } from '../core/describe.js';
import { must } from '../core/must.js';
import { Random } from '../core/random.js';
import type { Command, CommandIdentity, PlantedBugs, Protocol } from '../core/types.js';
import { nodeName } from '../core/types.js';
import type { PeerMessage } from '../node/replica.js';
import type { JournalEntry } from '../node/step-journal.js';
import { AgreementJudge } from './agreement.js';
import { dispatch, MAX_WAIT_MOVES, Partition, type ScenarioVerbs } from './commands.js';
import { describeEvent, describeRecords, describeReply, messageKind } from './lines.js';
import { scenarioPlant } from './plants.js';
import { expectationMet } from './script.js';

/** How long one step may take to come to rest on real processes before the run gives up on it. */
const SETTLE_TIMEOUT_MS = 15_000;
/** Between two reads of the journals while the replicas are busy. */
const POLL_MS = 2;
/** Deliveries one deliver-all or deliver-random may make: a script that never quiesces is a broken script. */
const MAX_DELIVERIES = 10_000;
/** A client's command waits this long at most (the control API's longest); the scratch cluster is gone long before. */
const CLIENT_TIMEOUT_MS = 600_000;

/** The scripted runner's settings for the cores, so backoffs and timeouts come out the same. */
const TUNING = { electionTimeoutTicks: 10, heartbeatTicks: 3, seedByNode: true } as const;

interface LiveNode {
  readonly id: number;
  up: boolean;
  incarnation: number;
  /** Peer messages handed to this incarnation so far: it is at rest only once it has taken them all in. */
  expectedIn: number;
  /** Lazy records queued and not yet written: what a crash now loses. */
  kept: unknown[];
  /** Numbers the identities of this incarnation's client commands. */
  /** The records the current incarnation started from, from its journal. */
  startedFrom: number | null;
  /** Whether it has written anything since the cluster started. */
  wrote: boolean;
}

/** A message in flight: held by `holder` (as `id`) while that incarnation lives. */
interface InFlight {
  readonly holder: number;
  readonly incarnation: number;
  readonly id: string;
  readonly message: PeerMessage;
}

export interface LiveOptions {
  /** `--trace FILE`: the cluster records its trace, merged into FILE when the run ends. */
  readonly traceFile?: string;
}

export class LiveScenarioCluster implements ScenarioVerbs<Promise<void>> {
  private cluster: Orchestrator | null = null;
  private home: string | null = null;
  private readonly nodes = new Map<number, LiveNode>();
  private pool: InFlight[] = [];
  private protocol: Protocol = 'basic';
  private clusterSize = 0;
  private trace: string[] = [];
  private showPersist = false;
  private backoff = true;
  /** Two values learned for one instance are named where they happen, as the scripted runner does. */
  private readonly agreement = new AgreementJudge(() => this.protocol);
  /** `option plant`: the core rules every replica breaks on purpose (passed in its core tuning); null for none. */
  private bugs: PlantedBugs | null = null;
  private readonly partition = new Partition();
  private closing: Promise<void> | null = null;

  constructor(private readonly o: LiveOptions = {}) {}

  /** The scratch home of the cluster running now, or null: for tests that check nothing outlives a run. */
  get homeDir(): string | null {
    return this.home;
  }

  /** Narration goes into the run's trace as a note, when it is traced. */
  note(text: string): void {
    this.cluster?.traceNote(text);
  }

  async run(command: string): Promise<string> {
    this.trace = [];
    await this.runCommand(command);
    return this.trace.join('\n');
  }

  /** Stops every replica and deletes the scratch home (and merges the trace, if one was asked for); once, however often it is called. */
  close(): Promise<void> {
    this.closing ??= this.stopCluster();
    return this.closing;
  }

  private async runCommand(command: string): Promise<void> {
    const verb = command.split(/\s+/)[0];
    if (verb !== 'cluster' && verb !== 'option' && this.cluster === null)
      throw new Error('start a cluster first: cluster <basic|multi> <n>');
    await dispatch<Promise<void>>(this, command, () => [...this.nodes.keys()]);
  }

  /** The cluster the script started; every verb but cluster and option runs only once it is (runCommand says so). */
  private running(): Orchestrator {
    if (this.cluster === null) throw new Error('no cluster: a script starts with cluster <protocol> <n>');
    return this.cluster;
  }

  /** The oldest message in flight, for the loops that take one only while some are. */
  private takeOldest(): InFlight {
    return must(this.pool.shift(), 'a message is taken only while some are in flight');
  }

  async persisted(_node: number): Promise<void> {
    throw new Error(EXPLICIT_REFUSED);
  }

  async loseDisk(_node: number, how: 'recover' | 'wipe'): Promise<void> {
    throw new Error(
      `${how} loses a replica's disk, which the live runner does not touch: run this scenario with --sim, or use paxos check --nemesis disk on real processes`,
    );
  }

  private print(...lines: string[]): void {
    this.trace.push(...lines);
  }

  // ------------------------------------------------------------ the cluster

  async start(protocol: Protocol, n: number): Promise<void> {
    if (protocol !== 'basic' && protocol !== 'multi') throw new Error('usage: cluster <basic|multi> <n>');
    await this.stopCluster();
    this.protocol = protocol;
    this.clusterSize = n;
    this.agreement.clear();
    await this.boot();
    this.print(`${n} ${protocol} replicas`);
  }

  /** A fresh step-mode cluster in a scratch home, its cores tuned as the scripted runner's. */
  private async boot(): Promise<void> {
    this.home = mkdtempSync(join(tmpdir(), 'paxos-scenario-'));
    this.pool = [];
    this.partition.clear();
    this.nodes.clear();
    this.cluster = await Orchestrator.start({
      home: this.home,
      clusterSize: this.clusterSize,
      protocol: this.protocol,
      fresh: true,
      step: true,
      coreTuning: { ...TUNING, backoff: this.backoff, ...(this.bugs !== null ? { bugs: this.bugs } : {}) },
      log: () => undefined,
      ...(this.o.traceFile !== undefined ? { traceFile: this.o.traceFile } : {}),
    });
    for (let id = 1; id <= this.clusterSize; id++) this.nodes.set(id, newNode(id));
    await this.settle();
  }

  private async stopCluster(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = null;
    const home = this.home;
    this.home = null;
    try {
      if (cluster !== null) await cluster.down();
    } finally {
      // Also when stopping failed (a Ctrl-C reaches the replicas too, and they may be gone first): the scratch home must not outlive the run.
      if (home !== null) rmSync(home, { recursive: true, force: true });
    }
  }

  async option(name: string, value: string): Promise<void> {
    if (name === 'show-persist' && (value === 'on' || value === 'off')) this.showPersist = value === 'on';
    else if (name === 'persisted' && value === 'implicit') {
      /* what a real disk does anyway */
    } else if (name === 'persisted' && value === 'explicit') throw new Error(EXPLICIT_REFUSED);
    else if (name === 'backoff' && (value === 'on' || value === 'off')) await this.setBackoff(value === 'on');
    else if (name === 'plant' && value !== undefined) await this.setPlant(scenarioPlant(value));
    else throw new Error(`unknown option: ${name} ${value}`);
    this.print(`${name} ${value}`);
  }

  /**
   * Whether the cluster has sent, written or crashed anything: the scripted
   * runner's test, so `option backoff` is refused at the same step in both.
   */
  private hasDoneAnything(): boolean {
    return this.pool.length > 0 || [...this.nodes.values()].some((r) => !r.up || r.incarnation !== 1 || r.wrote);
  }

  /** Backoff is core configuration: the replicas start again with it, which is the same cluster only while nothing has happened in it. */
  private async setBackoff(on: boolean): Promise<void> {
    if (this.cluster !== null && this.protocol !== 'basic')
      throw new Error(
        'option backoff is for basic clusters: in Multi-Paxos only a leader proposes, and randomized election timeouts keep candidates apart',
      );
    if (this.hasDoneAnything())
      throw new Error(
        'option backoff rebuilds the replicas, so it must come before the cluster has sent, written or crashed anything',
      );
    this.backoff = on;
    if (this.cluster === null) return;
    await this.stopCluster();
    await this.boot();
  }

  /** A plant is core configuration: the replicas start again with it, under the same rule as backoff. */
  private async setPlant(bugs: PlantedBugs | null): Promise<void> {
    if (this.hasDoneAnything())
      throw new Error(
        'option plant rebuilds the replicas, so it must come before the cluster has sent, written or crashed anything',
      );
    this.bugs = bugs;
    if (this.cluster === null) return;
    await this.stopCluster();
    await this.boot();
  }

  // ------------------------------------------------------------ clients

  /**
   * Sends the command to the node's control API and does not wait for the
   * answer: the answer comes when the script has moved enough messages, and
   * the node's journal reports it then. Requests and journal reads share
   * one control connection, in order, so the next read finds it queued.
   */
  async request(id: number, command: Command, own?: CommandIdentity): Promise<void> {
    this.up(id);
    const req =
      command.op === 'set'
        ? { op: 'propose', key: command.key, value: command.value }
        : command.op === 'get'
          ? { op: 'get', key: command.key }
          : command.op === 'register'
            ? { op: 'register' }
            : { op: 'reconfigure', fromEpoch: command.fromEpoch, voters: command.voters };
    this.running()
      .stepRequest(
        id,
        // Without `as`, no identity: the replica numbers it in its own incarnation's session, which only it ever sends.
        // With one, the control API takes it only as a registered session's number (a Multi rule of the sessions).
        { ...req, ...(own !== undefined ? { session: own.session, seq: own.seq } : {}), timeoutMs: CLIENT_TIMEOUT_MS },
        CLIENT_TIMEOUT_MS + 5000,
      )
      .catch(() => undefined);
    await this.settle();
  }

  async join(id: number): Promise<void> {
    if (this.partition.standing)
      throw new Error('heal the partition before a replica joins: the new one would be in neither group');
    const added = await this.running().addLearner();
    if (added.node !== id) throw new Error(`the next replica to join is ${nodeName(added.node)}, not ${nodeName(id)}`);
    this.nodes.set(id, newNode(id));
    await this.settle();
    this.print(`${nodeName(id)} joins as a learner`);
  }

  // ------------------------------------------------------------ the network

  async move(from: number, to: number, type: string, deliver: boolean): Promise<void> {
    const i = this.pool.findIndex(
      (f) => f.message.from === from && f.message.to === to && messageKind(f.message) === type,
    );
    if (i < 0)
      throw new Error(`no pending ${type} from ${nodeName(from)} to ${nodeName(to)}; pending: ${this.pending()}`);
    const [f] = this.pool.splice(i, 1);
    if (deliver) return this.deliver(f);
    await this.forget(f);
    this.print(`dropped ${this.describe(f.message)}`);
  }

  /** A copy of the oldest matching message reaches its receiver; the message itself stays held. */
  async duplicate(from: number, to: number, type: string): Promise<void> {
    const f = this.pool.find((x) => x.message.from === from && x.message.to === to && messageKind(x.message) === type);
    if (f === undefined)
      throw new Error(`no pending ${type} from ${nodeName(from)} to ${nodeName(to)}; pending: ${this.pending()}`);
    this.print(`duplicated ${this.describe(f.message)}`);
    const node = this.node(to);
    const why = !node.up ? `${nodeName(to)} is down` : this.cut(f.message) ? this.partitionText() : null;
    if (why !== null)
      return this.print(
        !node.up
          ? `${nodeName(to)} is down: lost ${this.describe(f.message)}`
          : `dropped ${this.describe(f.message)}: ${why}`,
      );
    await this.running().stepRequest(to, { op: 'inject', message: f.message });
    node.expectedIn++;
    await this.settle();
  }

  /** A message for a replica that is down is lost, and so is one the partition cuts off; the trace says which. */
  private async deliver(f: InFlight): Promise<void> {
    const to = this.node(f.message.to);
    const why = !to.up ? `${nodeName(to.id)} is down` : this.cut(f.message) ? this.partitionText() : null;
    if (why !== null) {
      await this.forget(f);
      return this.print(
        !to.up
          ? `${nodeName(to.id)} is down: lost ${this.describe(f.message)}`
          : `dropped ${this.describe(f.message)}: ${why}`,
      );
    }
    if (this.holderAlive(f)) await this.running().release('deliver', [f.id]);
    else await this.running().stepRequest(to.id, { op: 'inject', message: f.message });
    to.expectedIn++;
    await this.settle();
  }

  async deliverAll(): Promise<void> {
    for (let n = 0; this.pool.length > 0; n++) {
      if (n >= MAX_DELIVERIES) throw new Error('deliver-all did not quiesce');
      await this.deliverListed(this.takeOldest());
    }
  }

  /** The scripted runner's seeded order: the same seed picks the same messages from the same pool. */
  async deliverRandom(seed: number, count: number): Promise<void> {
    const random = new Random(seed);
    for (let n = 0; n < count && this.pool.length > 0; n++) {
      if (n > MAX_DELIVERIES)
        throw new Error(`deliver-random delivered ${MAX_DELIVERIES} messages and more are pending: it did not quiesce`);
      const [f] = this.pool.splice(random.int(0, this.pool.length - 1), 1);
      await this.deliverListed(f);
    }
  }

  private async deliverListed(f: InFlight): Promise<void> {
    const down = !this.node(f.message.to).up;
    const why = down ? `${nodeName(f.message.to)} is down` : this.cut(f.message) ? this.partitionText() : null;
    if (why === null) {
      this.print(`[${this.describe(f.message)}]`);
      return this.deliver(f);
    }
    this.print(`[${this.describe(f.message)}] ${down ? 'lost' : 'dropped'}: ${why}`);
    await this.forget(f);
  }

  /** Tells a living holder to forget a message it holds; a dead one forgot it already. */
  private async forget(f: InFlight): Promise<void> {
    if (this.holderAlive(f)) await this.running().release('drop', [f.id]);
  }

  private holderAlive(f: InFlight): boolean {
    const holder = this.node(f.holder);
    return holder.up && holder.incarnation === f.incarnation;
  }

  /** The driver's partition, set on the cluster too so `paxos status` and the dashboard show it. */
  async split(groups: number[][]): Promise<void> {
    const line = this.partition.set(groups);
    this.running().partition(groups);
    this.print(line);
  }

  async heal(): Promise<void> {
    const line = this.partition.heal();
    this.running().heal();
    this.print(line);
  }

  private cut(m: PeerMessage): boolean {
    return this.partition.cuts(m);
  }

  private partitionText(): string {
    return this.partition.text();
  }

  // ------------------------------------------------------------ time and failures

  /** One tick at a time, node by node, each at rest before the next: the scripted runner's order. */
  async tick(target: number | 'all', count: number): Promise<void> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_DELIVERIES)
      throw new Error(`tick needs a count from 1 to ${MAX_DELIVERIES}`);
    const ids = target === 'all' ? [...this.nodes.values()].filter((r) => r.up).map((r) => r.id) : [target];
    for (const id of ids) this.up(id);
    for (let i = 0; i < count; i++) {
      for (const id of ids) {
        await this.running().tick(id, 1);
        await this.settle();
      }
    }
  }

  /** The scripted runner's moves: the oldest message in flight is delivered, or every running node ticks once, until the trace shows the line. */
  async waitUntil(pattern: string): Promise<void> {
    for (let moves = 0; !expectationMet(pattern, this.trace.join('\n')); moves++) {
      if (moves >= MAX_WAIT_MOVES)
        throw new Error(`wait-until ${pattern}: no such line after ${MAX_WAIT_MOVES} deliveries and ticks`);
      if (this.pool.length === 0) await this.tick('all', 1);
      else await this.deliverListed(this.takeOldest());
    }
  }

  /** SIGKILL: what the replica had queued for its next write is lost, and it says what. */
  async crash(id: number): Promise<void> {
    const r = this.up(id);
    await this.running().killAndWait(id);
    r.up = false;
    this.print(`${nodeName(id)} crashes`);
    if (r.kept.length > 0)
      this.print(`${nodeName(id)} loses unwritten records: ${describeRecords(this.protocol, r.kept)}`);
    r.kept = [];
  }

  async restart(id: number): Promise<void> {
    const r = this.node(id);
    if (r.up) throw new Error(`${nodeName(id)} is up`);
    await this.running().restart(id);
    Object.assign(r, {
      up: true,
      incarnation: r.incarnation + 1,
      expectedIn: 0,
      kept: [],
      startedFrom: null,
    });
    await this.settle();
    this.print(`${nodeName(id)} restarts from ${r.startedFrom ?? '?'} records`);
    await this.state(id);
  }

  async state(id: number): Promise<void> {
    this.up(id);
    const answer = (await this.running().stepRequest(id, { op: 'state' })) as { lines: string[] };
    this.print(...answer.lines);
  }

  // ------------------------------------------------------------ watching

  /**
   * Waits until every running replica is at rest twice in a row, reading
   * their journals as it goes. Only one replica acts in any step (the one
   * ticked, delivered to or asked), so reading them in turn keeps the order.
   */
  private async settle(): Promise<void> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (let quiet = 0; quiet < 2; ) {
      let busy = false;
      for (const r of [...this.nodes.values()].filter((n) => n.up)) {
        const j = (await this.running().stepRequest(r.id, { op: 'journal' })) as {
          entries: JournalEntry[];
          dropped: number;
          settled: boolean;
          messagesIn: number;
        };
        if (j.dropped > 0)
          throw new Error(`${nodeName(r.id)} dropped ${j.dropped} journal entries: the run cannot be traced`);
        for (const e of j.entries) this.take(r, e);
        if (j.entries.length > 0 || !j.settled || j.messagesIn < r.expectedIn) busy = true;
      }
      quiet = busy ? 0 : quiet + 1;
      if (quiet >= 2) break;
      if (Date.now() > deadline)
        throw new Error(`the replicas did not come to rest within ${SETTLE_TIMEOUT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** One journal entry in the scripted runner's words. */
  private take(r: LiveNode, e: JournalEntry): void {
    const name = nodeName(r.id);
    switch (e.k) {
      case 'started':
        r.startedFrom = e.records;
        return;
      case 'event':
        return this.print(`${name} ${describeEvent(this.protocol, e.event)}`);
      case 'send':
        return this.sent(r, e.id, e.message);
      case 'learned':
        // The journal carries a value's text, not its id: two different commands that read alike would pass as one.
        return this.print(
          ...e.chosen.flatMap((c) => [
            `${name} learned ${this.protocol === 'multi' ? '#' : ''}${c.instance}: ${c.value}`,
            ...this.agreement.learned(r.id, String(c.instance), c.value, c.value),
          ]),
        );
      case 'reply':
        return this.print(`${name} ${describeReply(this.protocol, e.command, e.reply)}`);
      case 'persists':
        r.kept = [];
        r.wrote = true;
        if (this.showPersist) this.print(`${name} persists ${describeRecords(this.protocol, e.records)}`);
        return;
      case 'kept':
        r.kept.push(...e.records);
        if (this.showPersist)
          this.print(`${name} keeps for its next write ${describeRecords(this.protocol, e.records)}`);
    }
  }

  /** A message cut off by the partition as it leaves never reaches the pool; its holder is told to forget it. */
  private sent(r: LiveNode, id: string, message: PeerMessage): void {
    const f: InFlight = { holder: r.id, incarnation: r.incarnation, id, message };
    if (this.cut(message)) {
      this.print(`dropped ${this.describe(message)}: ${this.partitionText()}`);
      void this.forget(f).catch(() => undefined);
      return;
    }
    this.pool.push(f);
    this.print(this.describe(message));
  }

  // ------------------------------------------------------------ describing

  private describe(m: PeerMessage): string {
    return describeMessage(this.protocol, m);
  }

  private node(id: number): LiveNode {
    const r = this.nodes.get(id);
    if (r === undefined) throw new Error(`no ${nodeName(id)} in this cluster`);
    return r;
  }

  private up(id: number): LiveNode {
    const r = this.node(id);
    if (!r.up) throw new Error(`${nodeName(id)} is down`);
    return r;
  }

  private pending(): string {
    return this.pool.map((f) => `${messageKind(f.message)} ${f.message.from}→${f.message.to}`).join(', ') || 'none';
  }
}

const EXPLICIT_REFUSED =
  'explicit write completion (option persisted explicit, persisted) needs the scripted disk: real disks finish writes on their own, so run this scenario with --sim';

function newNode(id: number): LiveNode {
  return { id, up: true, incarnation: 1, expectedIn: 0, kept: [], startedFrom: null, wrote: false };
}
