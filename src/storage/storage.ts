/**
 * Durable state of one replica: an append-only log of opaque records. The
 * replica appends each Ready's records and sends nothing that depends on
 * them until `append` resolves, which is after fsync.
 */
import type { Checkpoint } from '../core/types.js';
import type { FileStorage } from './file-storage.js';

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

/**
 * What a replica needs from its storage, the one storage interface: the file
 * log (through `durableLogOf`) and the simulator's and the scenario runner's
 * in-memory twins (src/sim/twins.ts, src/scenario/twins.ts) implement it. The
 * replica (and the simulator, which runs the same replica without promises or
 * an event loop) learns that a write is durable by `done` being called, in
 * the order the writes were made.
 */
export interface DurableLog<R> {
  /** Records recovered at open, oldest first. */
  readonly recovered: readonly R[];
  /** The snapshot recovered at open, in its parts, or null when there is none. */
  readonly recoveredSnapshot: readonly unknown[] | null;
  /**
   * Calls `done(null)` once the records are durable (the file log: fsynced;
   * calls made while an fsync runs are coalesced into one write and one fsync,
   * group commit, and records keep the order of the calls), or `done(err)` if
   * they never will be.
   */
  append(records: readonly R[], done: (err: Error | null) => void): void;
  /**
   * Queues records that nothing waits on: they are written with the next
   * append, or (the file log) by a short timer when the replica is idle, and
   * may be lost in a crash before that.
   */
  appendLazy(records: readonly R[]): void;
  /**
   * After the appends made before it: makes `snapshot` the snapshot and
   * `records` the whole log, crash-safe at every point (a crash leaves the
   * old state, the new one, or the new snapshot beside the old log, whose
   * entries the snapshot covers); `done` is called once both are durable.
   * Appends made after an install wait for it; appends made after a
   * compaction (`c.compaction`) do not, and whatever of them reaches the old
   * log before the new one replaces it is carried into the new one.
   */
  checkpoint(c: Checkpoint<R>, done: (err: Error | null) => void): void;
  stats(): StorageStats;
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** The file log, whose calls return promises, as a DurableLog. */
export function durableLogOf<R>(storage: FileStorage<R>): DurableLog<R> {
  return {
    recovered: storage.recovered,
    recoveredSnapshot: storage.recoveredSnapshot,
    append: (records, done) => {
      storage.append(records).then(
        () => done(null),
        (err: unknown) => done(asError(err)),
      );
    },
    appendLazy: (records) => storage.appendLazy(records),
    checkpoint: (c, done) => {
      storage.checkpoint(c).then(
        () => done(null),
        (err: unknown) => done(asError(err)),
      );
    },
    stats: () => storage.stats(),
  };
}
