/**
 * The on-disk record log of one replica, in a data directory of its own
 * (mode 0700, held by a lock file so two processes can never share one
 * acceptor's state). The frame format and the recovery policy are in
 * frame.ts; this file owns the directory, the file and group commit.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError, StorageFailedError } from './errors.js';
import { decodeLog, encodeFrame } from './frame.js';
import { acquireDirLock } from './lock.js';
import type { RecordStorage, StorageStats } from './storage.js';

export { StorageCorruptError, StorageError, StorageFailedError, StorageLockedError } from './errors.js';
export { decodeLog, encodeFrame, FRAME_HEADER_BYTES, MAX_RECORD_BYTES } from './frame.js';

export const DEFAULT_LOG_FILE_NAME = 'wal.log';
/** How long lazily appended records wait for a strict append to ride along with. */
const LAZY_FLUSH_MS = 50;

export interface FileStorageOptions {
  readonly dir: string;
  /** The log's name inside `dir`; `wal.log` unless told. */
  readonly fileName?: string;
  /** Receives one line per notable recovery step (a torn tail cut off). */
  readonly log?: (line: string) => void;
}

/** What the log needs of an open file (a FileHandle opened for append); tests pass a failing one. */
export interface LogFile {
  write(data: Buffer): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export interface FileStorageParts<R> {
  readonly recovered: readonly R[];
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
  frames: Buffer[];
  waiters: Waiter[];
}

export class FileStorage<R> implements RecordStorage<R> {
  readonly recovered: readonly R[];
  readonly path: string;
  private readonly file: LogFile;
  private readonly releaseLock: () => void;
  private pending: Batch = { frames: [], waiters: [] };
  private flushing = false;
  private idleWaiters: (() => void)[] = [];
  private lazyTimer: NodeJS.Timeout | null = null;
  private failure: StorageFailedError | null = null;
  private closing: Promise<void> | null = null;
  private counts: { records: number; bytes: number; fsyncs: number; appends: number };

  constructor(parts: FileStorageParts<R>) {
    this.recovered = parts.recovered;
    this.path = parts.path;
    this.file = parts.file;
    this.releaseLock = parts.releaseLock;
    this.counts = { records: parts.recovered.length, bytes: parts.sizeBytes, fsyncs: 0, appends: 0 };
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
      for (const frame of frames) this.pending.frames.push(frame);
      this.pending.waiters.push({ resolve, reject });
      this.startFlush(false);
    });
  }

  appendLazy(records: readonly R[]): void {
    if (this.refusal() !== null) return;
    const frames = records.map(encodeFrame);
    for (const frame of frames) this.pending.frames.push(frame);
    if (!this.flushing) this.armLazyTimer();
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
    while (this.failure === null && (this.pending.waiters.length > 0 || (writeLazy && this.pending.frames.length > 0))) {
      writeLazy = false;
      const batch = this.pending;
      this.pending = { frames: [], waiters: [] };
      try {
        await this.writeDurably(batch.frames);
      } catch (err) {
        this.fail(err, batch);
        break;
      }
      for (const waiter of batch.waiters) waiter.resolve();
    }
    this.flushing = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
    if (this.failure === null && this.pending.frames.length > 0) this.armLazyTimer();
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
  private fail(err: unknown, batch: Batch): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.failure = new StorageFailedError(`cannot make records durable in ${this.path}: ${reason}`);
    const waiters = [...batch.waiters, ...this.pending.waiters];
    this.pending = { frames: [], waiters: [] };
    for (const waiter of waiters) waiter.reject(this.failure);
  }

  private armLazyTimer(): void {
    if (this.lazyTimer !== null || this.closing !== null) return;
    this.lazyTimer = setTimeout(() => {
      this.lazyTimer = null;
      if (this.pending.frames.length > 0) this.startFlush(true);
    }, LAZY_FLUSH_MS);
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
      if (this.failure === null && this.pending.frames.length > 0) this.startFlush(true);
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
  const lock = acquireDirLock(options.dir);
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
  return new FileStorage<R>({ recovered: records, file, path, sizeBytes: validBytes, releaseLock });
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
