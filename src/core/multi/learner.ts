/**
 * The learner: which slots are chosen, the commit point below which all are
 * (and are applied), and fetching what this replica lacks from a peer, paced
 * so that one request is out at a time.
 */
import { type Ballot, ballotAtLeast, ballotEquals, formatBallot } from '../ballot.js';
import { DEFAULTS } from '../config.js';
import type { Membership } from '../membership.js';
import { must } from '../must.js';
import type { NodeId } from '../types.js';
import type { Context } from './context.js';
import {
  type CatchupMsg,
  type CommitMsg,
  formatLogValue,
  type LearnMsg,
  type LogValue,
  type MultiRecord,
  type SlotValue,
  valueId,
} from './messages.js';

export const FIRST_SLOT = 1;

/**
 * Most chosen slots one catch-up reply carries. A catch-up is not an accept: bounding it by the accept batch made a
 * replica with batch 1 learn one slot per round trip, and one restarted at the heal with its log to fetch again (its
 * chosen records are lazy, lost with an unsynced write) needed ~6 s for 49 slots at delays up to ~120 ms (seeds
 * 2103183, 2133966, 2067321 of issue 22). The default accept batch's count, which the frame limit (src/node/limits.ts)
 * fits at the largest values, so a reply never outgrows a frame whatever batch a cluster runs with.
 */
export const CATCHUP_MAX_ENTRIES = DEFAULTS.maxBatchEntries;

export class Learner {
  /** Slots learned chosen above the last snapshot; rebuilt from the chosen records on restart. */
  readonly chosen = new Map<number, { value: LogValue; ballot: Ballot | null }>();
  /** Every slot below this one is chosen and applied. */
  commitIndex = FIRST_SLOT;
  /** Every slot up to this one is in the last snapshot and gone from the log. */
  compactedThrough = 0;
  private catchupSentTick = -Infinity;
  /** Which contact a learner asks next. */
  private turn = 0;
  /** The turn of relaying waiting commands through voters (nextOf 'relay'). */
  private relayTurn = 0;
  /** A stop-sign was left unapplied above a snapshot installed in the last Ready (`Snapshots.holdsApply`). */
  private applyHeld = false;
  /** The chosen record this Ready is still filling, and its entries (grown in place: a batch costs O(n), not O(n²)). */
  private openChosen: { readonly record: MultiRecord; readonly entries: SlotValue[] } | null = null;

  constructor(private readonly ctx: Context) {}

  /** Whether the last catch-up request left at least `heartbeats` heartbeat intervals ago. */
  catchupDue(heartbeats: number): boolean {
    return this.ctx.now() - this.catchupSentTick >= heartbeats * this.ctx.cfg.heartbeatTicks;
  }

  /**
   * Asks `to` for what this replica lacks, now. While a snapshot streams here, every request goes to the peer
   * streaming it: asking another peer would start the stream over, and a stream that keeps starting over never ends.
   */
  askFor(to: NodeId): void {
    this.catchupSentTick = this.ctx.now();
    const streaming = this.ctx.rules.restartSnapshotStreams ? undefined : this.ctx.snapshots.streamingFrom();
    this.ctx.out.messages.push(this.catchupMessage(streaming ?? to));
  }

  /** The next of `list`, in turn: whom a learner asks, or hands a command to. */
  nextOf(list: readonly NodeId[], purpose: 'log' | 'relay' = 'log'): NodeId {
    // Each purpose keeps its own turn: with one counter, the polls for the log between two relays of a waiting
    // command could add up to a multiple of the voters, so every relay went to the same voter, and a removed replica
    // re-forwarded a client's command to a voter gone for good forever (seed 5175, multi, 3 replicas, disk faults).
    const turn = purpose === 'relay' && !this.ctx.rules.sharedRelayTurn ? this.relayTurn++ : this.turn++;
    return must(list[turn % list.length], 'a list to take turns over is not empty');
  }

  /**
   * A learner (a new replica, or one behind its epoch) hears from no leader:
   * it asks its contacts in turn for the log, which also tells it every
   * configuration change, until it is a voter that has caught up.
   */
  pollForLog(): void {
    const { ctx } = this;
    const contacts = [...new Set([...ctx.epochs.membership.voters, ...ctx.cfg.contacts])].filter((c) => c !== ctx.id);
    if (contacts.length === 0) return;
    // A snapshot being streamed comes from one peer, part after part: keep asking that peer for the rest.
    const streaming = ctx.snapshots.streamingFrom();
    const leader = ctx.leader();
    this.askFor(streaming ?? (leader !== null && leader !== ctx.id ? leader : this.nextOf(contacts)));
  }

  onCommit(m: CommitMsg): void {
    const epoch = this.ctx.epochs.membership.epoch;
    if (m.epoch > epoch) return this.ctx.epochs.behind(m.from, m.epoch);
    if (m.epoch < epoch || !ballotAtLeast(m.ballot, this.ctx.acceptor.promised)) return;
    this.learnCommitPoint(m.ballot, m.commitIndex, m.from);
  }

  /**
   * The leader says every slot below `leaderCommit` is chosen. A slot this
   * node accepted at the leader's own ballot holds exactly the value the
   * leader proposed there, so it is chosen; anything else is fetched.
   */
  learnCommitPoint(ballot: Ballot, leaderCommit: number, leader: NodeId): void {
    const accepted = this.ctx.acceptor.accepted;
    const scanEnd = Math.min(leaderCommit, this.commitIndex + 4 * this.ctx.cfg.maxBatchEntries);
    for (let slot = this.commitIndex; slot < scanEnd; slot++) {
      if (this.chosen.has(slot)) continue;
      const a = accepted.get(slot);
      if (a !== undefined && ballotEquals(a.ballot, ballot)) this.choose(slot, a.value, ballot);
    }
    if (this.commitIndex < leaderCommit && this.catchupDue(2)) this.askFor(leader);
  }

  /** Asks `to` for what this replica lacks: the next part of the snapshot it streams, or the chosen slots from the commit point on. */
  private catchupMessage(to: NodeId): CatchupMsg {
    const want = this.ctx.snapshots.wanted(to, this.commitIndex);
    if (want !== undefined)
      return { type: 'catchup', from: this.ctx.id, to, fromSlot: this.commitIndex, snapshot: want };
    return { type: 'catchup', from: this.ctx.id, to, fromSlot: this.commitIndex };
  }

  onCatchup(m: CatchupMsg): void {
    const { ctx } = this;
    if (m.snapshot !== undefined) return ctx.snapshots.sendPart(m.from, m.snapshot);
    // What the learner asks for is compacted here: it gets the applied state instead, as a snapshot.
    if (m.fromSlot <= this.compactedThrough) return ctx.snapshots.sendPart(m.from, null);
    const entries: SlotValue[] = [];
    const most = ctx.rules.catchupPerAcceptBatch ? ctx.cfg.maxBatchEntries : CATCHUP_MAX_ENTRIES;
    // Only the applied prefix: a value chosen above it may belong to an epoch that a stop-sign below it ends.
    for (let slot = m.fromSlot; slot < this.commitIndex && entries.length < most; slot++) {
      const c = this.chosen.get(slot);
      if (c === undefined) break;
      entries.push({ slot, value: c.value });
    }
    if (entries.length === 0) return;
    const reply: LearnMsg = { type: 'learn', from: ctx.id, to: m.from, entries, commitIndex: this.commitIndex };
    ctx.out.messages.push(reply);
  }

  onLearn(m: LearnMsg): void {
    // A catch-up reply is the sender's applied log from where this replica asked. Taken only where it joins this
    // replica's own applied log (a reply to an earlier incarnation's request may not), each value is applied before the
    // next is taken, so a stop-sign among them moves this replica into the next epoch before that epoch's values.
    const before = this.commitIndex;
    for (const e of m.entries) {
      if (e.slot < this.commitIndex) continue;
      if (e.slot > this.commitIndex) break;
      this.choose(e.slot, e.value, null);
    }
    // Ask on only after a reply that moved this replica on: a stale or duplicated reply asking again each time made
    // every reply a new request, and duplicates multiplied them without end (seed 2017865: 100,000 catch-ups in
    // flight between two replicas within one simulated millisecond). The paced ask (catchupDue) covers the rest.
    const progressed = this.commitIndex > before || this.ctx.rules.askOnEveryLearn;
    if (m.entries.length > 0 && this.commitIndex < m.commitIndex && progressed) this.askFor(m.from);
  }

  /** Whether this replica knows `slot` chosen (compacted, or in its chosen log). */
  knowsChosen(slot: number): boolean {
    return slot <= this.compactedThrough || this.chosen.has(slot);
  }

  /** Learns one slot. Learning a different value for a chosen slot is a safety bug and throws. */
  choose(slot: number, value: LogValue, ballot: Ballot | null): void {
    const { ctx } = this;
    if (slot <= this.compactedThrough) return; // Chosen, applied and compacted here already.
    const known = this.chosen.get(slot);
    if (known !== undefined) {
      if (valueId(known.value) !== valueId(value)) {
        throw new Error(
          `agreement broken at node ${ctx.id}: slot ${slot} chosen as ${formatLogValue(known.value)} and ${formatLogValue(value)}`,
        );
      }
      return;
    }
    this.stepDownIfOutvoted(slot, value);
    this.chosen.set(slot, { value, ballot });
    ctx.forgetInflight(slot);
    // A chosen slot is already durable on a majority of acceptors; this record only saves a catch-up. Slots chosen
    // together go in one record, grown in place only while it is the one this learner opened (see Acceptor.acceptLocally).
    const lazy = ctx.out.persistLazy;
    const m = ctx.epochs.membership;
    this.markEpochBefore(slot, m);
    const last = lazy[lazy.length - 1];
    const open = this.openChosen;
    if (open !== null && last === open.record) open.entries.push({ slot, value });
    else {
      const own = [{ slot, value }];
      const record: MultiRecord = { t: 'chosen', entries: own };
      lazy.push(record);
      this.openChosen = { record, entries: own };
    }
    // The epoch that chose it, when this replica knows it: its own for a slot of its epoch (a value after a stop-sign it
    // has not applied yet included: that one dies unapplied); an earlier one, not named here, for a slot it is re-learning.
    const epoch = slot >= m.startSlot ? m.epoch : undefined;
    ctx.out.chosen.push({
      instance: String(slot),
      value: formatLogValue(value),
      valueId: valueId(value),
      ballot,
      ...(epoch !== undefined ? { epoch } : {}),
    });
    this.advance();
  }

  /**
   * A value of epoch `m` learned in the very Ready that entered `m` (a
   * catch-up reply that crosses a stop-sign) must follow `m`'s epoch record
   * on disk: replayed, an epoch record drops what precedes it at or above its
   * first slot. Lazy records go to disk before strict ones (src/node/replica.ts),
   * so the epoch record also goes, once, among the lazy records ahead of the
   * value; the strict copy then replays as a no-op. Without it the one voter of
   * an epoch restarted without the values of its own epoch, could not catch up
   * from anyone it may ask, and stalled for good (seed 1005195, 3 replicas).
   */
  private markEpochBefore(slot: number, m: Membership): void {
    const { ctx } = this;
    if (ctx.rules.nextEpochChosenUnmarked || slot < m.startSlot) return;
    const isEpochOf = (r: MultiRecord) => r.t === 'epoch' && r.membership.epoch === m.epoch;
    if (!ctx.out.persist.some(isEpochOf) || ctx.out.persistLazy.some(isEpochOf)) return;
    ctx.out.persistLazy.push({ t: 'epoch', membership: m });
  }

  /**
   * A leader's commit point vouches for every value its followers accepted at
   * its ballot below it. Learning that a slot where it proposed v at its own
   * ballot was chosen as another value proves a higher ballot decided there:
   * its followers' votes at its ballot there are not chosen, so it must not
   * send that commit point on any path (heartbeat, commit notice, hand-over).
   * It steps down before the value moves its commit point.
   */
  private stepDownIfOutvoted(slot: number, value: LogValue): void {
    const { ctx } = this;
    const l = ctx.leadership();
    const mine = ctx.acceptor.accepted.get(slot);
    if (
      ctx.rules.staleLeaderKeepsLeading ||
      l === null ||
      mine === undefined ||
      !ballotEquals(mine.ballot, l.ballot) ||
      valueId(mine.value) === valueId(value)
    )
      return;
    ctx.out.events.push({
      type: 'note',
      text: `slot ${slot} was chosen at a higher ballot than ${formatBallot(l.ballot)}; stepping down`,
    });
    ctx.stepDown();
  }

  /** Applies every chosen slot from the commit point on, in order, until a hole. */
  advance(): void {
    for (let c = this.chosen.get(this.commitIndex); c !== undefined; c = this.chosen.get(this.commitIndex)) {
      // A stop-sign reached through a snapshot installed in this Ready waits for the next (`Snapshots.holdsApply`).
      if (this.ctx.snapshots.holdsApply() && this.ctx.epochs.isStopSign(c.value)) {
        this.applyHeld = true;
        return;
      }
      this.ctx.apply(this.commitIndex, c.value, c.ballot);
      this.ctx.leadership()?.appliedAndStillLeading(this.commitIndex);
      this.commitIndex++;
    }
  }

  /** Applies, in the first step after a snapshot install's Ready, the stop-sign (and what follows it) held back there. */
  resumeAfterInstall(): void {
    if (!this.applyHeld) return;
    this.applyHeld = false;
    this.advance();
  }

  /** A stop-sign at `stopSlot` ended the epoch: what was learned above it belongs to an epoch that decides nothing there. */
  dropAbove(stopSlot: number): void {
    for (const slot of [...this.chosen.keys()]) if (slot > stopSlot) this.chosen.delete(slot);
  }

  /** Forgets what the snapshot through `slot` now holds. */
  compactThrough(slot: number): void {
    for (const s of this.chosen.keys()) if (s <= slot) this.chosen.delete(s);
    this.compactedThrough = slot;
  }
}
