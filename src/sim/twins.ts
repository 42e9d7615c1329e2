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
import { MARK_EVERY_MS } from '../storage/file-storage.js';
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
  /**
   * Stopped, as by SIGSTOP (`paxos pause`, pauses.ts): the process runs no
   * code, so what would call into it (a timer, a turn, a message read from
   * its socket, a write's completion) waits here, in order, until it resumes.
   */
  private stoppedWork: (() => void)[] | null = null;
  constructor(
    readonly node: number,
    readonly number: number,
  ) {}

  get stopped(): boolean {
    return this.stoppedWork !== null;
  }

  /** Runs `fn` in this life now, later if it is stopped, never once it has died. */
  run(fn: () => void): void {
    if (!this.alive) return;
    if (this.stoppedWork !== null) this.stoppedWork.push(fn);
    else fn();
  }

  stop(): void {
    this.stoppedWork ??= [];
  }

  /** SIGCONT: what waited runs as soon as the host gets to it, oldest first, each as its own turn. */
  resume(host: SimHost): void {
    const waited = this.stoppedWork ?? [];
    this.stoppedWork = null;
    for (const fn of waited) host.at(0, () => this.run(fn));
  }
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
      // A stopped process's interval does not catch up: it fires once at the resume and goes on from there.
      if (this.life.stopped) return this.life.run(fire);
      fn();
      this.host.at(intervalMs, fire);
    };
    this.host.at(this.phaseMs(intervalMs), fire);
    return () => {
      stopped = true;
    };
  }

  defer(fn: () => void): void {
    this.host.at(0, () => this.life.run(fn));
  }
}

/**
 * The node's data directory: what survives a crash. Its shape follows the
 * real one's (src/storage/file-storage.ts, identity.ts) as far as the storage
 * faults of disk-faults.ts need it: a log whose header counts the records
 * compactions dropped (`base`, so the log's reach only grows), an identity
 * that a wiped directory loses, and bytes a fault damaged.
 */
export class SimDisk {
  readonly durable: unknown[] = [];
  /** The snapshot of the last checkpoint that reached the disk, in parts. */
  snapshot: readonly unknown[] | null = null;
  /** The log header's base: records before the log's first one (a compaction keeps counting). */
  base = 0;
  /** The directory holds the replica's identity (written at its first start; a wiped directory has none). */
  identity = false;
  /** The log's bytes as a fault left them (a torn tail, a flipped byte, an emptied file); null: they hold `durable` whole. */
  logBytes: Buffer | null = null;
  /** The snapshot file's bytes as a fault left them; null: they hold `snapshot` whole. */
  snapshotBytes: Buffer | null = null;
  /**
   * Records written and acknowledged but not yet fsynced (only the planted
   * bug ack-before-fsync leaves any): a process crash keeps them (the kernel
   * has them), a power loss loses them.
   */
  readonly unsynced: unknown[] = [];
  /** Records the last completed append made durable: what a disk that lies about fsync loses. */
  lastAppended = 0;

  /** How far the log reaches: its base plus its records (what the high-water mark is compared with). */
  get reach(): number {
    return this.base + this.durable.length;
  }

  /** A process crash: what the kernel accepted reaches the disk. */
  keepPageCache(): void {
    this.durable.push(...this.unsynced.splice(0));
  }
}

/** A write the storage issued that has not completed: what a power loss may leave partly on disk. */
export type InFlightWrite =
  | { readonly kind: 'append'; readonly records: readonly unknown[] }
  | { readonly kind: 'checkpoint'; readonly checkpoint: Checkpoint<unknown> };

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
  /**
   * Called when a high-water mark reaches the disk, with the reach it holds. It follows the log as FileStorage's does:
   * at most every MARK_EVERY_MS after a write, to the reach durable then, written in `markLatencyMs` (identity and
   * witness, each a temporary file, an fsync, a rename and a directory fsync), and lost with a crash before that.
   */
  onMarked?(reached: number): void;
  /** How long writing the mark takes; drawn from no stream, so the schedules' draws are the ones without it. */
  markLatencyMs?(): number;
  /**
   * The planted bug ack-before-fsync: an append is acknowledged once written,
   * before any fsync; only a checkpoint syncs. A power loss then loses what
   * was acknowledged, and the mark (which follows only what is synced) does
   * not show it.
   */
  readonly ackBeforeFsync?: boolean;
}

export class SimStorage implements DurableLog<unknown> {
  readonly recovered: readonly unknown[];
  readonly recoveredSnapshot: readonly unknown[] | null;
  /** Lazy records wait for the next write, and die with the incarnation. */
  private lazy: unknown[] = [];
  /** Writes complete in the order they were made: each one ends no earlier than the one before. */
  private lastCompletionMs = 0;
  private counts = { records: 0, bytes: 0, fsyncs: 0, appends: 0 };
  /** Writes issued and not yet complete, oldest first (they complete in this order). */
  readonly inFlight: InFlightWrite[] = [];
  /** The reach the high-water mark holds: written at the start (the product's recordStart), then lazily. */
  private marked: number;
  /** A mark is waiting for its time or being written. */
  private markPending = false;
  /** When the last checkpoint completes: the next one starts after it (FileStorage writes one at a time). */
  private lastCheckpointMs = 0;
  /** Compactions under way, each with the records written since it began: they are carried into its new log. */
  private readonly carries = new Set<unknown[]>();

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
    this.marked = disk.reach;
  }

  /** After a write is durable: the mark follows, lazily, as FileStorage.scheduleMark has it. */
  private scheduleMark(): void {
    if (this.hooks.onMarked === undefined || this.markPending || this.disk.reach <= this.marked) return;
    this.markPending = true;
    this.host.at(MARK_EVERY_MS, () => this.life.run(() => this.writeMark()));
  }

  /** The mark of the reach durable now reaches the disk a mark write later, if this life lasts that long. */
  private writeMark(): void {
    const reached = this.disk.reach;
    this.host.at(this.hooks.markLatencyMs?.() ?? 0, () =>
      this.life.run(() => {
        this.markPending = false;
        this.marked = Math.max(this.marked, reached);
        this.hooks.onMarked?.(reached);
        this.scheduleMark();
      }),
    );
  }

  append(records: readonly unknown[], done: (err: Error | null) => void): void {
    const batch = [...this.lazy, ...records];
    this.lazy = [];
    this.counts.appends++;
    this.counts.fsyncs++;
    if (this.hooks.crashHere('write-started')) return;
    const endMs = Math.max(this.lastCompletionMs, this.host.nowMs() + this.hooks.writeLatencyMs());
    this.lastCompletionMs = endMs;
    const write: InFlightWrite = { kind: 'append', records: batch };
    this.inFlight.push(write);
    // The compactions begun before this write carry it, if it lands in the old log before their swap.
    const carriedBy = [...this.carries];
    this.host.at(endMs - this.host.nowMs(), () => {
      if (!this.life.alive) return;
      this.inFlight.splice(this.inFlight.indexOf(write), 1);
      for (const carry of carriedBy) carry.push(...batch);
      if (this.hooks.ackBeforeFsync) this.disk.unsynced.push(...batch);
      else this.disk.durable.push(...batch);
      this.disk.lastAppended = this.hooks.ackBeforeFsync ? 0 : batch.length;
      this.counts.records += batch.length;
      this.hooks.onDurable(batch);
      this.scheduleMark();
      if (this.hooks.crashHere('write-durable')) return;
      // The kernel finishes the write of a stopped process; the process learns so when it runs again.
      this.life.run(() => done(null));
    });
  }

  appendLazy(records: readonly unknown[]): void {
    this.lazy.push(...records);
  }

  /**
   * A checkpoint takes one write's time, after the writes made before it.
   * An install completes in order with the appends: those made after it wait
   * for it. A compaction does not hold them (FileStorage writes its snapshot
   * beside the log while group commits go on): what they land in the old log
   * before its swap is carried into the new one. It can be cut short at three
   * points: before anything lands, with the new snapshot beside the old log,
   * and after both.
   */
  checkpoint(c: Checkpoint<unknown>, done: (err: Error | null) => void): void {
    // The records waiting for a write (the lazy ones): FileStorage writes them to the old log before an install
    // begins, and the install's new log retains what of them lies above its snapshot. A compaction's may land after
    // later writes, or not at all (a crash first), so its lazy records go with the next write, first in it, as
    // FileStorage writes them before the compaction starts. (Dropped here, the simulator restarted a replica in the
    // epoch its last Ready entered without the chosen records of the slots that led there, seed 2603855: a state the
    // product never leaves.)
    const beforeInstall = c.compaction === true ? [] : this.lazy;
    if (c.compaction !== true) this.lazy = [];
    this.counts.fsyncs += 2;
    if (this.hooks.crashHere('write-started')) return;
    const endMs = Math.max(
      this.lastCompletionMs,
      this.lastCheckpointMs,
      this.host.nowMs() + this.hooks.writeLatencyMs(),
    );
    this.lastCheckpointMs = endMs;
    if (c.compaction !== true) this.lastCompletionMs = endMs;
    const carry: unknown[] = [];
    if (c.compaction === true) this.carries.add(carry);
    const write: InFlightWrite = { kind: 'checkpoint', checkpoint: c };
    this.inFlight.push(write);
    this.host.at(endMs - this.host.nowMs(), () => {
      this.carries.delete(carry);
      if (!this.life.alive) return;
      const landed = () => this.inFlight.splice(this.inFlight.indexOf(write), 1);
      // An install holds the writes made after it until its new log is in place (FileStorage swaps the log before the
      // next group commit starts), so a power loss between its snapshot and its log lands none of them: it is still the
      // first write in flight. Landed in the old log, the epoch record of the next Ready restarted a replica in an epoch
      // whose slots below it it had learned chosen only in the install's log (seed 3232515), a state the product never
      // reaches. A compaction's later writes go on beside it, and may land in the old log.
      if (c.compaction === true) landed();
      if (beforeInstall.length > 0) {
        this.disk.durable.push(...beforeInstall);
        this.disk.lastAppended = beforeInstall.length;
        this.hooks.onDurable(beforeInstall);
      }
      const records = [...c.records, ...carry];
      this.disk.snapshot = [...c.snapshot];
      this.hooks.onSnapshotDurable?.(c.snapshot, records);
      if (this.hooks.crashHere('snapshot-written')) return;
      replaceLog(this.disk, records);
      if (c.compaction !== true) landed();
      this.counts.records = records.length;
      this.scheduleMark();
      if (this.hooks.crashHere('write-durable')) return;
      this.life.run(() => done(null));
    });
  }

  stats(): StorageStats {
    return { ...this.counts };
  }
}

/** A checkpoint's new log: it goes on counting where the old one reached, and syncs what was written before it. */
export function replaceLog(disk: SimDisk, records: readonly unknown[]): void {
  disk.keepPageCache();
  disk.base = disk.reach;
  disk.durable.length = 0;
  disk.durable.push(...records);
  disk.lastAppended = 0;
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

  /** A message that reaches a stopped replica waits in its socket buffer and is read, in order, when it resumes. */
  deliver(m: PeerMessage): void {
    this.life.run(() => this.handler?.(m));
  }
}
