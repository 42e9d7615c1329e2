/**
 * A leader's catch-up below its floor: the slots some acceptor said are
 * chosen but this leader has not learned. It fetches them from that acceptor,
 * never proposes there, and gives up its leadership if they never come.
 */
import type { NodeId } from '../types.js';
import type { Context } from './context.js';

export class DecidedFloor {
  /**
   * Every slot below this is chosen (some promise said so), but this leader
   * has not learned them all: it fetches them from `learnFrom` and never
   * proposes there.
   */
  private floor: number;
  private learnFrom: NodeId | null;
  /** The commit point last seen to move, and when: a floor that is never reached ends this leadership. */
  private learnedTo = 0;
  private learnedSinceTick: number;

  constructor(
    private readonly ctx: Context,
    start: { readonly decidedFloor: number; readonly learnFrom: NodeId | null },
  ) {
    this.floor = start.decidedFloor;
    this.learnFrom = start.learnFrom;
    this.learnedSinceTick = ctx.now();
  }

  /** A new leader behind another acceptor's commit point fetches the chosen slots it lacks. */
  learn(): void {
    if (this.learnFrom === null || this.ctx.learner.commitIndex >= this.floor) return;
    this.ctx.learner.askFor(this.learnFrom);
  }

  /**
   * An acceptor voted with a commit point above this leader's (and may have
   * compacted those slots, so it will never vote there again): the leader
   * learns them from it rather than wait for votes.
   */
  raise(commitIndex: number, from: NodeId): void {
    if (commitIndex <= Math.max(this.ctx.learner.commitIndex, this.floor)) return;
    this.floor = commitIndex;
    this.learnFrom = from;
    this.learn();
  }

  /**
   * Phase 1 put this leader's floor at another acceptor's commit point, to
   * learn the slots below it from that acceptor rather than propose there. If
   * that acceptor never answers (down for good: a damaged disk keeps it out),
   * nobody else can say which values those are chosen with, and this
   * leadership would wait forever (default seed 52202, multi, 5 replicas, disk
   * faults). After two election timeouts without progress it steps down, so a
   * new phase 1 among the replicas that are up learns those slots' values
   * from their promises. Returns whether it stepped down.
   */
  gaveUp(): boolean {
    const { ctx } = this;
    const commit = ctx.learner.commitIndex;
    if (commit >= this.floor || commit > this.learnedTo || this.snapshotArriving()) {
      this.learnedTo = commit;
      this.learnedSinceTick = ctx.now();
      return false;
    }
    if (ctx.now() - this.learnedSinceTick < 2 * ctx.cfg.electionTimeoutTicks || ctx.rules.waitForDecidedForever)
      return false;
    ctx.out.events.push({
      type: 'note',
      text: `node-${this.learnFrom ?? '?'} never sent the slots below #${this.floor}; stepping down to run phase 1 again`,
    });
    ctx.stepDown();
    return true;
  }

  /**
   * Slots below the floor that the acceptor compacted come as a snapshot, one
   * part per round trip, and the commit point moves only once the last part is
   * in: a stream still arriving is progress. Wide-run seed 2184684 (7
   * replicas, delays up to 123 ms, election timeout 270 ms): each new leader
   * fetched its floor as a snapshot of 3 parts, gave up 3 ms before the last
   * one arrived, and the cluster changed leader every second for good.
   */
  private snapshotArriving(): boolean {
    const { ctx } = this;
    return !ctx.rules.floorIgnoresSnapshotStream && ctx.snapshots.arriving();
  }
}
