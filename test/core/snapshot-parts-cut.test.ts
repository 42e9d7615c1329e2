/**
 * How a Multi-Paxos snapshot is cut into parts (src/core/multi/snapshot-parts.ts): exactly as a plain greedy reader
 * fills them, one entry at a time, closing a part before the entry that would take it past its character budget or
 * its entry count. Parts are written to disk and streamed to peers, so the cut is behaviour; the checks compare JSON.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapMembership } from '../../src/core/membership.js';
import type { SessionEntry, SessionHead } from '../../src/core/multi/sessions.js';
import {
  joinSnapshotParts,
  type MultiSnapshot,
  PART_ENTRY_CHARS,
  SNAPSHOT_PART_CHARS,
  SNAPSHOT_PART_ENTRIES,
  type SnapshotPart,
  snapshotParts,
} from '../../src/core/multi/snapshot-parts.js';

/** The plain greedy cut, one push per entry. */
function referenceCut<T>(items: readonly T[], sizeOf: (item: T) => number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let chars = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (chars + size > SNAPSHOT_PART_CHARS || current.length >= SNAPSHOT_PART_ENTRIES)) {
      out.push(current);
      current = [];
      chars = 0;
    }
    current.push(item);
    chars += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The parts a plain greedy cut of each list makes, after the head `snapshotParts` writes (its fields are checked apart). */
function referenceParts(s: MultiSnapshot, head: unknown): unknown[] {
  return [
    head,
    ...referenceCut(s.kv, PART_ENTRY_CHARS.kv).map((entries) => ({ t: 'kv', entries })),
    ...referenceCut(s.sessions, PART_ENTRY_CHARS.sessions).map((entries) => ({ t: 'sessions', entries })),
    ...referenceCut(s.applied, PART_ENTRY_CHARS.applied).map((entries) => ({ t: 'applied', entries })),
  ];
}

/** The head counts every part, itself included, and each list's entries. */
function assertHead(parts: readonly SnapshotPart[], s: MultiSnapshot, what: string): void {
  const head = parts[0];
  assert.ok(head !== undefined && head.t === 'snapshot', what);
  assert.deepEqual(
    [head.parts, head.kvCount, head.sessionCount, head.appliedCount, head.slot],
    [parts.length, s.kv.length, s.sessions.length, s.applied.length, s.slot],
    what,
  );
}

/** A snapshot whose lists cross both limits: many small entries, and runs of large ones that fill a part early. */
function snapshotOf(o: { keys: number; sessions: number; applied: number; bigEvery: number }): MultiSnapshot {
  const kv: [string, string][] = [];
  for (let i = 0; i < o.keys; i++) kv.push([`k${i}`, i % o.bigEvery === 0 ? 'v'.repeat(40_000 + i) : 'xxxxxxxx']);
  const sessions: SessionHead[] = [];
  for (let i = 1; i <= o.sessions; i++) sessions.push({ session: String(i), lastSlot: i, floor: 0 });
  const applied: SessionEntry[] = [];
  for (let i = 0; i < o.applied; i++) {
    const command = JSON.stringify(['set', `k${i % 1000}`, i % o.bigEvery === 0 ? 'w'.repeat(30_000) : 'x']);
    applied.push({
      session: i % 7 === 0 ? String(1 + (i % o.sessions)) : `n${1 + (i % 3)}-ab`,
      seq: i,
      slot: i,
      command,
    });
  }
  return { slot: o.applied, kv, sessions, applied, membership: bootstrapMembership([1, 2, 3]) };
}

test('a snapshot is cut into the same parts as a plain greedy cut, at both limits and with empty lists', () => {
  const shapes = [
    { keys: 0, sessions: 0, applied: 0, bigEvery: 1 },
    { keys: 1, sessions: 1, applied: 1, bigEvery: 1000 },
    { keys: 1300, sessions: 3, applied: SNAPSHOT_PART_ENTRIES, bigEvery: 100_000 },
    { keys: 1300, sessions: 3, applied: SNAPSHOT_PART_ENTRIES + 1, bigEvery: 100_000 },
    { keys: 5000, sessions: 1024, applied: 40_000, bigEvery: 100_000 },
    { keys: 300, sessions: 50, applied: 20_000, bigEvery: 37 },
    { keys: 60, sessions: 5, applied: 200, bigEvery: 3 },
  ];
  for (const shape of shapes) {
    const s = snapshotOf(shape);
    const parts = snapshotParts(s);
    assertHead(parts, s, JSON.stringify(shape));
    assert.equal(JSON.stringify(parts), JSON.stringify(referenceParts(s, parts[0])), JSON.stringify(shape));
    assert.equal(JSON.stringify(joinSnapshotParts(parts)), JSON.stringify(s), JSON.stringify(shape));
  }
});

test('a part filled to exactly its budget holds the entry that fills it; one character more starts the next part', () => {
  for (const over of [0, 1]) {
    // kv entries count their key, their value and 8; applied ones their session, their command and 48.
    const first = 100_000;
    const kv: [string, string][] = [
      ['a', 'v'.repeat(first - 9)],
      ['b', 'v'.repeat(SNAPSHOT_PART_CHARS - first - 9 + over)],
      ['c', 'x'],
    ];
    const applied: SessionEntry[] = [
      { session: 'n1-a', seq: 1, slot: 1, command: 'c'.repeat(first - 52) },
      { session: 'n1-a', seq: 2, slot: 2, command: 'c'.repeat(SNAPSHOT_PART_CHARS - first - 52 + over) },
    ];
    const s: MultiSnapshot = { slot: 2, kv, sessions: [], applied, membership: bootstrapMembership([1]) };
    const parts = snapshotParts(s);
    assertHead(parts, s, `over ${over}`);
    assert.equal(JSON.stringify(parts), JSON.stringify(referenceParts(s, parts[0])), `over ${over}`);
    // Exactly full: [a b] [c] and [1 2]; one over: [a] [b c] and [1] [2].
    assert.equal(parts.length, over === 0 ? 4 : 5, `over ${over}`);
  }
});
