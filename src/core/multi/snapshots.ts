/**
 * Snapshots: taking one of the applied state when the log grows, streaming
 * one to a peer that fell behind what this replica compacted, one part per
 * message, and receiving one the same way.
 */
import { must } from '../must.js';
import type { Checkpoint, NodeId } from '../types.js';
import { nodeName } from '../types.js';
import type { Context } from './context.js';
import { retainedRecords } from './durable.js';
import type { MultiRecord, SnapshotMsg } from './messages.js';
import { joinSnapshotParts, type MultiSnapshot, type SnapshotPart } from './snapshot-parts.js';

/** A snapshot being received from a peer, one part per message. */
interface IncomingSnapshot {
  readonly from: NodeId;
  readonly slot: number;
  readonly total: number;
  readonly parts: SnapshotPart[];
  /** When the last part arrived: a stream that stalls (its sender died) is given up. */
  lastPartTick: number;
}

export class Snapshots {
  /** A snapshot taken or installed since the last `ready()`, whose checkpoint that Ready carries. */
  toWrite: readonly SnapshotPart[] | null = null;
  /** Snapshots being streamed to peers that fell behind, one per peer, dropped once sent. */
  private readonly outgoing = new Map<NodeId, { readonly slot: number; readonly parts: readonly SnapshotPart[] }>();
  private incoming: IncomingSnapshot | null = null;
  /** A snapshot was installed since the last `ready()`: its checkpoint is not handed to storage yet. */
  private installedUnwritten = false;

  constructor(private readonly ctx: Context) {}

  /** Takes a snapshot once the applied log above the last one reaches the configured length. */
  takeIfDue(): void {
    const { learner, cfg } = this.ctx;
    if (learner.commitIndex - 1 - learner.compactedThrough >= cfg.snapshotEverySlots) this.take();
  }

  /**
   * The checkpoint a Ready carries when a snapshot was taken or installed since the last one: the snapshot, and the
   * records that survive compaction. Called last in `ready()`, after every step of the Ready, so none of its own
   * records is left out.
   */
  checkpoint(round: number): Checkpoint<MultiRecord> | null {
    const { ctx } = this;
    if (this.toWrite === null) return null;
    const checkpoint = {
      ...(this.installedUnwritten && !ctx.rules.installAsCompaction ? {} : { compaction: true as const }),
      snapshot: this.toWrite,
      records: retainedRecords({
        round,
        promised: ctx.acceptor.promised,
        membership: ctx.epochs.membership,
        accepted: ctx.acceptor.accepted,
        chosen: ctx.learner.chosen,
        compactedThrough: ctx.learner.compactedThrough,
        recovery: ctx.recovery.retained(),
      }),
    };
    this.toWrite = null;
    this.installedUnwritten = false;
    return checkpoint;
  }

  /**
   * Snapshots the applied state at the last applied slot and drops the log
   * below it, in memory now and on disk through the Ready's checkpoint. Only
   * slots known chosen and applied are dropped: a vote for a slot not known
   * chosen is never discarded.
   */
  take(): void {
    const { ctx } = this;
    const applied = ctx.learner.commitIndex - 1;
    if (!this.labelsTruly(applied)) return;
    const slot = ctx.rules.snapshotLabelledAhead ? applied + 1 : applied;
    const parts = ctx.machine.snapshot(slot, ctx.epochs.membership);
    const accepted = ctx.acceptor.accepted;
    if (ctx.rules.compactUndecided) for (const s of [...accepted.keys()]) if (s > applied) accepted.delete(s);
    ctx.compactThrough(applied);
    this.toWrite = parts;
    ctx.out.events.push({
      type: 'note',
      text: `snapshot at slot ${slot} (${ctx.machine.kv.size} keys); the log below it is compacted`,
    });
  }

  /**
   * A snapshot carries the configuration that governs its slot, and the replica knows only its current one. That is
   * the right label unless the replica entered its epoch ahead of what it applied (a learner catching up, or a restart
   * whose epoch record landed without the snapshot of the same step): a snapshot labelled so would make its installer
   * enter an epoch whose stop-sign it never applied. Such a replica takes and serves no snapshot until it catches up.
   */
  private labelsTruly(slot: number): boolean {
    return this.ctx.rules.snapshotAheadOfEpoch || this.ctx.epochs.membership.startSlot <= slot + 1;
  }

  /**
   * Whether a stop-sign must wait to be applied: a Ready writes its records before its checkpoint (the Ready contract),
   * so the epoch record of a stop-sign applied above a snapshot in the Ready that installs it can reach the disk
   * without that snapshot, and the replica restarts in an epoch whose stop-sign its chosen prefix no longer reaches.
   * Seed 2026218: node-2 alone had learned slots 35-38 of epoch 2 (38 the stop-sign), installed a snapshot through 34,
   * applied on into epoch 3 and crashed between the two writes; restarted in epoch 3 without slot 34, it answered no
   * message of epoch 2, could serve neither slot 34 nor a snapshot, and with two of the five recovering lost disks no
   * phase 1 of epoch 2 could learn slot 34 again. Applied in the next step instead, the epoch record follows the
   * checkpoint (storage completes writes in order); a crash between them restarts the replica in epoch 2, a voter that
   * can help choose what it lacks.
   */
  holdsApply(): boolean {
    return this.installedUnwritten && !this.ctx.rules.applyAboveUnwrittenSnapshot;
  }

  /**
   * The peer streaming a snapshot here; a stream that stalled (its sender died) is given up. Each part is a round trip,
   * and a round trip may take longer than a few heartbeats (but not than an election timeout, or nothing would work):
   * giving up sooner starts the stream over, forever, on a slow network.
   */
  streamingFrom(): NodeId | undefined {
    if (this.incoming !== null && !this.arriving()) this.incoming = null;
    return this.incoming?.from;
  }

  /** Whether a snapshot stream is arriving here: one has begun and its last part came in less than a stall ago. */
  arriving(): boolean {
    const { cfg } = this.ctx;
    const stalledTicks = this.ctx.rules.restartSnapshotStreams
      ? 4 * cfg.heartbeatTicks
      : Math.max(4 * cfg.heartbeatTicks, cfg.electionTimeoutTicks);
    return this.incoming !== null && this.ctx.now() - this.incoming.lastPartTick <= stalledTicks;
  }

  /** The part to ask `to` for next, when `to` streams a snapshot this replica still needs; otherwise the stream is dropped. */
  wanted(to: NodeId, commitIndex: number): { slot: number; part: number } | undefined {
    const s = this.incoming;
    if (s !== null && s.from === to && s.slot >= commitIndex) return { slot: s.slot, part: s.parts.length };
    this.incoming = null;
    return undefined;
  }

  /**
   * Sends the next part of the snapshot streamed to `to`. A request for a
   * snapshot this replica no longer holds (it restarted, or sent it whole)
   * starts a new one at its current applied state.
   */
  sendPart(to: NodeId, want: { slot: number; part: number } | null): void {
    const { ctx } = this;
    let s = this.outgoing.get(to);
    let index = want?.part ?? 0;
    if (s === undefined || want === null || s.slot !== want.slot || index >= s.parts.length) {
      const applied = ctx.learner.commitIndex - 1;
      // Behind its own epoch, this replica cannot say which configuration governs what it applied: the learner asks another.
      if (!this.labelsTruly(applied)) return;
      s = { slot: applied, parts: ctx.machine.snapshot(applied, ctx.epochs.membership) };
      this.outgoing.set(to, s);
      index = 0;
    }
    const part = must(s.parts[index], 'the part sent next is one of the stream');
    const msg: SnapshotMsg = { type: 'snapshot', from: ctx.id, to, slot: s.slot, index, part };
    ctx.out.messages.push(msg);
    if (index === s.parts.length - 1) this.outgoing.delete(to);
  }

  /** A part of a snapshot from a peer: kept in order, asked on for the next, installed once whole. */
  onSnapshot(m: SnapshotMsg): void {
    if (m.slot < this.ctx.learner.commitIndex) {
      // This replica applied past it meanwhile: the stream is of no use any more.
      if (this.incoming?.from === m.from) this.incoming = null;
      return;
    }
    const s = this.receive(m);
    if (s === null) return;
    if (s.parts.length < s.total) return this.ctx.learner.askFor(m.from);
    this.incoming = null;
    this.install(s);
  }

  /**
   * Keeps the part if it is the next one of the stream; null for a stale or repeated one. A first part starts a new
   * stream only when none is live: a duplicated first part, or another peer's answer to an earlier request, must not
   * throw away the parts already here.
   */
  private receive(m: SnapshotMsg): IncomingSnapshot | null {
    if (m.index === 0) {
      if (m.part.t !== 'snapshot') return null;
      if (!this.ctx.rules.restartSnapshotStreams && this.streamingFrom() !== undefined) return null;
      this.incoming = {
        from: m.from,
        slot: m.slot,
        total: m.part.parts,
        parts: [m.part],
        lastPartTick: this.ctx.now(),
      };
      return this.incoming;
    }
    const s = this.incoming;
    // A stale or repeated part; the learner asks again for the one it needs.
    if (s === null || s.from !== m.from || s.slot !== m.slot || m.index !== s.parts.length) return null;
    s.parts.push(m.part);
    s.lastPartTick = this.ctx.now();
    return s;
  }

  private install(incoming: IncomingSnapshot): void {
    const { ctx } = this;
    let s: MultiSnapshot;
    try {
      s = joinSnapshotParts(incoming.parts);
    } catch (err) {
      ctx.out.events.push({
        type: 'note',
        text: `dropped a snapshot from ${nodeName(incoming.from)}: ${(err as Error).message}`,
      });
      return;
    }
    if (s.slot < ctx.learner.commitIndex) return;
    ctx.restore(s);
    this.toWrite = incoming.parts;
    this.installedUnwritten = true;
    ctx.out.events.push({ type: 'snapshot-installed', slot: s.slot, from: incoming.from, keys: s.kv.length });
    ctx.clients.answerFromSessionTable(ctx.machine.sessions, ctx.epochs.membership, s.slot);
    ctx.learner.advance();
  }
}
