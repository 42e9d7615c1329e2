/**
 * Durable state of one replica: an append-only log of opaque records. The
 * replica appends each Ready's records and sends nothing that depends on
 * them until `append` resolves, which is after fsync.
 */
import type { Checkpoint } from '../core/types.js';
import { encodeFrame, FRAME_HEADER_BYTES } from './frame.js';

export type { Checkpoint } from '../core/types.js';

export interface StorageStats {
  /** Records in the log, the recovered ones included. */
  readonly records: number;
  /** Size of the log, the recovered part included. */
  readonly bytes: number;
  readonly fsyncs: number;
  /** Calls of `append` (lazy appends are not counted: nothing waits on them). */
  readonly appends: number;
  /** Checkpoints written: snapshots that replaced the log. */
  readonly checkpoints?: number;
}

export interface RecordStorage<R> {
  /** Records recovered at open, oldest first. */
  readonly recovered: readonly R[];
  /** The snapshot recovered at open, in its parts, or null when there is none. */
  readonly recoveredSnapshot: readonly unknown[] | null;
  /**
   * Appends records durably; resolves only once they are fsynced. Calls made
   * while an fsync runs are coalesced into one write and one fsync (group
   * commit) when it finishes; records keep the order of the calls.
   */
  append(records: readonly R[]): Promise<void>;
  /**
   * Queues records that nothing waits on: they are written with the next
   * append's fsync, or by a short timer when the replica is idle, and may be
   * lost in a crash before that.
   */
  appendLazy(records: readonly R[]): void;
  /**
   * After everything appended before it, makes `snapshot` the snapshot and
   * `records` the whole log, crash-safe at every point: a crash leaves either
   * the old state or the new one (or the new snapshot beside the old log,
   * whose entries the snapshot covers).
   */
  checkpoint(c: Checkpoint<R>): Promise<void>;
  close(): Promise<void>;
  stats(): StorageStats;
}

/**
 * What a replica needs from its storage, in callback form: the replica (and
 * the simulator, which runs the same replica without promises or an event
 * loop) learns that a write is durable by `done` being called, in the order
 * the writes were made.
 */
export interface DurableLog<R> {
  readonly recovered: readonly R[];
  readonly recoveredSnapshot: readonly unknown[] | null;
  /** Calls `done(null)` once the records are durable, or `done(err)` if they never will be. */
  append(records: readonly R[], done: (err: Error | null) => void): void;
  appendLazy(records: readonly R[]): void;
  /** Ordered with the appends: `done` is called once the snapshot and the rewritten log are durable. */
  checkpoint(c: Checkpoint<R>, done: (err: Error | null) => void): void;
  stats(): StorageStats;
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** A promise-based storage (the file log) as a DurableLog. */
export function durableLogOf<R>(storage: RecordStorage<R>): DurableLog<R> {
  return {
    recovered: storage.recovered,
    recoveredSnapshot: storage.recoveredSnapshot,
    append: (records, done) => {
      storage.append(records).then(() => done(null), (err: unknown) => done(asError(err)));
    },
    appendLazy: (records) => storage.appendLazy(records),
    checkpoint: (c, done) => {
      storage.checkpoint(c).then(() => done(null), (err: unknown) => done(asError(err)));
    },
    stats: () => storage.stats(),
  };
}

/**
 * The in-memory twin, for tests and the simulator; "durable" means "in this
 * array". Each record goes through the same encoding as the file log and is
 * stored as JSON gives it back, so a record that would not survive the disk
 * (too large, not serialisable, a field that JSON drops) behaves here as it
 * would after a restart from the file.
 */
export class MemoryStorage<R> implements RecordStorage<R> {
  readonly recovered: readonly R[];
  readonly recoveredSnapshot: readonly unknown[] | null;
  /** Every record, the initial ones included, oldest first (since the last checkpoint). */
  readonly records: R[];
  /** The snapshot of the last checkpoint, in parts. */
  snapshot: readonly unknown[] | null;
  private counts = { bytes: 0, fsyncs: 0, appends: 0, checkpoints: 0 };
  private closed = false;

  constructor(initial: readonly R[] = [], snapshot: readonly unknown[] | null = null) {
    this.recoveredSnapshot = snapshot === null ? null : snapshot.map((p) => roundTrip<unknown>(p).record);
    this.snapshot = this.recoveredSnapshot;
    this.recovered = initial.map((r) => roundTrip<R>(r).record);
    this.records = [...this.recovered];
    this.counts.bytes = initial.reduce((sum, r) => sum + roundTrip(r).sizeBytes, 0);
  }

  async append(records: readonly R[]): Promise<void> {
    if (this.closed) throw new Error('storage is closed');
    const stored = records.map((r) => roundTrip<R>(r));
    this.counts.appends++;
    if (stored.length > 0) this.counts.fsyncs++;
    this.keep(stored);
  }

  appendLazy(records: readonly R[]): void {
    if (!this.closed) this.keep(records.map((r) => roundTrip<R>(r)));
  }

  async checkpoint(c: Checkpoint<R>): Promise<void> {
    if (this.closed) throw new Error('storage is closed');
    this.snapshot = c.snapshot.map((p) => roundTrip<unknown>(p).record);
    const stored = c.records.map((r) => roundTrip<R>(r));
    this.records.length = 0;
    this.counts.bytes = 0;
    this.counts.checkpoints++;
    this.keep(stored);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  stats(): StorageStats {
    return { records: this.records.length, ...this.counts };
  }

  private keep(stored: readonly { record: R; sizeBytes: number }[]): void {
    for (const s of stored) {
      this.records.push(s.record);
      this.counts.bytes += s.sizeBytes;
    }
  }
}

function roundTrip<R>(record: R): { record: R; sizeBytes: number } {
  const frame = encodeFrame(record);
  return { record: JSON.parse(frame.toString('utf8', FRAME_HEADER_BYTES)) as R, sizeBytes: frame.length };
}
