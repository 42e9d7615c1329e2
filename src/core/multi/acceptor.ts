/**
 * The acceptor: the promise (the highest ballot it answered), the values it
 * accepted per slot, and its answers to phase 1 (onPrepare) and phase 2
 * (onAccept). What it promises and accepts is written down before any answer
 * leaves (the Ready contract).
 */
import { type Ballot, ballotAtLeast, ballotEquals, ballotGreater } from '../ballot.js';
import type { NodeId } from '../types.js';
import type { Context } from './context.js';
import type {
  AcceptedEntry,
  AcceptedMsg,
  AcceptMsg,
  LogValue,
  MultiRecord,
  PrepareMsg,
  PromiseMsg,
  SlotValue,
} from './messages.js';

export class Acceptor {
  /** Survives restarts, like `accepted`: both are mirrored in the log. */
  promised: Ballot;
  readonly accepted: Map<number, { ballot: Ballot; value: LogValue }>;
  /** The highest slot accepted, for `view()`. */
  lastAcceptedSlot = 0;
  /** The accept record this Ready is still filling, and its entries: grown in place, so a batch costs O(n), not O(n²). */
  private open: { readonly record: MultiRecord; readonly entries: SlotValue[] } | null = null;

  constructor(
    private readonly ctx: Context,
    recovered: { readonly promised: Ballot; readonly accepted: Map<number, { ballot: Ballot; value: LogValue }> },
  ) {
    this.promised = recovered.promised;
    this.accepted = recovered.accepted;
    for (const slot of this.accepted.keys()) this.lastAcceptedSlot = Math.max(this.lastAcceptedSlot, slot);
  }

  onPrepare(m: PrepareMsg): void {
    const { ctx } = this;
    if (!ctx.epochs.answers(m)) return;
    if (ctx.hasLiveLeaderOtherThan(m.from)) return;
    if (!ballotAtLeast(m.ballot, this.promised)) return this.reject(m, m.epoch);
    ctx.noteRound(m.ballot);
    if (ballotGreater(m.ballot, this.promised)) {
      this.promised = m.ballot;
      ctx.out.persist.push({ t: 'promise', ballot: m.ballot });
      ctx.promisedHigher();
    }
    ctx.out.messages.push(this.promiseFor(m));
  }

  /**
   * Slots below this acceptor's commit point are chosen, and may be compacted
   * away: the promise says so with its commit point instead of carrying them.
   */
  private promiseFor(m: PrepareMsg): PromiseMsg {
    const { ctx } = this;
    const commitPoint = ctx.learner.commitIndex;
    if (ctx.rules.promiseHidesCompacted) {
      const commitIndex = Math.min(m.fromSlot, commitPoint);
      return {
        type: 'promise',
        from: ctx.id,
        to: m.from,
        epoch: m.epoch,
        ballot: m.ballot,
        fromSlot: m.fromSlot,
        commitIndex,
        accepted: this.acceptedFrom(m.fromSlot),
      };
    }
    const accepted = this.acceptedFrom(Math.max(m.fromSlot, commitPoint));
    return {
      type: 'promise',
      from: ctx.id,
      to: m.from,
      epoch: m.epoch,
      ballot: m.ballot,
      fromSlot: m.fromSlot,
      commitIndex: commitPoint,
      accepted,
    };
  }

  onAccept(m: AcceptMsg): void {
    const { ctx } = this;
    if (!ctx.epochs.answers(m)) return;
    if (!ballotAtLeast(m.ballot, this.promised) && !ctx.rules.acceptBelowPromised) return this.reject(m, m.epoch);
    ctx.noteRound(m.ballot);
    // A slot this replica compacted is chosen and applied here: it takes no new vote there, or the log would grow back.
    const compacted = ctx.learner.compactedThrough;
    const entries = m.entries.some((e) => e.slot <= compacted)
      ? m.entries.filter((e) => e.slot > compacted)
      : m.entries;
    if (ballotGreater(m.ballot, this.promised)) {
      this.promised = m.ballot;
      // Without an accept record to carry it, the raised promise needs a record of its own before anything is sent.
      if (entries.length === 0) ctx.out.persist.push({ t: 'promise', ballot: m.ballot });
    }
    ctx.heardLeader(m.ballot, m.from);
    if (entries.length > 0) this.acceptLocally(m.ballot, entries);
    const reply: AcceptedMsg = {
      type: 'accepted',
      from: ctx.id,
      to: m.from,
      epoch: m.epoch,
      ballot: m.ballot,
      slots: entries.map((e) => e.slot),
      commitIndex: ctx.learner.commitIndex,
    };
    ctx.out.messages.push(reply);
    ctx.learner.learnCommitPoint(m.ballot, m.commitIndex, m.from);
  }

  /** Tells the sender of a prepare or accept that this acceptor promised a higher ballot (or, with a later `epoch`, that its epoch ended). */
  reject(m: { readonly from: NodeId; readonly ballot: Ballot }, epoch: number): void {
    this.ctx.out.messages.push({
      type: 'reject',
      from: this.ctx.id,
      to: m.from,
      epoch,
      ballot: m.ballot,
      promised: this.promised,
    });
  }

  /** A candidate promises its own ballot first, on disk like any promise. */
  promiseOwn(ballot: Ballot): void {
    this.promised = ballot;
    this.ctx.out.persist.push({ t: 'promise', ballot });
  }

  /** Accepts values at `ballot` (a leader its own, a follower the leader's), recorded before the answer leaves. */
  acceptLocally(ballot: Ballot, entries: readonly SlotValue[]): void {
    for (const e of entries) {
      this.accepted.set(e.slot, { ballot, value: e.value });
      if (e.slot > this.lastAcceptedSlot) this.lastAcceptedSlot = e.slot;
    }
    // Accepts of one ballot in one Ready go in one record. The last record grows in place only while it is the one this
    // acceptor opened: nothing outside the core sees a Ready's records before the Ready is taken, and a record of an
    // earlier Ready is never the last of this one (take() starts new arrays).
    const persist = this.ctx.out.persist;
    const last = persist[persist.length - 1];
    const open = this.open;
    if (open !== null && last === open.record && last.t === 'accept' && ballotEquals(last.ballot, ballot)) {
      for (const e of entries) open.entries.push(e);
    } else {
      const own = [...entries];
      const record: MultiRecord = { t: 'accept', ballot, entries: own };
      persist.push(record);
      this.open = { record, entries: own };
    }
  }

  acceptedFrom(fromSlot: number): AcceptedEntry[] {
    const entries: AcceptedEntry[] = [];
    for (const [slot, a] of this.accepted)
      if (slot >= fromSlot) entries.push({ slot, ballot: a.ballot, value: a.value });
    return entries;
  }

  /** The slots at or below `slot` are in a snapshot: their votes are no longer needed. */
  compactThrough(slot: number): void {
    for (const s of this.accepted.keys()) if (s <= slot) this.accepted.delete(s);
  }

  /** A stop-sign at `stopSlot` ended the epoch: votes above it belong to an epoch that decides nothing there. */
  dropAbove(stopSlot: number): void {
    for (const slot of [...this.accepted.keys()]) if (slot > stopSlot) this.accepted.delete(slot);
    this.lastAcceptedSlot = Math.min(this.lastAcceptedSlot, stopSlot);
  }
}
