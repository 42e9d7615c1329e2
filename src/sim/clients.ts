/**
 * The simulated clients: each opens a session (or none, like `paxos propose`),
 * proposes and reads through a replica's request API, retries with the same
 * identity elsewhere, and records every operation in the history that is
 * checked for linearizability at the end. They draw from their own random
 * stream.
 */
import type { Random } from '../core/random.js';
import { type ClientReply, type Command, type CommandIdentity, commandKey, type NodeId } from '../core/types.js';
import { commandId } from '../core/multi/sessions.js';
import type { PeerMessage } from '../node/replica.js';
import { describeCommand, type World } from './events.js';
import { InvariantViolation } from './invariants.js';
import { checkKvHistory, type KvInput, type KvOutput, type Operation, registerModel, writeOnceModel } from '../linearizability/checker.js';

type HistoryOp = Operation<KvInput, KvOutput> & { output?: KvOutput; returnTime: number };

/** One logical operation of a client: one identity, however many attempts it takes. */
export interface ClientOp {
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

/** Attempts of one operation before the client gives up on it (its outcome then stays unknown). */
const MAX_ATTEMPTS = 4;

export class SimClients<M extends PeerMessage> {
  private readonly clients: SimClient[] = [];
  private readonly history: HistoryOp[] = [];
  /** The linearizability search gave up on some key: neither a pass nor a violation. */
  undecided: string | undefined;

  constructor(private readonly world: World<M>, private readonly random: Random) {}

  /** Creates the clients, each waking a moment into the run. */
  start(): void {
    const { opts } = this.world;
    const clientCount = opts.proposers?.length ?? opts.clients ?? 4;
    for (let id = 1; id <= clientCount; id++) {
      const session = id % 2 === 1 || opts.proposers !== undefined ? `c${id}-${this.random.int(0, 2 ** 30).toString(36)}` : null;
      this.clients.push({ id, session, issued: 0, current: null, settleOpsLeft: opts.opsAfterHeal ?? 2 });
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
    return this.clients.filter((c) => c.settleOpsLeft > 0 || c.current !== null).map((c) => `client ${c.id}`);
  }

  get completed(): number {
    return this.history.filter((h) => h.returnTime !== Infinity).length;
  }

  get operations(): number {
    return this.history.length;
  }

  /** A client wakes: to start its next operation, or (with `op`) because an attempt's deadline passed. */
  onClient(id: number, op: ClientOp | undefined, attempt: number | undefined): void {
    const c = this.clients[id - 1]!;
    const { world } = this;
    if (op !== undefined) {
      // An attempt that got no answer in time may still take effect: retry with the same identity.
      if (op.done || c.current !== op || op.attempts !== attempt) return;
      op.maybeApplied = true;
      return this.retryOrGiveUp(c, op);
    }
    if (c.current !== null) return;
    if (world.settled && c.settleOpsLeft === 0) return;
    if (!world.settled && world.now > world.settleAtMs - 50) return;
    if (world.settled) c.settleOpsLeft--;
    this.issue(c);
  }

  private issue(c: SimClient): void {
    const { world } = this;
    c.issued++;
    const r = this.random;
    const key = `k${r.int(1, world.opts.keys ?? (world.opts.protocol === 'basic' ? 20 : 3))}`;
    const write = world.opts.proposers !== undefined || r.chance(world.opts.protocol === 'basic' ? 0.7 : 0.6);
    const command: Command = write ? { op: 'set', key, value: `v${c.id}.${c.issued}` } : { op: 'get', key };
    const identity = c.session === null ? null : { session: c.session, seq: c.issued };
    const history = { clientId: c.id, input: command as KvInput, callTime: world.now, returnTime: Infinity } as HistoryOp;
    this.history.push(history);
    const op: ClientOp = { identity, command, history, attempts: 0, maybeApplied: false, done: false };
    c.current = op;
    this.attempt(c, op);
  }

  /** Clients ask the latest configuration's voters (a removed or joining replica would leave them waiting on nobody). */
  private targets(): NodeId[] {
    const { nodes } = this.world;
    const voters = this.world.latestVoters().filter((id) => !nodes[id - 1]!.retired);
    return voters.length > 0 ? voters : nodes.filter((n) => !n.retired).map((n) => n.id);
  }

  /** Sends the operation to a node: the fixed proposer, else a random one (a retry prefers another). */
  private attempt(c: SimClient, op: ClientOp): void {
    const { world } = this;
    op.attempts++;
    const r = this.random;
    const nodeId = world.opts.proposers?.[c.id - 1] ?? (world.membershipChanges ? r.pick(this.targets()) : r.int(1, world.opts.clusterSize));
    const timeoutMs = world.settled ? world.settleAtMs + world.livenessBoundMs() - world.now : r.int(200, 800);
    const cmd = op.command;
    const as = op.identity === null ? '' : ` as ${commandId(op.identity)}`;
    world.noteAndTrace(`client ${c.id} → node-${nodeId} ${describeCommand(cmd)}${as}${op.attempts > 1 ? ` (attempt ${op.attempts})` : ''}`);
    world.schedule(timeoutMs + 50, { kind: 'client', client: c.id, op, attempt: op.attempts });
    const node = world.nodes[nodeId - 1]!;
    if (node.replica === null) { // The connection fails: no answer, and the deadline will retry.
      world.tracer?.note(`client ${c.id} cannot reach node-${nodeId}: it is down`);
      return;
    }
    const life = node.life;
    // The identity the command travels under: the client's own, or the next one of the replica's session.
    const identity = op.identity ?? node.replica.nextIdentity();
    if (cmd.op === 'set' || world.opts.protocol === 'multi') {
      // Multi-Paxos logs reads as commands too, so every request is a value that may be chosen.
      world.checker.noteProposed(commandKey(cmd), world.adapter.commandValueId(identity, cmd.op === 'set' ? cmd.value : ''));
    }
    node.replica.request(cmd, { identity, timeoutMs }, (reply) => {
      if (life.alive) this.onReply(c, op, nodeId, reply);
    });
  }

  private onReply(c: SimClient, op: ClientOp, node: NodeId, reply: ClientReply): void {
    const { world } = this;
    if (op.done) return;
    if (reply.ok) {
      op.done = true;
      op.history.output = { value: reply.value };
      op.history.returnTime = world.now;
      world.noteAndTrace(`client ${c.id} ← node-${node} ${reply.key}=${reply.value ?? 'nil'}`);
      return this.next(c, op);
    }
    world.noteAndTrace(`client ${c.id} ← node-${node} ${reply.outcome} (${reply.code})`);
    if (reply.outcome === 'unknown') op.maybeApplied = true;
    if (c.current !== op) return;
    if (reply.outcome === 'refused' && !op.maybeApplied && !world.settled) {
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
    this.world.schedule(this.random.int(5, 60), { kind: 'client', client: c.id });
  }

  /** The history against the protocol's model: throws on a violation, notes an undecided search. */
  checkHistory(): void {
    const model = this.world.opts.protocol === 'multi' ? registerModel : writeOnceModel;
    const result = checkKvHistory(model, this.history);
    if (result.ok === false) throw new InvariantViolation(`linearizability: ${result.reason}`);
    if (result.ok === 'unknown') this.undecided = result.reason;
  }
}
