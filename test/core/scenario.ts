/**
 * A datadriven scenario runner in the style of etcd's raft testdata: a file
 * is a script of steps, each followed by `----` and the trace the step must
 * produce. Messages are held in a visible pool and only move when the script
 * says so, so a reader can follow the protocol without a debugger.
 *
 * Commands:
 *   cluster <basic|multi> <n>          start n fresh replicas
 *   option show-persist <on|off>       print what every Ready writes (off by default)
 *   option persisted <implicit|explicit>
 *                                      who says a leader's own write finished (implicit by default)
 *   propose <node> <key>=<value>       a client asks a node to set a key
 *   get <node> <key>                   a client asks a node to read a key
 *   deliver <from> <to> <type>         deliver the oldest pending matching message
 *   drop <from> <to> <type>            lose the oldest pending matching message
 *   deliver-all                        deliver until nothing is pending (bounded)
 *   tick <node|all> [count]            advance time
 *   persisted <node>                   explicit mode: the node's oldest write in progress is now durable,
 *                                      with the Readies queued behind it up to the next one the core waits on
 *   crash <node>                       the node stops, losing everything it had not written
 *   restart <node>                     the node starts again from the records it had written
 *   state <node>                       print what the node's acceptor and learner hold
 *
 * Message types for deliver and drop are the message's `type`, except that a
 * Multi-Paxos accept with no entries is a `heartbeat` and an accepted with no
 * slots an `ack`, the words the trace uses for them.
 *
 * The runner keeps each replica's records the way a real replica's log does:
 * a Ready's `persist` records are written before its messages and replies
 * leave; its `persistLazy` records (a learner's "chosen") go with the next
 * write that has `persist` records, and until then exist only in memory.
 * `crash` loses exactly that memory: lazy records not yet written and, in
 * explicit mode, every Ready whose write the script has not yet completed
 * (its records, messages and replies; its early messages had already left).
 *
 * Replies are printed from `ok`, `requestId` and `value` only, with the key
 * taken from the request, so the trace does not depend on the rest of the
 * reply's shape. Requests are numbered per replica and the numbering starts
 * again at r1 when a replica restarts, as it does in a replica process that
 * keeps no counter on disk: a core must not take a new request for an old
 * one because the two share an id (multi-004 is about exactly that). Each
 * request also carries an identity whose session names the replica's
 * incarnation, unique across restarts, for cores with client sessions.
 *
 * Set REWRITE=1 to regenerate the expected traces from the current code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { formatBallot } from '../../src/core/ballot.js';
import { BasicPaxos, recoverBasic } from '../../src/core/basic.js';
import type { BasicMessage, BasicRecord } from '../../src/core/basic-messages.js';
import { describeMessage } from '../../src/core/describe.js';
import { MultiPaxos, recoverMulti } from '../../src/core/multi.js';
import { formatLogValue, type MultiMessage, type MultiRecord, type SlotValue } from '../../src/core/multi-messages.js';
import type { ClientReply, ClientRequest, Command, CoreConfig, CoreEvent, PersistedNote, Protocol, ProtocolCore, Ready } from '../../src/core/types.js';

type Msg = MultiMessage | BasicMessage;
type Rec = MultiRecord | BasicRecord;

interface Step {
  readonly comments: readonly string[];
  readonly command: string;
  readonly expected: string;
}

/** Steps are `# comments`, a command line, `----`, then the expected trace up to the next blank line. */
export function parseScenario(text: string): Step[] {
  const steps: Step[] = [];
  const lines = text.split('\n');
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#')) comments.push(line);
    else if (line.trim() !== '' && lines[i + 1] === '----') {
      let j = i + 2;
      while (j < lines.length && lines[j]!.trim() !== '') j++;
      steps.push({ comments, command: line.trim(), expected: lines.slice(i + 2, j).join('\n').trim() });
      comments = [];
      i = j;
    }
  }
  return steps;
}

/** One replica as the runner sees it: a core while it is up, and the log it leaves behind when it is not. */
interface Replica {
  readonly id: number;
  core: ProtocolCore<Msg, unknown> | null;
  incarnation: number;
  /** Records on disk: what a restart recovers. */
  readonly durable: Rec[];
  /** Lazy records waiting for the next write; a crash loses them. */
  lazy: Rec[];
  /** Explicit mode: Readies held behind a write the script has not yet completed, oldest first. */
  readonly held: Ready<Msg, Rec>[];
  /** Request numbering restarts with the process, as it does in a replica that keeps no counter on disk. */
  requestSeq: number;
  readonly requests: Map<string, Command>;
}

export class ScenarioCluster {
  private replicas: Replica[] = [];
  private pool: Msg[] = [];
  private protocol: Protocol = 'basic';
  private clusterSize = 0;
  /** Off by default: most scripts are about messages, and a write line for nearly every step would double them. */
  private showPersist = false;
  /**
   * Implicit by default: a leader hears that its own accept record is durable
   * as soon as it hands out the Ready, as if its disk were instant. Most
   * scripts are about messages, and a `persisted` step after every proposal
   * would bury them; a script about the leader's own write (its vote counts
   * only once durable, and a crash before then loses it) switches to explicit.
   */
  private explicitPersisted = false;

  run(command: string): string {
    const [verb, ...args] = command.split(/\s+/);
    switch (verb) {
      case 'cluster':
        return this.start(args[0] as Protocol, Number(args[1]));
      case 'option':
        return this.option(args[0]!, args[1]!);
      case 'propose': {
        const [key, value] = args[1]!.split('=');
        return this.request(node(args[0]!), { op: 'set', key: key!, value: value! });
      }
      case 'get':
        return this.request(node(args[0]!), { op: 'get', key: args[1]! });
      case 'deliver':
        return this.move(node(args[0]!), node(args[1]!), args[2]!, true);
      case 'drop':
        return this.move(node(args[0]!), node(args[1]!), args[2]!, false);
      case 'deliver-all':
        return this.deliverAll();
      case 'tick':
        return this.tick(args[0]!, Number(args[1] ?? 1));
      case 'persisted':
        return this.persisted(node(args[0]!));
      case 'crash':
        return this.crash(node(args[0]!));
      case 'restart':
        return this.restart(node(args[0]!));
      case 'state':
        return this.state(node(args[0]!));
      default:
        throw new Error(`unknown scenario command: ${command}`);
    }
  }

  private start(protocol: Protocol, n: number): string {
    this.protocol = protocol;
    this.clusterSize = n;
    this.pool = [];
    this.replicas = [];
    for (let id = 1; id <= n; id++) {
      const r: Replica = { id, core: null, incarnation: 0, durable: [], lazy: [], held: [], requestSeq: 0, requests: new Map() };
      this.boot(r);
      this.replicas.push(r);
    }
    return `${n} ${protocol} replicas`;
  }

  private boot(r: Replica): void {
    const config: CoreConfig = { id: r.id, clusterSize: this.clusterSize, randomSeed: r.id, electionTimeoutTicks: 10, heartbeatTicks: 3 };
    r.incarnation++;
    r.requestSeq = 0;
    r.requests.clear();
    r.core = this.protocol === 'basic'
      ? new BasicPaxos(config, recoverBasic(r.durable as BasicRecord[]))
      : (new MultiPaxos(config, recoverMulti(r.durable as MultiRecord[])) as ProtocolCore<Msg, unknown>);
  }

  private option(name: string, value: string): string {
    if (name === 'show-persist' && (value === 'on' || value === 'off')) this.showPersist = value === 'on';
    else if (name === 'persisted' && (value === 'implicit' || value === 'explicit')) this.explicitPersisted = value === 'explicit';
    else throw new Error(`unknown option: ${name} ${value}`);
    return `${name} ${value}`;
  }

  private replica(id: number): Replica {
    const r = this.replicas[id - 1];
    if (r === undefined) throw new Error(`no node-${id} in this cluster`);
    return r;
  }

  private up(id: number): ProtocolCore<Msg, unknown> {
    const core = this.replica(id).core;
    if (core === null) throw new Error(`node-${id} is down`);
    return core;
  }

  private request(id: number, command: Command): string {
    const r = this.replica(id);
    const core = this.up(id);
    const seq = ++r.requestSeq;
    const requestId = `r${seq}`;
    r.requests.set(requestId, command);
    // The identity is for cores with client sessions; a core without them ignores the extra field.
    const request = { requestId, command, identity: { session: `node-${id}.${r.incarnation}`, seq } };
    core.step({ type: 'request', request: request as ClientRequest });
    return this.collect(id);
  }

  private move(from: number, to: number, type: string, deliver: boolean): string {
    const i = this.pool.findIndex((m) => m.from === from && m.to === to && kindOf(m) === type);
    if (i < 0) throw new Error(`no pending ${type} from node-${from} to node-${to}; pending: ${this.pending()}`);
    const [m] = this.pool.splice(i, 1);
    if (!deliver) return `dropped ${describeMessage(this.protocol, m!)}`;
    return this.deliver(m!);
  }

  /** A message for a replica that is down is lost, as it would be on a real network. */
  private deliver(m: Msg): string {
    const core = this.replica(m.to).core;
    if (core === null) return `node-${m.to} is down: lost ${describeMessage(this.protocol, m)}`;
    core.step({ type: 'message', message: m });
    return this.collect(m.to);
  }

  private deliverAll(): string {
    const out: string[] = [];
    for (let rounds = 0; this.pool.length > 0; rounds++) {
      if (rounds > 10_000) throw new Error('deliver-all did not quiesce');
      const m = this.pool.shift()!;
      const down = this.replica(m.to).core === null;
      out.push(`[${describeMessage(this.protocol, m)}]${down ? ` lost: node-${m.to} is down` : ''}`);
      if (down) continue;
      const text = this.deliver(m);
      if (text !== '') out.push(text);
    }
    return out.join('\n');
  }

  private tick(target: string, count: number): string {
    const ids = target === 'all' ? this.replicas.filter((r) => r.core !== null).map((r) => r.id) : [node(target)];
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      for (const id of ids) {
        this.up(id).step({ type: 'tick' });
        const text = this.collect(id);
        if (text !== '') out.push(text);
      }
    }
    return out.join('\n');
  }

  /** Explicit mode: the oldest write in progress at the node finished; what waited on it is released. */
  private persisted(id: number): string {
    const r = this.replica(id);
    this.up(id);
    const ready = r.held.shift();
    if (ready === undefined) throw new Error(`node-${id} has no write in progress`);
    const lines = this.write(r, ready);
    lines.push(...this.release(r, ready));
    // Readies that queued behind this write with no write of their own to wait for go now too; the
    // core hears that its write finished after that, as a replica's runtime feeds it the next input.
    while (r.held.length > 0 && r.held[0]!.afterPersist === null) {
      const next = r.held.shift()!;
      lines.push(...this.write(r, next), ...this.release(r, next));
    }
    if (ready.afterPersist !== null) lines.push(...this.afterPersist(r, ready.afterPersist));
    return lines.join('\n');
  }

  private crash(id: number): string {
    const r = this.replica(id);
    this.up(id);
    const lost = [...r.lazy];
    for (const ready of r.held) lost.push(...ready.persist);
    const unsent = r.held.flatMap((ready) => this.heldItems(ready));
    r.core = null;
    r.lazy = [];
    r.held.length = 0;
    const lines = [`node-${id} crashes`];
    if (lost.length > 0) lines.push(`node-${id} loses unwritten records: ${this.describeRecords(lost)}`);
    if (unsent.length > 0) lines.push(`node-${id} never sends what waited for its write: ${unsent.join(', ')}`);
    return lines.join('\n');
  }

  private restart(id: number): string {
    const r = this.replica(id);
    if (r.core !== null) throw new Error(`node-${id} is up`);
    this.boot(r);
    const head = `node-${id} restarts from ${r.durable.length} records`;
    return `${head}\n${this.state(id)}`;
  }

  private state(id: number): string {
    const core = this.up(id);
    if (core instanceof BasicPaxos) {
      const s = core.inspect();
      const lines: string[] = [];
      for (const [key, b] of s.promised) {
        const a = s.accepted.get(key);
        const c = s.chosen.get(key);
        lines.push(`node-${id} ${key}: promised ${formatBallot(b)}, accepted ${a ? `(${formatBallot(a.ballot)}, ${a.value})` : '-'}, chosen ${c ? c.value : '-'}`);
      }
      return lines.join('\n');
    }
    const v = core.view();
    const lines = [`node-${id}: ${v.role}, promised ${formatBallot(v.promised)}, chosen ${v.chosenCount}, commit<#${v.commitIndex}`];
    if (core instanceof MultiPaxos) {
      const s = core.inspect();
      const slots = [...new Set([...s.accepted.keys(), ...s.chosen.keys()])].sort((a, b) => a - b);
      for (const slot of slots) {
        const a = s.accepted.get(slot);
        const c = s.chosen.get(slot);
        lines.push(`node-${id} #${slot}: accepted ${a ? `(${formatBallot(a.ballot)}, ${formatLogValue(a.value)})` : '-'}, chosen ${c ? formatLogValue(c.value) : '-'}`);
      }
    }
    return lines.join('\n');
  }

  private pending(): string {
    return this.pool.map((m) => `${kindOf(m)} ${m.from}→${m.to}`).join(', ') || 'none';
  }

  /**
   * Takes the node's Ready. Early messages leave at once; then the records
   * are written and only after that do messages and replies leave. In
   * explicit mode a Ready that asks to hear about its write (a leader's own
   * accepts), and every Ready after it, waits for a `persisted` step.
   */
  private collect(id: number): string {
    const r = this.replica(id);
    const ready = r.core!.ready() as Ready<Msg, Rec>;
    const lines = ready.events.map((e) => `node-${id} ${this.describeEvent(e)}`);
    for (const m of ready.earlyMessages) {
      this.pool.push(m);
      lines.push(describeMessage(this.protocol, m));
    }
    if (this.explicitPersisted && (ready.afterPersist !== null || r.held.length > 0)) {
      // The log is written in order, so a Ready behind an unfinished write waits for it even with no records of its own.
      r.held.push(ready);
      if (ready.persist.length > 0) lines.push(`node-${id} writing: ${this.describeRecords(ready.persist)}`);
      const waiting = this.heldItems(ready);
      if (waiting.length > 0) lines.push(`node-${id} holds until its write is durable: ${waiting.join(', ')}`);
      return lines.join('\n');
    }
    lines.push(...this.write(r, ready), ...this.release(r, ready));
    if (ready.afterPersist !== null) lines.push(...this.afterPersist(r, ready.afterPersist));
    return lines.join('\n');
  }

  /** Writes a Ready's records, and the lazy ones waiting since earlier Readies with them, as the replica's log does. */
  private write(r: Replica, ready: Ready<Msg, Rec>): string[] {
    const lines: string[] = [];
    if (ready.persist.length > 0) {
      const written = [...ready.persist, ...r.lazy, ...ready.persistLazy];
      r.durable.push(...written);
      r.lazy = [];
      if (this.showPersist) lines.push(`node-${r.id} persists ${this.describeRecords(written)}`);
    } else if (ready.persistLazy.length > 0) {
      r.lazy.push(...ready.persistLazy);
      if (this.showPersist) lines.push(`node-${r.id} keeps for its next write ${this.describeRecords(ready.persistLazy)}`);
    }
    return lines;
  }

  /** What leaves once the records are durable: messages, then what the learner learned and the replies. */
  private release(r: Replica, ready: Ready<Msg, Rec>): string[] {
    const lines: string[] = [];
    for (const m of ready.messages) {
      this.pool.push(m);
      lines.push(describeMessage(this.protocol, m));
    }
    for (const c of ready.chosen) lines.push(`node-${r.id} learned ${this.protocol === 'multi' ? '#' : ''}${c.instance}: ${c.value}`);
    for (const reply of ready.replies) lines.push(`node-${r.id} ${this.describeReply(r, reply)}`);
    return lines;
  }

  /** What a held Ready will release, in short: the messages, what was learned and the replies. */
  private heldItems(ready: Ready<Msg, Rec>): string[] {
    return [
      ...ready.messages.map((m) => describeMessage(this.protocol, m)),
      ...ready.chosen.map((c) => `learned ${this.protocol === 'multi' ? '#' : ''}${c.instance}: ${c.value}`),
      ...ready.replies.map((reply) => `reply to ${reply.requestId}`),
    ];
  }

  private afterPersist(r: Replica, note: PersistedNote): string[] {
    r.core!.step({ type: 'persisted', note });
    const more = this.collect(r.id);
    return more === '' ? [] : [more];
  }

  private describeReply(r: Replica, reply: ClientReply): string {
    const to = `replies to ${reply.requestId}`;
    if (!reply.ok) {
      const error = (reply as { error?: unknown }).error;
      return `${to}: failed${typeof error === 'string' ? ` (${error})` : ''}`;
    }
    const command = r.requests.get(reply.requestId);
    if (command === undefined) return `${to}: ${reply.value ?? 'nil'}`;
    const shown = `${command.key}=${reply.value ?? 'nil'}`;
    if (command.op === 'get' || reply.value === command.value) return `${to}: ${shown}`;
    // Basic Paxos answers a proposal for a key chosen earlier with the chosen value; in Multi-Paxos a
    // set that answers with another value than its own is a bug the trace must make plain.
    return `${to}: ${shown} (${this.protocol === 'basic' ? 'already chosen' : `but it proposed ${command.value}`})`;
  }

  private describeRecords(records: readonly Rec[]): string {
    return records.map((rec) => (this.protocol === 'basic' ? describeBasicRecord(rec as BasicRecord) : describeMultiRecord(rec as MultiRecord))).join(', ');
  }

  private describeEvent(e: CoreEvent): string {
    switch (e.type) {
      case 'phase1':
        return `starts phase 1 at ${formatBallot(e.ballot)}${e.instance ? ` for ${e.instance}` : ''}`;
      case 'phase2':
        if (this.protocol === 'multi') {
          const why = e.adopted ? ' (adopted from a promise)' : e.valueId === 'noop' ? ' (fills a hole)' : '';
          return `proposes #${e.instance} ${e.value} at ${formatBallot(e.ballot)}${why}`;
        }
        return `starts phase 2 at ${formatBallot(e.ballot)}: ${e.instance}=${e.value}${e.adopted ? ' (adopted)' : ''}`;
      case 'leader':
        return `is leader at ${formatBallot(e.ballot)}`;
      case 'follower':
        return `follows ${e.leader === null ? 'nobody' : `node-${e.leader}`}`;
      case 'preempted':
        return `pre-empted: ${formatBallot(e.ballot)} lost to ${formatBallot(e.by)}`;
      case 'backoff':
        return `backs off ${e.ticks} ticks`;
      case 'note':
        return e.text;
    }
  }
}

function node(name: string): number {
  return Number(name.replace(/^node-/, ''));
}

/** The word a script uses for a message: Multi-Paxos heartbeats and their acks are named apart from real accepts. */
function kindOf(m: Msg): string {
  if (m.type === 'accept' && 'entries' in m && m.entries.length === 0) return 'heartbeat';
  if (m.type === 'accepted' && 'slots' in m && m.slots.length === 0) return 'ack';
  return m.type;
}

function entries(list: readonly SlotValue[]): string {
  return list.map((e) => `#${e.slot} ${formatLogValue(e.value)}`).join(', ');
}

function describeMultiRecord(r: MultiRecord): string {
  switch (r.t) {
    case 'round':
      return `round ${r.round}`;
    case 'promise':
      return `promise (${formatBallot(r.ballot)})`;
    case 'accept':
      return `accept (${formatBallot(r.ballot)}) ${entries(r.entries)}`;
    case 'chosen':
      return `chosen ${entries(r.entries)}`;
  }
}

function describeBasicRecord(r: BasicRecord): string {
  switch (r.t) {
    case 'round':
      return `round ${r.round}`;
    case 'promise':
      return `promise ${r.key} (${formatBallot(r.ballot)})`;
    case 'accept':
      return `accept ${r.key} (${formatBallot(r.ballot)}, ${r.value})`;
    case 'chosen':
      return `chosen ${r.key}=${r.value}`;
  }
}

/**
 * Runs a scenario file; returns mismatches (empty when it passes). With REWRITE=1 it rewrites the file instead.
 * A step that throws (a message the script names is not pending, say) ends the run: every later step
 * depends on it. Its error becomes that step's actual trace, and a rewrite keeps the later steps as they were.
 */
export function runScenarioFile(path: string): string[] {
  const cluster = new ScenarioCluster();
  const failures: string[] = [];
  const rewritten: string[] = [];
  let broken = false;
  for (const step of parseScenario(readFileSync(path, 'utf8'))) {
    let actual = step.expected;
    if (!broken) {
      try {
        actual = cluster.run(step.command).trim();
      } catch (err) {
        actual = `error: ${(err as Error).message}`;
        broken = true;
      }
      if (actual !== step.expected) failures.push(`step "${step.command}"\n--- expected\n${step.expected}\n--- actual\n${actual}`);
    }
    rewritten.push([...step.comments, step.command, '----', ...(actual === '' ? [] : [actual]), ''].join('\n'));
  }
  if (process.env.REWRITE === '1') writeFileSync(path, rewritten.join('\n'));
  return process.env.REWRITE === '1' ? [] : failures;
}
