/**
 * The on-disk record log of one replica, in a data directory of its own
 * (mode 0700, held by a lock file so two processes can never share one
 * acceptor's state). The frame format and the recovery policy are in
 * frame.ts; this file owns the directory, the file and group commit.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageCorruptError, StorageError, StorageFailedError } from './errors.js';
import { decodeLog, encodeFrame } from './frame.js';
import { acquireDirLock, type DirLock } from './lock.js';
import type { Checkpoint, RecordStorage, StorageStats } from './storage.js';

export { StorageCorruptError, StorageError, StorageFailedError, StorageLockedError } from './errors.js';
export { decodeLog, encodeFrame, FRAME_HEADER_BYTES, MAX_RECORD_BYTES } from './frame.js';

export const DEFAULT_LOG_FILE_NAME = 'wal.log';
/** The snapshot beside the log: frames, like the log, written whole to a temporary file and renamed into place. */
export const SNAPSHOT_FILE_NAME = 'snapshot';
const TEMP_SUFFIX = '.tmp';
/** How long lazily appended records wait for a strict append to ride along with. */
const LAZY_FLUSH_MS = 50;

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
  /** The directory's lock, when the caller took it earlier (a replica takes it before it bumps its incarnation); released on close. */
  readonly lock?: DirLock;
}

/** What the log needs of an open file (a FileHandle opened for append); tests pass a failing one. */
export interface LogFile {
  write(data: Buffer): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  close(): Promise<void>;
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
  /** Size of the valid log the file holds already. */
  readonly sizeBytes: number;
  readonly releaseLock: () => void;
}

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
  readonly snapshotFrames: readonly Buffer[];
  readonly recordFrames: readonly Buffer[];
  readonly waiters: Waiter[];
}

type Op = Batch | CheckpointOp;

export class FileStorage<R> implements RecordStorage<R> {
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

  constructor(parts: FileStorageParts<R>) {
    this.recovered = parts.recovered;
    this.recoveredSnapshot = parts.recoveredSnapshot ?? null;
    this.path = parts.path;
    this.file = parts.file;
    this.reopen = parts.reopen ?? null;
    this.releaseLock = parts.releaseLock;
    this.lazyFlushMs = parts.lazyFlushMs === undefined ? LAZY_FLUSH_MS : parts.lazyFlushMs;
    this.counts = { records: parts.recovered.length, bytes: parts.sizeBytes, fsyncs: 0, appends: 0, checkpoints: 0 };
  }

  private tailBatch(): Batch {
    const last = this.queue[this.queue.length - 1];
    if (last !== undefined && last.kind === 'batch') return last;
    const batch: Batch = { kind: 'batch', frames: [], waiters: [] };
    this.queue.push(batch);
    return batch;
  }

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

  checkpoint(c: Checkpoint<R>): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    if (this.reopen === null) return Promise.reject(new Error(`storage ${this.path} cannot reopen its log, so it cannot compact it`));
    let op: Omit<CheckpointOp, 'waiters'>;
    try {
      op = { kind: 'checkpoint', snapshotFrames: c.snapshot.map(encodeFrame), recordFrames: c.records.map(encodeFrame) };
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
    while (this.failure === null && this.queue.length > 0) {
      const op = this.queue[0]!;
      // A batch of lazy records alone, with nothing behind it, waits for a write to ride along with (or its timer).
      if (op.kind === 'batch' && op.waiters.length === 0 && !writeLazy && this.queue.length === 1) break;
      writeLazy = false;
      this.queue.shift();
      try {
        if (op.kind === 'batch') await this.writeDurably(op.frames);
        else await this.rewrite(op);
      } catch (err) {
        this.fail(err, op);
        break;
      }
      for (const waiter of op.waiters) waiter.resolve();
    }
    this.flushing = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
    if (this.failure === null && this.queue.length > 0) this.armLazyTimer();
  }

  /**
   * A checkpoint, in an order where a crash at any point leaves a state the
   * replica can recover from: the new snapshot is made durable and renamed
   * into place (and the directory synced, so that rename cannot be lost while
   * the next one survives), then the new log likewise. Between the two the
   * new snapshot sits beside the old, complete log, and recovery drops the
   * log entries the snapshot covers.
   */
  private async rewrite(op: CheckpointOp): Promise<void> {
    const dir = dirOf(this.path);
    await writeWholeFile(join(dir, SNAPSHOT_FILE_NAME + TEMP_SUFFIX), Buffer.concat(op.snapshotFrames));
    await rename(join(dir, SNAPSHOT_FILE_NAME + TEMP_SUFFIX), join(dir, SNAPSHOT_FILE_NAME));
    await syncDir(dir);
    const log = Buffer.concat(op.recordFrames);
    await writeWholeFile(this.path + TEMP_SUFFIX, log);
    await rename(this.path + TEMP_SUFFIX, this.path);
    await syncDir(dir);
    await this.file.close();
    this.file = await this.reopen!();
    this.counts.fsyncs += 2;
    this.counts.checkpoints++;
    this.counts.bytes = log.length;
    this.counts.records = op.recordFrames.length;
  }

  private async writeDurably(frames: readonly Buffer[]): Promise<void> {
    if (frames.length === 0) return;
    const data = Buffer.concat(frames);
    await this.writeFully(data);
    await this.file.datasync();
    this.counts.fsyncs++;
    this.counts.bytes += data.length;
    this.counts.records += frames.length;
  }

  /** write() may take fewer bytes than offered; the file is in append mode, so the rest follows on. */
  private async writeFully(data: Buffer): Promise<void> {
    // Each pass writes at least one byte or throws, so the loop is bounded by data.length.
    for (let written = 0; written < data.length; ) {
      const { bytesWritten } = await this.file.write(data.subarray(written));
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
    const waiters = [...failed.waiters, ...this.queue.flatMap((op) => op.waiters)];
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

  private idle(): Promise<void> {
    return this.flushing ? new Promise((resolve) => this.idleWaiters.push(resolve)) : Promise.resolve();
  }

  private async shutDown(): Promise<void> {
    if (this.lazyTimer !== null) clearTimeout(this.lazyTimer);
    this.lazyTimer = null;
    const failedBefore = this.failure;
    try {
      await this.idle();
      if (this.failure === null && this.queue.length > 0) this.startFlush(true);
      await this.idle();
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

/** Opens (creating if needed) the log in `dir`, recovering what it holds; see frame.ts for the policy. */
export async function openFileStorage<R>(options: FileStorageOptions): Promise<FileStorage<R>> {
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

async function openLog<R>(options: FileStorageOptions, releaseLock: () => void): Promise<FileStorage<R>> {
  const path = join(options.dir, options.fileName ?? DEFAULT_LOG_FILE_NAME);
  // A temporary file is a checkpoint that a crash cut short: the files it was to replace are still whole.
  await rm(path + TEMP_SUFFIX, { force: true });
  await rm(join(options.dir, SNAPSHOT_FILE_NAME + TEMP_SUFFIX), { force: true });
  const recoveredSnapshot = await readSnapshot(options.dir);
  const created = !existsSync(path);
  const { records, validBytes, tornBytes } = decodeLog<R>(created ? Buffer.alloc(0) : await readFile(path), path);
  const file = await open(path, 'a', 0o600);
  try {
    if (tornBytes > 0) {
      await file.truncate(validBytes);
      await file.datasync();
      options.log?.(`cut off a torn final record of ${tornBytes} bytes at byte ${validBytes} of ${path} (a crash mid-write; it was never acknowledged)`);
    }
    // A new file's name lives in the directory: fsync that too, or a power loss could lose the whole log.
    if (created) await syncDir(options.dir);
  } catch (err) {
    await file.close();
    throw err;
  }
  return new FileStorage<R>({ recovered: records, recoveredSnapshot, file, path, sizeBytes: validBytes, releaseLock, reopen: () => open(path, 'a', 0o600), ...(options.lazyFlushMs !== undefined ? { lazyFlushMs: options.lazyFlushMs } : {}) });
}

/** The snapshot file, whole: it was renamed into place only after it was durable, so a torn one is damage, not a crash. */
async function readSnapshot(dir: string): Promise<unknown[] | null> {
  const path = join(dir, SNAPSHOT_FILE_NAME);
  if (!existsSync(path)) return null;
  const { records, tornBytes, validBytes } = decodeLog<unknown>(await readFile(path), path);
  if (tornBytes > 0) throw new StorageCorruptError(`${path} is cut short at byte ${validBytes}; refusing to start so no acknowledged state is lost`);
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
