/**
 * The on-disk record log of one replica, in a data directory of its own
 * (mode 0700, held by a lock file so two processes can never share one
 * acceptor's state). The frame format and the recovery policy are in
 * frame.ts; this file owns the directory, the file and group commit.
 *
 * Damage that frames cannot show. A checksum finds a damaged record, not a
 * missing one: a log emptied, truncated at a frame boundary or copied back
 * from earlier is a valid log that has forgotten what it acknowledged. So
 * (Protocol-Aware Recovery, FAST 2018; Paxos Made Live §5.1):
 * - Every log starts with a header record (its owner and `base`, the number
 *   of records before its first one: a compaction keeps counting). A log is
 *   only ever created whole with its header (written to a temporary file,
 *   fsynced, renamed), so an empty or headerless log is never one this code
 *   left behind, crash or not: it is damage.
 * - The log's reach, `base` plus its records, only ever grows. A durable
 *   high-water mark outside the log (identity.ts) says how far it had
 *   reached; the caller passes it as `mustReach`, and a log that falls short
 *   was truncated or rolled back. The mark is advanced lazily (`mark`, at
 *   most every `markEveryMs`, and at close) and only to what is already
 *   fsynced, so the write path keeps its one fsync per group commit, and a
 *   crash anywhere leaves the log at or past the mark. The price: damage
 *   within the last `markEveryMs` of writes before a crash is not seen.
 */
import { chmodSync, constants, existsSync, mkdirSync } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { must } from '../core/must.js';
import { DataDamagedError, StorageCorruptError, StorageError, StorageFailedError } from './errors.js';
import { decodeLog, encodeFrame, zeroTailStart } from './frame.js';
import { acquireDirLock, type DirLock } from './lock.js';
import type { Checkpoint, StorageStats } from './storage.js';

export {
  DataDamagedError,
  StorageCorruptError,
  StorageError,
  StorageFailedError,
  StorageLockedError,
} from './errors.js';
export { decodeLog, encodeFrame, FRAME_HEADER_BYTES, MAX_RECORD_BYTES } from './frame.js';

export const DEFAULT_LOG_FILE_NAME = 'wal.log';
/** The snapshot beside the log: frames, like the log, written whole to a temporary file and renamed into place. */
export const SNAPSHOT_FILE_NAME = 'snapshot';
const TEMP_SUFFIX = '.tmp';
/** How long lazily appended records wait for a strict append to ride along with. */
const LAZY_FLUSH_MS = 50;
/** How often, at most, the high-water mark follows the log while it grows. */
export const MARK_EVERY_MS = 200;
/**
 * Preallocation: the log's file is kept ahead of its records with zeros that
 * are already written and fdatasynced, so a group commit's fdatasync writes
 * only its data blocks and not the file's new size and block map (on this
 * kind of disk about half the cost: see `paxos bench`'s floor). The room kept
 * ahead grows with the log (about its size, at least the minimum below) up to
 * the caller's maximum; etcd preallocates 64 MiB segments.
 */
export const PREALLOCATE_MAX_BYTES = 64 * 1024 * 1024;
const PREALLOCATE_MIN_BYTES = 256 * 1024;
/**
 * Zeros are written and synced in pieces, so a group commit's fdatasync never
 * has more than one piece of them to flush, and a write or a checkpoint that
 * stops the preallocation waits for one piece at most.
 */
const ZERO_PIECE_BYTES = 256 * 1024;

/** Whose log this is, named in its header. */
export interface LogOwner {
  readonly clusterId: string;
  readonly node: number;
}

/** The first record of every log (never handed to the replica). */
export interface LogHeader {
  readonly paxosLog: 1;
  /** Records before this log's first one: the reach of the log a compaction replaced. */
  readonly base: number;
  readonly clusterId?: string;
  readonly node?: number;
}

export function logHeader(base: number, owner?: LogOwner): LogHeader {
  return { paxosLog: 1, base, ...(owner !== undefined ? { clusterId: owner.clusterId, node: owner.node } : {}) };
}

function isLogHeader(x: unknown): x is LogHeader {
  const h = x as Partial<LogHeader> | null;
  return (
    typeof h === 'object' &&
    h !== null &&
    h.paxosLog === 1 &&
    typeof h.base === 'number' &&
    Number.isInteger(h.base) &&
    h.base >= 0
  );
}

export interface FileStorageOptions {
  readonly dir: string;
  /** The log's name inside `dir`; `wal.log` unless told. */
  readonly fileName?: string;
  /** Receives one line per notable recovery step (a torn tail cut off). */
  readonly log?: (line: string) => void;
  /**
   * Lazy records with no write to ride along with are written after this
   * long when the log is idle (default 50 ms); null leaves them for the next
   * write or the close. Step mode passes null: its time moves only when the
   * user says, so a crash loses exactly what the scripted disk would.
   */
  readonly lazyFlushMs?: number | null;
  /** Written in a new log's header, and checked against an existing one's (a log of another replica is damage). */
  readonly owner?: LogOwner;
  /**
   * The durable high-water mark: how far the log must reach. Null (the
   * default) when no log was ever created here, so a missing one is created;
   * a number when one was, so it must exist, start with its header and reach
   * this far, or the open fails with a DataDamagedError.
   */
  readonly mustReach?: number | null;
  /** Advances the high-water mark to a reach already durable; a failure stops the storage. */
  readonly mark?: (reached: number) => Promise<void>;
  /** How often, at most, `mark` is called while the log grows (default 200 ms). */
  readonly markEveryMs?: number;
  /** The directory's lock, when the caller took it earlier (a replica takes it before it bumps its incarnation); released on close. */
  readonly lock?: DirLock;
  /** The most zero bytes kept ahead of the records (see PREALLOCATE_MAX_BYTES); 0 (the default) grows the file with each write. */
  readonly preallocateBytes?: number;
  /**
   * The planted bug "amnesia", only for `paxos check --plant amnesia` to
   * show its disk nemesis catches it: the log is trusted whatever it lost, as
   * before issue 22's fix. A damaged record is cut off like a torn tail, an
   * empty or headerless log starts over, and the mark is not checked.
   */
  readonly plantedAmnesia?: boolean;
}

/** What the log needs of an open file (a FileHandle opened for reading and writing); tests pass a failing one. */
export interface LogFile {
  /** Writes at `position` (the end of the valid log), never in append mode: the file may hold preallocated zeros after it. */
  write(data: Buffer, offset?: number, length?: number, position?: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  close(): Promise<void>;
  /** Which file this is (a FileHandle has it); a fake file may leave it out. */
  stat?(): Promise<{ readonly dev: number; readonly ino: number; readonly size: number }>;
}

export interface FileStorageParts<R> {
  readonly recovered: readonly R[];
  readonly recoveredSnapshot?: readonly unknown[] | null;
  /** See FileStorageOptions.lazyFlushMs. */
  readonly lazyFlushMs?: number | null;
  /** Opens the log again after a checkpoint replaced it; tests that pass a fake file may leave it out. */
  readonly reopen?: () => Promise<LogFile>;
  readonly file: LogFile;
  /** The log's path, named in errors. */
  readonly path: string;
  /** Size of the valid log the file holds already: where the next write goes. */
  readonly sizeBytes: number;
  /** The file's size, preallocated zeros after the valid log included (default sizeBytes). */
  readonly fileBytes?: number;
  /** See FileStorageOptions.preallocateBytes. */
  readonly preallocateBytes?: number;
  /** Receives one line when preallocation gives up (a full disk): the log goes on growing write by write. */
  readonly log?: (line: string) => void;
  readonly releaseLock: () => void;
  /** The log's reach: records before its first (its header's base) plus the recovered ones. Default: the recovered count. */
  readonly reached?: number;
  /** Whose log this is, for the header of the log a compaction writes. */
  readonly owner?: LogOwner;
  readonly mark?: (reached: number) => Promise<void>;
  readonly markEveryMs?: number;
  /**
   * The file was opened with O_DSYNC (as openFileStorage opens it): each write returns only
   * once its data, and the size needed to read it back, are on the disk, as
   * a write followed by fdatasync would. A group commit is then one call to
   * the thread pool instead of two. Default false: a write waits for an
   * explicit fdatasync (the fake files of tests).
   */
  readonly writesAreDurable?: boolean;
}

/**
 * The log's file, opened for writing at positions: with O_DSYNC (see
 * FileStorageParts.writesAreDurable) where the platform has it.
 */
const LOG_OPEN_FLAGS = constants.O_RDWR | (constants.O_DSYNC ?? 0);
const LOG_WRITES_ARE_DURABLE = constants.O_DSYNC !== undefined;

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** Frames waiting for the next write, and the appends that wait for them to be durable. */
interface Batch {
  readonly kind: 'batch';
  frames: Buffer[];
  waiters: Waiter[];
}

/** A checkpoint waiting its turn: everything queued before it is written first. */
interface CheckpointOp {
  readonly kind: 'checkpoint';
  /** An install's snapshot, encoded when it was asked for; null for a compaction's, encoded part by part when it starts. */
  readonly snapshotFrames: readonly Buffer[] | null;
  readonly snapshot: readonly unknown[];
  readonly recordFrames: readonly Buffer[];
  /** Checkpoint.compaction: the log goes on growing while the snapshot is written. */
  readonly compaction: boolean;
  readonly waiters: Waiter[];
}

/**
 * A compaction whose snapshot is being written beside the log while group
 * commits go on: every frame written meanwhile is carried into the new log,
 * which replaces the old one once the snapshot is in place.
 */
interface Compaction {
  readonly op: CheckpointOp;
  readonly carry: Buffer[];
  /** Resolves once the snapshot is durable and named (or the storage failed). */
  readonly snapshotWritten: Promise<void>;
  snapshotDone: boolean;
}

type Op = Batch | CheckpointOp;

export class FileStorage<R> {
  readonly recovered: readonly R[];
  readonly recoveredSnapshot: readonly unknown[] | null;
  readonly path: string;
  private file: LogFile;
  private readonly reopen: (() => Promise<LogFile>) | null;
  private readonly releaseLock: () => void;
  /** Writes in the order they were asked for; appends join the last batch while it waits. */
  private queue: Op[] = [];
  private flushing = false;
  private idleWaiters: (() => void)[] = [];
  private lazyTimer: NodeJS.Timeout | null = null;
  private readonly lazyFlushMs: number | null;
  private failure: StorageFailedError | null = null;
  private closing: Promise<void> | null = null;
  private counts: { records: number; bytes: number; fsyncs: number; appends: number; checkpoints: number };
  /** Records since the first this replica ever wrote, through the last fsync: only ever grows. */
  private reach: number;
  private readonly owner: LogOwner | undefined;
  private readonly mark: ((reached: number) => Promise<void>) | null;
  private readonly markEveryMs: number;
  /** The reach the high-water mark holds (as far as this process knows: the caller wrote it at open). */
  private marked: number;
  private markTimer: NodeJS.Timeout | null = null;
  private marking: Promise<void> | null = null;
  /** A checkpoint is swapping the log file: the path and the open file differ for a moment. */
  private rewriting = false;
  /** A compaction whose snapshot is being written while the log goes on growing; at most one at a time. */
  private compacting: Compaction | null = null;
  /** Counts the checkpoints begun, so a check that a swap overtook is not taken for a lost file. */
  private rewrites = 0;
  /** Where the next write goes: the end of the valid log. */
  private offset: number;
  /** The file's size: bytes from `offset` up to it are preallocated zeros, already durable. */
  private allocated: number;
  private preallocateBytes: number;
  /** Zeros being written past `allocated`; a write that would reach into them stops it first (see stopPreallocating). */
  private extending: Promise<void> | null = null;
  /** Asks the zeros being written to stop after their current piece. */
  private stopExtending = false;
  private readonly logLine: ((line: string) => void) | undefined;
  private readonly writesAreDurable: boolean;

  constructor(parts: FileStorageParts<R>) {
    this.recovered = parts.recovered;
    this.recoveredSnapshot = parts.recoveredSnapshot ?? null;
    this.path = parts.path;
    this.file = parts.file;
    this.reopen = parts.reopen ?? null;
    this.releaseLock = parts.releaseLock;
    this.lazyFlushMs = parts.lazyFlushMs === undefined ? LAZY_FLUSH_MS : parts.lazyFlushMs;
    this.counts = { records: parts.recovered.length, bytes: parts.sizeBytes, fsyncs: 0, appends: 0, checkpoints: 0 };
    this.reach = parts.reached ?? parts.recovered.length;
    this.marked = this.reach;
    this.owner = parts.owner;
    this.mark = parts.mark ?? null;
    this.markEveryMs = parts.markEveryMs ?? MARK_EVERY_MS;
    this.offset = parts.sizeBytes;
    this.allocated = Math.max(parts.fileBytes ?? parts.sizeBytes, parts.sizeBytes);
    this.preallocateBytes = parts.preallocateBytes ?? 0;
    this.logLine = parts.log;
    this.writesAreDurable = parts.writesAreDurable ?? false;
  }

  /**
   * Whether the file this storage writes is still the one at its path, and
   * still holds what was fsynced: false once the log (or its directory) was
   * deleted, replaced, truncated or put back from a copy while it runs, when
   * the next start would find less than was acknowledged. (The open file
   * keeps its inode, so a new file cannot have it.)
   */
  async stillInPlace(): Promise<boolean> {
    if (this.rewriting || this.closing !== null || this.file.stat === undefined) return true;
    const rewrites = this.rewrites;
    const bytes = this.counts.bytes;
    const overtaken = () => this.rewriting || this.rewrites !== rewrites;
    try {
      const [open, named] = await Promise.all([this.file.stat(), stat(this.path)]);
      // Bytes are counted once fsynced, so the file holds at least as many unless someone cut it.
      return overtaken() || (open.dev === named.dev && open.ino === named.ino && named.size >= bytes);
    } catch {
      return overtaken();
    }
  }

  /** How far the log durably reaches (records since the replica's first); the high-water mark may lag behind it, never run ahead. */
  get reached(): number {
    return this.reach;
  }

  private tailBatch(): Batch {
    const last = this.queue[this.queue.length - 1];
    if (last !== undefined && last.kind === 'batch') return last;
    const batch: Batch = { kind: 'batch', frames: [], waiters: [] };
    this.queue.push(batch);
    return batch;
  }

  /** Resolves once the records are fsynced; see DurableLog.append (src/storage/storage.ts), which `durableLogOf` makes of it. */
  append(records: readonly R[]): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    let frames: Buffer[];
    try {
      // Encode the whole call first: a record that cannot be written must not leave its siblings half-queued.
      frames = records.map(encodeFrame);
    } catch (err) {
      return Promise.reject(err);
    }
    this.counts.appends++;
    return new Promise((resolve, reject) => {
      const batch = this.tailBatch();
      for (const frame of frames) batch.frames.push(frame);
      batch.waiters.push({ resolve, reject });
      this.startFlush(false);
    });
  }

  appendLazy(records: readonly R[]): void {
    if (this.refusal() !== null) return;
    const frames = records.map(encodeFrame);
    const batch = this.tailBatch();
    for (const frame of frames) batch.frames.push(frame);
    if (!this.flushing) this.armLazyTimer();
  }

  /** Resolves once the snapshot and the rewritten log are durable; see DurableLog.checkpoint. */
  checkpoint(c: Checkpoint<R>): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    if (this.reopen === null)
      return Promise.reject(new Error(`storage ${this.path} cannot reopen its log, so it cannot compact it`));
    let op: Omit<CheckpointOp, 'waiters'>;
    try {
      op = {
        kind: 'checkpoint',
        // A compaction's snapshot (megabytes for a large map) is encoded one part per turn of the event loop once it
        // starts, so no turn holds the replica's messages for all of it.
        snapshotFrames: c.compaction === true ? null : c.snapshot.map(encodeFrame),
        snapshot: c.snapshot,
        recordFrames: c.records.map(encodeFrame),
        compaction: c.compaction === true,
      };
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ ...op, waiters: [{ resolve, reject }] });
      this.startFlush(false);
    });
  }

  /** Writes what is queued (lazy records included), closes the file and releases the directory. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  stats(): StorageStats {
    return { ...this.counts };
  }

  private refusal(): Error | null {
    if (this.failure !== null) return this.failure;
    if (this.closing !== null) return new Error(`storage ${this.path} is closed`);
    return null;
  }

  /** Starts the flush loop unless it runs already; it picks up whatever is pending when it gets there. */
  private startFlush(lazyToo: boolean): void {
    if (this.flushing) return;
    this.flushing = true;
    void this.flushLoop(lazyToo);
  }

  /**
   * Group commit: each pass takes everything queued so far and makes it
   * durable with one write and one fdatasync. Appends that arrive meanwhile
   * queue for the next pass. Passes run while someone waits (or once for a
   * lazy-only batch): the loop ends because new appends only come in from
   * the caller, who waits on the ones it made.
   */
  private async flushLoop(lazyToo: boolean): Promise<void> {
    let writeLazy = lazyToo;
    while (this.failure === null && (this.queue.length > 0 || this.compacting?.snapshotDone === true)) {
      // A compaction whose snapshot is in place swaps the log before the next group commit.
      if (this.compacting?.snapshotDone === true && !(await this.finishCompaction())) break;
      const op = this.queue[0];
      if (op === undefined) continue;
      // A batch of lazy records alone, with nothing behind it, waits for a write to ride along with (or its timer).
      if (op.kind === 'batch' && op.waiters.length === 0 && !writeLazy && this.queue.length === 1) break;
      writeLazy = false;
      this.queue.shift();
      try {
        if (op.kind === 'batch') {
          await this.writeDurably(op.frames);
          this.compacting?.carry.push(...op.frames);
        } else {
          // One checkpoint at a time: one still writing its snapshot is finished first.
          if (this.compacting !== null && !(await this.finishCompaction())) {
            for (const waiter of op.waiters) waiter.reject(must(this.failure, 'finishCompaction failed the storage'));
            break;
          }
          if (op.compaction) {
            this.startCompaction(op);
            continue;
          }
          await this.swapLog(op, [], () => this.writeSnapshot(op));
        }
      } catch (err) {
        this.fail(err, op);
        break;
      }
      for (const waiter of op.waiters) waiter.resolve();
      this.scheduleMark();
    }
    this.flushing = false;
    if (this.compacting === null || this.failure !== null) for (const wake of this.idleWaiters.splice(0)) wake();
    if (this.failure === null && this.queue.length > 0) this.armLazyTimer();
  }

  /**
   * Everything queued before the compaction is written (the loop took it in
   * order), so the snapshot holds nothing the old log lacks; it is written
   * beside the log while later group commits go on, and the loop swaps the
   * log once it is in place.
   */
  private startCompaction(op: CheckpointOp): void {
    const compaction: Compaction = {
      op,
      carry: [],
      snapshotDone: false,
      snapshotWritten: this.writeSnapshot(op).then(
        () => {
          compaction.snapshotDone = true;
          this.startFlush(false);
        },
        (err: unknown) => {
          if (this.compacting === compaction) this.compacting = null;
          if (this.failure === null) this.fail(err, op);
          for (const wake of this.idleWaiters.splice(0)) wake();
        },
      ),
    };
    this.compacting = compaction;
  }

  /** Waits for the compaction's snapshot, then swaps in the log it carried; false when the storage failed meanwhile. */
  private async finishCompaction(): Promise<boolean> {
    const compaction = must(this.compacting, 'a compaction is under way');
    await compaction.snapshotWritten;
    if (this.failure !== null) return false;
    this.compacting = null;
    try {
      await this.swapLog(compaction.op, compaction.carry, async () => undefined);
    } catch (err) {
      this.fail(err, compaction.op);
      return false;
    }
    for (const waiter of compaction.op.waiters) waiter.resolve();
    this.scheduleMark();
    return true;
  }

  /**
   * A checkpoint's first half. A checkpoint goes in an order where a crash at
   * any point leaves a state the replica can recover from: the new snapshot
   * is made durable and renamed into place (and the directory synced, so that
   * rename cannot be lost while the next one survives), then the new log
   * likewise (swapLog). Between the two the new snapshot sits beside the old,
   * complete log (with a compaction's, whatever was written meanwhile after
   * it), and recovery drops the log entries the snapshot covers.
   */
  private async writeSnapshot(op: CheckpointOp): Promise<void> {
    const dir = dirOf(this.path);
    const frames = op.snapshotFrames ?? (await encodeInTurns(op.snapshot));
    await writeWholeFile(join(dir, SNAPSHOT_FILE_NAME + TEMP_SUFFIX), Buffer.concat(frames));
    await rename(join(dir, SNAPSHOT_FILE_NAME + TEMP_SUFFIX), join(dir, SNAPSHOT_FILE_NAME));
    await syncDir(dir);
    this.counts.fsyncs++;
  }

  /**
   * The new log: the checkpoint's records, then what was written since the
   * compaction began (`carried`: the old log's frames after the snapshot's,
   * in order), made durable and renamed over the old one. `before` runs
   * first, with the log file still the old one (an install's snapshot).
   */
  private async swapLog(op: CheckpointOp, carried: readonly Buffer[], before: () => Promise<void>): Promise<void> {
    this.rewriting = true;
    this.rewrites++;
    try {
      const dir = dirOf(this.path);
      // Zeros still being written go to the old file's handle, which is closed below.
      await this.stopPreallocating();
      await before();
      // The new log goes on counting where the old one reached: its reach only grows, so the mark still holds.
      const frames = [...op.recordFrames, ...carried];
      const log = Buffer.concat([encodeFrame(logHeader(this.reach, this.owner)), ...frames]);
      await writeWholeFile(this.path + TEMP_SUFFIX, log);
      await rename(this.path + TEMP_SUFFIX, this.path);
      await syncDir(dir);
      await this.file.close();
      this.file = await must(this.reopen, 'checkpoint() queues a rewrite only when the log can be reopened')();
      this.counts.fsyncs++;
      this.counts.checkpoints++;
      this.counts.bytes = log.length;
      this.offset = log.length;
      this.allocated = log.length;
      this.counts.records = frames.length;
      this.reach += frames.length;
    } finally {
      this.rewriting = false;
    }
  }

  /** One group commit: one write of every frame in the batch, then the wait for the disk. */
  private async writeDurably(frames: readonly Buffer[]): Promise<void> {
    if (frames.length === 0) return;
    const only = frames.length === 1 ? frames[0] : undefined;
    const data = only ?? Buffer.concat(frames);
    // A write must never land where zeros are still being written (they would overwrite it), nor wait for all of
    // them: the preallocation stops after its current piece, and this write grows the file past it.
    if (this.offset + data.length > this.allocated) await this.stopPreallocating();
    await this.writeFully(data, this.offset);
    this.offset += data.length;
    await this.waitForDisk();
    this.counts.bytes += data.length;
    this.counts.records += frames.length;
    this.reach += frames.length;
    this.preallocate();
  }

  /**
   * The one place a write waits for the disk: every append resolves only
   * after this returns (fdatasync: the data and the size needed to read it
   * back, not the file's times). A file opened with O_DSYNC had its writes
   * synced as they returned, so there is nothing left to wait for; the
   * count still says how many times the log waited for the disk.
   */
  private async waitForDisk(): Promise<void> {
    if (!this.writesAreDurable) await this.file.datasync();
    this.counts.fsyncs++;
  }

  /** Keeps zeros ahead of the records (see PREALLOCATE_MAX_BYTES), in the background: nothing waits on it unless a write catches up. */
  private preallocate(): void {
    if (this.preallocateBytes <= 0 || this.extending !== null || this.failure !== null || this.closing !== null) return;
    const ahead = Math.min(this.preallocateBytes, Math.max(PREALLOCATE_MIN_BYTES, this.offset));
    if (this.allocated - this.offset >= ahead / 2) return;
    const from = Math.max(this.allocated, this.offset);
    const to = this.offset + ahead;
    this.extending = this.writeZeros(from, to).finally(() => {
      this.extending = null;
    });
  }

  /** Stops the zeros being written after their current piece; the next group commit starts them again from where the file ends. */
  private async stopPreallocating(): Promise<void> {
    if (this.extending === null) return;
    this.stopExtending = true;
    await this.extending;
    this.stopExtending = false;
  }

  private async writeZeros(from: number, to: number): Promise<void> {
    const zeros = Buffer.alloc(Math.min(ZERO_PIECE_BYTES, to - from));
    try {
      // Each pass writes at least one byte or throws, so the loop is bounded by to - from.
      for (let at = from; at < to && !this.stopExtending; ) {
        const { bytesWritten } = await this.file.write(zeros, 0, Math.min(zeros.length, to - at), at);
        if (!(bytesWritten > 0)) throw new Error(`the file took none of ${to - at} bytes`);
        at += bytesWritten;
        if (!this.writesAreDurable) await this.file.datasync();
        this.allocated = at;
      }
    } catch (err) {
      // Only the room ahead is lost, no record: the log goes on growing write by write.
      this.preallocateBytes = 0;
      this.logLine?.(
        `stopped preallocating ${this.path} (${err instanceof Error ? err.message : String(err)}); each write now grows the file, which costs more per fsync`,
      );
    }
  }

  /**
   * Lets the high-water mark follow the log, lazily: at most every
   * markEveryMs, one mark write at a time, each to the reach already fsynced
   * when it starts. Nothing waits on it, so appends keep their one fsync.
   */
  private scheduleMark(): void {
    if (
      this.mark === null ||
      this.markTimer !== null ||
      this.marking !== null ||
      this.closing !== null ||
      this.reach <= this.marked
    )
      return;
    this.markTimer = setTimeout(() => {
      this.markTimer = null;
      this.marking = this.writeMark().finally(() => {
        this.marking = null;
        this.scheduleMark();
      });
    }, this.markEveryMs);
    this.markTimer.unref();
  }

  private async writeMark(): Promise<void> {
    const reached = this.reach;
    if (this.mark === null || this.failure !== null || reached <= this.marked) return;
    try {
      await this.mark(reached);
      this.marked = reached;
    } catch (err) {
      // A mark that cannot be written (the directory gone or replaced, the disk failing) stops the storage: it
      // could no longer tell, at the next start, whether the log lost what it acknowledged.
      this.fail(err, { kind: 'batch', frames: [], waiters: [] });
    }
  }

  /** write() may take fewer bytes than offered; the rest follows on at the next position. */
  private async writeFully(data: Buffer, position: number): Promise<void> {
    // Each pass writes at least one byte or throws, so the loop is bounded by data.length.
    for (let written = 0; written < data.length; ) {
      const rest = data.subarray(written);
      const { bytesWritten } = await this.file.write(rest, 0, rest.length, position + written);
      if (!(bytesWritten > 0)) throw new Error(`the file took none of ${data.length - written} bytes`);
      written += bytesWritten;
    }
  }

  /**
   * After a failed write or fsync nothing can be trusted to be on disk (a
   * failed fsync may even have dropped the dirty pages), so every waiting
   * append fails and so does every later one.
   */
  private fail(err: unknown, failed: Op): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.failure = new StorageFailedError(`cannot make records durable in ${this.path}: ${reason}`);
    const compacting = this.compacting !== null && this.compacting.op !== failed ? this.compacting.op.waiters : [];
    const waiters = [...failed.waiters, ...compacting, ...this.queue.flatMap((op) => op.waiters)];
    this.queue = [];
    for (const waiter of waiters) waiter.reject(this.failure);
  }

  private armLazyTimer(): void {
    if (this.lazyTimer !== null || this.closing !== null || this.lazyFlushMs === null) return;
    this.lazyTimer = setTimeout(() => {
      this.lazyTimer = null;
      if (this.queue.length > 0) this.startFlush(true);
    }, this.lazyFlushMs);
    this.lazyTimer.unref();
  }

  /** Resolves once no write is under way: no group commit, and no compaction writing its snapshot. */
  private async idle(): Promise<void> {
    // Each wake ends a pass of the loop or a compaction; a bounded number of them come before the queue drains.
    while (this.flushing || (this.compacting !== null && this.failure === null))
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async shutDown(): Promise<void> {
    if (this.lazyTimer !== null) clearTimeout(this.lazyTimer);
    this.lazyTimer = null;
    if (this.markTimer !== null) clearTimeout(this.markTimer);
    this.markTimer = null;
    const failedBefore = this.failure;
    try {
      await this.idle();
      if (this.failure === null && this.queue.length > 0) this.startFlush(true);
      await this.idle();
      await this.stopPreallocating();
      // A clean stop leaves the mark where the log reaches: the next start then checks all of it.
      await this.marking;
      await this.writeMark();
    } finally {
      try {
        await this.file.close();
      } finally {
        this.releaseLock();
      }
    }
    // A failure while writing the last lazy records is news to the caller; an earlier one was reported already.
    if (failedBefore === null && this.failure !== null) throw this.failure;
  }
}

/** Encodes the parts in order, yielding to the event loop after each: the parts are bounded, so each turn is short. */
async function encodeInTurns(parts: readonly unknown[]): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  for (const part of parts) {
    frames.push(encodeFrame(part));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return frames;
}

/** Opens (creating if needed) the log in `dir`, recovering what it holds; see frame.ts for the policy. */
export async function openFileStorage<R>(options: FileStorageOptions): Promise<FileStorage<R>> {
  // A log that must exist is never created in a directory that is gone: that would be starting from nothing.
  const mustReach = options.plantedAmnesia === true ? null : (options.mustReach ?? null);
  if (mustReach !== null && !existsSync(options.dir)) {
    throw new DataDamagedError(
      `${join(options.dir, options.fileName ?? DEFAULT_LOG_FILE_NAME)} is missing with its whole directory, though its high-water mark says it had reached record ${mustReach}${forgot}`,
    );
  }
  prepareDir(options.dir);
  const lock = options.lock ?? acquireDirLock(options.dir);
  try {
    return await openLog<R>(options, () => lock.release());
  } catch (err) {
    lock.release();
    throw err;
  }
}

function prepareDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir leaves an existing directory's mode alone: a replica's state is nobody else's to read.
    chmodSync(dir, 0o700);
  } catch (err) {
    throw new StorageError(`cannot use ${dir} as a data directory: ${(err as Error).message}`);
  }
}

/** After every damage: what it means, in the same words everywhere. */
const forgot =
  ': the replica may have forgotten promises it made and values it accepted, so it must not vote from this data';

async function openLog<R>(options: FileStorageOptions, releaseLock: () => void): Promise<FileStorage<R>> {
  const path = join(options.dir, options.fileName ?? DEFAULT_LOG_FILE_NAME);
  const amnesia = options.plantedAmnesia === true;
  const mustReach = amnesia ? null : (options.mustReach ?? null);
  // A temporary file is a checkpoint (or a log's creation) that a crash cut short: the files it was to replace are still whole.
  await rm(path + TEMP_SUFFIX, { force: true });
  await rm(join(options.dir, SNAPSHOT_FILE_NAME + TEMP_SUFFIX), { force: true });
  const recoveredSnapshot = await readSnapshot(options.dir);
  if (!existsSync(path)) {
    if (mustReach !== null)
      throw new DataDamagedError(
        `${path} is missing, though its high-water mark says it had reached record ${mustReach}${forgot}`,
      );
    // Created whole or not at all: a crash cannot leave a log without its header. Then the name is made durable.
    const header = encodeFrame(logHeader(0, options.owner));
    await writeWholeFile(path + TEMP_SUFFIX, header);
    await rename(path + TEMP_SUFFIX, path);
    await syncDir(options.dir);
  }
  if (amnesia) await plantedFreshStart(path, options);
  const bytes = await readFile(path);
  const { records: all, validBytes, tornBytes } = decodeLog<unknown>(bytes, path, { damageAsTorn: amnesia });
  const reached = checkHeader(all, path, options.owner, mustReach);
  const records = all.slice(1) as R[];
  // In a preallocated log, zeros alone after the valid log are the room written ahead of it: the next write goes
  // over them, and nothing is reported. Anything else there (or, in a log that grows write by write, zeros too:
  // a power loss's unwritten tail) is a torn record, cut off and named.
  const preallocated = (options.preallocateBytes ?? 0) > 0;
  const tornEnd = preallocated ? zeroTailStart(bytes) : bytes.length;
  const torn = tornBytes > 0 && tornEnd > validBytes;
  const file = await open(path, LOG_OPEN_FLAGS, 0o600);
  try {
    if (torn) {
      await file.truncate(validBytes);
      await file.datasync();
      options.log?.(
        `cut off a torn final record of ${tornEnd - validBytes} bytes at byte ${validBytes} of ${path} (a crash mid-write; it was never acknowledged)`,
      );
    }
  } catch (err) {
    await file.close();
    throw err;
  }
  return new FileStorage<R>({
    recovered: records,
    recoveredSnapshot,
    file,
    path,
    sizeBytes: validBytes,
    fileBytes: torn ? validBytes : bytes.length,
    releaseLock,
    reopen: () => open(path, LOG_OPEN_FLAGS, 0o600),
    writesAreDurable: LOG_WRITES_ARE_DURABLE,
    reached,
    ...(options.lazyFlushMs !== undefined ? { lazyFlushMs: options.lazyFlushMs } : {}),
    ...(options.owner !== undefined ? { owner: options.owner } : {}),
    ...(options.mark !== undefined ? { mark: options.mark } : {}),
    ...(options.markEveryMs !== undefined ? { markEveryMs: options.markEveryMs } : {}),
    ...(options.preallocateBytes !== undefined ? { preallocateBytes: options.preallocateBytes } : {}),
    ...(options.log !== undefined ? { log: options.log } : {}),
  });
}

/** The planted bug "amnesia": a log whose header is gone (emptied, cut or damaged there) is started over, empty. */
async function plantedFreshStart(path: string, options: FileStorageOptions): Promise<void> {
  const { records } = decodeLog<unknown>(await readFile(path), path, { damageAsTorn: true });
  if (records.length > 0 && isLogHeader(records[0])) return;
  options.log?.(`PLANTED BUG amnesia: ${path} has no header record; starting it over as if it were new`);
  await writeWholeFile(path + TEMP_SUFFIX, encodeFrame(logHeader(0, options.owner)));
  await rename(path + TEMP_SUFFIX, path);
}

/**
 * The log's reach, once its header shows it is whole: its first record is a
 * header, of this owner, and header base plus records reach the mark. A
 * torn header cannot come from a crash (a log is created whole), so a log
 * without a valid one is damage like any other. The simulator's storage
 * faults (src/sim/disk-faults.ts) judge their damaged logs with it too.
 */
export function checkHeader(
  all: readonly unknown[],
  path: string,
  owner: LogOwner | undefined,
  mustReach: number | null,
): number {
  if (all.length === 0)
    throw new DataDamagedError(
      `${path} is empty (not even its header record is left; it was emptied or cut off)${forgot}`,
    );
  const header = all[0];
  if (!isLogHeader(header))
    throw new DataDamagedError(
      `${path} does not start with its header record (its start was cut off or overwritten, or an earlier paxos wrote it)${forgot}`,
    );
  if (
    owner !== undefined &&
    header.clusterId !== undefined &&
    (header.clusterId !== owner.clusterId || header.node !== owner.node)
  ) {
    throw new DataDamagedError(
      `${path} is node-${header.node ?? '?'}'s log of cluster ${header.clusterId}, not node-${owner.node}'s of cluster ${owner.clusterId} (its header says so)${forgot}`,
    );
  }
  const reached = header.base + all.length - 1;
  if (mustReach !== null && reached < mustReach) {
    throw new DataDamagedError(
      `${path} reaches only record ${reached}, but its high-water mark says it had reached record ${mustReach}: it was truncated, or rolled back to an earlier copy${forgot}`,
    );
  }
  return reached;
}

/** The snapshot file, whole: it was renamed into place only after it was durable, so a torn one is damage, not a crash. */
async function readSnapshot(dir: string): Promise<unknown[] | null> {
  const path = join(dir, SNAPSHOT_FILE_NAME);
  if (!existsSync(path)) return null;
  const { records, tornBytes, validBytes } = decodeLog<unknown>(await readFile(path), path);
  if (tornBytes > 0)
    throw new StorageCorruptError(
      `${path} is cut short at byte ${validBytes}; refusing to start so no acknowledged state is lost`,
    );
  return records;
}

function dirOf(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf('/'))) || '.';
}

/** Creates (or replaces) a file with `data` and makes its contents durable before returning. */
async function writeWholeFile(path: string, data: Buffer): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    for (let written = 0; written < data.length; ) {
      const { bytesWritten } = await handle.write(data, written);
      if (!(bytesWritten > 0)) throw new Error(`${path} took none of ${data.length - written} bytes`);
      written += bytesWritten;
    }
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
