/**
 * A Multi-Paxos snapshot: the applied state (the key-value map and the
 * session table) as of one chosen slot. Every slot up to and including
 * `slot` is applied in it, so a replica that holds it needs no log entry at
 * or below `slot`.
 *
 * A snapshot travels as "parts", each small enough for one storage frame and
 * one network message: the same parts are written to the snapshot file and
 * streamed, one per message, to a replica that fell behind the point where
 * its peers compacted their logs.
 */
import { isMembership, type Membership } from '../membership.js';
import { must } from '../must.js';
import { isSessionNumber, type SessionEntry, type SessionHead } from './sessions.js';

export interface MultiSnapshot {
  /** The last slot applied in this state. */
  readonly slot: number;
  readonly kv: readonly (readonly [string, string])[];
  /** The sessions the table holds, least recently used first (the order eviction follows). */
  readonly sessions: readonly SessionHead[];
  /** The commands those sessions remember as applied. */
  readonly applied: readonly SessionEntry[];
  /** The configuration in force after `slot`: a replica that installs the snapshot joins it. */
  readonly membership: Membership;
}

/** The first part: what the snapshot is and how many parts follow it. */
export interface SnapshotHead {
  readonly t: 'snapshot';
  readonly slot: number;
  readonly parts: number;
  readonly kvCount: number;
  readonly sessionCount: number;
  readonly appliedCount: number;
  readonly membership: Membership;
}

export type SnapshotPart =
  | SnapshotHead
  | { readonly t: 'kv'; readonly entries: readonly (readonly [string, string])[] }
  | { readonly t: 'sessions'; readonly entries: readonly SessionHead[] }
  | { readonly t: 'applied'; readonly entries: readonly SessionEntry[] };

/** A part's payload stays below this (UTF-16 code units, a fair proxy for bytes): far below a frame's limit. */
export const SNAPSHOT_PART_CHARS = 512 * 1024;
/** And holds at most this many entries, so a map of tiny values still makes parts that decode fast. */
export const SNAPSHOT_PART_ENTRIES = 4096;

/** What one entry of each list counts against a part's character budget: its strings and a margin for the encoding. */
export const PART_ENTRY_CHARS = {
  kv: (e: readonly [string, string]) => e[0].length + e[1].length + 8,
  sessions: (e: SessionHead) => e.session.length + 48,
  applied: (e: SessionEntry) => e.session.length + e.command.length + 48,
} as const;

/** Splits a snapshot into its head and bounded parts. */
export function snapshotParts(s: MultiSnapshot): SnapshotPart[] {
  const body: SnapshotPart[] = [
    ...chunk(s.kv, PART_ENTRY_CHARS.kv).map((entries) => ({ t: 'kv' as const, entries })),
    ...chunk(s.sessions, PART_ENTRY_CHARS.sessions).map((entries) => ({ t: 'sessions' as const, entries })),
    ...chunk(s.applied, PART_ENTRY_CHARS.applied).map((entries) => ({ t: 'applied' as const, entries })),
  ];
  const head: SnapshotHead = {
    t: 'snapshot',
    slot: s.slot,
    parts: body.length + 1,
    kvCount: s.kv.length,
    sessionCount: s.sessions.length,
    appliedCount: s.applied.length,
    membership: s.membership,
  };
  return [head, ...body];
}

/**
 * Cuts `items` into runs as a greedy reader would fill parts, each run a slice of the list: a checkpoint cuts up to
 * the horizon's worth of session entries (65,536 by default), and copying them one push at a time cost milliseconds.
 */
function chunk<T>(items: readonly T[], sizeOf: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let start = 0;
  let chars = 0;
  for (let i = 0; i < items.length; i++) {
    const size = sizeOf(must(items[i], 'an index below the length is in the list'));
    if (i > start && (chars + size > SNAPSHOT_PART_CHARS || i - start >= SNAPSHOT_PART_ENTRIES)) {
      chunks.push(items.slice(start, i));
      start = i;
      chars = 0;
    }
    chars += size;
  }
  if (start < items.length) chunks.push(items.slice(start));
  return chunks;
}

/**
 * Joins parts back into a snapshot, checking that they are whole: the head
 * first, exactly as many parts as it says, and the counts it gives. Throws
 * with a sentence naming what is wrong; a caller reading a file treats that
 * as corruption, a caller receiving parts from a peer drops them.
 */
export function joinSnapshotParts(parts: readonly unknown[]): MultiSnapshot {
  const head = parts[0];
  if (!isSnapshotHead(head)) throw new Error('a snapshot must begin with its head');
  if (parts.length !== head.parts)
    throw new Error(`the snapshot at slot ${head.slot} has ${parts.length} of its ${head.parts} parts`);
  const kv: (readonly [string, string])[] = [];
  const sessions: SessionHead[] = [];
  const applied: SessionEntry[] = [];
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i];
    if (!isSnapshotPart(p) || p.t === 'snapshot')
      throw new Error(`part ${i} of the snapshot at slot ${head.slot} is malformed`);
    if (p.t === 'kv') for (const e of p.entries) kv.push(e);
    else if (p.t === 'sessions') for (const e of p.entries) sessions.push(e);
    else for (const e of p.entries) applied.push(e);
  }
  if (kv.length !== head.kvCount || sessions.length !== head.sessionCount || applied.length !== head.appliedCount) {
    throw new Error(
      `the snapshot at slot ${head.slot} holds ${kv.length} keys, ${sessions.length} sessions and ${applied.length} applied commands, its head says ${head.kvCount}, ${head.sessionCount} and ${head.appliedCount}`,
    );
  }
  const held = new Set(sessions.map((h) => h.session));
  const stray = applied.find((e) => isSessionNumber(e.session) && !held.has(e.session));
  if (stray !== undefined)
    throw new Error(
      `the snapshot at slot ${head.slot} remembers a command of session ${stray.session}, which it does not hold`,
    );
  return { slot: head.slot, kv, sessions, applied, membership: head.membership };
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

export function isSnapshotHead(x: unknown): x is SnapshotHead {
  return (
    isObj(x) &&
    x.t === 'snapshot' &&
    isCount(x.slot) &&
    isCount(x.parts) &&
    (x.parts as number) >= 1 &&
    isCount(x.kvCount) &&
    isCount(x.sessionCount) &&
    isCount(x.appliedCount) &&
    isMembership(x.membership)
  );
}

const isPair = (x: unknown): x is [string, string] =>
  Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string';
const isSessionHead = (x: unknown): x is SessionHead =>
  isObj(x) && typeof x.session === 'string' && isCount(x.lastSlot) && isCount(x.floor);
const isSessionEntry = (x: unknown): x is SessionEntry =>
  isObj(x) && typeof x.session === 'string' && isCount(x.seq) && isCount(x.slot) && typeof x.command === 'string';

/** The shape of one part, checked on every part that comes from a peer or a file. */
export function isSnapshotPart(x: unknown): x is SnapshotPart {
  if (!isObj(x)) return false;
  if (x.t === 'snapshot') return isSnapshotHead(x);
  if (!Array.isArray(x.entries) || x.entries.length > SNAPSHOT_PART_ENTRIES) return false;
  if (x.t === 'kv') return x.entries.every(isPair);
  if (x.t === 'sessions') return x.entries.every(isSessionHead);
  if (x.t === 'applied') return x.entries.every(isSessionEntry);
  return false;
}
