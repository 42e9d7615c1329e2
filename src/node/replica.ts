/**
 * One replica: the protocol core wired to durable storage, a transport and a
 * clock. Inputs (peer messages, client requests, ticks) queue in a bounded
 * inbox; each turn steps the core through all of them and takes one Ready.
 * Its records are appended (group commit: appends that arrive while an fsync
 * runs share the next one) and only once they are on disk are its messages
 * sent and its replies answered. Readies are released strictly in order, so
 * nothing ever leaves ahead of the state it reflects; the one exception is a
 * Multi-Paxos Ready that writes nothing, whose client replies (never its
 * messages) need not wait for an earlier Ready's write (see answerAhead).
 *
 * This shell has no promises, timers or sockets of its own: time, the next
 * turn, storage and the network come in through interfaces. A real process
 * gives it the system clock, the file log and WebSocket links; the simulator
 * gives it seeded twins and runs exactly this code (TigerBeetle's VOPR runs
 * its real replica the same way).
 */
import type { Ballot } from '../core/ballot.js';
import { recoverBasic } from '../core/basic/durable.js';
import { BasicPaxos } from '../core/basic/replica.js';
import type { BasicMessage, BasicRecord } from '../core/basic-messages.js';
import { describeCoreEvent, describeMessage, isRoutine as isRoutineEvent } from '../core/describe.js';
import { recoverMulti } from '../core/multi/durable.js';
import { formatLogValue, type MultiMessage, type MultiRecord, valueId } from '../core/multi/messages.js';
import { MultiPaxos } from '../core/multi/replica.js';
import {
  type ClientReply,
  type Command,
  type CommandIdentity,
  type CoreConfig,
  commandKey,
  type FailureCode,
  failure,
  type Input,
  type NodeId,
  type NodeView,
  nodeName,
  type Protocol,
  type ProtocolCore,
  type Ready,
} from '../core/types.js';
import type { DurableLog } from '../storage/storage.js';
import type { Transport } from '../transport/transport.js';
import type { Clock } from './clock.js';
import type { BasicKeyState, FlowLine, ReplicaEvent, ReplicaStatus } from './events.js';
import type { InputRecorder } from './input-log.js';
import type { LatencySampler, TurnNote } from './latency-sampler.js';

export type PeerMessage = MultiMessage | BasicMessage;

/** The part of a transport the replica uses: the WebSocket links, or the simulator's network. */
/** The replica's links to its peers: the transport's one interface, for the replica's messages. */
export type PeerLinks = Transport<PeerMessage>;

/** Hooks for the simulator's checkers; a real process passes none. */
export interface ReplicaProbe {
  /** Right after the core hands out a Ready, before anything of it leaves. */
  onReady?(core: ProtocolCore<PeerMessage, unknown>, ready: Ready<PeerMessage, unknown>): void;
  /** When a Ready is released: its records are durable and its messages and replies are leaving. */
  onRelease?(ready: Ready<PeerMessage, unknown>): void;
  /** A client's command is answered, just before the client hears. */
  onAnswer?(command: Command, reply: ClientReply): void;
}

export interface ReplicaOptions {
  readonly id: NodeId;
  readonly clusterSize: number;
  readonly protocol: Protocol;
  readonly storage: DurableLog<unknown>;
  readonly transport: PeerLinks;
  readonly clock: Clock;
  /** The clock the core's ticks come from; default `clock`. Step mode passes one that ticks only when the user says. */
  readonly tickClock?: Clock;
  readonly randomSeed: number;
  /**
   * The client session this incarnation opens for requests that bring no
   * identity of their own. It must never have been used before, by any
   * replica or incarnation: a real process draws 64 random bits.
   */
  readonly session: string;
  readonly tickMs?: number;
  /** How often observers get events; 0 turns publishing off (the simulator). */
  readonly publishEveryMs?: number;
  readonly port?: number;
  readonly core?: Partial<CoreConfig>;
  readonly log?: (line: string) => void;
  /** Called when storage fails: the replica cannot keep its promises any more and must stop. */
  readonly onFatal?: (err: Error) => void;
  readonly probe?: ReplicaProbe;
  /** `paxos up --trace`: every core input and a digest of every Ready, for `paxos replay`. */
  readonly inputs?: InputRecorder;
  /** For `status`: the process id and memory of a real process; the simulator leaves them out. */
  readonly processInfo?: () => { pid: number; rssBytes: number; cpuMicros?: number };
  /** `paxos bench`'s latency breakdown: notes the times of sampled values while the bench asks; absent in the simulator. */
  readonly latency?: LatencySampler;
}

export interface RequestOptions {
  /** The client's own identity for this command; retries carry the same one. Default: this incarnation's session, next number. */
  readonly identity?: CommandIdentity;
  /** How long the client waits; the replica answers before then, with ok, refused or unknown. */
  readonly timeoutMs?: number;
}

/** Peer messages and ticks queued beyond this are dropped (peers retransmit, ticks recur) and counted. */
const MAX_INBOX = 200_000;
/** Client requests queued beyond this are refused at once: they never reached the core, so refused is the truth. */
const MAX_QUEUED_REQUESTS = 50_000;
/** Readies handed to storage and not yet released; past this the replica stops stepping until the disk catches up. */
const MAX_UNRELEASED_READIES = 4096;
const FLOW_LINES_PER_PUBLISH = 8;
const CORE_EVENTS_PER_PUBLISH = 32;
const KEYS_SHOWN = 32;

interface Unreleased {
  readonly ready: Ready<PeerMessage, unknown>;
  readonly view: NodeView;
  durable: boolean;
  /** Set only while the bench samples latency and this turn carried a sampled slot. */
  turn?: TurnNote;
}

interface Waiting {
  readonly command: Command;
  readonly onReply: (reply: ClientReply) => void;
  /** When it arrived, on the latency sampler's clock; only while the bench samples. */
  readonly arrivedUs?: number;
}

export class Replica {
  private readonly core: ProtocolCore<PeerMessage, unknown>;
  /** The same core under its concrete class, for reading its protocol's state without a cast. */
  private readonly seated: SeatedCore;
  private inbox: Input<PeerMessage>[] = [];
  private queuedRequests = 0;
  private drainScheduled = false;
  /** Readies not yet released, oldest first; a released one's slot is cleared until the queue empties. */
  private readonly unreleased: (Unreleased | undefined)[] = [];
  private unreleasedHead = 0;
  private failed: Error | null = null;
  private stopped = false;
  /** The admin API's freeze (node/admin.ts): alive and reachable, but stepping nothing, as under SIGSTOP. */
  private frozen = false;
  private readonly waiting = new Map<string, Waiting>();
  /** Numbers this incarnation's session; starts at 1 in every incarnation, which is safe because the session is new. */
  private requestSeq = 0;
  private requestCount = 0;
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
    // Before the core is built: the header must hold the records exactly as the core gets them.
    opts.inputs?.started({
      node: opts.id,
      protocol: opts.protocol,
      config: coreConfigOf(opts),
      recovered: opts.storage.recovered,
      snapshot: opts.storage.recoveredSnapshot,
    });
    this.seated = seatCore(opts.protocol, coreConfigOf(opts), opts.storage.recovered, opts.storage.recoveredSnapshot);
    this.core = asShellCore(this.seated);
    this.startedMs = opts.clock.nowMs();
  }

  start(): void {
    this.opts.transport.onMessage((m) => this.onPeerMessage(m));
    this.stopTimers.push(
      (this.opts.tickClock ?? this.opts.clock).every(this.opts.tickMs ?? 10, () => this.enqueue({ type: 'tick' })),
    );
    const publishMs = this.opts.publishEveryMs ?? 200;
    if (publishMs > 0) this.stopTimers.push(this.opts.clock.every(publishMs, () => this.publish()));
    const snapshot = this.opts.storage.recoveredSnapshot;
    const fromSnapshot =
      snapshot === null || snapshot.length === 0
        ? ''
        : ` on top of a snapshot at slot ${(snapshot[0] as { slot?: number }).slot ?? '?'}`;
    this.log(
      `started as ${nodeName(this.opts.id)} of ${this.opts.clusterSize} (${this.opts.protocol} paxos), recovered ${this.opts.storage.recovered.length} records${fromSnapshot}`,
    );
  }

  /** Stops stepping; clients still waiting are told the outcome is unknown (their commands may have left). */
  stop(): void {
    this.stopped = true;
    for (const stop of this.stopTimers) stop();
    this.stopTimers = [];
    this.failAllWaiting('shutting-down', `${nodeName(this.opts.id)} is shutting down`);
  }

  /**
   * Freezes or thaws the replica in place of SIGSTOP and SIGCONT, for a
   * replica with no orchestrator to signal it: while frozen, messages and
   * requests queue (bounded, as in a full socket buffer) and nothing is
   * stepped, so nothing is sent or answered; the thaw steps what queued.
   */
  setFrozen(frozen: boolean): void {
    this.frozen = frozen;
    if (!frozen && this.inbox.length > 0) this.scheduleDrain();
  }

  /** Whether every Ready handed to storage has been released. */
  idle(): boolean {
    return this.unreleasedHead === this.unreleased.length;
  }

  /** Whether nothing is queued, about to be stepped or being written: all its inputs so far have had their effect. */
  settled(): boolean {
    return this.idle() && this.inbox.length === 0 && !this.drainScheduled;
  }

  /**
   * A client's command. `onReply` is called exactly once: with the core's
   * answer once everything it depends on is durable, or with a refusal when
   * the replica cannot take it.
   */
  request(command: Command, o: RequestOptions, onReply: (reply: ClientReply) => void): void {
    const requestId = `r${++this.requestCount}`;
    const refuse = (code: FailureCode, error: string) =>
      this.opts.clock.defer(() => onReply(failure({ requestId, outcome: 'refused', code, error })));
    if (this.failed !== null)
      return refuse(
        'storage-failed',
        `${nodeName(this.opts.id)} stopped after a storage failure: ${this.failed.message}`,
      );
    if (this.stopped) return refuse('shutting-down', `${nodeName(this.opts.id)} is shutting down`);
    if (this.queuedRequests >= MAX_QUEUED_REQUESTS)
      return refuse(
        'overloaded',
        `${nodeName(this.opts.id)} has ${this.queuedRequests} requests queued; try again later`,
      );
    const identity = o.identity ?? this.nextIdentity();
    // Numbered in this incarnation's own session: only this replica sends it, so it needs no registered session.
    const ownSession = identity.session === this.opts.session;
    const tickMs = this.opts.tickMs ?? 10;
    const timeoutTicks = o.timeoutMs === undefined ? undefined : Math.max(1, Math.ceil(o.timeoutMs / tickMs));
    const latency = this.opts.latency;
    this.waiting.set(
      requestId,
      latency?.on === true ? { command, onReply, arrivedUs: latency.nowUs() } : { command, onReply },
    );
    this.queuedRequests++;
    this.enqueue({
      type: 'request',
      request: {
        requestId,
        command,
        identity,
        ...(ownSession ? { ownSession } : {}),
        ...(timeoutTicks !== undefined ? { timeoutTicks } : {}),
      },
    });
  }

  /** The identity this replica gives the next command that brings none: its incarnation's session, next number. */
  nextIdentity(): CommandIdentity {
    return { session: this.opts.session, seq: ++this.requestSeq };
  }

  /** `request` as a promise, for the control API. */
  requestAsync(command: Command, o: RequestOptions = {}): Promise<ClientReply> {
    return new Promise((resolve) => this.request(command, o, resolve));
  }

  subscribe(onEvent: (e: ReplicaEvent) => void): () => void {
    this.subscribers.add(onEvent);
    return () => this.subscribers.delete(onEvent);
  }

  status(): ReplicaStatus {
    const proc = this.opts.processInfo?.() ?? { pid: 0, rssBytes: 0 };
    return {
      node: this.opts.id,
      pid: proc.pid,
      port: this.opts.port ?? 0,
      view: this.durableView ?? this.core.view(),
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      fsyncs: this.opts.storage.stats().fsyncs,
      rssBytes: proc.rssBytes,
      ...(proc.cpuMicros !== undefined ? { cpuMicros: proc.cpuMicros } : {}),
      uptimeMs: this.opts.clock.nowMs() - this.startedMs,
      ...(this.opts.protocol === 'basic' ? { keys: this.basicKeys() } : {}),
    };
  }

  /** The core, read-only, for the simulator's checkers. */
  inspectCore(): ProtocolCore<PeerMessage, unknown> {
    return this.core;
  }

  // ------------------------------------------------------------ the loop

  private onPeerMessage(m: PeerMessage): void {
    this.messagesIn++;
    if ('key' in m) this.touchKey(m.key);
    if (this.opts.latency?.on === true) this.noteArrival(this.opts.latency, m);
    this.enqueue({ type: 'message', message: m });
  }

  private enqueue(input: Input<PeerMessage>): void {
    if (this.failed !== null || this.stopped) return;
    // A stopped process's timers do not fire: a frozen replica gets no ticks, and time resumes at the thaw.
    if (this.frozen && input.type === 'tick') return;
    // Requests are bounded where they arrive, and a persisted note is never dropped: nobody would
    // send it again, and the leader's own votes would never count.
    if (this.inbox.length >= MAX_INBOX && (input.type === 'message' || input.type === 'tick')) {
      if (this.droppedInputs++ % 10_000 === 0)
        this.log(
          `inbox full (${MAX_INBOX} inputs): dropping peer messages and ticks, ${this.droppedInputs} so far; peers will retransmit`,
        );
      return;
    }
    this.inbox.push(input);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    this.opts.clock.defer(() => this.drain());
  }

  /** Steps the core through everything queued, then hands its Ready to storage. */
  private drain(): void {
    this.drainScheduled = false;
    if (this.failed !== null || this.stopped || this.frozen) return;
    // A disk far behind stops the stepping (and so, through the bounded inbox, the intake) until it catches up.
    if (this.unreleased.length - this.unreleasedHead >= MAX_UNRELEASED_READIES) return;
    const batch = this.inbox;
    this.inbox = [];
    for (const input of batch) {
      if (input.type === 'request') {
        this.queuedRequests--;
        if (input.request.command.op === 'set') this.touchKey(input.request.command.key);
      }
      this.opts.inputs?.input(input);
      this.core.step(input);
    }
    const ready = this.core.ready();
    this.opts.inputs?.ready(ready, this.core.view());
    this.opts.probe?.onReady?.(this.core, ready);
    this.commit(ready, this.core.view(), this.opts.latency?.on === true ? this.opts.latency.nowUs() : 0);
  }

  /** `view` is the core as of this Ready: once the Ready is durable it is what `status` reports. */
  private commit(ready: Ready<PeerMessage, unknown>, view: NodeView, steppedUs: number): void {
    // Early messages depend on nothing this Ready writes: they go now, overlapping the fsync. They are
    // written to the sockets before the disk write starts: a follower's accept is on the critical path
    // of every value, the leader's own write is not (it runs while the followers write theirs).
    for (const m of ready.earlyMessages) this.sendOne(m);
    // Noted before the flush: a follower may read the accepts before the write call returns here.
    const turn = this.opts.latency?.on === true ? turnNote(this.opts.latency, ready, steppedUs) : null;
    if (ready.earlyMessages.length > 0) this.opts.transport.flush?.();
    const checkpoint = ready.checkpoint;
    // An installed snapshot is what this Ready's messages rest on; a compaction's holds nothing the log lacks.
    const waitsForCheckpoint = checkpoint !== null && checkpoint.compaction !== true;
    const entry: Unreleased = { ready, view, durable: ready.persist.length === 0 && !waitsForCheckpoint };
    if (turn !== null) entry.turn = turn;
    this.unreleased.push(entry);
    const durable = (err: Error | null) => {
      if (err !== null) return this.fail(err);
      entry.durable = true;
      this.releaseDurable();
    };
    const failOnError = (err: Error | null) => {
      if (err !== null) this.fail(err);
    };
    if (ready.persist.length > 0) {
      // With an installed snapshot behind it, the checkpoint's completion (which comes after, in order) is what
      // releases the Ready; a compaction goes on beside the log, and the records alone release it.
      // Lazy records first: what a replica learned chosen must reach the disk no later than what it did because of
      // it. A crash can leave any prefix of one write (a power loss tears it at a frame boundary), and a prefix with
      // the epoch record of an applied stop-sign but not the chosen record of that stop-sign restarts the replica in
      // an epoch whose opening it cannot show anyone (seed 2013, multi, 3 replicas, disk fault split: all four
      // replicas stalled). A chosen record alone is always true, whatever follows it.
      this.opts.storage.append(
        this.opts.core?.bugs?.lazyAfterStrict
          ? [...ready.persist, ...ready.persistLazy]
          : [...ready.persistLazy, ...ready.persist],
        waitsForCheckpoint ? failOnError : durable,
      );
    } else if (ready.persistLazy.length > 0) {
      this.opts.storage.appendLazy(ready.persistLazy);
    }
    if (checkpoint !== null) this.opts.storage.checkpoint(checkpoint, waitsForCheckpoint ? durable : failOnError);
    if (entry.durable && this.unreleased[this.unreleasedHead] !== entry) this.answerAhead(ready);
    if (entry.durable) this.releaseDurable();
  }

  /**
   * A Multi-Paxos Ready that writes nothing, waiting behind an earlier one
   * still being written (at 1 in flight: the leader's own accept record,
   * whose write races its followers'), answers its clients now; its messages
   * still wait their turn. Raft's §10.2.1: a value on a durable majority of
   * followers is committed whether or not the leader's own write is done. A
   * Multi reply says only what is chosen and applied or refused, and the core
   * counts a replica's own vote only once its record is durable (the leader's
   * afterPersist), so no reply depends on a record still being written here.
   * Basic Paxos counts its proposer's own vote in the Ready that writes it,
   * so its replies keep waiting for that write.
   */
  private answerAhead(ready: Ready<PeerMessage, unknown>): void {
    if (this.opts.protocol !== 'multi' || ready.replies.length === 0 || this.failed !== null) return;
    for (const reply of ready.replies) this.answer(reply);
  }

  /** Releases, oldest first, every Ready whose records are on disk; a Ready behind an unfinished write waits. */
  private releaseDurable(): void {
    for (
      let next = this.unreleased[this.unreleasedHead];
      next?.durable === true;
      next = this.unreleased[this.unreleasedHead]
    ) {
      this.unreleased[this.unreleasedHead++] = undefined;
      this.durableView = next.view;
      this.release(next.ready);
      if (next.turn !== undefined && this.opts.latency !== undefined) {
        next.turn.releasedUs = this.opts.latency.nowUs();
        this.opts.latency.noteTurn(next.turn);
      }
    }
    if (this.unreleasedHead === this.unreleased.length) {
      this.unreleased.length = 0;
      this.unreleasedHead = 0;
    }
    if (this.inbox.length > 0) this.scheduleDrain();
  }

  /** Runs only after the Ready's records are on disk. */
  private release(ready: Ready<PeerMessage, unknown>): void {
    if (this.failed !== null) return;
    this.opts.probe?.onRelease?.(ready);
    for (const m of ready.messages) this.sendOne(m);
    if (ready.afterPersist !== null) this.enqueue({ type: 'persisted', note: ready.afterPersist });
    for (const reply of ready.replies) this.answer(reply);
    if (this.opts.log !== undefined) this.logEvents(ready);
    if (this.subscribers.size > 0) this.noteDecisions(ready);
  }

  /** Hands a reply to the client that asked; a reply that does not fit its request is a bug, and fails loudly. */
  private answer(reply: ClientReply): void {
    const w = this.waiting.get(reply.requestId);
    if (w === undefined) return; // Answered already: ahead of its Ready (answerAhead), or the replica is stopping.
    this.waiting.delete(reply.requestId);
    if (w.arrivedUs !== undefined && reply.ok && reply.slot !== undefined) this.noteRequest(w.arrivedUs, reply.slot);
    if (reply.ok) {
      const c = w.command;
      const fits =
        reply.op === c.op &&
        reply.key === commandKey(c) &&
        (c.op !== 'set' || this.opts.protocol === 'basic' || reply.value === c.value);
      if (!fits)
        throw new Error(
          `${nodeName(this.opts.id)} answered request ${reply.requestId} (${c.op} ${commandKey(c)}) with a reply to another command (${reply.op} ${reply.key}=${String(reply.value)})`,
        );
    }
    this.opts.probe?.onAnswer?.(w.command, reply);
    w.onReply(reply);
  }

  private noteRequest(arrivedUs: number, slot: number): void {
    const latency = this.opts.latency;
    if (latency?.on === true && latency.sampled(slot))
      latency.noteRequest({ slot, arrivedUs, repliedUs: latency.nowUs() });
  }

  /** A peer's accept or accepted that carries sampled slots, for the bench's latency breakdown. */
  private noteArrival(latency: LatencySampler, m: PeerMessage): void {
    if (m.type === 'accept' && 'entries' in m && m.entries.length > 0) {
      const slots = latency.pick(m.entries.map((e) => e.slot));
      if (slots !== null) latency.noteArrival({ type: 'accept', from: m.from, slots, atUs: latency.nowUs() });
    } else if (m.type === 'accepted' && 'slots' in m && m.slots.length > 0) {
      const slots = latency.pick(m.slots);
      if (slots !== null) latency.noteArrival({ type: 'accepted', from: m.from, slots, atUs: latency.nowUs() });
    }
  }

  private logEvents(ready: Ready<PeerMessage, unknown>): void {
    for (const e of ready.events) {
      // Phase-2 events come one per slot under load; the log keeps the rarer, telling ones.
      if (!isRoutineEvent(e)) this.opts.log?.(describeCoreEvent(e));
    }
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
    this.failAllWaiting('storage-failed', `${nodeName(this.opts.id)} stopped after a storage failure`);
    this.opts.onFatal?.(err);
  }

  private failAllWaiting(code: FailureCode, error: string): void {
    const all = [...this.waiting];
    this.waiting.clear();
    for (const [requestId, w] of all)
      w.onReply(failure({ requestId, outcome: 'unknown', code, error: `${error}; the command may still be chosen` }));
  }

  // --------------------------------------------------------- observation

  /**
   * Under load thousands of values are chosen per second. Observers get the
   * newest few at each publish tick: emitting per Ready cost the cluster a
   * third of its throughput with the dashboard attached.
   */
  private noteDecisions(ready: Ready<PeerMessage, unknown>): void {
    const atMs = this.opts.clock.nowMs();
    for (const event of ready.events)
      this.keepNewest(this.pendingCore, { type: 'core', node: this.opts.id, event, atMs }, CORE_EVENTS_PER_PUBLISH);
    for (const c of ready.chosen.slice(-FLOW_LINES_PER_PUBLISH)) {
      this.keepNewest(
        this.pendingChosen,
        { type: 'chosen', node: this.opts.id, instance: c.instance, value: c.value, ballot: c.ballot, atMs },
        FLOW_LINES_PER_PUBLISH,
      );
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
    const [oldest] = this.recentKeys.keys();
    if (this.recentKeys.size > KEYS_SHOWN && oldest !== undefined) this.recentKeys.delete(oldest);
  }

  private basicKeys(): BasicKeyState[] {
    if (this.seated.protocol !== 'basic') return [];
    const s = this.seated.core.inspect();
    return [...this.recentKeys.keys()].map((key) => ({
      key,
      promised: s.promised.get(key) ?? null,
      accepted: s.accepted.get(key) ?? null,
      chosen: s.chosen.get(key)?.value ?? null,
    }));
  }

  /** Multi mode: the replicated map as this replica has applied it (for tests and `paxos status`). */
  kvSnapshot(): ReadonlyMap<string, string> {
    return this.seated.protocol === 'multi'
      ? this.seated.core.inspect().kv
      : new Map([...this.seated.core.inspect().chosen].map(([k, v]) => [k, v.value]));
  }

  /**
   * What this replica has learned as chosen, for agreement checks across
   * replicas: Multi-Paxos slots from `fromSlot` (each a value identity and its
   * text), Basic Paxos keys (each its value). Bounded per call; page on.
   */
  chosenLog(
    fromSlot: number,
    limit: number,
  ): { entries: [string, string, string][]; next: number | null; compactedThrough?: number } {
    if (this.seated.protocol === 'basic') {
      const all = [...this.seated.core.inspect().chosen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const page = all.slice(fromSlot, fromSlot + limit);
      return {
        entries: page.map(([k, c]) => [k, c.value, c.value]),
        next: fromSlot + limit < all.length ? fromSlot + limit : null,
      };
    }
    const multi = this.seated.core.inspect();
    const chosen = multi.chosen;
    const page = [...chosen]
      .filter(([slot]) => slot >= fromSlot)
      .sort(([a], [b]) => a - b)
      .slice(0, limit);
    const entries = page.map(([slot, { value }]): [string, string, string] => [
      String(slot),
      valueId(value),
      formatLogValue(value),
    ]);
    const last = page.at(-1);
    // Slots up to compactedThrough are in the replica's snapshot, not its log: a reader must not take them for missing.
    const compactedThrough = multi.compactedThrough;
    return { entries, next: page.length === limit && last !== undefined ? last[0] + 1 : null, compactedThrough };
  }

  promisedBallot(): Ballot {
    return this.core.view().promised;
  }
}

/**
 * The sampled slots a Ready sends accepts or accepteds for: early ones (a
 * leader's accepts, sent before its write) and the rest (a follower's
 * accepteds, sent once its records are durable). Null when it has none.
 */
function turnNote(latency: LatencySampler, ready: Ready<PeerMessage, unknown>, steppedUs: number): TurnNote | null {
  const early = latency.pick(slotsOf(ready.earlyMessages));
  const late = latency.pick(slotsOf(ready.messages));
  if (early === null && late === null) return null;
  return { early: early ?? [], late: late ?? [], steppedUs, earlySentUs: latency.nowUs(), releasedUs: 0 };
}

function* slotsOf(messages: readonly PeerMessage[]): Generator<number> {
  for (const m of messages) {
    if (m.type === 'accept' && 'entries' in m) for (const e of m.entries) yield e.slot;
    else if (m.type === 'accepted' && 'slots' in m) yield* m.slots;
  }
}

/** Heartbeats, their acks and anti-entropy polls: the cluster's background hum. */
function isRoutine(m: PeerMessage): boolean {
  if (m.type === 'accept' && 'entries' in m) return m.entries.length === 0;
  if (m.type === 'accepted' && 'slots' in m) return m.slots.length === 0;
  return m.type === 'catchup';
}

function coreConfigOf(opts: ReplicaOptions): CoreConfig {
  return { ...opts.core, id: opts.id, clusterSize: opts.clusterSize, randomSeed: opts.randomSeed };
}

/** A core from its configuration and recovered state; `paxos replay` builds its cores with this too. */
export function buildCore(
  protocol: Protocol,
  config: CoreConfig,
  recovered: readonly unknown[],
  snapshot: readonly unknown[] | null,
): ProtocolCore<PeerMessage, unknown> {
  return asShellCore(seatCore(protocol, config, recovered, snapshot));
}

/** A core under its concrete class: the shell drives it through ProtocolCore and reads its state through this. */
type SeatedCore =
  | { readonly protocol: 'multi'; readonly core: MultiPaxos }
  | { readonly protocol: 'basic'; readonly core: BasicPaxos };

function seatCore(
  protocol: Protocol,
  config: CoreConfig,
  recovered: readonly unknown[],
  snapshot: readonly unknown[] | null,
): SeatedCore {
  if (protocol === 'multi')
    return { protocol, core: new MultiPaxos(config, recoverMulti(recovered as MultiRecord[], snapshot)) };
  return { protocol, core: new BasicPaxos(config, recoverBasic(recovered as BasicRecord[])) };
}

/** Either core is a ProtocolCore of its own messages and records; the shell carries both protocols' in one union. */
function asShellCore(seated: SeatedCore): ProtocolCore<PeerMessage, unknown> {
  return seated.core as ProtocolCore<PeerMessage, unknown>;
}
