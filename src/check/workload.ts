/**
 * The clients of `paxos check`: each one a Jepsen process with its own
 * session, one operation at a time, over the same control API `paxos
 * propose` and `paxos get` use. In Multi-Paxos odd clients register a
 * session first (and again when told it was evicted), as a client library
 * does; even ones leave the numbering to the replica they ask. Writes carry unique values; reads go through
 * consensus. What each client learns is recorded exactly: ok, fail (never
 * sent, or refused by a replica) or info (sent, no answer or "unknown").
 */

import { Random } from '../core/random.js';
import type { ControlClient } from '../transport/ws-transport.js';
import type { CheckDriver } from './driver.js';
import type { CompletionEvent, HistoryEvent, InvokeEvent } from './history.js';

export interface WorkloadOptions {
  readonly cluster: Pick<CheckDriver, 'replica'>;
  readonly protocol: 'multi' | 'basic';
  readonly clients: number;
  readonly keys: number;
  readonly seed: number;
  /** Names this run (Basic: each odd client's session name is made from it). */
  readonly runId: string;
  /** How long a replica keeps trying one operation; the client waits a little longer for the answer. */
  readonly opTimeoutMs: number;
  readonly nowMs: () => number;
  readonly record: (e: HistoryEvent) => void;
  /** Keys are this prefix and a number: `k` on a fresh cluster; unique to the run on one that outlives checks (--cluster). */
  readonly keyPrefix?: string;
  /** The replicas worth asking right now (up, as far as the orchestrator knows). */
  readonly candidates: () => readonly number[];
}

const ANSWER_GRACE_MS = 1000;
/** Bounds each client's loop even if the clock misbehaves. */
const MAX_OPS_PER_CLIENT = 1_000_000;

type Reply =
  | { ok: true; value: string | null; slot?: number }
  | { ok: false; outcome: 'refused' | 'unknown'; code: string; reason: string };

export class Workload {
  private stopped = false;
  private readonly connections = new Map<string, Promise<ControlClient>>();
  private readonly loops: Promise<void>[] = [];
  opsDone = 0;

  constructor(private readonly o: WorkloadOptions) {}

  start(): void {
    for (let c = 1; c <= this.o.clients; c++) this.loops.push(this.clientLoop(c));
  }

  /** Lets every client finish its current operation, then closes their connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    for (const conn of this.connections.values())
      void conn.then(
        (c) => c.close(),
        () => undefined,
      );
    this.connections.clear();
  }

  private async clientLoop(process: number): Promise<void> {
    const random = new Random(this.o.seed * 1000 + process);
    // Odd clients bring their own session; even ones leave the numbering to the replica they ask.
    const own = process % 2 === 1;
    let session = own && this.o.protocol === 'basic' ? `chk-${this.o.runId}-c${process}` : '';
    for (let seq = 1; seq <= MAX_OPS_PER_CLIENT && !this.stopped; seq++) {
      const nodes = this.o.candidates();
      if (nodes.length === 0) {
        await sleep(50);
        seq--;
        continue;
      }
      if (own && session === '' && this.o.protocol === 'multi') {
        session = await this.register(process, random.pick(nodes));
        if (session === '') {
          await sleep(50);
          seq--;
          continue;
        }
      }
      const done = await this.runOne({
        process,
        session,
        seq,
        node: random.pick(nodes),
        ...this.drawOp(random, process, seq),
      });
      this.opsDone++;
      // Its session is gone for good: the next operation registers a new one (this one's outcome is as recorded).
      if (done.code === 'session-evicted' && this.o.protocol === 'multi') session = '';
      // A replica that refuses connections is down: hammering it would only fill the history with the same failure.
      if (done.code === 'unreachable') await sleep(100);
    }
  }

  /** Multi: registers a session through `node`; '' when it cannot now (the caller tries again). */
  private async register(process: number, node: number): Promise<string> {
    try {
      const conn = await this.connection(process, node);
      const reply = (await conn.request(
        { op: 'register', timeoutMs: this.o.opTimeoutMs },
        this.o.opTimeoutMs + ANSWER_GRACE_MS,
      )) as Reply;
      return reply.ok && reply.value !== null ? reply.value : '';
    } catch {
      // No answer: a session registered all the same is simply never used, and the table evicts it in time.
      this.connections.delete(`${process}/${node}`);
      return '';
    }
  }

  /** Multi: a few keys read and overwritten. Basic: write-once keys, so many more of them, each written by whoever gets there first. */
  private drawOp(
    random: Random,
    process: number,
    seq: number,
  ): { op: 'set' | 'get'; key: string; value: string | null } {
    const keyCount = this.o.protocol === 'basic' ? this.o.keys * 40 : this.o.keys;
    const key = `${this.o.keyPrefix ?? 'k'}${random.int(1, keyCount)}`;
    return random.chance(0.5) ? { op: 'set', key, value: `c${process}.${seq}` } : { op: 'get', key, value: null };
  }

  /** One operation, recorded as invoke then its completion; it may be called by the final reads too. */
  async runOne(o: {
    process: number;
    session: string;
    seq: number;
    node: number;
    op: 'set' | 'get';
    key: string;
    value: string | null;
  }): Promise<CompletionEvent> {
    const invoke: InvokeEvent = { type: 'invoke', ...o, timeMs: this.o.nowMs() };
    this.o.record(invoke);
    const done = (c: Omit<CompletionEvent, 'process' | 'seq' | 'timeMs'>): CompletionEvent => {
      const e: CompletionEvent = { ...c, process: o.process, seq: o.seq, timeMs: this.o.nowMs() };
      this.o.record(e);
      return e;
    };
    let conn: ControlClient;
    try {
      conn = await this.connection(o.process, o.node);
    } catch (err) {
      // The connection was refused: the command never left this client.
      return done({ type: 'fail', value: null, code: 'unreachable', error: (err as Error).message });
    }
    // A client without a session of its own (session '') is like `paxos propose`: the replica numbers
    // its command in the replica's own session, so a replica that reused identities would be caught.
    const identity = o.session === '' ? {} : { session: o.session, seq: o.seq };
    const body =
      o.op === 'set'
        ? { op: 'propose', key: o.key, value: o.value, ...identity, timeoutMs: this.o.opTimeoutMs }
        : { op: 'get', key: o.key, ...identity, timeoutMs: this.o.opTimeoutMs };
    try {
      const reply = (await conn.request(body, this.o.opTimeoutMs + ANSWER_GRACE_MS)) as Reply;
      if (reply.ok)
        return done({ type: 'ok', value: reply.value, ...(reply.slot !== undefined ? { slot: reply.slot } : {}) });
      return done({
        type: reply.outcome === 'refused' ? 'fail' : 'info',
        value: null,
        code: reply.code,
        error: reply.reason,
      });
    } catch (err) {
      // Sent, and no answer: it may still take effect. The connection is suspect; the next op makes a new one,
      // and this one is closed, or a replica that stays up (one this check does not stop) would keep it open.
      this.connections.delete(`${o.process}/${o.node}`);
      conn.close();
      return done({ type: 'info', value: null, code: 'no-answer', error: (err as Error).message });
    }
  }

  private connection(process: number, node: number): Promise<ControlClient> {
    const id = `${process}/${node}`;
    let conn = this.connections.get(id);
    if (conn === undefined) {
      conn = this.o.cluster.replica(node);
      this.connections.set(id, conn);
      // A connection that closes (its replica killed) is forgotten, so the next op dials afresh.
      // Only while it is still the one in the map: the close of a connection given up on must not orphan its successor.
      const forget = () => {
        if (this.connections.get(id) === conn) this.connections.delete(id);
      };
      conn.then((c) => c.onClose(forget), forget);
    }
    return conn;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
