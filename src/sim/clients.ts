/**
 * The simulated clients: each registers a session (or brings none, like
 * `paxos propose`), proposes and reads through a replica's request API,
 * retries with the same identity elsewhere, registers again when told its
 * session was evicted, and records every operation in the history that is
 * checked for linearizability at the end. They draw from their own random
 * stream.
 */

import { commandId, commandText } from '../core/multi/sessions.js';
import { must } from '../core/must.js';
import { Random } from '../core/random.js';
import {
  type ClientReply,
  type Command,
  type CommandIdentity,
  commandKey,
  type NodeId,
  nodeName,
} from '../core/types.js';
import {
  checkKvHistory,
  type KvInput,
  type KvOutput,
  type Operation,
  registerModel,
  writeOnceModel,
} from '../linearizability/checker.js';
import type { PeerMessage } from '../node/replica.js';
import { describeCommand, type World } from './events.js';
import { InvariantViolation } from './invariants.js';
import type { Incarnation } from './twins.js';

type HistoryOp = Operation<KvInput, KvOutput> & { output?: KvOutput; returnTime: number };

/** One logical operation of a client: one identity, however many attempts it takes. */
export interface ClientOp {
  /** Its identity in the client's session (null: the replica numbers it); a new one only when a refusal proved the old one never applied. */
  identity: CommandIdentity | null;
  readonly command: Command;
  readonly history: HistoryOp;
  attempts: number;
  /** The node the latest attempt went to. */
  lastNode?: NodeId;
  /** The identity the latest attempt travelled under (a plain client's comes from the replica). */
  lastIdentity?: CommandIdentity;
  /** Some attempt may have taken effect (sent and not answered, or answered "unknown"): a refusal no longer settles it. */
  maybeApplied: boolean;
  /** Multi: the slot its ok answer said it was applied at; any later ok for its identity must say the same. */
  appliedSlot?: number;
  done: boolean;
}

interface SimClient {
  readonly id: number;
  /**
   * A client with a session retries with the same identity, elsewhere (as
   * `paxos check` does); one without is like `paxos propose`: the replica it
   * asks numbers the command in that replica's own session, and it does not
   * retry. In Multi-Paxos the session is registered through the log first,
   * and again after it was evicted; Basic Paxos has no sessions to register,
   * so there the client's own name serves.
   */
  readonly withSession: boolean;
  /** The session its operations are numbered in: null before it registered one, or once told it was evicted. */
  session: string | null;
  /** The last number used in `session`. */
  seq: number;
  /** A registration is under way. */
  registering: boolean;
  /** Registration attempts so far (never reset), so a stale deadline or answer is told from the live one's. */
  registrations: number;
  issued: number;
  current: ClientOp | null;
  settleOpsLeft: number;
}

/** Attempts of one operation before the client gives up on it (its outcome then stays unknown). */
const MAX_ATTEMPTS = 4;

/** One request a client sent to one replica: it must be answered at most once, and by its deadline while that replica lives. */
interface SentRequest {
  readonly what: string;
  readonly node: NodeId;
  readonly life: Incarnation;
  readonly deadlineMs: number;
  /** How long that life had been paused when the request was sent: its clock stops while paused, so its deadline moves. */
  readonly pausedAtSendMs: number;
  answers: number;
}

/** Client ids of twins in the history start above every real client's. */
const TWIN_CLIENTS = 100_000;

/** A request is late when its replica is still the same incarnation this long after the deadline it was given. */
const ANSWER_SLACK_MS = 1500;

export class SimClients<M extends PeerMessage> {
  private readonly clients: SimClient[] = [];
  private readonly history: HistoryOp[] = [];
  /** The linearizability search gave up on some key: neither a pass nor a violation. */
  undecided: string | undefined;
  /** Every request sent (swarm): answered at most once, and answered by its deadline while its replica lives. */
  private readonly sent: SentRequest[] = [];
  /** Value ids of operations a refusal settled (taken out of the history): none may ever be chosen. */
  private readonly refused: { id: string; what: string }[] = [];
  /** Value ids of requests refused because their session was evicted: chosen perhaps, but none may ever be applied. */
  private readonly evicted: { id: string; what: string }[] = [];
  /** The command answered ok under each identity (Multi, reused identities): no other may be. */
  private readonly okCommands = new Map<string, { text: string; what: string }>();
  /** Identities a twin was sent under: a value id names two commands there, so refusals are judged by the history. */
  private readonly twinned = new Set<string>();
  /** Twins sent so far: each gets a client id of its own in the history, as the concurrent writer it is. */
  private twins = 0;
  /** Value ids of writes answered ok: each must be chosen. */
  private readonly acknowledged: { id: string; what: string }[] = [];
  /**
   * The clients' habits under swarm testing (early resubmits, late retries,
   * session churn), drawn from their own stream so that the classic
   * schedules draw exactly what they drew before.
   */
  private readonly habits: Random | null;
  /** Identity reuse, from a stream of its own: a seed draws the same early resubmits and late retries with it on or off. */
  private readonly reuseRandom: Random | null;

  constructor(
    private readonly world: World<M>,
    private readonly random: Random,
  ) {
    this.habits = world.swarm === null ? null : new Random((world.opts.seed ^ 0xc11e7) >>> 0);
    this.reuseRandom = world.swarm?.reuseIdentities === true ? new Random((world.opts.seed ^ 0x7e05e) >>> 0) : null;
  }

  /** Creates the clients, each waking a moment into the run. */
  start(): void {
    const { opts } = this.world;
    const clientCount = opts.proposers?.length ?? opts.clients ?? 4;
    for (let id = 1; id <= clientCount; id++) {
      const withSession = id % 2 === 1 || opts.proposers !== undefined;
      const name = withSession ? `c${id}-${this.random.int(0, 2 ** 30).toString(36)}` : null;
      this.clients.push({
        id,
        withSession,
        session: opts.protocol === 'basic' ? name : null,
        seq: 0,
        registering: false,
        registrations: 0,
        issued: 0,
        current: null,
        settleOpsLeft: opts.opsAfterHeal ?? 2,
      });
      this.world.schedule(this.random.int(0, 30), { kind: 'client', client: id });
    }
  }

  /** At the settle: every client wakes for its operations after the heal. */
  wakeAll(): void {
    for (const c of this.clients) this.world.schedule(this.random.int(0, 20), { kind: 'client', client: c.id });
  }

  get allDone(): boolean {
    return this.clients.every((c) => c.settleOpsLeft === 0 && c.current === null);
  }

  /** The clients still waiting, named. */
  stuck(): string[] {
    return this.clients
      .filter((c) => c.settleOpsLeft > 0 || c.current !== null)
      .map((c) => `client ${c.id}${c.registering ? ' (registering a session)' : ''}`);
  }

  get completed(): number {
    return this.history.filter((h) => h.returnTime !== Infinity).length;
  }

  get operations(): number {
    return this.history.length;
  }

  /** A client wakes: to start its next operation, or (with `op`) because an attempt's deadline passed. */
  onClient(id: number, op: ClientOp | undefined, attempt: number | undefined): void {
    const c = must(this.clients[id - 1], 'a client event names a client this made');
    const { world } = this;
    if (op !== undefined) {
      // An attempt that got no answer in time may still take effect: retry with the same identity.
      // While it registers a new session, the old identity is not retried: its session is gone.
      if (op.done || c.current !== op || op.attempts !== attempt || c.registering) return;
      op.maybeApplied = true;
      return this.retryOrGiveUp(c, op);
    }
    if (c.current !== null || c.registering) return;
    if (world.settled && c.settleOpsLeft === 0) return;
    if (!world.settled && world.now > world.settleAtMs - 50) return;
    if (c.withSession && c.session === null) return this.register(c, null);
    if (world.settled) c.settleOpsLeft--;
    this.issue(c);
  }

  /**
   * Registers a session (Multi) through any replica, as a client library
   * does before its first command and after it was told its session was
   * evicted; then starts its next operation, or sends `op` again under the
   * new session when a refusal proved its old identity never applied. A
   * registration that fails or gets no answer is simply asked for again:
   * one that was chosen all the same only leaves a session nobody uses,
   * which the table evicts in its turn.
   */
  private register(c: SimClient, op: ClientOp | null): void {
    const { world } = this;
    const attempt = ++c.registrations;
    c.registering = true;
    const r = this.random;
    const nodeId = world.membershipChanges ? r.pick(this.targets()) : r.int(1, world.opts.clusterSize);
    const waitMs = world.settled ? world.settleAtMs + world.livenessBoundMs() - world.now : r.int(200, 800);
    // As for an operation: a replica that refused to start from a damaged disk refuses connections, so the client
    // asks again at once (after the heal, waiting the whole liveness bound on it would leave the client unregistered).
    const timeoutMs = world.diskOut(nodeId) ? Math.min(waitMs, 10) : waitMs;
    const retry = () => {
      if (c.registrations !== attempt || !c.registering) return;
      c.registrations++; // Whatever comes of this attempt now is stale.
      this.world.schedule(r.int(5, 60), { kind: 'call', fn: () => this.register(c, op) });
    };
    world.schedule(timeoutMs + 50, { kind: 'call', fn: retry });
    const node = world.nodes[nodeId - 1];
    world.noteAndTrace(`client ${c.id} → ${nodeName(nodeId)} register a session`);
    if (node?.replica == null) return;
    const life = node.life;
    const req = this.track(`client ${c.id}'s registration (attempt ${attempt})`, nodeId, life, timeoutMs);
    // Numbered in the replica's own session: a registration is never retried elsewhere (a new one is asked for).
    const identity = node.replica.nextIdentity();
    world.checker.noteProposed('session', world.adapter.commandValueId(identity, ''));
    node.replica.request({ op: 'register' }, { identity, timeoutMs }, (reply) => {
      this.answered(req);
      if (!life.alive || c.registrations !== attempt) return;
      world.noteAndTrace(
        `client ${c.id} ← ${nodeName(nodeId)} ${reply.ok ? `session ${reply.value}` : `${reply.outcome} (${reply.code})`}`,
      );
      if (!reply.ok || reply.value === null) return retry();
      c.registering = false;
      c.session = reply.value;
      c.seq = 0;
      if (op === null || op.done || c.current !== op) return this.world.schedule(0, { kind: 'client', client: c.id });
      op.identity = { session: c.session, seq: ++c.seq };
      this.attempt(c, op);
    });
  }

  private issue(c: SimClient): void {
    const { world } = this;
    c.issued++;
    const r = this.random;
    const key = `k${r.int(1, world.opts.keys ?? (world.opts.protocol === 'basic' ? 20 : 3))}`;
    const write = world.opts.proposers !== undefined || r.chance(world.opts.protocol === 'basic' ? 0.7 : 0.6);
    // With identity reuse on (swarm), some values carry NUL and other odd bytes, so a twin command can collide with them.
    const odd = this.reusing() && this.reuseHabits().chance(0.3) ? '\u0000\u00ff\u2028' : '';
    const command: Command = write ? { op: 'set', key, value: `v${c.id}.${c.issued}${odd}` } : { op: 'get', key };
    const identity = c.session === null ? null : { session: c.session, seq: ++c.seq };
    const history = {
      clientId: c.id,
      input: command as KvInput,
      callTime: world.now,
      returnTime: Infinity,
    } as HistoryOp;
    this.history.push(history);
    const op: ClientOp = { identity, command, history, attempts: 0, maybeApplied: false, done: false };
    c.current = op;
    this.attempt(c, op);
    if (this.reusing() && op.identity !== null && this.reuseHabits().chance(0.15)) this.sendTwin(c, op);
  }

  private reusing(): boolean {
    return this.world.swarm?.reuseIdentities === true && this.world.opts.protocol === 'multi';
  }

  /** The reuse stream, where `reusing()` holds. */
  private reuseHabits(): Random {
    return must(this.reuseRandom, 'identity reuse is drawn only under swarm testing, which makes its stream');
  }

  /**
   * Identity reuse (swarm, switched per seed): another command under the
   * identity of `op`, built so that a naive encoding of both is the same
   * bytes (a key that swallows the value's head at a NUL), sent to the
   * replica `op` is waiting at, now or a while later. Whichever of the two
   * is chosen first under the identity is applied, and only that one may be
   * answered ok (the other is refused as a reused identity): the twin is a
   * client's write like any other, kept in the history (open until answered),
   * so whatever it did shows in the reads.
   */
  private sendTwin(c: SimClient, op: ClientOp): void {
    const h = this.reuseHabits();
    const cmd = op.command;
    const twin: Command =
      cmd.op === 'set'
        ? cmd.value.includes('\u0000')
          ? {
              op: 'set',
              key: `${cmd.key}\u0000${cmd.value.slice(0, cmd.value.indexOf('\u0000'))}`,
              value: cmd.value.slice(cmd.value.indexOf('\u0000') + 1),
            }
          : { op: 'set', key: cmd.key, value: `${cmd.value}\u0000twin` }
        : { op: 'set', key: `${cmd.op === 'get' ? cmd.key : 'config'}\u0000`, value: 'twin' };
    const later = h.chance(0.5);
    this.world.schedule(later ? h.int(100, 1500) : 0, {
      kind: 'call',
      fn: () => {
        const { world } = this;
        const nodeId = later ? h.int(1, world.nodes.length) : (op.lastNode ?? 1);
        const node = world.nodes[nodeId - 1];
        if (node?.replica == null || op.identity === null) return;
        const what = `client ${c.id}'s twin ${describeCommand(twin)} under ${commandId(op.identity)} (its own: ${describeCommand(cmd)})`;
        world.noteAndTrace(
          `client ${c.id} → ${nodeName(nodeId)} ${describeCommand(twin)} as ${commandId(op.identity)} (a reused identity)`,
        );
        const req = this.track(what, nodeId, node.life, 1000);
        const identity = op.identity;
        this.twinned.add(commandId(identity));
        world.checker.noteProposed(commandKey(twin), world.adapter.commandValueId(identity, ''));
        const history = {
          clientId: TWIN_CLIENTS + ++this.twins,
          input: twin as KvInput,
          callTime: world.now,
          returnTime: Infinity,
        } as HistoryOp;
        this.history.push(history);
        const life = node.life;
        node.replica.request(twin, { identity, timeoutMs: 1000 }, (reply) => {
          this.answered(req);
          if (!life.alive) return;
          world.noteAndTrace(
            `client ${c.id} ← ${nodeName(nodeId)} ${reply.ok ? `ok at slot ${reply.slot}` : `${reply.outcome} (${reply.code})`} (the reused identity)`,
          );
          if (reply.ok) {
            this.noteOk(identity, twin, what);
            history.output = { value: reply.value };
            history.returnTime = world.now;
          } else if (reply.outcome === 'refused') this.history.splice(this.history.indexOf(history), 1);
        });
      },
    });
  }

  /** One identity, one command answered ok: a second command answered ok under it was applied under a used identity. */
  private noteOk(identity: CommandIdentity, command: Command, what: string): void {
    const id = commandId(identity);
    const text = commandText(command);
    const first = this.okCommands.get(id);
    if (first === undefined) this.okCommands.set(id, { text, what });
    else if (first.text !== text)
      throw new InvariantViolation(
        `exactly-once: ${what} was answered ok under ${id}, which ${first.what} was answered ok under: two commands applied under one identity`,
      );
  }

  private track(what: string, node: NodeId, life: Incarnation, timeoutMs: number): SentRequest | null {
    if (this.world.swarm === null) return null;
    const req: SentRequest = {
      what,
      node,
      life,
      deadlineMs: this.world.now + timeoutMs,
      pausedAtSendMs: this.world.pausedMs(life),
      answers: 0,
    };
    this.sent.push(req);
    return req;
  }

  private answered(req: SentRequest | null): void {
    if (req === null) return;
    req.answers++;
    if (req.answers > 1)
      throw new InvariantViolation(
        `exactly-once: ${req.what} to ${nodeName(req.node)} was answered ${req.answers} times`,
      );
  }

  /** Clients ask the latest configuration's voters (a removed or joining replica would leave them waiting on nobody). */
  private targets(): NodeId[] {
    const { nodes } = this.world;
    const voters = this.world.latestVoters().filter((id) => nodes[id - 1]?.retired !== true);
    return voters.length > 0 ? voters : nodes.filter((n) => !n.retired).map((n) => n.id);
  }

  /** Sends the operation to a node: the fixed proposer, else a random one (a retry prefers another). */
  private attempt(c: SimClient, op: ClientOp): void {
    const { world } = this;
    op.attempts++;
    const r = this.random;
    const nodeId =
      world.opts.proposers?.[c.id - 1] ??
      (world.membershipChanges ? r.pick(this.targets()) : r.int(1, world.opts.clusterSize));
    const waitMs = world.settled ? world.settleAtMs + world.livenessBoundMs() - world.now : r.int(200, 800);
    // A replica that refused to start from a damaged disk refuses connections: the client tries another at once.
    const timeoutMs = world.diskOut(nodeId) ? Math.min(waitMs, 10) : waitMs;
    const cmd = op.command;
    const as = op.identity === null ? '' : ` as ${commandId(op.identity)}`;
    world.noteAndTrace(
      `client ${c.id} → ${nodeName(nodeId)} ${describeCommand(cmd)}${as}${op.attempts > 1 ? ` (attempt ${op.attempts})` : ''}`,
    );
    world.schedule(timeoutMs + 50, { kind: 'client', client: c.id, op, attempt: op.attempts });
    const node = must(world.nodes[nodeId - 1], 'a target is a node the world added');
    if (node.replica === null) {
      // The connection fails: no answer, and the deadline will retry.
      world.tracer?.note(`client ${c.id} cannot reach ${nodeName(nodeId)}: it is down`);
      return;
    }
    const life = node.life;
    // The identity the command travels under: the client's own, or the next one of the replica's session.
    const identity = op.identity ?? node.replica.nextIdentity();
    op.lastNode = nodeId;
    op.lastIdentity = identity;
    const req = this.track(
      `client ${c.id}'s ${describeCommand(cmd)} as ${commandId(identity)} (attempt ${op.attempts})`,
      nodeId,
      life,
      timeoutMs,
    );
    if (cmd.op === 'set' || world.opts.protocol === 'multi') {
      // Multi-Paxos logs reads as commands too, so every request is a value that may be chosen.
      world.checker.noteProposed(
        commandKey(cmd),
        world.adapter.commandValueId(identity, cmd.op === 'set' ? cmd.value : ''),
      );
    }
    node.replica.request(cmd, { identity, timeoutMs }, (reply) => {
      this.answered(req);
      if (life.alive) this.onReply(c, op, nodeId, reply);
    });
    // Resubmit before this attempt ends (swarm): a second attempt, same identity, another replica, while this one waits.
    const h = this.habits;
    const rate = world.swarm?.earlyResubmitRate ?? 0;
    if (h !== null && rate > 0 && op.identity !== null && op.attempts < MAX_ATTEMPTS && h.chance(rate)) {
      const attempts = op.attempts;
      world.schedule(h.int(1, Math.max(2, Math.floor(timeoutMs / 2))), {
        kind: 'call',
        fn: () => {
          if (op.done || c.current !== op || op.attempts !== attempts) return;
          op.maybeApplied = true;
          this.attempt(c, op);
        },
      });
    }
  }

  /**
   * Retry long after (swarm): a finished operation is sent again, same
   * identity and command, through any replica, as a client whose first reply
   * was lost would. It is not a new operation: whatever it answers, it must
   * not apply the command again (the history's reads would show it).
   */
  private maybeRetryLate(c: SimClient, op: ClientOp): void {
    const h = this.habits;
    const rate = this.world.swarm?.lateRetryRate ?? 0;
    if (h === null || rate <= 0 || op.identity === null || !h.chance(rate)) return;
    const identity = op.identity;
    this.world.schedule(h.int(300, 2500), {
      kind: 'call',
      fn: () => {
        const { world } = this;
        const nodeId = h.int(1, world.nodes.length);
        const node = must(world.nodes[nodeId - 1], 'the id is drawn between 1 and the number of nodes');
        if (node.replica === null || node.retired) return;
        world.noteAndTrace(
          `client ${c.id} → ${nodeName(nodeId)} ${describeCommand(op.command)} as ${commandId(identity)} (a late retry)`,
        );
        const req = this.track(
          `client ${c.id}'s late retry of ${describeCommand(op.command)} as ${commandId(identity)}`,
          nodeId,
          node.life,
          1000,
        );
        node.replica.request(op.command, { identity, timeoutMs: 1000 }, (reply) => {
          this.answered(req);
          if (!node.life.alive) return;
          world.noteAndTrace(
            `client ${c.id} ← ${nodeName(nodeId)} ${reply.ok ? `ok${reply.slot === undefined ? '' : ` at slot ${reply.slot}`}` : `${reply.outcome} (${reply.code})`} (the late retry)`,
          );
          // A retry answered ok was applied where the first answer said, or it was applied twice.
          if (reply.ok && op.appliedSlot !== undefined && reply.slot !== op.appliedSlot)
            throw new InvariantViolation(
              `exactly-once: client ${c.id}'s ${describeCommand(op.command)} as ${commandId(identity)} was answered ok at slot ${op.appliedSlot}, and its late retry at ${nodeName(nodeId)} ok at slot ${reply.slot}: applied twice`,
            );
        });
      },
    });
  }

  private onReply(c: SimClient, op: ClientOp, node: NodeId, reply: ClientReply): void {
    const { world } = this;
    if (op.done) return;
    if (reply.ok) {
      op.done = true;
      op.history.output = { value: reply.value };
      op.history.returnTime = world.now;
      if (world.opts.protocol === 'multi' && reply.slot !== undefined) op.appliedSlot = reply.slot;
      if (this.reusing() && op.lastIdentity !== undefined)
        this.noteOk(op.lastIdentity, op.command, `client ${c.id}'s ${describeCommand(op.command)}`);
      world.noteAndTrace(`client ${c.id} ← ${nodeName(node)} ${reply.key}=${reply.value ?? 'nil'}`);
      // Basic: a set answered ok reports the key's chosen value, its own or an earlier one; only its own says it was chosen.
      const own = world.opts.protocol === 'multi' || (op.command.op === 'set' && reply.value === op.command.value);
      if (world.swarm !== null && op.lastIdentity !== undefined && own) {
        this.acknowledged.push({
          id: this.valueId(op, op.lastIdentity),
          what: `client ${c.id}'s ${describeCommand(op.command)}`,
        });
      }
      this.maybeRetryLate(c, op);
      return this.next(c, op);
    }
    world.noteAndTrace(`client ${c.id} ← ${nodeName(node)} ${reply.outcome} (${reply.code})`);
    if (reply.code === 'session-evicted') return this.onEvicted(c, op, reply.outcome);
    if (reply.code === 'identity-reused') return this.onIdentityReused(c, op);
    if (reply.outcome === 'unknown') op.maybeApplied = true;
    if (c.current !== op) return;
    if (reply.outcome === 'refused' && !op.maybeApplied && !world.settled) {
      // Known not to have happened, by any attempt: it leaves the history.
      op.done = true;
      this.history.splice(this.history.indexOf(op.history), 1);
      if (world.swarm !== null && op.lastIdentity !== undefined)
        this.refused.push({
          id: this.valueId(op, op.lastIdentity),
          what: `client ${c.id}'s ${describeCommand(op.command)} (${reply.code})`,
        });
      return this.next(c, op);
    }
    this.retryOrGiveUp(c, op);
  }

  /**
   * Its session is gone for good: the client registers a new one. Refused,
   * the operation never applied under its old identity (and never will), so
   * it is sent again under the new session; otherwise an earlier attempt may
   * have applied it, and resending it under a new identity could apply it
   * twice, so its outcome stays unknown and the client moves on.
   */
  private onEvicted(c: SimClient, op: ClientOp, outcome: 'refused' | 'unknown'): void {
    if (outcome === 'unknown') op.maybeApplied = true;
    if (op.identity !== null && c.session === op.identity.session) c.session = null;
    if (c.current !== op || op.done) return;
    if (outcome === 'refused' && !op.maybeApplied && op.lastIdentity !== undefined) {
      this.evicted.push({
        id: this.valueId(op, op.lastIdentity),
        what: `client ${c.id}'s ${describeCommand(op.command)} as ${commandId(op.lastIdentity)}`,
      });
      if (c.session !== null) {
        op.identity = { session: c.session, seq: ++c.seq };
        return this.attempt(c, op);
      }
      if (!c.registering) return this.register(c, op);
      // Another registration is already under way: this operation is settled as never applied, and leaves the history.
      op.done = true;
      this.history.splice(this.history.indexOf(op.history), 1);
      c.current = null;
      return;
    }
    op.done = true; // Its outcome stays unknown: the op stays open in the history forever.
    this.next(c, op);
  }

  /**
   * Another command took (or waits under) its identity: retrying under it can
   * never apply this one, so the client stops. Never applied if no attempt
   * may have been; otherwise its outcome stays unknown.
   */
  private onIdentityReused(c: SimClient, op: ClientOp): void {
    if (c.current !== op || op.done) return;
    op.done = true;
    if (!op.maybeApplied) this.history.splice(this.history.indexOf(op.history), 1);
    this.next(c, op);
  }

  private retryOrGiveUp(c: SimClient, op: ClientOp): void {
    // A client with its own session retries under the same identity; a plain one only after the heal,
    // with a new one (a new command, as a user typing it again would), while the old stays open.
    if (op.identity !== null && (this.world.settled || op.attempts < MAX_ATTEMPTS)) return this.attempt(c, op);
    if (op.identity === null && this.world.settled) {
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
    // A client library restarted (swarm): it registers anew, and its old session is left for the table to evict.
    const churn = this.world.swarm?.sessionChurnRate ?? 0;
    if (c.session !== null && this.world.opts.protocol === 'multi' && churn > 0 && this.habits?.chance(churn))
      c.session = null;
    this.world.schedule(this.random.int(5, 60), { kind: 'client', client: c.id });
  }

  private valueId(op: ClientOp, identity: CommandIdentity): string {
    return this.world.adapter.commandValueId(identity, op.command.op === 'set' ? op.command.value : '');
  }

  /**
   * The answers one by one (swarm): every request whose replica still lives
   * was answered by its deadline; a write answered ok was chosen (a majority
   * holds it durably); an operation a refusal settled was never chosen.
   */
  checkAnswers(): void {
    if (this.world.swarm === null) return;
    const now = this.world.now;
    for (const r of this.sent) {
      // A replica's timeouts count its ticks, and a paused one ticks not: its answer comes that much later.
      const pausedMs = this.world.pausedMs(r.life) - r.pausedAtSendMs;
      if (r.answers === 0 && r.life.alive && now > r.deadlineMs + pausedMs + ANSWER_SLACK_MS) {
        throw new InvariantViolation(
          `exactly-once: ${r.what} to ${nodeName(r.node)} was never answered (deadline ${Math.round(r.deadlineMs)}ms, now ${Math.round(now)}ms)`,
        );
      }
    }
    const chosen = new Set<string>();
    for (const v of this.world.checker.chosenByDefinition.values()) chosen.add(v.valueId);
    for (const r of this.refused)
      if (chosen.has(r.id) && !this.twinned.has(r.id))
        throw new InvariantViolation(`refused means never chosen: ${r.what} was refused, but ${r.id} was chosen`);
    for (const a of this.acknowledged)
      if (!chosen.has(a.id))
        throw new InvariantViolation(`ok means chosen: ${a.what} was answered ok, but ${a.id} was never chosen`);
    const applied = this.world.appliedCommands();
    if (applied === null) return;
    for (const e of this.evicted) {
      const slot = applied.get(e.id);
      if (slot !== undefined)
        throw new InvariantViolation(
          `session evicted means never applied: ${e.what} was refused as evicted, but the chosen log applies ${e.id} at slot ${slot}`,
        );
    }
  }

  /** The history against the protocol's model: throws on a violation, notes an undecided search. */
  checkHistory(): void {
    const model = this.world.opts.protocol === 'multi' ? registerModel : writeOnceModel;
    const result = checkKvHistory(model, this.history);
    if (result.ok === false) throw new InvariantViolation(`linearizability: ${result.reason}`);
    if (result.ok === 'unknown') this.undecided = result.reason;
  }
}
