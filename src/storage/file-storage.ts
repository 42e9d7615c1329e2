/**
 * The on-disk record log of one replica, in a data directory of its own
 * (mode 0700, held by a lock file so two processes can never share one
 * acceptor's state).
 *
 * A record is a frame: [u32 LE payload length][u32 LE crc32 of payload]
 * [u32 LE crc32 of those 8 bytes][payload, UTF-8 JSON]. The length has its own
 * checksum because a damaged length could otherwise make every record after
 * it look like a torn tail, and recovery would drop acknowledged records.
 *
 * Recovery policy, so that nothing acknowledged is ever lost silently:
 * - A final frame that is incomplete (the file ends inside its header or
 *   payload) is a torn write from a crash. A process killed with SIGKILL can
 *   only leave such a short tail: the kernel keeps every write() that
 *   completed. It was never fsynced, so never acknowledged: it is cut off.
 * - A final frame that is complete but fails its checksum may be an
 *   acknowledged record damaged on disk, unless it is zero-filled from some
 *   point on (a file extended but never written). Zero-filled: cut off.
 *   Otherwise: refuse to start.
 * - Any bad frame before the last one: refuse to start.
 * Refusing throws StorageCorruptError naming the file and the byte offset.
 */
import { closeSync, constants, mkdirSync, chmodSync, openSync, readFileSync, writeSync, unlinkSync, existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { RecordStorage, StorageStats } from './storage.js';

export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
const HEADER_BYTES = 12;
/** How long lazily appended records wait for a strict append to ride along with. */
const LAZY_FLUSH_MS = 50;

export class StorageCorruptError extends Error {
  override readonly name = 'StorageCorruptError';
}

export class StorageLockedError extends Error {
  override readonly name = 'StorageLockedError';
}

export interface FileStorageOptions {
  readonly dir: string;
  readonly fileName?: string;
  readonly log?: (line: string) => void;
}

export function encodeFrame(record: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  if (payload.length > MAX_RECORD_BYTES) throw new Error(`a record of ${payload.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte limit`);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  frame.writeUInt32LE(crc32(frame.subarray(0, 8)), 8);
  payload.copy(frame, HEADER_BYTES);
  return frame;
}

/** Parses a whole log; returns the records and the length of the valid prefix. */
export function decodeLog<R>(buf: Buffer, file: string): { records: R[]; validBytes: number; tornBytes: number } {
  const records: R[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const rest = buf.length - offset;
    if (rest < HEADER_BYTES) return { records, validBytes: offset, tornBytes: rest };
    if (crc32(buf.subarray(offset, offset + 8)) !== buf.readUInt32LE(offset + 8)) {
      if (allZeroFrom(buf, offset)) return { records, validBytes: offset, tornBytes: rest };
      return damaged(buf, file, offset, 'header checksum mismatch', records);
    }
    const length = buf.readUInt32LE(offset);
    const sum = buf.readUInt32LE(offset + 4);
    const end = offset + HEADER_BYTES + length;
    if (length > MAX_RECORD_BYTES) return damaged(buf, file, offset, 'impossible record length', records);
    if (end > buf.length) return { records, validBytes: offset, tornBytes: rest };
    const payload = buf.subarray(offset + HEADER_BYTES, end);
    if (crc32(payload) !== sum) {
      if (end === buf.length && unwrittenTail(buf, offset)) return { records, validBytes: offset, tornBytes: rest };
      return damaged(buf, file, offset, 'checksum mismatch', records);
    }
    try {
      records.push(JSON.parse(payload.toString('utf8')) as R);
    } catch {
      return damaged(buf, file, offset, 'unreadable record', records);
    }
    offset = end;
  }
  return { records, validBytes: offset, tornBytes: 0 };
}

/** A damaged length field in the last frame could also make it look torn; any other frame damage is fatal. */
function damaged<R>(buf: Buffer, file: string, offset: number, what: string, records: R[]): never {
  void buf;
  void records;
  throw new StorageCorruptError(`${file} is damaged at byte ${offset} (${what}); refusing to start so no acknowledged state is lost`);
}

/** True when every byte from `from` to the end of the file is zero: space the file got but never written. */
function allZeroFrom(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return from < buf.length;
}

/**
 * True when a complete final frame's payload ends in zero bytes. A JSON
 * payload never ends in a zero byte, so its tail was never written.
 */
function unwrittenTail(buf: Buffer, offset: number): boolean {
  return buf.length > offset + HEADER_BYTES && buf[buf.length - 1] === 0;
}

export class FileStorage<R> implements RecordStorage<R> {
  private pending: { frames: Buffer[]; waiters: { resolve: () => void; reject: (e: Error) => void }[] } = { frames: [], waiters: [] };
  private flushing = false;
  private lazyTimer: NodeJS.Timeout | null = null;
  private failure: Error | null = null;
  private closed = false;
  private counts = { records: 0, bytes: 0, fsyncs: 0, appends: 0 };

  constructor(
    readonly recovered: readonly R[],
    private readonly handle: FileHandle,
    private readonly lockFile: string,
    bytes: number,
  ) {
    this.counts.records = recovered.length;
    this.counts.bytes = bytes;
  }

  appendLazy(records: readonly R[]): void {
    if (this.closed || this.failure !== null) return;
    for (const r of records) this.pending.frames.push(encodeFrame(r));
    if (!this.flushing) this.armLazyTimer();
  }

  append(records: readonly R[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('storage is closed'));
    if (this.failure !== null) return Promise.reject(this.failure);
    this.counts.appends++;
    return new Promise((resolve, reject) => {
      for (const r of records) this.pending.frames.push(encodeFrame(r));
      this.pending.waiters.push({ resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** One write and one fdatasync for everything that queued up while the previous one ran. */
  /** `lazyToo`: also write a batch that only holds lazy records (the idle timer's job). */
  private async flush(lazyToo = false): Promise<void> {
    this.flushing = true;
    for (let first = lazyToo; this.pending.waiters.length > 0 || (first && this.pending.frames.length > 0); first = false) {
      const batch = this.pending;
      this.pending = { frames: [], waiters: [] };
      try {
        if (batch.frames.length > 0) {
          const data = Buffer.concat(batch.frames);
          await this.handle.write(data);
          await this.handle.datasync();
          this.counts.fsyncs++;
          this.counts.bytes += data.length;
          this.counts.records += batch.frames.length;
        }
        for (const w of batch.waiters) w.resolve();
      } catch (err) {
        this.failure = new Error(`cannot make records durable: ${(err as Error).message}`);
        for (const w of [...batch.waiters, ...this.pending.waiters]) w.reject(this.failure);
        this.pending = { frames: [], waiters: [] };
        break;
      }
    }
    this.flushing = false;
    if (this.pending.frames.length > 0) this.armLazyTimer();
  }

  private armLazyTimer(): void {
    if (this.lazyTimer !== null || this.closed) return;
    this.lazyTimer = setTimeout(() => {
      this.lazyTimer = null;
      if (!this.flushing && this.pending.frames.length > 0) void this.flush(true);
    }, LAZY_FLUSH_MS);
    this.lazyTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.lazyTimer !== null) clearTimeout(this.lazyTimer);
    while (this.flushing) await new Promise((resolve) => setImmediate(resolve));
    if (this.pending.frames.length > 0) await this.flush(true);
    while (this.flushing) await new Promise((resolve) => setImmediate(resolve));
    this.closed = true;
    await this.handle.close();
    try {
      unlinkSync(this.lockFile);
    } catch {
      // Someone removed it already; the lock is released either way.
    }
  }

  stats(): StorageStats {
    return { ...this.counts };
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory's lock, taking over a lock whose process is gone. */
function lock(dir: string): string {
  const file = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new StorageLockedError(`data directory ${dir} is in use by process ${holder}`);
      }
      unlinkSync(file);
    }
  }
  throw new StorageLockedError(`could not lock data directory ${dir}`);
}

export async function openFileStorage<R>(options: FileStorageOptions): Promise<FileStorage<R>> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  chmodSync(options.dir, 0o700);
  const lockFile = lock(options.dir);
  try {
    const file = join(options.dir, options.fileName ?? 'wal.log');
    const buf = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
    const { records, validBytes, tornBytes } = decodeLog<R>(buf, file);
    const handle = await open(file, 'a+', 0o600);
    if (tornBytes > 0) {
      await handle.truncate(validBytes);
      await handle.datasync();
      options.log?.(`dropped a torn final record of ${tornBytes} bytes at byte ${validBytes} of ${file} (a crash mid-write; it was never acknowledged)`);
    }
    return new FileStorage(records, handle, lockFile, validBytes);
  } catch (err) {
    unlinkSync(lockFile);
    throw err;
  }
}
