/**
 * Phase 1's outcome carried into phase 2: a new leader proposes again, in
 * their slots, the values its quorum accepted at the highest ballot (a no-op
 * in every hole), and keeps what phase 1 found beyond its epoch's stop-sign
 * for the case that apply refuses that stop-sign.
 */
import type { Ballot } from '../ballot.js';
import type { NodeId } from '../types.js';
import type { Victory } from './candidate.js';
import type { Context } from './context.js';
import { formatLogValue, type LogValue, valueId } from './messages.js';

/** What a leader proposes in a hole no acceptor of its quorum accepted anything in. */
const NOOP: LogValue = Object.freeze({ kind: 'noop' });

/** Phase 1's outcome and the quorum that gave it. */
interface Outcome {
  readonly victory: Victory;
  readonly quorum: readonly NodeId[];
}

/** The slots to propose again after a refused stop-sign, and the next stop-sign among them (the leader stops there). */
export interface AfterRefusedStop extends Outcome {
  readonly from: number;
  readonly to: number;
  readonly stopSlot: number | null;
}

export class Reproposal {
  /** Phase 1's outcome beyond the stop-sign, re-proposed if apply refuses that stop-sign; null when nothing lies beyond. */
  private afterStop: Outcome | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly ballot: Ballot,
    private readonly proposeAt: (slot: number, value: LogValue) => void,
  ) {}

  /**
   * Phase 2 for the slots phase 1 found open: each gets the value the quorum
   * accepted at the highest ballot there, every hole a no-op, so the log has no gaps.
   */
  start(v: Victory, quorum: readonly NodeId[]): void {
    if (v.stopSlot !== null && v.acceptedThrough > v.stopSlot && !this.ctx.rules.overwriteAfterRefusedStopSign)
      this.afterStop = { victory: v, quorum };
    this.proposeSlots(v, quorum, v.decidedFloor, v.maxSlot);
  }

  /** Phase 2 of phase 1's outcome for `from..to`: the adopted value where there is one, a no-op in every hole. */
  proposeSlots(v: Victory, quorum: readonly NodeId[], from: number, to: number): void {
    const { ctx } = this;
    const epoch = ctx.epochs.membership.epoch;
    for (let slot = from; slot <= to; slot++) {
      const found = v.adopted.get(slot);
      const value = found ? found.value : NOOP;
      ctx.out.events.push({
        type: 'phase2',
        ballot: this.ballot,
        instance: String(slot),
        value: formatLogValue(value),
        valueId: valueId(value),
        quorum,
        adopted: found !== undefined,
        epoch,
      });
      this.proposeAt(slot, value);
    }
  }

  /**
   * Phase 1 showed values accepted after the stop-sign at `stopSlot`, which
   * apply has now refused: the epoch goes on through them, and any may be
   * chosen, so they are to be proposed again in their slots (up to the next
   * stop-sign among them, which may end the epoch in turn) before anything
   * new. Null when phase 1 found nothing beyond.
   */
  afterRefusedStop(stopSlot: number): AfterRefusedStop | null {
    const after = this.afterStop;
    this.afterStop = null;
    if (after === null) return null;
    const v = after.victory;
    for (let s = stopSlot + 1; s <= v.acceptedThrough; s++) {
      const e = v.adopted.get(s);
      if (e !== undefined && this.ctx.epochs.isStopSign(e.value)) {
        if (s < v.acceptedThrough) this.afterStop = after;
        return { ...after, from: stopSlot + 1, to: s, stopSlot: s };
      }
    }
    return { ...after, from: stopSlot + 1, to: v.acceptedThrough, stopSlot: null };
  }
}
