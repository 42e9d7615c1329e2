/**
 * `paxos bench`'s latency breakdown, the replica's half: while the bench asks
 * for it, a replica notes when the steps of a sampled value happened here
 * (a request's arrival and its reply, the turn that stepped it and when that
 * turn's accepts left and its records were durable, the accept and accepted
 * messages that carried it in and out). The bench joins the replicas' notes
 * with its own send and receive times by slot (bench/breakdown.ts).
 *
 * Sampled by slot (1 in `every`), so a busy leader keeps a few hundred notes,
 * not one per value. Off, the replica pays one null check per turn and per
 * accept or accepted message. Times are microseconds of the monotonic clock,
 * which every process on one machine shares (see `monotonicUs`).
 */

/** A turn (one Ready) that carried sampled slots: accepts out (leader) or accepteds out (follower). */
export interface TurnNote {
  /** Sampled slots of the early messages: a leader's accepts, written before its own write starts. */
  readonly early: number[];
  /** Sampled slots of the messages sent once the records are durable: a follower's accepteds. */
  readonly late: number[];
  /** The core has stepped the turn's inputs and handed out its Ready. */
  readonly steppedUs: number;
  /** The Ready's early messages (the leader's accepts) were queued and their frames were about to be encoded and written. */
  readonly earlySentUs: number;
  /** The Ready's records were durable and its messages (a follower's accepteds) written. */
  releasedUs: number;
}

/** An accept (to a follower) or accepted (to the leader) message that carried sampled slots in. */
export interface ArrivalNote {
  readonly type: 'accept' | 'accepted';
  readonly from: number;
  readonly slots: number[];
  readonly atUs: number;
}

/** A sampled client request at the replica that took it: when it came and when its reply went. */
export interface RequestNote {
  readonly slot: number;
  readonly arrivedUs: number;
  readonly repliedUs: number;
}

export interface LatencySamples {
  readonly node: number;
  readonly every: number;
  readonly turns: readonly TurnNote[];
  readonly arrivals: readonly ArrivalNote[];
  readonly requests: readonly RequestNote[];
}

/** Notes kept per kind; a run longer than the bench's samples keeps its first ones. */
const MAX_NOTES = 20_000;

/**
 * The monotonic clock in microseconds, which every process on one machine
 * reads alike. Not `performance.now()`: its offset from this clock drifts by
 * milliseconds within one process.
 */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

export class LatencySampler {
  private every = 0;
  private turns: TurnNote[] = [];
  private arrivals: ArrivalNote[] = [];
  private requests: RequestNote[] = [];

  constructor(
    private readonly node: number,
    readonly nowUs: () => number,
  ) {}

  /** Whether the bench asked for samples; while false nothing below is called. */
  get on(): boolean {
    return this.every > 0;
  }

  /** Starts sampling 1 slot in `every`, forgetting earlier notes. */
  start(every: number): void {
    this.every = every;
    this.turns = [];
    this.arrivals = [];
    this.requests = [];
  }

  /** Stops sampling and hands over what was noted. */
  take(): LatencySamples {
    const out = {
      node: this.node,
      every: this.every,
      turns: this.turns,
      arrivals: this.arrivals,
      requests: this.requests,
    };
    this.start(0);
    return out;
  }

  sampled(slot: number): boolean {
    return slot % this.every === 0;
  }

  /** The sampled ones among `slots`, or null when there are none (most turns and messages). */
  pick(slots: Iterable<number>): number[] | null {
    const out: number[] = [];
    for (const s of slots) if (s % this.every === 0) out.push(s);
    return out.length > 0 ? out : null;
  }

  noteTurn(note: TurnNote): void {
    if (this.turns.length < MAX_NOTES) this.turns.push(note);
  }

  noteArrival(note: ArrivalNote): void {
    if (this.arrivals.length < MAX_NOTES) this.arrivals.push(note);
  }

  noteRequest(note: RequestNote): void {
    if (this.requests.length < MAX_NOTES) this.requests.push(note);
  }
}
