/**
 * Bounded log files. A replica's log (and the orchestrator's) is written
 * through a rotating writer: when the current file would pass its size limit
 * it is renamed `<file>.1`, older ones shift to `.2` and on, the oldest is
 * deleted, and a new file is started. The reader reads across those names, so
 * `paxos logs` can print a tail that spans a rotation and keep following the
 * log through one.
 *
 * The rotating files of one log: `<file>` (newest), `<file>.1`, …,
 * `<file>.<keepFiles>` (oldest). At most keepFiles + 1 files exist, each at
 * most maxBytes long, except that a line is kept whole in one file up to
 * twice maxBytes (see `bytesBeforeRotation`).
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  write,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { must } from '../core/must.js';
import { OperatingError } from '../errors.js';
import { ensurePrivateDir, fileSystemError } from './home.js';

/** With the default keepFiles, four files of this size: a replica's log takes at most 32 MiB of disk. */
export const DEFAULT_LOG_MAX_BYTES = 8 * 1024 * 1024;
export const DEFAULT_LOG_KEEP_FILES = 3;
/** How much written text may wait for the disk before new writes are dropped (and counted) instead of queued. */
export const DEFAULT_LOG_MAX_QUEUED_BYTES = 1024 * 1024;
/**
 * The most rotated files the reader looks for. It does not know the
 * writer's keepFiles (they run in different processes), so it probes names
 * up to this bound.
 */
const MAX_ROTATED_FILES = 64;
const NEWLINE = 0x0a;

export interface RotatingLogOptions {
  readonly file: string;
  /** The size at which the current file is rotated; PAXOS_LOG_MAX_BYTES, else DEFAULT_LOG_MAX_BYTES. */
  readonly maxBytes?: number;
  /** How many rotated files (`.1` … `.keepFiles`) are kept besides the current one; PAXOS_LOG_KEEP_FILES, else DEFAULT_LOG_KEEP_FILES. */
  readonly keepFiles?: number;
  readonly maxQueuedBytes?: number;
}

export interface RotatingLog {
  /** Queues `chunk` for the file and returns at once; drops it (and says so later in the file) if too much is already waiting. */
  write(chunk: string | Buffer): void;
  /** Resolves once everything written before the call is in the file. */
  flush(): Promise<void>;
  /** Writes what is queued, closes the file and ignores later writes. */
  close(): Promise<void>;
  /** Bytes dropped so far because the disk fell behind. */
  readonly droppedBytes: number;
}

/** Opens (creating it and its directory if needed) a log file that rotates at maxBytes and keeps keepFiles old files. */
export function openRotatingLog(opts: RotatingLogOptions): RotatingLog {
  return new RotatingLogWriter(
    opts.file,
    opts.maxBytes ?? envCount('PAXOS_LOG_MAX_BYTES', DEFAULT_LOG_MAX_BYTES),
    opts.keepFiles ?? envCount('PAXOS_LOG_KEEP_FILES', DEFAULT_LOG_KEEP_FILES),
    opts.maxQueuedBytes ?? DEFAULT_LOG_MAX_QUEUED_BYTES,
  );
}

function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new OperatingError(`${name} must be a whole number of at least 1, not "${raw}"`);
  return n;
}

class RotatingLogWriter implements RotatingLog {
  private fd: number;
  private size: number;
  private atLineStart: boolean;
  /** Whether the last text accepted (queued, in flight or written) ended a line: a drop note must start on a line of its own. */
  private acceptedEndsLine: boolean;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private droppedWrites = 0;
  private unreportedDroppedBytes = 0;
  private totalDroppedBytes = 0;
  private draining: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly keepFiles: number,
    private readonly maxQueuedBytes: number,
  ) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
      throw new OperatingError(`a log's maxBytes must be a whole number of at least 1, not ${maxBytes}`);
    if (!Number.isSafeInteger(keepFiles) || keepFiles < 1 || keepFiles > MAX_ROTATED_FILES) {
      throw new OperatingError(
        `a log's keepFiles must be a whole number from 1 to ${MAX_ROTATED_FILES}, not ${keepFiles}`,
      );
    }
    ensurePrivateDir(dirname(file));
    this.fd = openPrivateLog(file);
    this.size = fstatSync(this.fd).size;
    this.atLineStart = this.size === 0 || lastByte(this.fd, this.size) === NEWLINE;
    this.acceptedEndsLine = this.atLineStart;
  }

  get droppedBytes(): number {
    return this.totalDroppedBytes;
  }

  write(chunk: string | Buffer): void {
    if (this.closed) return;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (buf.length === 0) return;
    // An empty queue takes any chunk, so one larger than the bound is not dropped for its size alone; the caller holds it in memory anyway.
    if (this.queuedBytes > 0 && this.queuedBytes + buf.length > this.maxQueuedBytes) {
      this.droppedWrites++;
      this.unreportedDroppedBytes += buf.length;
      this.totalDroppedBytes += buf.length;
      return;
    }
    // The note goes where the gap is, so a reader sees which lines are missing; it may take the queue a line past its bound.
    if (this.droppedWrites > 0) this.enqueue(this.dropNote());
    this.enqueue(buf);
  }

  private enqueue(buf: Buffer): void {
    this.queue.push(buf);
    this.queuedBytes += buf.length;
    this.acceptedEndsLine = buf[buf.length - 1] === NEWLINE;
    this.startDrain();
  }

  /** Starts writing the queue out unless that is already going on; a chunk queued just as a drain ends starts the next one. */
  private startDrain(): void {
    if (this.draining !== null) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.queue.length > 0) this.startDrain();
    });
  }

  private dropNote(): Buffer {
    const note = `${new Date().toISOString()} paxos: the log dropped ${this.unreportedDroppedBytes} bytes in ${this.droppedWrites} writes here because they came faster than the disk took them\n`;
    this.droppedWrites = 0;
    this.unreportedDroppedBytes = 0;
    return Buffer.from(`${this.acceptedEndsLine ? '' : '\n'}${note}`);
  }

  async flush(): Promise<void> {
    // Each drain writes out at most maxQueuedBytes queued while it ran, so this ends once writes stop outpacing the disk; the bound only guards against a writer that never stops.
    for (let round = 0; this.draining !== null && round < 10_000; round++) await this.draining;
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.flush()
      .then(() => {
        if (this.droppedWrites > 0) return this.writeFinalNote();
      })
      .finally(() => closeSync(this.fd));
    return this.closing;
  }

  private async writeFinalNote(): Promise<void> {
    await this.writeChunk(this.dropNote());
  }

  private async drain(): Promise<void> {
    // The queue is bounded by maxQueuedBytes, so this ends once the disk has taken what was queued.
    for (let buf = this.queue.shift(); buf !== undefined; buf = this.queue.shift()) {
      this.queuedBytes -= buf.length;
      try {
        await this.writeChunk(buf);
      } catch {
        // A rotation that failed (a rename refused) loses this chunk only; the writer carries on with the file it reopened.
      }
    }
  }

  /** Writes `buf`, rotating the file where its size limit falls; every round writes at least one byte or empties the file, so it ends. */
  private async writeChunk(buf: Buffer): Promise<void> {
    let rest = buf;
    while (rest.length > 0) {
      const n = this.bytesBeforeRotation(rest);
      if (n === 0) {
        this.rotate();
        continue;
      }
      await this.append(rest.subarray(0, n));
      rest = rest.subarray(n);
    }
  }

  /**
   * How many of `buf`'s leading bytes go into the current file; 0 means
   * rotate first. Rotation happens at a line boundary: as many whole lines
   * as fit are written, then the file is rotated. A line is never split to
   * keep a file under maxBytes, because a reader would then see it as two;
   * only a line that would take the file past twice maxBytes is cut, so that
   * a process writing without newlines cannot grow one file without bound.
   */
  private bytesBeforeRotation(buf: Buffer): number {
    const room = this.maxBytes - this.size;
    if (buf.length <= room) return buf.length;
    const lastNewline = room > 0 ? buf.lastIndexOf(NEWLINE, room - 1) : -1;
    if (lastNewline >= 0) return lastNewline + 1;
    if (this.atLineStart && this.size > 0) return 0;
    const hardRoom = 2 * this.maxBytes - this.size;
    if (hardRoom <= 0) return 0;
    const firstNewline = buf.indexOf(NEWLINE);
    return Math.min(firstNewline < 0 ? buf.length : firstNewline + 1, hardRoom);
  }

  private append(buf: Buffer): Promise<void> {
    return new Promise((resolve) => {
      write(this.fd, buf, 0, buf.length, null, (err, written) => {
        // A failed write (a full disk) loses only this text; the orchestrator must keep running, and the next write may succeed.
        if (err === null) {
          this.size += written;
          if (written > 0) this.atLineStart = buf[written - 1] === NEWLINE;
          unwritten.delete(this.file);
        } else {
          rememberUnwritten(this.file, buf);
        }
        resolve();
      });
    });
  }

  /** Shifts `.1` … to `.2` …, deleting the oldest, renames the current file to `.1` and starts a new one. */
  private rotate(): void {
    closeSync(this.fd);
    try {
      rmSync(rotatedName(this.file, this.keepFiles), { force: true });
      for (let i = this.keepFiles - 1; i >= 1; i--)
        renameIfPresent(rotatedName(this.file, i), rotatedName(this.file, i + 1));
      renameIfPresent(this.file, rotatedName(this.file, 1));
    } finally {
      this.fd = openPrivateLog(this.file);
    }
    this.size = fstatSync(this.fd).size;
    this.atLineStart = true;
  }
}

/**
 * Per log file, the last line this process could not write to it. A replica
 * that stops on a full disk says so on stderr, and that sentence is exactly
 * what the full disk keeps out of its log; lastLine reports it from here.
 */
const unwritten = new Map<string, string>();

function rememberUnwritten(file: string, buf: Buffer): void {
  const line = buf
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .pop();
  if (line !== undefined) unwritten.set(file, line);
}

/** The last line this process failed to write to `file`, if its latest write failed. */
export function unwrittenLastLine(file: string): string | undefined {
  return unwritten.get(file);
}

/**
 * Opens a log for appending without following a link at its name, creating
 * it readable by its owner only (logs quote the commands and values a cluster
 * saw); a log an older paxos left readable by others is made private.
 */
export function openPrivateLog(file: string): number {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    const e = fileSystemError(err, file, 'open');
    throw e instanceof OperatingError
      ? e
      : new OperatingError(`cannot open the log file ${file}: ${(err as Error).message}`);
  }
  if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  return fd;
}

export function rotatedName(file: string, index: number): string {
  return index === 0 ? file : `${file}.${index}`;
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function lastByte(fd: number, size: number): number {
  const one = Buffer.alloc(1);
  readSync(fd, one, 0, 1, size - 1);
  return one[0];
}

/**
 * Copies everything `stream` yields into `log`. Several streams may share one
 * log (a process's stdout and stderr); their text interleaves chunk by chunk.
 * When the stream ends mid-line a newline is added, so that the next
 * process's first line does not continue the last one of this.
 */
export function pipeToRotatingLog(stream: Readable | null | undefined, log: RotatingLog): void {
  if (stream === null || stream === undefined) return;
  let endsLine = true;
  stream.on('data', (chunk: Buffer | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (buf.length === 0) return;
    endsLine = buf[buf.length - 1] === NEWLINE;
    log.write(buf);
  });
  stream.once('end', () => {
    if (!endsLine) log.write('\n');
  });
  // Without a listener an error on a child's pipe would crash the process that holds the log.
  stream.on('error', (err) =>
    log.write(
      `${endsLine ? '' : '\n'}${new Date().toISOString()} paxos: reading this log's output failed: ${err.message}\n`,
    ),
  );
}

/**
 * The rotating logs of one process, one writer per file however often it is
 * asked for: a restarted replica appends to the log its earlier process
 * wrote, through the same writer, so the size stays counted in one place.
 */
export class RotatingLogs {
  private readonly logs = new Map<string, RotatingLog>();

  constructor(private readonly defaults: Omit<RotatingLogOptions, 'file'> = {}) {}

  open(file: string): RotatingLog {
    let log = this.logs.get(file);
    if (log === undefined) {
      log = openRotatingLog({ ...this.defaults, file });
      this.logs.set(file, log);
    }
    return log;
  }

  async closeAll(): Promise<void> {
    const logs = [...this.logs.values()];
    this.logs.clear();
    await Promise.allSettled(logs.map((l) => l.close()));
  }
}

// ------------------------------------------------------------------ reading

/** A place in a log: a byte offset in the file with this inode, whatever name that file has now. */
export interface LogPosition {
  readonly ino: number;
  readonly offset: number;
}

interface ChainFile {
  readonly path: string;
  readonly ino: number;
  readonly size: number;
}

/**
 * The log's files that exist, newest first, each once. The reader does not
 * stop at the first missing name: while the writer shifts the names one of
 * them is briefly missing. A file seen under two names was renamed while
 * this looked, so it looks again (a few times at most).
 */
function logChain(file: string): ChainFile[] {
  let chain: ChainFile[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    chain = [];
    let missingInARow = 0;
    let duplicate = false;
    for (let i = 0; i <= MAX_ROTATED_FILES && missingInARow < 2; i++) {
      const path = rotatedName(file, i);
      // lstat, and a link counts as absent: the reader never reads through a link planted at a log's name.
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (st === undefined || !st.isFile()) {
        missingInARow++;
        continue;
      }
      missingInARow = 0;
      if (chain.some((f) => f.ino === st.ino)) duplicate = true;
      else chain.push({ path, ino: st.ino, size: st.size });
    }
    if (!duplicate) return chain;
  }
  return chain;
}

/** The bytes of `path` from `from` up to `to`, or null if `path` is no longer the file with inode `ino`. */
function readFileRange(path: string, ino: number, from: number, to: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (st.ino !== ino) return null;
    const end = Math.min(to, st.size);
    const buf = Buffer.alloc(Math.max(0, end - from));
    let done = 0;
    // Each read returns at least one byte until the end, which is at most st.size away, so this ends.
    while (done < buf.length) {
      const n = readSync(fd, buf, done, buf.length - done, from + done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

export interface LogTail {
  /** The last complete lines, each ending in a newline. */
  readonly text: string;
  /** A line still being written at the end of the log, without its newline ('' if none). */
  readonly partial: string;
  /** Just after the last complete line: where following the log continues. Null if the log has no file. */
  readonly end: LogPosition | null;
}

const TAIL_BLOCK_BYTES = 64 * 1024;

/**
 * The last `lines` complete lines of a log, across its rotated files: if the
 * current file holds fewer, the rest come from `.1`, then `.2`, and so on.
 * It reads backwards block by block, so a short tail of a long log reads
 * little. A rotation while it reads is detected and the read repeated.
 */
export function readLogTail(opts: { readonly file: string; readonly lines: number }): LogTail {
  // A rotation between finding the files and reading them makes one read fail; the next finds the files where they now are.
  for (let attempt = 0; attempt < 5; attempt++) {
    const tail = tryReadLogTail(opts.file, opts.lines);
    if (tail !== null) return tail;
  }
  throw new OperatingError(`${opts.file} kept rotating while it was read; try again`);
}

function tryReadLogTail(file: string, lines: number): LogTail | null {
  const chain = logChain(file);
  // Usually the current file; if it is missing (just rotated away, or deleted), the newest file there is.
  const newest = chain[0];
  if (newest === undefined) return { text: '', partial: '', end: null };
  const parts: Buffer[] = [];
  let newlines = 0;
  let partial = '';
  let end: LogPosition | null = null;
  for (let i = 0; i < chain.length && newlines <= lines; i++) {
    const f = chain[i];
    let read = readBackwards(f, f.size, lines + 1 - newlines);
    if (read === null) return null;
    if (i === 0) {
      // A line still being written is kept apart: it is not one of the complete lines, and following starts before it.
      const completeEnd = read.lastIndexOf(NEWLINE) + 1;
      partial = read.subarray(completeEnd).toString('utf8');
      end = { ino: f.ino, offset: f.size - read.length + completeEnd };
      read = read.subarray(0, completeEnd);
    } else if (read.length > 0 && read[read.length - 1] !== NEWLINE) {
      // A file cut mid-line by a forced rotation still ends a line for the reader.
      read = Buffer.concat([read, Buffer.from('\n')]);
    }
    parts.unshift(read);
    newlines += countNewlines(read);
  }
  return { text: lastLines(Buffer.concat(parts), lines), partial, end };
}

/** The end of `f` (its first `size` bytes) back to where it holds `wanted` newlines, or all of it; null if it was renamed away. */
function readBackwards(f: ChainFile, size: number, wanted: number): Buffer | null {
  const blocks: Buffer[] = [];
  let start = size;
  let newlines = 0;
  // Each round moves `start` back by a block, so this ends at the start of the file.
  while (start > 0 && newlines < wanted) {
    const from = Math.max(0, start - TAIL_BLOCK_BYTES);
    const block = readFileRange(f.path, f.ino, from, start);
    if (block === null || block.length !== start - from) return null;
    blocks.unshift(block);
    newlines += countNewlines(block);
    start = from;
  }
  return Buffer.concat(blocks);
}

function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(NEWLINE); i >= 0; i = buf.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/** The last `lines` newline-terminated lines of `buf`, which ends with a newline (or is empty). */
function lastLines(buf: Buffer, lines: number): string {
  let start = buf.length;
  // Each round moves `start` back to the beginning of one more line, so this ends after `lines` rounds or at the start of `buf`.
  for (let n = 0; n < lines && start > 0; n++) {
    const previousNewline = start - 1;
    start = previousNewline === 0 ? 0 : buf.lastIndexOf(NEWLINE, previousNewline - 1) + 1;
  }
  return buf.subarray(start).toString('utf8');
}

/** How much one poll reads at most, so that a follower that fell far behind catches up in steps rather than in one huge string. */
const DEFAULT_FOLLOW_READ_BYTES = 1024 * 1024;
/**
 * How many polls in a row may fail to find the followed file before the
 * follower decides it was deleted (rotated out of keepFiles between two
 * polls) and goes on from the oldest file there is. One miss is usually a
 * rotation in progress.
 */
const MISSES_BEFORE_RESYNC = 5;

/**
 * Follows a log from a position across rotations. Each `poll` returns the
 * complete lines added since the last one. The position names the file by
 * its inode, so when the log rotates the follower finds that file under its
 * new name (`.1`), reads the rest of it, then every newer file from its
 * start: nothing is printed twice and nothing that was written is skipped.
 * A file that shrank in place (truncated) is read again from its start.
 */
export class LogFollower {
  private position: LogPosition | null;
  private misses = 0;

  constructor(
    private readonly file: string,
    from: LogPosition | null,
    private readonly maxReadBytes = DEFAULT_FOLLOW_READ_BYTES,
  ) {
    this.position = from;
  }

  poll(): string {
    const chain = logChain(this.file);
    if (chain.length === 0) return '';
    const at = this.locate(chain);
    if (at === null) return '';
    const out: Buffer[] = [];
    let budget = this.maxReadBytes;
    // Oldest to newest from the followed file; each round either finishes a file or spends the budget and stops.
    for (let i = at; i >= 0 && budget > 0; i--) {
      const f = chain[i];
      const read = this.readFrom(f, i === 0, budget);
      if (read === null) break;
      out.push(read.text);
      budget -= read.text.length;
      if (!read.finished || i === 0) break;
      const newer = chain[i - 1];
      this.position = { ino: newer.ino, offset: 0 };
    }
    return Buffer.concat(out).toString('utf8');
  }

  /** The index in `chain` of the file being followed, or null to wait for the next poll. */
  private locate(chain: readonly ChainFile[]): number | null {
    if (this.position === null) {
      this.position = { ino: chain[chain.length - 1].ino, offset: 0 };
      return chain.length - 1;
    }
    const ino = this.position.ino;
    const at = chain.findIndex((f) => f.ino === ino);
    if (at >= 0) {
      this.misses = 0;
      return at;
    }
    if (++this.misses < MISSES_BEFORE_RESYNC) return null;
    this.misses = 0;
    this.position = { ino: chain[chain.length - 1].ino, offset: 0 };
    return chain.length - 1;
  }

  /**
   * Reads the followed file from the position. A rotated file is complete,
   * so all of it is taken (a last line without newline gets one); of the
   * current file only complete lines are, unless a single line is longer
   * than the whole budget.
   */
  private readFrom(f: ChainFile, isCurrent: boolean, budget: number): { text: Buffer; finished: boolean } | null {
    const pos = must(this.position, 'locate sets the position before poll reads');
    const offset = f.size < pos.offset ? 0 : pos.offset;
    const raw = readFileRange(f.path, f.ino, offset, Math.min(f.size, offset + budget));
    if (raw === null) return null;
    const reachedEnd = offset + raw.length >= f.size;
    let take = raw.length;
    if (isCurrent || !reachedEnd) {
      const cut = raw.lastIndexOf(NEWLINE) + 1;
      if (cut > 0 || raw.length < budget) take = cut;
    }
    this.position = { ino: f.ino, offset: offset + take };
    const text = raw.subarray(0, take);
    const finished = !isCurrent && reachedEnd && take === raw.length;
    if (finished && text.length > 0 && text[text.length - 1] !== NEWLINE)
      return { text: Buffer.concat([text, Buffer.from('\n')]), finished };
    return { text, finished };
  }
}
