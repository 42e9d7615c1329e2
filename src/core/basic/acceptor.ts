/**
 * The acceptor of every key: its promise and accepted value per key, and its
 * answers to prepares and accepts. A key already chosen here is answered
 * with its outcome instead, so a late proposer learns in one round trip.
 * What it promises and accepts is written down before any answer leaves.
 */
import { type Ballot, ballotAtLeast, ballotGreater, ZERO_BALLOT } from '../ballot.js';
import type {
  BasicAcceptedMsg,
  BasicAcceptMsg,
  BasicDecideMsg,
  BasicPrepareMsg,
  BasicPromiseMsg,
  BasicRejectMsg,
} from '../basic-messages.js';
import type { NodeId } from '../types.js';
import type { BasicContext } from './context.js';
import type { Accepted, BasicDurableState } from './durable.js';

export class BasicAcceptor {
  readonly promised: Map<string, Ballot>;
  readonly accepted: Map<string, Accepted>;
  lastAccepted: { key: string; ballot: Ballot; value: string } | null = null;
  /** The highest promise over all keys, kept as promises are made: what `view()` shows. */
  highestPromised: Ballot;
  /** The highest promise among chosen keys whose promises a compaction dropped: part of what `view()` shows. */
  promisedAtLeast: Ballot;

  constructor(
    private readonly ctx: BasicContext,
    recovered: BasicDurableState,
  ) {
    this.promised = recovered.promised;
    this.accepted = recovered.accepted;
    this.promisedAtLeast = recovered.promisedAtLeast;
    this.highestPromised = recovered.promisedAtLeast;
    for (const b of this.promised.values()) if (ballotGreater(b, this.highestPromised)) this.highestPromised = b;
  }

  /** The promise for `key`; none yet is the zero ballot. */
  promisedFor(key: string): Ballot {
    return this.promised.get(key) ?? ZERO_BALLOT;
  }

  onPrepare(m: BasicPrepareMsg): void {
    const { ctx } = this;
    if (this.tellChosen(m.key, m.from)) return;
    const promised = this.promised.get(m.key) ?? ZERO_BALLOT;
    if (!ballotAtLeast(m.ballot, promised)) return this.reject(m.from, m.key, m.ballot, promised);
    ctx.proposer.noteRound(m.ballot);
    const accepted = this.promiseLocally(m.key, m.ballot);
    // The ballot was just checked against the promise, which nothing between could raise.
    if (accepted === 'rejected') throw new Error(`broken invariant: ${m.key} rejected a prepare it had just admitted`);
    const reply: BasicPromiseMsg = {
      type: 'promise',
      from: ctx.id,
      to: m.from,
      key: m.key,
      ballot: m.ballot,
      accepted,
    };
    ctx.out.messages.push(reply);
  }

  onAccept(m: BasicAcceptMsg): void {
    const { ctx } = this;
    if (this.tellChosen(m.key, m.from)) return;
    ctx.proposer.noteRound(m.ballot);
    if (!this.acceptLocally(m.key, m.ballot, m.value)) {
      return this.reject(m.from, m.key, m.ballot, this.promised.get(m.key) ?? ZERO_BALLOT);
    }
    const reply: BasicAcceptedMsg = { type: 'accepted', from: ctx.id, to: m.from, key: m.key, ballot: m.ballot };
    ctx.out.messages.push(reply);
  }

  /** The proposer's own acceptor answers its prepare like any other, persisted in the same Ready. */
  promiseLocally(key: string, ballot: Ballot): Accepted | null | 'rejected' {
    const promised = this.promised.get(key) ?? ZERO_BALLOT;
    if (!ballotAtLeast(ballot, promised)) return 'rejected';
    if (ballotGreater(ballot, promised)) {
      this.promised.set(key, ballot);
      this.notePromise(ballot);
      this.ctx.out.persist.push({ t: 'promise', key, ballot });
    }
    return this.accepted.get(key) ?? null;
  }

  /** Accept iff the ballot is at least the promise (Lamport), raising the promise to it. */
  acceptLocally(key: string, ballot: Ballot, value: string): boolean {
    const promised = this.promised.get(key) ?? ZERO_BALLOT;
    if (!ballotAtLeast(ballot, promised) && !this.ctx.cfg.bugs.acceptBelowPromised) return false;
    if (ballotGreater(ballot, promised)) {
      this.promised.set(key, ballot);
      this.notePromise(ballot);
    }
    this.accepted.set(key, { ballot, value });
    this.lastAccepted = { key, ballot, value };
    this.ctx.out.persist.push({ t: 'accept', key, ballot, value });
    return true;
  }

  /**
   * A chosen key's promise and vote are of no use any more: tellChosen answers every later prepare and accept.
   * The highest of those promises is kept, so the acceptor's highest promise never appears to go down.
   */
  forgetChosen(keys: Iterable<string>): void {
    for (const key of keys) {
      const b = this.promised.get(key);
      if (b !== undefined && ballotGreater(b, this.promisedAtLeast)) this.promisedAtLeast = b;
      this.promised.delete(key);
      this.accepted.delete(key);
    }
  }

  private notePromise(ballot: Ballot): void {
    if (ballotGreater(ballot, this.highestPromised)) this.highestPromised = ballot;
  }

  private reject(to: NodeId, key: string, ballot: Ballot, promised: Ballot): void {
    const msg: BasicRejectMsg = { type: 'reject', from: this.ctx.id, to, key, ballot, promised };
    this.ctx.out.messages.push(msg);
  }

  /** An acceptor that already knows the outcome answers with it, so a late proposer learns in one round trip. */
  private tellChosen(key: string, to: NodeId): boolean {
    const c = this.ctx.learner.chosen.get(key);
    if (c === undefined) return false;
    const msg: BasicDecideMsg = { type: 'decide', from: this.ctx.id, to, key, ballot: c.ballot, value: c.value };
    this.ctx.out.messages.push(msg);
    return true;
  }
}
