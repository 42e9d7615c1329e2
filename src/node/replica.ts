/**
 * One replica: the protocol core wired to durable storage, a transport and a
 * clock. Inputs (peer messages, client requests, ticks) queue in a bounded
 * inbox; each turn of the event loop steps the core through all of them and
 * takes one Ready. Its records are appended (group commit: appends that
 * arrive while an fsync runs share the next one) and only once they are on
 * disk are its messages sent and its replies answered. Readies are released
 * strictly in order, so nothing ever leaves ahead of the state it reflects.
 */
import type { Ballot } from '../core/ballot.js';
import { BasicPaxos, recoverBasic } from '../core/basic.js';
import type { BasicMessage, BasicRecord } from '../core/basic-messages.js';
import { describeCoreEvent, describeMessage } from '../core/describe.js';
import { MultiPaxos, recoverMulti } from '../core/multi.js';
import type { MultiMessage, MultiRecord } from '../core/multi-messages.js';
import type { ClientReply, Command, CoreConfig, Input, NodeId, NodeView, Protocol, ProtocolCore, Ready } from '../core/types.js';
import type { RecordStorage } from '../storage/storage.js';
import type { Transport } from '../transport/transport.js';
import type { Clock } from './clock.js';
import type { BasicKeyState, FlowLine, ReplicaEvent, ReplicaStatus } from './events.js';

export type PeerMessage = MultiMessage | BasicMessage;

export interface ReplicaOptions {
  readonly id: NodeId;
  readonly clusterSize: number;
  readonly protocol: Protocol;
  readonly storage: RecordStorage<unknown>;
  readonly transport: Transport<PeerMessage>;
  readonly clock: Clock;
  readonly randomSeed: number;
  readonly tickMs?: number;
  readonly publishEveryMs?: number;
  readonly port?: number;
  readonly core?: Partial<CoreConfig>;
  readonly log?: (line: string) => void;
  /** Called when storage fails: the replica cannot keep its promises any more and must stop. */
  readonly onFatal?: (err: Error) => void;
}

const MAX_INBOX = 200_000;
const FLOW_LINES_PER_PUBLISH = 8;
const CORE_EVENTS_PER_PUBLISH = 32;
const KEYS_SHOWN = 32;

export class Replica {
  private readonly core: ProtocolCore<PeerMessage, unknown>;
  private inbox: Input<PeerMessage>[] = [];
  private drainScheduled = false;
  private durableTail: Promise<void> = Promise.resolve();
  private failed: Error | null = null;
  private readonly waiting = new Map<string, (reply: ClientReply) => void>();
  private requestSeq = 0;
  /**
   * Multi-Paxos names a command `node:requestId` and drops one whose name it has
   * already applied (a retried forward). A counter that restarts at 1 with the
   * process would reuse names from before a crash and have new proposals dropped
   * as duplicates, so the ids carry this incarnation's random seed and start time.
   */
  private readonly incarnation: string;
  private messagesIn = 0;
  /** The core's view as of the last Ready whose records are on disk: nothing shown is still being written. */
  private durableView: NodeView | null = null;
  private messagesOut = 0;
  private droppedInputs = 0;
  private readonly startedMs: number;
  private stopTimers: (() => void)[] = [];
  private readonly subscribers = new Set<(e: ReplicaEvent) => void>();
  private flow: PeerMessage[] = [];
  private routineFlow: PeerMessage[] = [];
  private readonly pendingCore: ReplicaEvent[] = [];
  private readonly pendingChosen: ReplicaEvent[] = [];
  private flowSkipped = 0;
  private readonly recentKeys = new Map<string, true>();

  constructor(private readonly opts: ReplicaOptions) {
    this.core = createCore(opts);
    this.startedMs = opts.clock.nowMs();
    this.incarnation = `${opts.randomSeed.toString(36)}.${Math.floor(this.startedMs).toString(36)}`;
  }

  start(): void {
    this.opts.transport.onMessage((m) => this.onPeerMessage(m));
    this.stopTimers.push(this.opts.clock.every(this.opts.tickMs ?? 10, () => this.enqueue({ type: 'tick' })));
    this.stopTimers.push(this.opts.clock.every(this.opts.publishEveryMs ?? 200, () => this.publish()));
    this.log(`started as node-${this.opts.id} of ${this.opts.clusterSize} (${this.opts.protocol} paxos), recovered ${this.opts.storage.recovered.length} records`);
  }

  async stop(): Promise<void> {
    for (const stop of this.stopTimers) stop();
    this.stopTimers = [];
    for (const resolve of this.waiting.values()) resolve({ requestId: '', ok: false, error: `node-${this.opts.id} is shutting down` });
    this.waiting.clear();
    await this.durableTail.catch(() => undefined);
  }

  /** A client's command; resolves with the core's answer once everything it depends on is durable. */
  request(command: Command): Promise<ClientReply> {
    if (this.failed !== null) return Promise.resolve({ requestId: '', ok: false, error: `node-${this.opts.id} stopped after a storage failure: ${this.failed.message}` });
    const requestId = `${this.incarnation}.${++this.requestSeq}`;
    return new Promise((resolve) => {
      this.waiting.set(requestId, resolve);
      this.enqueue({ type: 'request', request: { requestId, command } });
    });
  }

  subscribe(onEvent: (e: ReplicaEvent) => void): () => void {
    this.subscribers.add(onEvent);
    return () => this.subscribers.delete(onEvent);
  }

  status(): ReplicaStatus {
    return {
      node: this.opts.id, pid: process.pid, port: this.opts.port ?? 0, view: this.durableView ?? this.core.view(),
      messagesIn: this.messagesIn, messagesOut: this.messagesOut, fsyncs: this.opts.storage.stats().fsyncs,
      rssBytes: process.memoryUsage.rss(), uptimeMs: this.opts.clock.nowMs() - this.startedMs,
      ...(this.opts.protocol === 'basic' ? { keys: this.basicKeys() } : {}),
    };
  }

  // ------------------------------------------------------------ the loop

  private onPeerMessage(m: PeerMessage): void {
    this.messagesIn++;
    if ('key' in m) this.touchKey(m.key);
    this.enqueue({ type: 'message', message: m });
  }

  private enqueue(input: Input<PeerMessage>): void {
    if (this.failed !== null) return;
    if (this.inbox.length >= MAX_INBOX && input.type !== 'request') {
      this.droppedInputs++; // Peers retransmit and ticks recur; only client requests must never vanish silently.
      return;
    }
    this.inbox.push(input);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Steps the core through everything queued, then hands its Ready to storage. */
  private drain(): void {
    this.drainScheduled = false;
    const batch = this.inbox;
    this.inbox = [];
    for (const input of batch) {
      if (input.type === 'request' && input.request.command.op === 'set') this.touchKey(input.request.command.key);
      this.core.step(input);
    }
    this.commit(this.core.ready(), this.core.view());
  }

  /** `view` is the core as of this Ready: once the Ready is durable it is what `status` reports. */
  private commit(ready: Ready<PeerMessage, unknown>, view: NodeView): void {
    // Early messages depend on nothing this Ready writes: they go now, overlapping the fsync. They are
    // written to the sockets before the disk write starts: a follower's accept is on the critical path
    // of every value, the leader's own write is not (it runs while the followers write theirs).
    for (const m of ready.earlyMessages) this.sendOne(m);
    if (ready.earlyMessages.length > 0) this.opts.transport.flush?.();
    const durable = ready.persist.length > 0
      ? this.opts.storage.append([...ready.persist, ...ready.persistLazy])
      : this.durableTail;
    if (ready.persist.length === 0 && ready.persistLazy.length > 0) this.opts.storage.appendLazy(ready.persistLazy);
    this.durableTail = durable;
    durable.then(() => {
      this.durableView = view;
      this.release(ready);
    }, (err: Error) => this.fail(err));
  }

  /** Runs only after the Ready's records are on disk. */
  private release(ready: Ready<PeerMessage, unknown>): void {
    if (this.failed !== null) return;
    for (const m of ready.messages) this.sendOne(m);
    if (ready.afterPersist !== null) this.enqueue({ type: 'persisted', note: ready.afterPersist });
    for (const reply of ready.replies) {
      const resolve = this.waiting.get(reply.requestId);
      this.waiting.delete(reply.requestId);
      resolve?.(reply);
    }
    for (const e of ready.events) {
      // Phase-2 events come one per slot under load; the log keeps the rarer, telling ones.
      if (e.type === 'phase2' && !e.adopted) continue;
      const text = describeCoreEvent(e);
      if (text !== null) this.opts.log?.(text);
    }
    if (this.subscribers.size > 0) this.noteDecisions(ready);
  }

  private sendOne(m: PeerMessage): void {
    this.opts.transport.send(m);
    this.messagesOut++;
    this.noteFlow(m);
  }

  private fail(err: Error): void {
    if (this.failed !== null) return;
    this.failed = err;
    this.log(`storage failed, stopping so no promise is broken: ${err.message}`);
    for (const resolve of this.waiting.values()) resolve({ requestId: '', ok: false, error: `node-${this.opts.id} stopped after a storage failure` });
    this.waiting.clear();
    this.opts.onFatal?.(err);
  }

  // --------------------------------------------------------- observation

  /**
   * Under load thousands of values are chosen per second. Observers get the
   * newest few at each publish tick: emitting per Ready cost the cluster a
   * third of its throughput with the dashboard attached.
   */
  private noteDecisions(ready: Ready<PeerMessage, unknown>): void {
    const atMs = this.opts.clock.nowMs();
    for (const event of ready.events) this.keepNewest(this.pendingCore, { type: 'core', node: this.opts.id, event, atMs }, CORE_EVENTS_PER_PUBLISH);
    for (const c of ready.chosen.slice(-FLOW_LINES_PER_PUBLISH)) {
      this.keepNewest(this.pendingChosen, { type: 'chosen', node: this.opts.id, instance: c.instance, value: c.value, ballot: c.ballot, atMs }, FLOW_LINES_PER_PUBLISH);
    }
  }

  private keepNewest<T>(ring: T[], item: T, limit: number): void {
    ring.push(item);
    if (ring.length > limit) ring.shift();
  }

  /**
   * Keeps only the newest few messages; describing every message would cost
   * the protocol real time. Heartbeats and their acks are kept apart and only
   * shown when nothing else happened, or they would hide every prepare and accept.
   */
  private noteFlow(m: PeerMessage): void {
    if (this.subscribers.size === 0) return;
    const routine = isRoutine(m);
    const ring = routine ? this.routineFlow : this.flow;
    ring.push(m);
    if (ring.length > FLOW_LINES_PER_PUBLISH) {
      ring.shift();
      this.flowSkipped++;
    }
  }

  private publish(): void {
    if (this.subscribers.size === 0) return;
    const atMs = this.opts.clock.nowMs();
    for (const e of this.pendingCore.splice(0)) this.emit(e);
    for (const e of this.pendingChosen.splice(0)) this.emit(e);
    const shown = this.flow.length > 0 ? this.flow : this.routineFlow.slice(-2);
    this.flowSkipped += this.flow.length > 0 ? this.routineFlow.length : this.routineFlow.length - shown.length;
    const lines: FlowLine[] = shown.map((m) => ({ atMs, type: m.type, text: describeMessage(this.opts.protocol, m) }));
    if (lines.length > 0) this.emit({ type: 'flow', node: this.opts.id, lines, droppedLines: this.flowSkipped });
    this.flow = [];
    this.routineFlow = [];
    this.flowSkipped = 0;
    this.emit({ type: 'status', status: this.status() });
  }

  private emit(e: ReplicaEvent): void {
    for (const s of this.subscribers) s(e);
  }

  private log(line: string): void {
    this.opts.log?.(line);
    this.emit({ type: 'log', node: this.opts.id, line, atMs: this.opts.clock.nowMs() });
  }

  private touchKey(key: string): void {
    if (this.opts.protocol !== 'basic') return;
    this.recentKeys.delete(key);
    this.recentKeys.set(key, true);
    if (this.recentKeys.size > KEYS_SHOWN) this.recentKeys.delete(this.recentKeys.keys().next().value!);
  }

  private basicKeys(): BasicKeyState[] {
    const s = (this.core as unknown as BasicPaxos).inspect();
    return [...this.recentKeys.keys()].map((key) => ({
      key,
      promised: s.promised.get(key) ?? null,
      accepted: s.accepted.get(key) ?? null,
      chosen: s.chosen.get(key)?.value ?? null,
    }));
  }

  /** Multi mode: the replicated map as this replica has applied it (for tests and `paxos status`). */
  kvSnapshot(): ReadonlyMap<string, string> {
    return this.opts.protocol === 'multi' ? (this.core as unknown as MultiPaxos).inspect().kv : new Map([...(this.core as unknown as BasicPaxos).inspect().chosen].map(([k, v]) => [k, v.value]));
  }

  promisedBallot(): Ballot {
    return this.core.view().promised;
  }
}

/** Heartbeats, their acks and anti-entropy polls: the cluster's background hum. */
function isRoutine(m: PeerMessage): boolean {
  if (m.type === 'accept' && 'entries' in m) return m.entries.length === 0;
  if (m.type === 'accepted' && 'slots' in m) return m.slots.length === 0;
  return m.type === 'catchup';
}

function createCore(opts: ReplicaOptions): ProtocolCore<PeerMessage, unknown> {
  const config: CoreConfig = { ...opts.core, id: opts.id, clusterSize: opts.clusterSize, randomSeed: opts.randomSeed };
  if (opts.protocol === 'multi') {
    return new MultiPaxos(config, recoverMulti(opts.storage.recovered as MultiRecord[])) as ProtocolCore<PeerMessage, unknown>;
  }
  return new BasicPaxos(config, recoverBasic(opts.storage.recovered as BasicRecord[])) as ProtocolCore<PeerMessage, unknown>;
}
