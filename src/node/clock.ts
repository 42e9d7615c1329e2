/**
 * Time for a replica, behind an interface so tests can drive it by hand.
 * The core itself never sees time: the replica turns this clock into ticks.
 */
export interface Clock {
  nowMs(): number;
  /** Calls `fn` every `intervalMs` until the returned function is called. */
  every(intervalMs: number, fn: () => void): () => void;
  /** Calls `fn` once, soon, after the current turn (setImmediate in a process, a zero-delay event in the simulator). */
  defer(fn: () => void): void;
}

export const systemClock: Clock = {
  nowMs: () => performance.timeOrigin + performance.now(),
  every: (intervalMs, fn) => {
    const timer = setInterval(fn, intervalMs);
    timer.unref?.();
    return () => clearInterval(timer);
  },
  defer: (fn) => {
    setImmediate(fn);
  },
};

/** The in-memory twin: time moves only when a test calls `advance`. */
export class ManualClock implements Clock {
  private now = 0;
  private readonly timers = new Set<{ intervalMs: number; nextMs: number; fn: () => void }>();
  private deferred: (() => void)[] = [];

  nowMs(): number {
    return this.now;
  }

  every(intervalMs: number, fn: () => void): () => void {
    const timer = { intervalMs, nextMs: this.now + intervalMs, fn };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  /** Runs what was deferred (and what that defers in turn), as the event loop's next turns would. */
  runDeferred(): void {
    for (let guard = 0; guard < 1_000_000 && this.deferred.length > 0; guard++) {
      const batch = this.deferred;
      this.deferred = [];
      for (const fn of batch) fn();
    }
  }

  advance(ms: number): void {
    this.runDeferred();
    const end = this.now + ms;
    for (let guard = 0; guard < 1_000_000; guard++) {
      let next: { intervalMs: number; nextMs: number; fn: () => void } | undefined;
      for (const t of this.timers) if (t.nextMs <= end && (next === undefined || t.nextMs < next.nextMs)) next = t;
      if (next === undefined) break;
      this.now = next.nextMs;
      next.nextMs += next.intervalMs;
      next.fn();
      this.runDeferred();
    }
    this.now = end;
  }
}
