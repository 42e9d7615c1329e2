/**
 * The load of `paxos bench --soak`: keeps `concurrency` proposals in flight
 * for a number of values or a length of time, and cuts what it sees into
 * intervals (every N values or every T milliseconds), so a long run shows
 * whether throughput, latency and what the replicas keep stay flat over time.
 * Sampling the replicas (memory, disk) is the caller's: this file only knows
 * the load.
 */
import type { ControlClient } from '../transport/ws-transport.js';

/** How long a soak (or one of its intervals) lasts: a number of proposals, or a duration. */
export type SoakLength = { readonly values: number } | { readonly ms: number };

export interface SoakLoadOptions {
  readonly connections: readonly ControlClient[];
  readonly concurrency: number;
  readonly key: (i: number) => string;
  readonly value: string;
  readonly timeoutMs: number;
  readonly length: SoakLength;
  readonly interval: SoakLength;
  /** Called synchronously as each interval closes; the caller samples the replicas and prints. */
  readonly onInterval: (interval: IntervalLoad) => void;
  readonly onProgress?: (chosen: number) => void;
}

/** What the load saw in one interval. */
export interface IntervalLoad {
  /** 1 for the first interval. */
  readonly index: number;
  /** Values chosen since the soak began, this interval included. */
  readonly chosenTotal: number;
  readonly chosen: number;
  readonly failed: number;
  readonly seconds: number;
  /** Milliseconds, sorted ascending. */
  readonly latenciesMs: Float64Array;
  /** True when the soak ended (its length reached, or Ctrl-C) before this interval was complete. */
  readonly partial: boolean;
}

/**
 * A dead cluster answers every proposal at once with an error, so a soak
 * against it would spin until its length ran out; this many failures in a row
 * end it instead.
 */
export const MAX_FAILURES_IN_A_ROW = 1000;

export class SoakLoad {
  private next = 0;
  private chosenTotal = 0;
  private failuresInARow = 0;
  private lastError = '';
  private stopped = false;
  private index = 0;
  private current = this.freshInterval();

  constructor(private readonly o: SoakLoadOptions) {}

  /** Runs until the soak's length is reached, or `stopNow` is called; resolves once the proposals in flight are back. */
  async run(): Promise<{ stoppedByFailures: string | null }> {
    const timers: NodeJS.Timeout[] = [];
    if ('ms' in this.o.length)
      timers.push(
        setTimeout(() => {
          this.stopped = true;
        }, this.o.length.ms),
      );
    if ('ms' in this.o.interval) timers.push(setInterval(() => this.closeInterval(false), this.o.interval.ms));
    try {
      await Promise.all(Array.from({ length: this.o.concurrency }, (_, w) => this.worker(w)));
    } finally {
      for (const t of timers) clearTimeout(t);
    }
    this.stopped = true;
    this.closeLast();
    return { stoppedByFailures: this.failuresInARow >= MAX_FAILURES_IN_A_ROW ? this.lastError : null };
  }

  /**
   * Ctrl-C: closes the interval in progress as it stands (partial) and stops
   * counting. Proposals still in flight are not waited for: once the
   * interrupt has fired they never settle.
   */
  stopNow(): void {
    this.stopped = true;
    this.closeLast();
  }

  private async worker(w: number): Promise<void> {
    const conn = this.o.connections[w % this.o.connections.length];
    // Bounded by the soak's length: a number of values, a timer that sets `stopped`, or MAX_FAILURES_IN_A_ROW.
    while (!this.stopped && !('values' in this.o.length && this.next >= this.o.length.values)) {
      const i = this.next++;
      const t0 = performance.now();
      const reply = (await conn
        .request({ op: 'propose', key: this.o.key(i), value: this.o.value }, this.o.timeoutMs)
        .catch((err: unknown) => ({ ok: false, error: err instanceof Error ? err.message : String(err) }))) as {
        ok: boolean;
        error?: unknown;
      };
      if (this.current === null) return;
      if (reply.ok) {
        this.current.latencies.push(performance.now() - t0);
        this.chosenTotal++;
        this.failuresInARow = 0;
      } else {
        this.current.failed++;
        this.lastError = typeof reply.error === 'string' ? reply.error : JSON.stringify(reply.error ?? reply);
        if (++this.failuresInARow >= MAX_FAILURES_IN_A_ROW) this.stopped = true;
      }
      const done = this.current.latencies.length + this.current.failed;
      if (i % 500 === 0) this.o.onProgress?.(this.chosenTotal);
      if ('values' in this.o.interval && done >= this.o.interval.values) this.closeInterval(false);
    }
  }

  private freshInterval(): { startMs: number; latencies: number[]; failed: number } | null {
    return { startMs: performance.now(), latencies: [], failed: 0 };
  }

  /** The interval in progress, if anything happened in it, marked partial unless it reached its full length. */
  private closeLast(): void {
    const c = this.current;
    if (c === null) return;
    const done = c.latencies.length + c.failed;
    const full =
      'values' in this.o.interval
        ? done >= this.o.interval.values
        : // A timed interval that the soak's own end cut at (nearly) its full length is a whole one.
          performance.now() - c.startMs >= this.o.interval.ms * FULL_ENOUGH;
    if (done > 0) this.closeInterval(!full);
    this.current = null;
  }

  private closeInterval(partial: boolean): void {
    const c = this.current;
    if (c === null) return;
    const now = performance.now();
    this.current = this.freshInterval();
    this.index++;
    this.o.onInterval({
      index: this.index,
      chosenTotal: this.chosenTotal,
      chosen: c.latencies.length,
      failed: c.failed,
      seconds: (now - c.startMs) / 1000,
      latenciesMs: Float64Array.from(c.latencies).sort(),
      partial,
    });
  }
}

/** A timed interval at least this fraction of its length counts as whole when the soak ends. */
const FULL_ENOUGH = 0.95;
