/**
 * The record log's bytes: how a record becomes a frame, and how a whole log
 * is read back after a crash.
 *
 * A frame is [u32 LE payload length][u32 LE crc32 of the payload]
 * [u32 LE crc32 of those first 8 bytes][payload: UTF-8 JSON]. The length has
 * a checksum of its own because a damaged length could otherwise point past
 * the end of the file, make the frame look like a torn tail, and recovery
 * would cut off every acknowledged record after it.
 *
 * Recovery policy. A record is acknowledged only after the write() that
 * carried it and the fdatasync after it both returned, and records are only
 * ever appended, so what a crash can leave behind is limited:
 * - A process killed with SIGKILL loses nothing the kernel accepted: every
 *   completed write() survives. It can only leave a short tail, a frame whose
 *   header or payload is incomplete. That frame was never fsynced, so never
 *   acknowledged: it is cut off and one line names the file and offset.
 * - A machine that loses power can also leave the last, unsynced batch as
 *   zeros: the file grew but the data never reached the disk. A log whose
 *   file is preallocated (file-storage.ts) ends in zeros all the time: the
 *   room written ahead of its records. Every valid
 *   frame ends in a non-zero byte (JSON never ends in NUL), so when the file
 *   ends in a run of zero bytes and a frame that fails its checksum has its
 *   last bytes inside that run, the frame and everything after it is such a
 *   tail: cut off. (A frame of zeros never passes: the header checksum of
 *   eight zero bytes is not zero.) The caller keeps a tail of zeros alone as
 *   room to write into, and cuts off a tail that holds anything else.
 * - Any other checksum failure, in the last frame or before it, may be an
 *   acknowledged record damaged on disk. Nothing is guessed: the log refuses
 *   to open with a StorageCorruptError naming the file and the byte offset of
 *   the bad frame, and the file is left untouched for a person to inspect.
 */
import { crc32 } from 'node:zlib';
import { StorageCorruptError } from './errors.js';

/** Larger length fields are corruption, never a record: the writer refuses to produce them. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
export const FRAME_HEADER_BYTES = 12;

/** Encodes one record; throws (a broken invariant of the caller) if it is not JSON or too large. */
export function encodeFrame(record: unknown): Buffer {
  const json: unknown = JSON.stringify(record);
  if (typeof json !== 'string') throw new TypeError(`a record must be JSON-serialisable, got ${typeof record}`);
  const payload = Buffer.from(json, 'utf8');
  if (payload.length > MAX_RECORD_BYTES) {
    throw new RangeError(`a record of ${payload.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte limit`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  frame.writeUInt32LE(crc32(frame.subarray(0, 8)), 8);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export interface DecodedLog<R> {
  readonly records: R[];
  /** Length of the prefix that holds whole, valid frames. */
  readonly validBytes: number;
  /** Bytes after that prefix: a torn tail to cut off (zero when the log is clean). */
  readonly tornBytes: number;
}

type FrameRead =
  | { readonly kind: 'record'; readonly payload: Buffer; readonly end: number }
  | { readonly kind: 'torn' }
  | { readonly kind: 'damaged'; readonly reason: string };

const TORN: FrameRead = { kind: 'torn' };

/** Reads a whole log under the recovery policy above; `file` only names it in errors. */
export function decodeLog<R>(buf: Buffer, file: string, planted?: { readonly damageAsTorn: boolean }): DecodedLog<R> {
  const zeroTail = zeroTailStart(buf);
  const records: R[] = [];
  let offset = 0;
  // Each pass consumes one whole frame (at least the header's 12 bytes), so the loop ends.
  while (offset < buf.length) {
    const frame = readFrame(buf, offset, zeroTail);
    // The planted bug "amnesia" (paxos check --plant amnesia) takes any damaged record for a torn tail and cuts it off.
    if (frame.kind === 'torn' || (frame.kind === 'damaged' && planted?.damageAsTorn === true))
      return { records, validBytes: offset, tornBytes: buf.length - offset };
    if (frame.kind === 'damaged') throw corrupt(file, offset, frame.reason);
    records.push(parsePayload<R>(frame.payload, file, offset));
    offset = frame.end;
  }
  return { records, validBytes: offset, tornBytes: 0 };
}

function readFrame(buf: Buffer, offset: number, zeroTail: number): FrameRead {
  const headerEnd = offset + FRAME_HEADER_BYTES;
  if (headerEnd > buf.length) return TORN;
  if (crc32(buf.subarray(offset, offset + 8)) !== buf.readUInt32LE(offset + 8)) {
    return zeroTail < headerEnd ? TORN : { kind: 'damaged', reason: 'header checksum mismatch' };
  }
  const length = buf.readUInt32LE(offset);
  if (length > MAX_RECORD_BYTES) return { kind: 'damaged', reason: `impossible record length ${length}` };
  const end = headerEnd + length;
  if (end > buf.length) return TORN;
  const payload = buf.subarray(headerEnd, end);
  if (crc32(payload) !== buf.readUInt32LE(offset + 4)) {
    return zeroTail < end ? TORN : { kind: 'damaged', reason: 'checksum mismatch' };
  }
  return { kind: 'record', payload, end };
}

function parsePayload<R>(payload: Buffer, file: string, offset: number): R {
  try {
    return JSON.parse(payload.toString('utf8')) as R;
  } catch {
    throw corrupt(file, offset, 'a record that is not JSON');
  }
}

const ZERO_CHUNK = Buffer.alloc(64 * 1024);

/**
 * Where the run of zero bytes that ends the file starts (the file's length
 * when it ends in another byte). A preallocated log ends in megabytes of
 * zeros, so whole chunks are compared at once before single bytes are.
 */
export function zeroTailStart(buf: Buffer): number {
  let start = buf.length;
  while (start >= ZERO_CHUNK.length && buf.subarray(start - ZERO_CHUNK.length, start).equals(ZERO_CHUNK))
    start -= ZERO_CHUNK.length;
  while (start > 0 && buf[start - 1] === 0) start--;
  return start;
}

function corrupt(file: string, offset: number, reason: string): StorageCorruptError {
  return new StorageCorruptError(
    `${file} is damaged at byte ${offset} (${reason}); refusing to start so no acknowledged state is lost`,
  );
}
