/**
 * The in-memory twins the simulator gives each incarnation of a replica: a
 * clock whose timers and "next turns" are events in the simulator's queue,
 * storage whose writes take a seeded time and complete in order, and links
 * to the simulated network. A crash marks the incarnation dead: from then on
 * its timers do not fire, its writes never complete, its messages and
 * replies go nowhere, whatever the replica's code still runs.
 */
import type { Clock } from '../node/clock.js';
import type { PeerLinks, PeerMessage } from '../node/replica.js';
import type { Checkpoint, DurableLog, StorageStats } from '../storage/storage.js';

/** What the twins need from the world: its clock and queue, and its hooks for writes and sends. */
export interface SimHost {
  nowMs(): number;
  /** Runs `fn` after `delayMs` of simulated time (0: after everything already due now). */
  at(delayMs: number, fn: () => void): void;
}

/** One life of one replica: everything it owns dies with it. */
export class Incarnation {
  alive = true;
  constructor(
    readonly node: number,
    readonly number: number,
  ) {}
}

export class SimClock implements Clock {
  constructor(
    private readonly host: SimHost,
    private readonly life: Incarnation,
    /** Where in its period a timer first fires; equal for every node when ticks are aligned. */
    private readonly phaseMs: (intervalMs: number) => number,
  ) {}

  nowMs(): number {
    return this.host.nowMs();
  }

  every(intervalMs: number, fn: () => void): () => void {
    let stopped = false;
    const fire = () => {
      if (stopped || !this.life.alive) return;
      fn();
      this.host.at(intervalMs, fire);
    };
    this.host.at(this.phaseMs(intervalMs), fire);
    return () => {
      stopped = true;
    };
  }

  defer(fn: () => void): void {
    this.host.at(0, () => {
      if (this.life.alive) fn();
    });
  }
}

/** The node's disk: what survives every crash. */
export class SimDisk {
  readonly durable: unknown[] = [];
  /** The snapshot of the last checkpoint that reached the disk, in parts. */
  snapshot: readonly unknown[] | null = null;
}

export interface SimStorageHooks {
  /** How long the next write takes, in simulated milliseconds. */
  writeLatencyMs(): number;
  /** Called when records reach the disk, before anything waiting on them learns so. */
  onDurable(records: readonly unknown[]): void;
  /**
   * A crash point: asked when a write starts and when it completes, and in a
   * checkpoint once the snapshot is in place but the log not yet rewritten;
   * true crashes the node right there.
   */
  crashHere(point: 'write-started' | 'write-durable' | 'snapshot-written'): boolean;
  /** Called when a checkpoint's snapshot reaches the disk, before the log is rewritten to `records`. */
  onSnapshotDurable?(parts: readonly unknown[], records: readonly unknown[]): void;
}

export class SimStorage implements DurableLog<unknown> {
  readonly recovered: readonly unknown[];
  readonly recoveredSnapshot: readonly unknown[] | null;
  /** Lazy records wait for the next write, and die with the incarnation. */
  private lazy: unknown[] = [];
  /** Writes complete in the order they were made: each one ends no earlier than the one before. */
  private lastCompletionMs = 0;
  private counts = { records: 0, bytes: 0, fsyncs: 0, appends: 0 };

  constructor(
    private readonly host: SimHost,
    private readonly life: Incarnation,
    private readonly disk: SimDisk,
    private readonly hooks: SimStorageHooks,
    /** What the new incarnation reads back; the whole disk unless a planted bug forgets part of it. */
    recovered: readonly unknown[] = disk.durable,
  ) {
    this.recovered = [...recovered];
    this.recoveredSnapshot = disk.snapshot;
    this.counts.records = disk.durable.length;
  }

  append(records: readonly unknown[], done: (err: Error | null) => void): void {
    const batch = [...this.lazy, ...records];
    this.lazy = [];
    this.counts.appends++;
    this.counts.fsyncs++;
    if (this.hooks.crashHere('write-started')) return;
    const endMs = Math.max(this.lastCompletionMs, this.host.nowMs() + this.hooks.writeLatencyMs());
    this.lastCompletionMs = endMs;
    this.host.at(endMs - this.host.nowMs(), () => {
      if (!this.life.alive) return;
      this.disk.durable.push(...batch);
      this.counts.records += batch.length;
      this.hooks.onDurable(batch);
      if (this.hooks.crashHere('write-durable')) return;
      done(null);
    });
  }

  appendLazy(records: readonly unknown[]): void {
    this.lazy.push(...records);
  }

  /**
   * A checkpoint takes one write's time and completes in order with the
   * appends. It can be cut short at three points: before anything lands,
   * with the new snapshot beside the old log, and after both.
   */
  checkpoint(c: Checkpoint<unknown>, done: (err: Error | null) => void): void {
    this.lazy = [];
    this.counts.fsyncs += 2;
    if (this.hooks.crashHere('write-started')) return;
    const endMs = Math.max(this.lastCompletionMs, this.host.nowMs() + this.hooks.writeLatencyMs());
    this.lastCompletionMs = endMs;
    this.host.at(endMs - this.host.nowMs(), () => {
      if (!this.life.alive) return;
      this.disk.snapshot = [...c.snapshot];
      this.hooks.onSnapshotDurable?.(c.snapshot, c.records);
      if (this.hooks.crashHere('snapshot-written')) return;
      this.disk.durable.length = 0;
      this.disk.durable.push(...c.records);
      this.counts.records = c.records.length;
      if (this.hooks.crashHere('write-durable')) return;
      done(null);
    });
  }

  stats(): StorageStats {
    return { ...this.counts };
  }
}

export interface SimLinkHooks {
  /** Every message the node sends, in order; the network decides its fate. */
  send(from: number, m: PeerMessage): void;
  /** A crash point inside the release of a Ready: true crashes the node before this message leaves. */
  crashBeforeSend(): boolean;
}

export class SimLinks implements PeerLinks {
  handler: ((m: PeerMessage) => void) | null = null;

  constructor(
    private readonly life: Incarnation,
    private readonly hooks: SimLinkHooks,
  ) {}

  send(m: PeerMessage): void {
    if (!this.life.alive || this.hooks.crashBeforeSend()) return;
    this.hooks.send(this.life.node, m);
  }

  onMessage(handler: (m: PeerMessage) => void): void {
    this.handler = handler;
  }

  deliver(m: PeerMessage): void {
    if (this.life.alive) this.handler?.(m);
  }
}
