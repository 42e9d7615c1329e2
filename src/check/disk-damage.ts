/**
 * The damage the disk nemesis does to a crashed replica's data directory,
 * and the copies it keeps of it. It touches only the files paxos makes there
 * (identity, log, snapshot), never the directory's lock or anything else, and
 * only reads the high-water mark beside the directory (the witness is the
 * replica's memory of its own reach, not part of its disk's contents).
 *
 * A log is cut and a rollback made only below the high-water mark: the
 * storage advances the mark lazily, at most every 200 ms, and says so
 * (file-storage.ts: "damage within the last markEveryMs of writes before a
 * crash is not seen"). Damage there is outside the fault model the product
 * claims, so the nemesis does not do it; every damage it does is one a
 * correct replica must notice.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Random } from '../core/random.js';
import { DEFAULT_LOG_FILE_NAME, SNAPSHOT_FILE_NAME } from '../storage/file-storage.js';
import { decodeLog, FRAME_HEADER_BYTES } from '../storage/frame.js';
import { IDENTITY_FILE_NAME, markFileOf, readIdentity } from '../storage/identity.js';

/** The files paxos makes in a data directory that the nemesis may copy, damage or delete. */
const PAXOS_FILES = [IDENTITY_FILE_NAME, DEFAULT_LOG_FILE_NAME, SNAPSHOT_FILE_NAME] as const;

/** Copies the replica's files into `to` (a new directory of the check's own scratch space). */
export function copyData(dataDir: string, to: string): void {
  mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const f of PAXOS_FILES) if (existsSync(join(dataDir, f))) copyFileSync(join(dataDir, f), join(to, f));
}

/** Puts the files of a copy back; a file the copy lacks is removed, so the directory holds what it held then. */
export function restoreData(from: string, dataDir: string): void {
  for (const f of PAXOS_FILES) {
    if (existsSync(join(from, f))) copyFileSync(join(from, f), join(dataDir, f));
    else rmSync(join(dataDir, f), { force: true });
  }
}

/** Deletes the replica's files (its lock and anything paxos did not make stay). */
export function wipeData(dataDir: string): string {
  const gone = PAXOS_FILES.filter((f) => existsSync(join(dataDir, f)));
  for (const f of gone) rmSync(join(dataDir, f));
  return `deleted ${gone.join(', ') || 'nothing (no paxos files were there)'} in ${dataDir}`;
}

/** The reach the replica's high-water mark holds (the greater of the witness and the identity's copy), or null. */
export function markOf(dataDir: string): number | null {
  let mark: number | null = null;
  try {
    const w = JSON.parse(readFileSync(markFileOf(dataDir), 'utf8')) as { reached?: unknown };
    if (typeof w.reached === 'number') mark = w.reached;
  } catch {
    // No witness yet (or not one the nemesis can read): the identity's copy, if any, decides.
  }
  const own = safeIdentityReach(dataDir);
  return own === null ? mark : mark === null ? own : Math.max(own, mark);
}

function safeIdentityReach(dataDir: string): number | null {
  try {
    return readIdentity(dataDir)?.logReached ?? null;
  } catch {
    return null;
  }
}

/** The log's reach: its header's base plus its records; null when it has no readable header. */
export function reachOf(dir: string): number | null {
  const path = join(dir, DEFAULT_LOG_FILE_NAME);
  if (!existsSync(path)) return null;
  try {
    const { records } = decodeLog<{ base?: unknown }>(readFileSync(path), path);
    const base = records[0]?.base;
    return typeof base === 'number' ? base + records.length - 1 : null;
  } catch {
    return null;
  }
}

/**
 * Where each whole frame of a log ends (frame 0 is the header), up to where
 * its records end: a preallocated log's zero room after them is no record.
 */
function frameEnds(buf: Buffer, path: string): number[] {
  let limit = buf.length;
  try {
    limit = decodeLog(buf, path).validBytes;
  } catch {
    // Already damaged: walk every frame there is.
  }
  const ends: number[] = [];
  for (let offset = 0; offset + FRAME_HEADER_BYTES <= limit && ends.length < 10_000_000; ) {
    const end = offset + FRAME_HEADER_BYTES + buf.readUInt32LE(offset);
    if (end > limit) break;
    ends.push(end);
    offset = end;
  }
  return ends;
}

/**
 * Cuts the log at a frame boundary below its mark, so it keeps fewer records
 * than it had acknowledged reaching; with no record under the mark, it is
 * emptied (the repro of issue 22).
 */
export function truncateLog(dataDir: string, random: Random): string {
  const path = join(dataDir, DEFAULT_LOG_FILE_NAME);
  if (!existsSync(path)) return `${path} is not there to cut; nothing changed`;
  const buf = readFileSync(path);
  const ends = frameEnds(buf, path);
  const reach = reachOf(dataDir);
  const mark = markOf(dataDir);
  // The header's base: the records before this log's first one.
  const base = reach === null ? null : reach - (ends.length - 1);
  const covered = base === null || mark === null ? 0 : Math.min(ends.length - 1, mark - base);
  const keep = covered >= 1 ? random.int(0, covered - 1) : -1;
  const cutAt = keep < 0 ? 0 : (ends[keep] ?? 0);
  writeFileSync(path, buf.subarray(0, cutAt));
  return keep < 0
    ? `emptied ${path} (${buf.length} bytes)`
    : `cut ${path} from ${buf.length} to ${cutAt} bytes: ${keep} of its ${ends.length - 1} records kept, below its mark of record ${mark}`;
}

/** Flips one bit of one record's payload (the header record included): a checksum must catch it. */
export function corruptLog(dataDir: string, random: Random): string {
  const path = join(dataDir, DEFAULT_LOG_FILE_NAME);
  if (!existsSync(path)) return `${path} is not there to damage; nothing changed`;
  const buf = readFileSync(path);
  const ends = frameEnds(buf, path);
  if (ends.length === 0) return `${path} holds no whole record to damage; nothing changed`;
  const frame = random.int(0, ends.length - 1);
  const payloadStart = (frame === 0 ? 0 : (ends[frame - 1] ?? 0)) + FRAME_HEADER_BYTES;
  const end = ends[frame] ?? 0;
  if (payloadStart >= end) return `${path}'s record ${frame} is empty; nothing changed`;
  const at = random.int(payloadStart, end - 1);
  // JSON holds no byte 0x01, so the flip never makes a zero byte that could pass for a power cut's tail.
  buf[at] = (buf[at] ?? 0) ^ 0x01;
  writeFileSync(path, buf);
  return `flipped a bit of byte ${at} of ${path} (record ${frame} of ${ends.length})`;
}

/**
 * Puts back an earlier copy, but only one that reaches less far than the
 * mark (one taken a moment ago may hold the same records: putting it back
 * would lose only the mark's lag, which the product says it cannot see).
 * Null when the copy is not earlier in that sense.
 */
export function rollBack(dataDir: string, copy: string): string | null {
  const then = reachOf(copy);
  const mark = markOf(dataDir);
  if (then === null || mark === null || then >= mark) return null;
  restoreData(copy, dataDir);
  return `put ${dataDir} back to an earlier copy whose log reaches record ${then} (its mark says ${mark})`;
}
